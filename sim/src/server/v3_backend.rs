//! [`V3Backend`]: what the v3 gRPC services need from a member — replication of
//! v3 requests, the local v3 state (serializable reads, watches), the state shown
//! in response headers, and the leader to forward lease keepalives to. The member
//! (`crate::member`) implements it; tests use a one-member stand-in that applies
//! at once.

use super::backend::ReplicationError;
use super::v3_command::{V3Applied, V3ApplyError};
use super::v3_state::V3Stores;
use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, ResponseHeader};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Why a replicated v3 request has no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum V3Error {
    /// Applied, and refused by the state (the same on every member).
    #[error(transparent)]
    Apply(#[from] V3ApplyError),
    /// Not replicated: no leader, timed out, stopped (etcd's text).
    #[error(transparent)]
    Replication(#[from] ReplicationError),
}

/// The limits a member enforces on v3 requests (etcd's flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3Limits {
    /// `--max-txn-ops` (128).
    pub max_txn_ops: usize,
    /// `--max-request-bytes` (1.5 MiB): the largest request proposed.
    pub max_request_bytes: usize,
    /// `--experimental-watch-progress-notify-interval` (10 minutes).
    pub watch_progress_notify_interval: Duration,
    /// `--bcrypt-cost` (10): the cost v3 passwords are hashed at (the Auth
    /// service applies etcd's bounds).
    pub bcrypt_cost: u32,
    /// `--auth-token-ttl` (300 s): how long a simple token lives after its last use.
    pub auth_token_ttl: Duration,
    /// The backend quota in bytes (`--quota-backend-bytes`, 2 GiB by default;
    /// `None`: disabled). See [`super::v3_quota`].
    pub quota_backend_bytes: Option<u64>,
}

impl Default for V3Limits {
    fn default() -> Self {
        V3Limits {
            max_txn_ops: 128,
            max_request_bytes: 1_572_864,
            watch_progress_notify_interval: Duration::from_secs(600),
            bcrypt_cost: 10,
            auth_token_ttl: Duration::from_secs(300),
            quota_backend_bytes: Some(super::v3_quota::DEFAULT_QUOTA_BYTES),
        }
    }
}

/// A member as the v3 services see it.
#[async_trait]
pub trait V3Backend: Send + Sync + 'static {
    /// Replicates `req` (its header's request id is set here) and returns the
    /// result of applying it on this member.
    async fn propose_v3(&self, req: InternalRaftRequest) -> Result<V3Applied, V3Error>;

    /// This member's v3 state (serializable reads, watch streams).
    fn v3_stores(&self) -> Arc<Mutex<V3Stores>>;

    /// Notified after every applied v3 write, so watch streams send what it queued.
    fn v3_activity(&self) -> Arc<Notify>;

    /// A response header with this member's cluster id, member id and Raft term,
    /// and the store's current revision.
    fn header(&self) -> ResponseHeader;

    /// The limits of this member.
    fn limits(&self) -> V3Limits;

    /// Whether this member leads now (its lessor renews and expires leases).
    fn is_leader(&self) -> bool;

    /// Whether the cluster has a leader this member knows of.
    fn has_leader(&self) -> bool;

    /// The leader's client URLs (to forward keepalives and TTL reads to, as etcd
    /// forwards them over its peer port), when another member leads.
    fn leader_client_urls(&self) -> Option<Vec<String>>;

    /// A new id for a request or a server-chosen lease id: unique in the cluster,
    /// positive (etcd's request id generator: member id bits and a counter).
    fn next_id(&self) -> i64;

    /// Whether linearizable Ranges are served from the local store without the
    /// read-index barrier: a deliberate bug (`--unsafe local-linearizable-ranges`),
    /// **for testing the chaos checker only**. `false` by default, as in etcd.
    fn unsafe_local_linearizable_ranges(&self) -> bool {
        false
    }

    /// Whether this member is a learner (a non-voting member, which serves only
    /// Status and serializable ranges).
    fn is_learner(&self) -> bool {
        false
    }
    /// The Raft numbers Maintenance.Status reports. By default: a one-member
    /// view built from [`V3Backend::header`] and [`V3Backend::is_leader`].
    fn raft_numbers(&self) -> RaftNumbers {
        let h = self.header();
        RaftNumbers {
            leader: if self.is_leader() { h.member_id } else { 0 },
            term: h.raft_term,
            commit_index: 0,
            applied_index: 0,
            is_learner: false,
        }
    }

    /// Hands leadership to voter `target` and waits until it leads (etcd's
    /// MoveLeader, asked of the leader). By default: a one-member cluster, whose
    /// only voter is this member.
    ///
    /// # Errors
    ///
    /// etcd's texts: "etcdserver: not leader", "etcdserver: bad leader
    /// transferee", "etcdserver: request timed out, leader transfer took too long".
    async fn move_leader(&self, target: u64) -> Result<(), ReplicationError> {
        if !self.is_leader() {
            return Err(ReplicationError("etcdserver: not leader".into()));
        }
        if target != self.header().member_id {
            return Err(ReplicationError("etcdserver: bad leader transferee".into()));
        }
        Ok(())
    }
}

/// A member's Raft state as Maintenance.Status reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftNumbers {
    /// The leader's id (0: none known).
    pub leader: u64,
    /// The current term.
    pub term: u64,
    /// The highest committed index (Status's `raftIndex`).
    pub commit_index: u64,
    /// The highest applied index.
    pub applied_index: u64,
    /// Whether this member is a learner.
    pub is_learner: bool,
}
