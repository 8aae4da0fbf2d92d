//! `benchmark watch-latency`: `--streams` × `--watchers-per-stream`
//! watchers on one key; `--put-total` puts to it at `--put-rate`, one at a
//! time; reports the puts and, per watcher and put, the time from the
//! put's start to the event's arrival.

use super::error::BenchError;
use super::keys::random_bytes;
use super::options::Pool;
use super::progress::Progress;
use super::report::Report;
use super::runner::Limiter;
use super::stats::{Samples, Stats};
use etcd_sdk::v3::{KV, PutOptions, WatchOptions, Watcher};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a put's event may take to reach a watcher before it counts as
/// not delivered (and the run stops waiting for that watcher).
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The flags of `watch-latency`.
#[derive(Clone, Debug)]
pub struct WatchLatencyOptions {
    /// Puts (`--put-total`, 1000).
    pub put_total: u64,
    /// Puts per second (`--put-rate`, 100; 0: unlimited).
    pub put_rate: Option<f64>,
    /// Watch streams (`--streams`, 10).
    pub streams: usize,
    /// Watchers per stream (`--watchers-per-stream`, 10).
    pub watchers_per_stream: usize,
    /// Ask for the previous key-value too (`--prevkv`).
    pub prev_kv: bool,
    /// Key size (`--key-size`, 32).
    pub key_size: usize,
    /// Value size (`--val-size`, 32).
    pub val_size: usize,
}

impl Default for WatchLatencyOptions {
    fn default() -> Self {
        WatchLatencyOptions {
            put_total: 1000,
            put_rate: Some(100.0),
            streams: 10,
            watchers_per_stream: 10,
            prev_kv: false,
            key_size: 32,
            val_size: 32,
        }
    }
}

/// Runs `watch-latency`; two reports (puts, watch events).
pub async fn run(pool: &Pool, o: &WatchLatencyOptions) -> Result<Vec<Report>, BenchError> {
    let key = random_bytes(o.key_size);
    let value = random_bytes(o.val_size);
    let mut streams = Vec::with_capacity(o.streams);
    for _ in 0..o.streams.max(1) {
        streams.push(pool.extra_client().await?);
    }
    let wopts = WatchOptions {
        prev_kv: o.prev_kv,
        ..WatchOptions::default()
    };
    // One channel per watcher: the arrival time of each event.
    let mut arrivals = Vec::new();
    for s in &streams {
        for _ in 0..o.watchers_per_stream {
            let mut w = s
                .watch(key.clone(), wopts.clone())
                .await
                .map_err(|e| BenchError::setup("creating a watcher", e))?;
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Some(Ok(r)) = w.next().await {
                    let now = Instant::now();
                    for _ in &r.events {
                        if tx.send(now).is_err() {
                            return;
                        }
                    }
                }
            });
            arrivals.push(Some(rx));
        }
    }
    let limiter = Limiter::new(o.put_rate);
    let client = pool.client(0);
    let progress = Progress::start("watch-latency", o.put_total);
    let mut puts = Samples::default();
    let mut events = Samples::default();
    let start = Instant::now();
    for _ in 0..o.put_total {
        limiter.wait().await;
        let st = Instant::now();
        let r = client
            .put(key.clone(), value.clone(), PutOptions::default())
            .await;
        puts.record(r.map(|_| st.elapsed()).map_err(|e| e.to_string()));
        for slot in arrivals.iter_mut() {
            let Some(rx) = slot else {
                events.record(Err("event not delivered".into()));
                continue;
            };
            match tokio::time::timeout(EVENT_TIMEOUT, rx.recv()).await {
                Ok(Some(at)) => events.record(Ok(at.saturating_duration_since(st))),
                _ => {
                    events.record(Err("event not delivered".into()));
                    *slot = None;
                }
            }
        }
        progress.add(1);
    }
    let elapsed = start.elapsed();
    puts.elapsed = elapsed;
    events.elapsed = elapsed;
    progress.finish().await;
    for s in &streams {
        s.close();
    }
    Ok(vec![
        Report::new("put", Stats::from_samples(&puts)).with_heading("\nPut summary:"),
        Report::new("watch", Stats::from_samples(&events)).with_heading("\nWatch summary:"),
    ])
}
