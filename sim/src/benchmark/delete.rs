//! `benchmark delete` (not in etcd's tool; the bench compares servers on
//! it): deletes of keys from the key space, sequential by default, so a
//! `put --sequential-keys` of the same space before it gives each delete a
//! key to remove.

use super::error::BenchError;
use super::keys::KeyGen;
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::{DeleteOptions as SdkDelete, KV};

/// The flags of `delete`.
#[derive(Clone, Debug)]
pub struct DeleteOptions {
    /// Key size (`--key-size`, 8).
    pub key_size: usize,
    /// Distinct keys (`--key-space-size`, 10000).
    pub key_space_size: u64,
    /// Sequential keys (`--sequential-keys`, true here).
    pub sequential_keys: bool,
    /// Deletes (`--total`, 10000).
    pub total: u64,
    /// Deletes per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
}

impl Default for DeleteOptions {
    fn default() -> Self {
        DeleteOptions {
            key_size: 8,
            key_space_size: 10000,
            sequential_keys: true,
            total: 10000,
            rate: None,
        }
    }
}

/// Runs `delete`; one report.
pub async fn run(pool: &Pool, o: &DeleteOptions) -> Result<Vec<Report>, BenchError> {
    let keys = KeyGen {
        size: o.key_size,
        space: o.key_space_size,
        sequential: o.sequential_keys,
    };
    let p = pool.clone();
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("delete", load, move |w, i| {
        let (client, key) = (p.client(w).clone(), keys.key(i));
        async move {
            client
                .delete(key, SdkDelete::default())
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    Ok(vec![Report::new("delete", Stats::from_samples(&samples))])
}
