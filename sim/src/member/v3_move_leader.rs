//! etcd's MoveLeader on a member: only the leader hands leadership over, only
//! to a voter of the applied membership, and the call returns once the target
//! leads (or fails after the request timeout, as etcd's context does).

use super::proposer::Proposer;
use crate::raft::NodeStatus;
use crate::server::backend::ReplicationError;

/// etcd's `ErrNotLeader`.
pub(crate) const NOT_LEADER: &str = "etcdserver: not leader";
/// etcd's `ErrBadLeaderTransferee`.
pub(crate) const BAD_TRANSFEREE: &str = "etcdserver: bad leader transferee";
/// etcd's `ErrTimeoutLeaderTransfer`.
pub(crate) const TRANSFER_TIMEOUT: &str =
    "etcdserver: request timed out, leader transfer took too long";

/// Why `status`' node cannot hand leadership to `target`, if it cannot.
pub(crate) fn refusal(status: &NodeStatus, target: u64) -> Option<&'static str> {
    if !status.is_leader() {
        return Some(NOT_LEADER);
    }
    if !status.voters.contains(&target) {
        return Some(BAD_TRANSFEREE);
    }
    None
}

/// Hands leadership from this member (`id`) to `target` and waits for it.
pub(crate) async fn move_leader(
    proposer: &Proposer,
    id: u64,
    target: u64,
) -> Result<(), ReplicationError> {
    let status = proposer.status();
    if let Some(text) = refusal(&status, target) {
        return Err(ReplicationError(text.into()));
    }
    if target == id {
        return Ok(());
    }
    tracing::info!(from = %format!("{id:x}"), to = %format!("{target:x}"), "leadership transfer starting");
    let raft = proposer.raft();
    raft.transfer_leader(target)
        .map_err(|e| ReplicationError(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + proposer.request_timeout();
    loop {
        let s = raft.status();
        if s.leader_id == Some(target) {
            tracing::info!(to = %format!("{target:x}"), "leadership transfer finished");
            return Ok(());
        }
        if s.stopped.is_some() {
            return Err(ReplicationError("etcdserver: server stopped".into()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ReplicationError(TRANSFER_TIMEOUT.into()));
        }
        // raft-rs abandons a transfer after an election timeout: ask again.
        if s.is_leader() {
            raft.transfer_leader(target)
                .map_err(|e| ReplicationError(e.to_string()))?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Role;

    #[test]
    fn only_the_leader_moves_leadership_and_only_to_a_voter() {
        let mut s = NodeStatus::initial(1);
        s.voters = vec![1, 2, 3];
        s.learners = vec![4];
        assert_eq!(refusal(&s, 2), Some(NOT_LEADER));
        s.role = Role::Leader;
        assert_eq!(refusal(&s, 2), None);
        assert_eq!(refusal(&s, 4), Some(BAD_TRANSFEREE), "a learner");
        assert_eq!(refusal(&s, 9), Some(BAD_TRANSFEREE), "unknown");
    }
}
