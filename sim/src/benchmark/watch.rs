//! `benchmark watch`: `--streams` × `--watch-per-stream` watchers on keys of
//! the key space, then `--put-total` puts to those keys; reports the watch
//! creations and every event delivered (its latency: from the start of
//! the put that caused it to its arrival at the watcher).
//!
//! Our SDK multiplexes every watcher of a client on one gRPC stream, so each
//! stream here is a client of its own (its own connection).

use super::error::BenchError;
use super::keys::KeyGen;
use super::options::Pool;
use super::progress::Progress;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::{Samples, Stats};
use etcd_sdk::v3::{Client, KV, PutOptions, WatchOptions, WatchStream, Watcher};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// How long a watcher waits for its next event before it counts the rest
/// as not delivered.
const EVENT_IDLE: Duration = Duration::from_secs(30);

/// The flags of `watch`.
#[derive(Clone, Debug)]
pub struct WatchBenchOptions {
    /// Watch streams (`--streams`, 10).
    pub streams: usize,
    /// Watchers per stream (`--watch-per-stream`, 100).
    pub watch_per_stream: usize,
    /// Puts after the watchers are created (`--put-total`, 1000).
    pub put_total: u64,
    /// Puts per second (`--put-rate`, 0: unlimited).
    pub put_rate: Option<f64>,
    /// Key size (`--key-size`, 32).
    pub key_size: usize,
    /// Distinct keys (`--key-space-size`, 1).
    pub key_space_size: u64,
    /// Sequential instead of random keys (`--sequential-keys`).
    pub sequential_keys: bool,
}

impl Default for WatchBenchOptions {
    fn default() -> Self {
        WatchBenchOptions {
            streams: 10,
            watch_per_stream: 100,
            put_total: 1000,
            put_rate: None,
            key_size: 32,
            key_space_size: 1,
            sequential_keys: false,
        }
    }
}

/// Runs `watch`; two reports (creation, events).
pub async fn run(pool: &Pool, o: &WatchBenchOptions) -> Result<Vec<Report>, BenchError> {
    let keys = KeyGen {
        size: o.key_size,
        space: o.key_space_size,
        sequential: o.sequential_keys,
    };
    let mut streams = Vec::with_capacity(o.streams);
    for _ in 0..o.streams.max(1) {
        streams.push(pool.extra_client().await?);
    }
    let streams = Arc::new(streams);
    let total_watchers = (streams.len() * o.watch_per_stream) as u64;
    let watch_keys: Vec<Vec<u8>> = (0..total_watchers).map(|i| keys.key(i)).collect();
    // The distinct keys watched, in order; put i writes key i mod their count.
    let distinct: Vec<Vec<u8>> = watch_keys
        .iter()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut puts_per_key: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for i in 0..o.put_total {
        *puts_per_key
            .entry(distinct[(i % distinct.len() as u64) as usize].clone())
            .or_default() += 1;
    }

    // Phase 1: create the watchers (stream = watcher index mod streams).
    let created: Arc<Mutex<Vec<(usize, WatchStream)>>> = Arc::new(Mutex::new(Vec::new()));
    let keys_of = Arc::new(watch_keys);
    let (s2, c2, k2) = (streams.clone(), created.clone(), keys_of.clone());
    let creation = runner::run(
        "watch creation",
        Load {
            total: total_watchers,
            workers: pool.workers(),
            rate: None,
        },
        move |_, i| {
            let (client, created, keys) =
                (s2[i as usize % s2.len()].clone(), c2.clone(), k2.clone());
            async move {
                let w = client
                    .watch(keys[i as usize].clone(), WatchOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                if let Ok(mut v) = created.lock() {
                    v.push((i as usize, w));
                }
                Ok(())
            }
        },
    )
    .await;
    let watchers = std::mem::take(
        &mut *created
            .lock()
            .map_err(|_| BenchError::Usage("watch: a creation task panicked".into()))?,
    );

    // Phase 2: the puts, and every watcher counting its events.
    let sent: Arc<Vec<OnceLock<Instant>>> =
        Arc::new((0..o.put_total).map(|_| OnceLock::new()).collect());
    let events_total: u64 = watchers
        .iter()
        .map(|(i, _)| puts_per_key.get(&keys_of[*i]).copied().unwrap_or(0))
        .sum();
    let progress = Progress::start("watch events", events_total);
    let put_start = Instant::now();
    let mut readers = Vec::with_capacity(watchers.len());
    for (i, stream) in watchers {
        let expected = puts_per_key.get(&keys_of[i]).copied().unwrap_or(0);
        readers.push(tokio::spawn(read_events(
            stream,
            expected,
            sent.clone(),
            progress.clone(),
        )));
    }
    let (p, d, s3) = (pool.clone(), Arc::new(distinct), sent.clone());
    let puts = runner::run(
        "watch puts",
        Load {
            total: o.put_total,
            workers: pool.workers(),
            rate: o.put_rate,
        },
        move |w, i| {
            let (client, key, sent): (Client, Vec<u8>, _) = (
                p.client(w).clone(),
                d[(i % d.len() as u64) as usize].clone(),
                s3.clone(),
            );
            async move {
                let _ = sent[i as usize].set(Instant::now());
                client
                    .put(key, i.to_string(), PutOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
        },
    )
    .await;
    let mut events = Samples::default();
    for r in readers {
        match r.await {
            Ok(s) => events.merge(s),
            Err(e) => events.record(Err(format!("watcher failed: {e}"))),
        }
    }
    events.elapsed = put_start.elapsed();
    progress.finish().await;
    for s in streams.iter() {
        s.close();
    }
    let mut reports = vec![
        Report::new("watch creation", Stats::from_samples(&creation))
            .with_heading("Watch creation summary:"),
        Report::new("watch events", Stats::from_samples(&events))
            .with_heading("Watch events received summary:"),
    ];
    if !puts.errors.is_empty() {
        reports.push(
            Report::new("watch puts", Stats::from_samples(&puts)).with_heading("Put summary:"),
        );
    }
    Ok(reports)
}

/// Reads `expected` events from `stream`, each timed from its put's start
/// (the put index is the value).
async fn read_events(
    mut stream: WatchStream,
    expected: u64,
    sent: Arc<Vec<OnceLock<Instant>>>,
    progress: Progress,
) -> Samples {
    let mut samples = Samples::default();
    let mut got = 0;
    while got < expected {
        let next = tokio::time::timeout(EVENT_IDLE, stream.next()).await;
        let resp = match next.ok().flatten() {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                samples.record(Err(e.to_string()));
                break;
            }
            None => break,
        };
        let now = Instant::now();
        for ev in resp.events {
            got += 1;
            let at = std::str::from_utf8(&ev.kv.value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .and_then(|i| sent.get(i))
                .and_then(|c| c.get().copied());
            match at {
                Some(at) => samples.record(Ok(now.saturating_duration_since(at))),
                None => samples.record(Err("event for an unknown put".into())),
            }
            progress.add(1);
        }
    }
    for _ in got..expected {
        samples.record(Err("event not delivered".into()));
    }
    samples
}
