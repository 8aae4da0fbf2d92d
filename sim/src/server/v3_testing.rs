//! A one-member v3 stand-in for tests: every proposal is applied at once, to
//! stores whose lessor is primary (this member leads).

use super::backend::ReplicationError;
use super::v3_backend::{V3Backend, V3Error, V3Limits};
use super::v3_command::{V3Applied, apply};
use super::v3_state::V3Stores;
use crate::store::v3::lease::LessorConfig;
use crate::store::v3::watch::WatchConfig;
use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, ResponseHeader};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The cluster id, member id and term the stand-in reports.
pub(crate) const CLUSTER_ID: u64 = 0x1000;
/// See [`CLUSTER_ID`].
pub(crate) const MEMBER_ID: u64 = 0x2000;
/// See [`CLUSTER_ID`].
pub(crate) const RAFT_TERM: u64 = 2;

/// One member that applies every v3 request at once (or fails them all).
pub(crate) struct LocalV3 {
    stores: Arc<Mutex<V3Stores>>,
    activity: Arc<Notify>,
    limits: V3Limits,
    ids: AtomicI64,
    /// When set, every proposal fails with it.
    pub(crate) fail: Option<ReplicationError>,
    /// When set, the member knows of no leader (and does not lead); tests flip it.
    pub(crate) no_leader: AtomicBool,
    /// When set, another member leads, serving clients at these URLs.
    pub(crate) leader_urls: Option<Vec<String>>,
    /// When set, this member is a learner; tests flip it.
    pub(crate) learner: AtomicBool,
}

impl LocalV3 {
    /// Fresh stores with etcd's default limits.
    pub(crate) fn new() -> LocalV3 {
        LocalV3::with_limits(V3Limits::default())
    }

    /// Fresh stores with these limits.
    pub(crate) fn with_limits(limits: V3Limits) -> LocalV3 {
        let mut stores = V3Stores::new(
            LessorConfig::default(),
            WatchConfig::new(limits.max_request_bytes),
        );
        stores
            .lessor
            .promote(Instant::now(), Duration::from_secs(1));
        LocalV3 {
            stores: Arc::new(Mutex::new(stores)),
            activity: Arc::new(Notify::new()),
            limits,
            ids: AtomicI64::new(0x7e57_0000),
            fail: None,
            no_leader: AtomicBool::new(false),
            leader_urls: None,
            learner: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl V3Backend for LocalV3 {
    async fn propose_v3(&self, req: InternalRaftRequest) -> Result<V3Applied, V3Error> {
        if let Some(e) = &self.fail {
            return Err(V3Error::Replication(e.clone()));
        }
        let result = {
            let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
            // One log entry per proposal (simple tokens carry its index).
            stores.applied_index += 1;
            apply(&mut stores, &req, Instant::now())
        };
        self.activity.notify_waiters();
        Ok(result?)
    }

    fn v3_stores(&self) -> Arc<Mutex<V3Stores>> {
        self.stores.clone()
    }

    fn v3_activity(&self) -> Arc<Notify> {
        self.activity.clone()
    }

    fn header(&self) -> ResponseHeader {
        let revision = self
            .stores
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .kv
            .current_revision();
        ResponseHeader {
            cluster_id: CLUSTER_ID,
            member_id: MEMBER_ID,
            revision,
            raft_term: RAFT_TERM,
        }
    }

    fn limits(&self) -> V3Limits {
        self.limits
    }

    fn is_leader(&self) -> bool {
        !self.no_leader.load(Ordering::SeqCst) && self.leader_urls.is_none()
    }

    fn has_leader(&self) -> bool {
        !self.no_leader.load(Ordering::SeqCst)
    }

    fn leader_client_urls(&self) -> Option<Vec<String>> {
        if self.no_leader.load(Ordering::SeqCst) {
            return None;
        }
        self.leader_urls.clone()
    }

    fn next_id(&self) -> i64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    fn is_learner(&self) -> bool {
        self.learner.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::PutRequest;

    #[tokio::test]
    async fn applies_at_once_and_reports_the_revision() {
        let b = LocalV3::new();
        let put = InternalRaftRequest {
            put: Some(PutRequest {
                key: b"k".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches!(b.propose_v3(put).await, Ok(V3Applied::Put(_))));
        assert_eq!(b.header().revision, 2);
        assert_ne!(b.next_id(), b.next_id());
    }
}
