//! What a Raft node replicates into: the [`StateMachine`] trait.

use super::membership::MembershipEvent;

/// The replicated state a Raft node applies committed entries to, in log order, on
/// every member alike.
///
/// The node driver owns the state machine and calls it from its one task: `apply` for
/// each committed normal entry, `apply_membership` for each committed membership change,
/// `snapshot` when it compacts the log, `restore` when it starts from a stored snapshot
/// or installs one from the leader. All of it must be deterministic: two members that
/// apply the same entries must end in the same state.
pub trait StateMachine: Send + 'static {
    /// What applying an entry produces; the proposer of the entry receives it.
    type Output: Send + 'static;

    /// Applies the committed entry at `index` (of `term`) carrying the proposer's `data`.
    /// Entries Raft appends on its own (a new leader's empty entry) are not passed here.
    fn apply(&mut self, index: u64, term: u64, data: &[u8]) -> Self::Output;

    /// Learns about a committed membership change (already applied to Raft's
    /// configuration). The default does nothing.
    fn apply_membership(&mut self, event: &MembershipEvent) {
        let _ = event;
    }

    /// Checks a committed membership change against the state before it is applied
    /// (etcd's `ValidateConfigurationChange` at apply time: two members may each
    /// have accepted an add of the same peer URL before either was applied). An
    /// `Err` leaves Raft's configuration and the state untouched, and the proposer
    /// gets the message. The default accepts everything.
    ///
    /// # Errors
    ///
    /// Why the change cannot be applied.
    fn validate_membership(
        &self,
        changes: &[(super::membership::ChangeKind, u64)],
        context: &[u8],
    ) -> Result<(), String> {
        let _ = (changes, context);
        Ok(())
    }

    /// The ids removed from the cluster for good, as this state records them (read
    /// after a restore, so the node keeps answering removed members' messages with a
    /// removal notice). The default: none.
    fn removed_ids(&self) -> Vec<u64> {
        Vec::new()
    }

    /// The whole state, as bytes that [`StateMachine::restore`] accepts.
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the whole state with a snapshot taken at `index`.
    ///
    /// # Errors
    ///
    /// A description of why `data` is not a valid snapshot; the node then stops (like
    /// etcd, which cannot go on without its state).
    fn restore(&mut self, index: u64, data: &[u8]) -> Result<(), String>;
}
