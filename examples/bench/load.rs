//! The load generator: `concurrency` tasks, each sending one request at a time
//! until the deadline; requests started during the warm-up are not recorded.

use crate::stats::Summary;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A request that a load cell repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `PUT /v2/keys/<key>` with a 64-byte value; each worker writes its own key.
    Set,
    /// `GET /v2/keys/<key>?quorum=true` of one pre-written key.
    Get,
}

impl Op {
    /// Both, in the order the tables show them.
    pub const ALL: [Op; 2] = [Op::Set, Op::Get];

    /// The name in tables and on the etcd crate loader's command line.
    pub fn name(self) -> &'static str {
        match self {
            Op::Set => "set",
            Op::Get => "get",
        }
    }
}

/// The value every set writes.
pub fn value() -> String {
    "v".repeat(64)
}

/// The key a worker of a cell works on: its own key for sets, the shared
/// pre-written key (see [`GET_KEY`]) for gets.
pub fn key_for(op: Op, cell: &str, worker: usize) -> String {
    match op {
        Op::Set => format!("/bench/{cell}/w{worker}"),
        Op::Get => GET_KEY.to_string(),
    }
}

/// The key quorum gets read; written before the first get cell.
pub const GET_KEY: &str = "/bench/get";

/// One client under test.
#[async_trait]
pub trait KvClient: Send + Sync {
    /// Sets `key` to `value`; `Ok` once the server acknowledged it.
    async fn set(&self, key: &str, value: &str) -> Result<(), String>;
    /// Reads `key` with `quorum=true`; `Ok` on a 200 answer.
    async fn quorum_get(&self, key: &str) -> Result<(), String>;
}

/// How long one cell runs.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Unrecorded time at the start.
    pub warmup: Duration,
    /// Recorded time.
    pub duration: Duration,
}

/// A request that takes longer than this counts as an error.
const REQUEST_LIMIT: Duration = Duration::from_secs(10);

/// Runs `op` from `concurrency` tasks over `client` for `window`.
pub async fn run_cell(
    client: Arc<dyn KvClient>,
    op: Op,
    cell: &str,
    concurrency: usize,
    window: Window,
) -> Summary {
    let measure_from = Instant::now() + window.warmup;
    let until = measure_from + window.duration;
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let client = client.clone();
        let key = key_for(op, cell, w);
        tasks.push(tokio::spawn(async move {
            let value = value();
            let mut latencies = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let started = Instant::now();
                if started >= until {
                    break;
                }
                let request = async {
                    match op {
                        Op::Set => client.set(&key, &value).await,
                        Op::Get => client.quorum_get(&key).await,
                    }
                };
                let result = match tokio::time::timeout(REQUEST_LIMIT, request).await {
                    Ok(r) => r,
                    Err(_) => Err(format!("no answer within {REQUEST_LIMIT:?}")),
                };
                if started < measure_from {
                    continue;
                }
                match result {
                    Ok(()) => latencies
                        .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        match task.await {
            Ok((l, e, f)) => {
                latencies.extend(l);
                errors += e;
                if first_error.is_none() {
                    first_error = f;
                }
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("worker failed: {e}"));
            }
        }
    }
    let secs = Instant::now()
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    Summary::from_samples(latencies, errors, first_error, secs)
}
