//! A node's published status: [`NodeStatus`], and the board the driver publishes it on.
//!
//! The board is a mutex-guarded value plus a `tokio::sync::Notify`, not a
//! `tokio::sync::watch` channel: `watch` spreads its waiters over several `Notify`s picked
//! with tokio's own thread-local RNG, whose seed carries over between simulations in one
//! process, so the order in which waiters wake (and with it a madsim run) would not
//! replay from the seed.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// A node's role in its current term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks whether it could win an election, without raising the term (pre-vote).
    PreCandidate,
    /// Campaigns for leadership.
    Candidate,
    /// Leads.
    Leader,
}

impl From<raft::StateRole> for Role {
    fn from(r: raft::StateRole) -> Self {
        match r {
            raft::StateRole::Follower => Role::Follower,
            raft::StateRole::PreCandidate => Role::PreCandidate,
            raft::StateRole::Candidate => Role::Candidate,
            raft::StateRole::Leader => Role::Leader,
        }
    }
}

/// A snapshot of a node's Raft state, published after every step of its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// This node's id.
    pub id: u64,
    /// Its role.
    pub role: Role,
    /// The leader it knows of in its term.
    pub leader_id: Option<u64>,
    /// Its current term.
    pub term: u64,
    /// Highest log index known committed.
    pub commit_index: u64,
    /// Highest log index applied to the state machine.
    pub applied_index: u64,
    /// Highest log index it holds.
    pub last_index: u64,
    /// Index of its latest snapshot (0 if none).
    pub snapshot_index: u64,
    /// Voters in the applied membership, ascending.
    pub voters: Vec<u64>,
    /// Learners in the applied membership, ascending.
    pub learners: Vec<u64>,
    /// Whether a change removing this node was applied (the node stops soon after).
    pub removed: bool,
    /// Why the driver stopped, once it has.
    pub stopped: Option<String>,
    /// Leader changes this node has seen: how often a leader became known that
    /// differs from the one known just before (none included), as etcd counts
    /// `etcd_server_leader_changes_seen_total`. Kept by the status board.
    pub leader_changes: u64,
}

impl NodeStatus {
    /// Whether this node leads.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
}

impl NodeStatus {
    /// The status of node `id` before its driver has run.
    pub(crate) fn initial(id: u64) -> Self {
        Self {
            id,
            role: Role::Follower,
            leader_id: None,
            term: 0,
            commit_index: 0,
            applied_index: 0,
            last_index: 0,
            snapshot_index: 0,
            voters: Vec::new(),
            learners: Vec::new(),
            removed: false,
            stopped: None,
            leader_changes: 0,
        }
    }
}

/// Shared, latest-value status with change notification (deterministic under madsim).
#[derive(Debug, Clone)]
pub(crate) struct StatusBoard {
    inner: Arc<Board>,
}

#[derive(Debug)]
struct Board {
    status: Mutex<NodeStatus>,
    changed: Notify,
}

impl StatusBoard {
    pub fn new(initial: NodeStatus) -> Self {
        Self {
            inner: Arc::new(Board {
                status: Mutex::new(initial),
                changed: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, NodeStatus> {
        self.inner
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self) -> NodeStatus {
        self.lock().clone()
    }

    /// Replaces the status and wakes the waiters, if it changed. The board keeps
    /// the count of leader changes (`next`'s is ignored).
    pub fn publish(&self, mut next: NodeStatus) {
        {
            let mut s = self.lock();
            next.leader_changes = s.leader_changes
                + u64::from(next.leader_id.is_some() && next.leader_id != s.leader_id);
            if *s == next {
                return;
            }
            *s = next;
        }
        self.inner.changed.notify_waiters();
    }

    /// Marks the status stopped (if it is not yet) with `reason`.
    pub fn mark_stopped(&self, reason: &str) {
        let mut next = self.get();
        if next.stopped.is_none() {
            next.stopped = Some(reason.to_string());
            self.publish(next);
        }
    }

    /// Waits until `pred` holds for the current status; returns that status.
    pub async fn wait_for(&self, mut pred: impl FnMut(&NodeStatus) -> bool) -> NodeStatus {
        loop {
            // Created before the check: `notify_waiters` reaches it even unpolled.
            let changed = self.inner.changed.notified();
            {
                let s = self.lock();
                if pred(&s) {
                    return s.clone();
                }
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(term: u64) -> NodeStatus {
        NodeStatus {
            term,
            ..NodeStatus::initial(1)
        }
    }

    #[tokio::test]
    async fn waiters_see_published_changes() {
        let board = StatusBoard::new(status(1));
        let waiter = tokio::spawn({
            let board = board.clone();
            async move { board.wait_for(|s| s.term >= 3).await }
        });
        tokio::task::yield_now().await;
        board.publish(status(2));
        board.publish(status(3));
        assert_eq!(waiter.await.unwrap().term, 3);
        board.mark_stopped("bye");
        // No leader changes among these statuses; then A, none, A, B: three.
        assert_eq!(board.get().leader_changes, 0);
        for leader in [Some(7), None, Some(7), Some(8)] {
            board.publish(NodeStatus {
                leader_id: leader,
                ..board.get()
            });
        }
        assert_eq!(board.get().leader_changes, 3);
        board.mark_stopped("again");
        assert_eq!(board.get().stopped.as_deref(), Some("bye"));
    }
}
