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
}

impl Default for V3Limits {
    fn default() -> Self {
        V3Limits {
            max_txn_ops: 128,
            max_request_bytes: 1_572_864,
            watch_progress_notify_interval: Duration::from_secs(600),
            bcrypt_cost: 10,
            auth_token_ttl: Duration::from_secs(300),
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

    /// Whether this member is a learner (a non-voting member, which serves only
    /// Status and serializable ranges).
    fn is_learner(&self) -> bool {
        false
    }
}
