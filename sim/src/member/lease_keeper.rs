//! The leader's lease duties (etcd's lessor loop): the lessor is primary exactly
//! while this member leads (promoted with every lease extended by an election
//! timeout when it becomes leader, demoted when it stops), and the primary's
//! expired leases are revoked through Raft, so every member deletes their keys at
//! one revision. The revokes are [`Entry::LeaseExpired`], applied only at the term
//! of the promotion: a paused leader that resumes still primary by its own
//! account revokes nothing.

use super::early_expiry::EarlyExpiry;
use super::entry::{Applied, Entry};
use super::proposer::Proposer;
use super::signal::Signal;
use super::state_machine::lock;
use crate::server::v3_state::V3Stores;
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
    /// `--unsafe early-follower-lease-expiry` (for testing the chaos checker
    /// only): while following, revoke leases by this member's own clock.
    pub early_follower_expiry: bool,
}

impl LeaseKeeper {
    /// Runs until shutdown.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(ROLE_CHECK_INTERVAL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_expiry_check = Instant::now();
        // The term the lessor was promoted in (while it is primary).
        let mut promoted_in = 0;
        let mut early = EarlyExpiry::default();
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let status = self.proposer.status();
            let leads = status.is_leader();
            let now = Instant::now();
            let expired = {
                let mut stores = lock(&self.stores);
                let lessor = &mut stores.lessor;
                if lessor.is_primary() && (!leads || status.term != promoted_in) {
                    // Not leading, or leading again in a later term (lost and won
                    // between two checks): that term's leases get their extension
                    // on promotion.
                    lessor.demote();
                    tracing::info!("member: lessor demoted");
                }
                if leads && !lessor.is_primary() {
                    lessor.promote(now, self.election_timeout);
                    promoted_in = status.term;
                    tracing::info!(
                        leases = lessor.len(),
                        term = promoted_in,
                        "member: lessor promoted"
                    );
                }
                if lessor.is_primary()
                    && now.duration_since(last_expiry_check) >= EXPIRY_CHECK_INTERVAL
                {
                    last_expiry_check = now;
                    let limit = lessor.config().revoke_limit_per_check();
                    lessor.expired(now, limit)
                } else if self.early_follower_expiry && !leads {
                    // Unsafe, for testing the chaos checker only.
                    let known: Vec<(i64, i64)> = lessor
                        .leases()
                        .into_iter()
                        .filter_map(|id| lessor.get(id).map(|l| (id, l.ttl())))
                        .collect();
                    promoted_in = status.term;
                    early.due(&known, now)
                } else {
                    if leads {
                        early.clear();
                    }
                    Vec::new()
                }
            };
            for id in expired {
                // Applied only at the term of the promotion: a leader deposed
                // without knowing it yet revokes nothing the new one keeps alive.
                let entry = Entry::LeaseExpired {
                    term: promoted_in,
                    id,
                };
                // A failure leaves the lease expired: the lessor reports it again
                // after its retry interval.
                let revoke = self.proposer.propose(&entry);
                let done = tokio::select! {
                    biased;
                    _ = self.shutdown.wait() => return,
                    r = revoke => r,
                };
                match done {
                    Ok(Applied::V3(r)) if r.is_ok() => {
                        tracing::debug!(lease = id, "member: expired lease revoked")
                    }
                    Ok(other) => {
                        tracing::debug!(lease = id, ?other, "member: expired lease not revoked")
                    }
                    Err(e) => {
                        tracing::debug!(lease = id, error = %e, "member: expired lease not revoked")
                    }
                }
            }
        }
    }
}
