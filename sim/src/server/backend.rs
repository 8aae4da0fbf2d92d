//! What the v2 HTTP handlers need from a member: the local store, replication of
//! commands, and the state reported in response headers. The member that runs
//! Raft implements it; tests use a single-node stand-in that applies at once.

use crate::server::v2_command::V2Command;
use crate::store::v2::{Reply, Store, StoreError};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A failure to replicate (no leader, timeout, stopped server): etcd answers it
/// with error 300 and this text as the cause.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReplicationError(pub String);

impl ReplicationError {
    /// `etcdserver: request timed out`.
    pub fn timed_out() -> Self {
        ReplicationError("etcdserver: request timed out".into())
    }

    /// `etcdserver: server stopped`.
    pub fn stopped() -> Self {
        ReplicationError("etcdserver: server stopped".into())
    }
}

/// Raft state shown in `X-Raft-Index` / `X-Raft-Term`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftStatus {
    /// The committed Raft index.
    pub commit_index: u64,
    /// The current term.
    pub term: u64,
}

/// A member as the v2 handlers see it.
#[async_trait]
pub trait V2Backend: Send + Sync + 'static {
    /// Replicates `command` (stamped with the receiving member's clock `now`) and
    /// returns the result of applying it on this member.
    async fn propose_v2(
        &self,
        command: V2Command,
        now: SystemTime,
    ) -> Result<Result<Reply, StoreError>, ReplicationError>;

    /// This member's v2 store (local reads and watches).
    fn v2_store(&self) -> Arc<Mutex<Store>>;

    /// The cluster id (`X-Etcd-Cluster-Id`).
    fn cluster_id(&self) -> u64;

    /// The Raft index and term for response headers.
    fn raft_status(&self) -> RaftStatus;

    /// This member's clock.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    /// Whether the v2 API is served (etcd's `--enable-v2`); when not, every
    /// `/v2` path is an unknown path.
    fn v2_enabled(&self) -> bool {
        true
    }

    /// The type names (`NOSPACE`, `CORRUPT`) of the active v3 alarms, one per
    /// alarm, for `/health`. None by default.
    fn alarm_names(&self) -> Vec<String> {
        Vec::new()
    }
}
