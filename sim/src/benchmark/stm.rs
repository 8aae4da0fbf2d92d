//! `benchmark stm`: software transactions (the SDK's
//! `concurrency::new_stm`) that each read `--keys-per-txn` random keys of
//! `--keys` and write them all, at an `--isolation` level.

use super::error::BenchError;
use super::keys::random_bytes;
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::PutOptions;
use etcd_sdk::v3::concurrency::{Isolation, StmOptions, new_stm};
use rand::Rng;
use std::sync::Arc;

/// The prefix of the keys.
const KEY_PREFIX: &str = "stm-key-";

/// The flags of `stm`.
#[derive(Clone, Debug)]
pub struct StmBenchOptions {
    /// Distinct keys (`--keys`, 5).
    pub keys: u64,
    /// Keys read and written per transaction (`--keys-per-txn`, 2).
    pub keys_per_txn: usize,
    /// Isolation (`--isolation`: c, r, s or ss; default r).
    pub isolation: Isolation,
    /// Value size (`--val-size`, 8).
    pub val_size: usize,
    /// Transactions (`--total`, 10000).
    pub total: u64,
    /// Transactions per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
}

impl Default for StmBenchOptions {
    fn default() -> Self {
        StmBenchOptions {
            keys: 5,
            keys_per_txn: 2,
            isolation: Isolation::RepeatableReads,
            val_size: 8,
            total: 10000,
            rate: None,
        }
    }
}

/// Parses `--isolation` as etcd's tool does (`c`, `r`, `s`, `ss`).
pub fn parse_isolation(s: &str) -> Result<Isolation, BenchError> {
    match s {
        "c" => Ok(Isolation::ReadCommitted),
        "r" => Ok(Isolation::RepeatableReads),
        "s" => Ok(Isolation::Serializable),
        "ss" => Ok(Isolation::SerializableSnapshot),
        other => Err(BenchError::Usage(format!(
            "unexpected isolation {other:?} (want c, r, s or ss)"
        ))),
    }
}

/// Runs `stm`; one report (a transaction's latency includes its retries).
pub async fn run(pool: &Pool, o: &StmBenchOptions) -> Result<Vec<Report>, BenchError> {
    if o.keys_per_txn as u64 > o.keys {
        return Err(BenchError::Usage(
            "--keys-per-txn must not exceed --keys".into(),
        ));
    }
    let value: Arc<str> =
        Arc::from(hex(&random_bytes(o.val_size.div_ceil(2)))[..o.val_size].to_string());
    let (p, space, per_txn, isolation) = (pool.clone(), o.keys.max(1), o.keys_per_txn, o.isolation);
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("stm", load, move |w, _| {
        let client = p.client(w).clone();
        let mut picked: Vec<u64> = Vec::with_capacity(per_txn);
        let mut rng = rand::rng();
        while picked.len() < per_txn {
            let k = rng.random_range(0..space);
            if !picked.contains(&k) {
                picked.push(k);
            }
        }
        let keys: Arc<Vec<String>> =
            Arc::new(picked.iter().map(|k| format!("{KEY_PREFIX}{k}")).collect());
        let value = value.clone();
        async move {
            let opts = StmOptions::new().with_isolation(isolation);
            new_stm(&client, opts, |stm| {
                let (keys, value) = (keys.clone(), value.clone());
                Box::pin(async move {
                    for k in keys.iter() {
                        stm.get(k).await?;
                        stm.put(k.clone(), value.to_string(), PutOptions::default());
                    }
                    Ok(())
                })
            })
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    Ok(vec![Report::new("stm", Stats::from_samples(&samples))])
}

/// Lower-case hex (STM values are strings).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
