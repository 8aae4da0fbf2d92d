//! [`Proposer`]: how a member's tasks and handlers replicate an entry: propose it to
//! the Raft node, retry while it was certainly not applied, and give up after the
//! request timeout with etcd's error texts.

use super::config::MemberConfig;
use super::entry::{Applied, Entry};
use super::state_machine::lock;
use super::stats::StatsTracker;
use crate::metrics::ProposalMetrics;
use crate::raft::{MembershipChange, NodeStatus, RaftError, RaftNode};
use crate::server::backend::ReplicationError;
use bytes::Bytes;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Proposes entries through the member's Raft node (cheap to clone).
#[derive(Clone)]
pub(crate) struct Proposer {
    raft: Arc<RaftNode<Applied>>,
    /// Raft's tick.
    tick: Duration,
    /// Ticks of an election timeout (a timeout soon after an election is blamed on it).
    election_ticks: usize,
    /// How long a proposal is retried.
    request_timeout: Duration,
    /// When a leader was last seen (for the error text of a timeout).
    stats: Arc<Mutex<StatsTracker>>,
    /// Proposals pending and failed (etcd's `etcd_server_proposals_*`).
    metrics: ProposalMetrics,
}

impl Proposer {
    /// Proposes through `raft` with `cfg`'s timing.
    pub fn new(
        raft: Arc<RaftNode<Applied>>,
        cfg: &MemberConfig,
        stats: Arc<Mutex<StatsTracker>>,
        metrics: ProposalMetrics,
    ) -> Self {
        Proposer {
            raft,
            tick: cfg.tick,
            election_ticks: cfg.election_ticks,
            request_timeout: cfg.request_timeout,
            stats,
            metrics,
        }
    }

    /// The Raft node's latest status.
    pub fn status(&self) -> NodeStatus {
        self.raft.status()
    }

    /// How long a proposal is retried (etcd's request timeout).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The Raft node.
    pub fn raft(&self) -> &RaftNode<Applied> {
        &self.raft
    }

    /// Runs `attempt` until it succeeds, retrying while the outcome is certainly
    /// "not applied" (no leader yet, proposal dropped), for at most the request
    /// timeout. A retry waits for the node's status to change (a leader elected, a
    /// new term), or one tick at most: a dropped proposal may succeed on the next
    /// try without any change the status shows.
    async fn replicate<T, F, Fut>(&self, attempt: F) -> Result<T, ReplicationError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RaftError>>,
    {
        let start = Instant::now();
        let retrying = async {
            loop {
                let before = self.raft.status();
                match attempt().await {
                    Ok(v) => return Ok(v),
                    Err(RaftError::NoLeader | RaftError::ProposalDropped) => {
                        let elected = self.raft.wait_for(|s| {
                            s.leader_id.is_some()
                                && (s.leader_id != before.leader_id || s.term != before.term)
                        });
                        tokio::select! {
                            biased;
                            // A stopped node answers at once: then wait the tick
                            // out, or this loop would spin without yielding.
                            r = elected => if r.is_err() {
                                tokio::time::sleep(self.tick).await;
                            },
                            _ = tokio::time::sleep(self.tick) => {}
                        }
                    }
                    Err(RaftError::OutcomeUnknown) => return Err(self.timed_out(start)),
                    Err(RaftError::ConfChange(e)) => return Err(ReplicationError(e)),
                    Err(e) => {
                        tracing::debug!(error = %e, "member: proposal failed");
                        return Err(ReplicationError::stopped());
                    }
                }
            }
        };
        match tokio::time::timeout(self.request_timeout, retrying).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out(start)),
        }
    }

    /// etcd's timeout error: blamed on a leader change when a new leader appeared
    /// within two election timeouts after the request started.
    fn timed_out(&self, start: Instant) -> ReplicationError {
        let election = self
            .tick
            .saturating_mul(u32::try_from(self.election_ticks).unwrap_or(u32::MAX));
        let elected = lock(&self.stats).leader_seen_at();
        match elected {
            Some(at) if start < at && start + election * 2 > at => ReplicationError(
                "etcdserver: request timed out, possibly due to previous leader failure".into(),
            ),
            _ => ReplicationError::timed_out(),
        }
    }

    /// Proposes `entry` and waits for its application here. An entry that cannot
    /// be encoded is not proposed: the caller gets the error.
    pub async fn propose(&self, entry: &Entry) -> Result<Applied, ReplicationError> {
        self.propose_encoded(encode(entry)?).await
    }

    /// Proposes encoded entry bytes. Every attempt shares the one buffer with the
    /// log (no copy of a possibly large entry per attempt).
    pub async fn propose_encoded(&self, data: Bytes) -> Result<Applied, ReplicationError> {
        // Counted as etcd counts request proposals (membership changes are not).
        let _pending = self.metrics.pending();
        let result = self.replicate(|| self.raft.propose(data.clone())).await;
        // etcd counts a proposal failed when it timed out (not when stopping).
        if result
            .as_ref()
            .is_err_and(|e| e.0.starts_with(ReplicationError::timed_out().0.as_str()))
        {
            self.metrics.failed();
        }
        result
    }

    /// Proposes a membership change and waits for its application here.
    pub async fn change(&self, change: MembershipChange) -> Result<(), ReplicationError> {
        self.replicate(|| self.raft.change_membership(change.clone()))
            .await
            .map(|_| ())
    }
}

/// The entry's bytes, or the error the proposer gets (nothing is proposed).
pub(crate) fn encode(entry: &Entry) -> Result<Bytes, ReplicationError> {
    entry.encode().map(Bytes::from).map_err(|e| {
        tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "member: not proposed");
        ReplicationError(format!("etcdserver: {e}"))
    })
}
