//! The leader's lease duties (etcd's lessor loop): the lessor is primary exactly
//! while this member leads (promoted with every lease extended by an election
//! timeout when it becomes leader, demoted when it stops), and the primary's
//! expired leases are revoked through Raft, so every member deletes their keys at
//! one revision.

use super::entry::Entry;
use super::proposer::Proposer;
use super::signal::Signal;
use super::state_machine::lock;
use crate::server::v3_state::V3Stores;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, LeaseRevokeRequest};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;

/// How often leadership is checked (the lessor follows it within this).
pub const ROLE_CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// How often the primary looks for expired leases (etcd: 500 ms).
pub const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The task.
pub(crate) struct LeaseKeeper {
    pub proposer: Proposer,
    pub stores: Arc<Mutex<V3Stores>>,
    /// How far a new leader extends every lease (one election timeout).
    pub election_timeout: Duration,
    pub shutdown: Arc<Signal>,
}

impl LeaseKeeper {
    /// Runs until shutdown.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(ROLE_CHECK_INTERVAL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_expiry_check = Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let leads = self.proposer.status().is_leader();
            let now = Instant::now();
            let expired = {
                let mut stores = lock(&self.stores);
                let lessor = &mut stores.lessor;
                if leads && !lessor.is_primary() {
                    lessor.promote(now, self.election_timeout);
                    tracing::info!(leases = lessor.len(), "member: lessor promoted");
                } else if !leads && lessor.is_primary() {
                    lessor.demote();
                    tracing::info!("member: lessor demoted");
                }
                if lessor.is_primary()
                    && now.duration_since(last_expiry_check) >= EXPIRY_CHECK_INTERVAL
                {
                    last_expiry_check = now;
                    let limit = lessor.config().revoke_limit_per_check();
                    lessor.expired(now, limit)
                } else {
                    Vec::new()
                }
            };
            for id in expired {
                let entry = Entry::V3(Box::new(InternalRaftRequest {
                    lease_revoke: Some(LeaseRevokeRequest { id }),
                    ..Default::default()
                }));
                // A failure leaves the lease expired: the lessor reports it again
                // after its retry interval.
                let revoke = self.proposer.propose(&entry);
                let done = tokio::select! {
                    biased;
                    _ = self.shutdown.wait() => return,
                    r = revoke => r,
                };
                match done {
                    Ok(_) => tracing::debug!(lease = id, "member: expired lease revoked"),
                    Err(e) => {
                        tracing::debug!(lease = id, error = %e, "member: expired lease not revoked")
                    }
                }
            }
        }
    }
}
