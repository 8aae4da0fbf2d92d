//! Why a request to a Raft node failed.

use super::disk::DiskError;

/// The error of a [`crate::raft::RaftNode`] request.
///
/// Only [`RaftError::ProposalDropped`] and [`RaftError::NoLeader`] promise that a
/// proposal was not applied; after [`RaftError::Stopped`] or
/// [`RaftError::OutcomeUnknown`] (or a caller's own timeout) it may or may not be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaftError {
    /// No leader is known, so the request was not forwarded anywhere.
    #[error("raft: no leader")]
    NoLeader,
    /// The proposal was certainly not applied: raft refused it, or its log entry was
    /// replaced by another leader's.
    #[error("raft: proposal dropped")]
    ProposalDropped,
    /// The proposal's entry index was covered by a snapshot installed from the leader,
    /// so whether it was applied cannot be told here.
    #[error("raft: proposal outcome unknown")]
    OutcomeUnknown,
    /// The node stopped (asked to, removed from the cluster, or failed) before
    /// answering.
    #[error("raft: node stopped")]
    Stopped,
    /// A membership change was rejected when applied.
    #[error("raft: membership change rejected: {0}")]
    ConfChange(String),
    /// The node's disk failed (the node stops).
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// raft-rs refused to start or failed (the message of its error).
    #[error("raft: {0}")]
    Raft(String),
    /// The peer transport could not start.
    #[error("raft: transport: {0}")]
    Transport(String),
}

impl From<raft::Error> for RaftError {
    fn from(e: raft::Error) -> Self {
        match e {
            raft::Error::ProposalDropped => RaftError::ProposalDropped,
            other => RaftError::Raft(other.to_string()),
        }
    }
}
