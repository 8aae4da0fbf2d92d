//! `benchmark txn-put`: txns of `--txn-ops` puts each; the keys of txn `i`
//! are indexes `i·ops + j` of the key space (etcd's layout: with a key
//! space smaller than `--txn-ops` the server refuses the duplicate keys).

use super::error::BenchError;
use super::keys::{key_of, random_bytes};
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::{KV, Op, PutOptions};
use std::sync::Arc;

/// The flags of `txn-put`.
#[derive(Clone, Debug)]
pub struct TxnPutOptions {
    /// Key size (`--key-size`, 8).
    pub key_size: usize,
    /// Value size (`--val-size`, 8).
    pub val_size: usize,
    /// Puts per txn (`--txn-ops`, 1).
    pub txn_ops: u64,
    /// Distinct keys (`--key-space-size`, 1).
    pub key_space_size: u64,
    /// Txns (`--total`, 10000).
    pub total: u64,
    /// Txns per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
}

impl Default for TxnPutOptions {
    fn default() -> Self {
        TxnPutOptions {
            key_size: 8,
            val_size: 8,
            txn_ops: 1,
            key_space_size: 1,
            total: 10000,
            rate: None,
        }
    }
}

/// Runs `txn-put`; one report.
pub async fn run(pool: &Pool, o: &TxnPutOptions) -> Result<Vec<Report>, BenchError> {
    let value = Arc::new(random_bytes(o.val_size));
    let (p, ops, space, size) = (
        pool.clone(),
        o.txn_ops.max(1),
        o.key_space_size.max(1),
        o.key_size,
    );
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("txn-put", load, move |w, i| {
        let client = p.client(w).clone();
        let puts: Vec<Op> = (0..ops)
            .map(|j| {
                Op::put(
                    key_of((i * ops + j) % space, size),
                    value.as_slice(),
                    PutOptions::default(),
                )
            })
            .collect();
        async move {
            client
                .txn()
                .and_then(puts)
                .commit()
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    Ok(vec![Report::new("txn-put", Stats::from_samples(&samples))])
}
