//! `benchmark lease-keepalive`: each worker grants one lease (TTL 100 s),
//! then renews it once per request; reports the renewals.

use super::error::BenchError;
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::Lease;
use std::sync::Arc;

/// The lease TTL, seconds (etcd's tool grants 100).
const TTL: i64 = 100;

/// The flags of `lease-keepalive`.
#[derive(Clone, Debug)]
pub struct LeaseOptions {
    /// Keepalives (`--total`, 10000).
    pub total: u64,
    /// Keepalives per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            total: 10000,
            rate: None,
        }
    }
}

/// Runs `lease-keepalive`; one report. The leases are revoked afterwards.
pub async fn run(pool: &Pool, o: &LeaseOptions) -> Result<Vec<Report>, BenchError> {
    let mut leases = Vec::with_capacity(pool.workers());
    for w in 0..pool.workers() {
        let g = pool
            .client(w)
            .grant(TTL)
            .await
            .map_err(|e| BenchError::setup("granting a lease", e))?;
        leases.push(g.id);
    }
    let leases = Arc::new(leases);
    let (p, l) = (pool.clone(), leases.clone());
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("lease-keepalive", load, move |w, _| {
        let (client, id) = (p.client(w).clone(), l[w]);
        async move {
            client
                .keep_alive_once(id)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    for (w, id) in leases.iter().enumerate() {
        if let Err(e) = pool.client(w).revoke(*id).await {
            tracing::warn!(lease = id, error = %e, "benchmark: revoke failed");
        }
    }
    Ok(vec![Report::new(
        "lease-keepalive",
        Stats::from_samples(&samples),
    )])
}
