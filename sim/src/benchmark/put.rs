//! `benchmark put`: puts of `--val-size` bytes to keys from the key space,
//! with an optional compaction every `--compact-interval`.

use super::error::BenchError;
use super::keys::{KeyGen, random_bytes};
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::{CompactOptions, KV, PutOptions as SdkPut};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// The flags of `put`.
#[derive(Clone, Debug)]
pub struct PutOptions {
    /// Key size (`--key-size`, 8).
    pub key_size: usize,
    /// Value size (`--val-size`, 8).
    pub val_size: usize,
    /// Puts (`--total`, 10000).
    pub total: u64,
    /// Puts per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
    /// Distinct keys (`--key-space-size`, 1).
    pub key_space_size: u64,
    /// Sequential instead of random keys (`--sequential-keys`).
    pub sequential_keys: bool,
    /// Compact every so often (`--compact-interval`, 0: never).
    pub compact_interval: Option<Duration>,
    /// Keep this many revisions at each compaction (`--compact-index-delta`, 1000).
    pub compact_index_delta: i64,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            key_size: 8,
            val_size: 8,
            total: 10000,
            rate: None,
            key_space_size: 1,
            sequential_keys: false,
            compact_interval: None,
            compact_index_delta: 1000,
        }
    }
}

/// Runs `put`; one report.
pub async fn run(pool: &Pool, o: &PutOptions) -> Result<Vec<Report>, BenchError> {
    let keys = KeyGen {
        size: o.key_size,
        space: o.key_space_size,
        sequential: o.sequential_keys,
    };
    let value = Arc::new(random_bytes(o.val_size));
    let revision = Arc::new(AtomicI64::new(0));
    let compactor = o.compact_interval.filter(|d| !d.is_zero()).map(|every| {
        let (client, revision, delta) = (
            pool.client(0).clone(),
            revision.clone(),
            o.compact_index_delta,
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let to = revision.load(Ordering::Relaxed) - delta;
                if to <= 0 {
                    continue;
                }
                if let Err(e) = client.compact(to, CompactOptions::default()).await {
                    tracing::warn!(revision = to, error = %e, "benchmark: compaction failed");
                }
            }
        })
    });
    let p = pool.clone();
    let rev = revision.clone();
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("put", load, move |w, i| {
        let (client, key, value, rev) =
            (p.client(w).clone(), keys.key(i), value.clone(), rev.clone());
        async move {
            let r = client
                .put(key, value.as_slice(), SdkPut::default())
                .await
                .map_err(|e| e.to_string())?;
            if let Some(h) = r.header {
                rev.fetch_max(h.revision, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await;
    if let Some(c) = compactor {
        c.abort();
    }
    Ok(vec![Report::new("put", Stats::from_samples(&samples))])
}
