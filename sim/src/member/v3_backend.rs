//! [`MemberV3`]: the member as the v3 gRPC services see it — v3 requests
//! replicated through the same Raft log as the v2 API (one log, both stores
//! applied in order, as etcd 3.4 does), the member's v3 stores, the response
//! header's ids and term, and the leader's client URLs for forwarding.

use super::entry::{Applied, Entry};
use super::membership::Cluster;
use super::proposer::Proposer;
use super::state_machine::lock;
use crate::server::backend::ReplicationError;
use crate::server::v3_backend::{RaftNumbers, V3Backend, V3Error, V3Limits};
use crate::server::v3_command::V3Applied;
use crate::server::v3_state::V3Stores;
use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, RequestHeader, ResponseHeader};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

/// etcd's request id generator: the member id's low 16 bits on top, then a
/// counter that starts at the boot time in milliseconds shifted by 8 bits (so
/// ids stay unique across restarts), 48 bits in all.
#[derive(Debug)]
pub(crate) struct RequestIds {
    prefix: u64,
    suffix: AtomicU64,
}

/// The counter's width.
const SUFFIX_BITS: u32 = 48;

impl RequestIds {
    /// The generator of member `member_id`, started now.
    pub(crate) fn new(member_id: u64) -> RequestIds {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        RequestIds {
            prefix: (member_id & 0xffff) << SUFFIX_BITS,
            suffix: AtomicU64::new((ms << 8) & ((1 << SUFFIX_BITS) - 1)),
        }
    }

    /// The next id.
    pub(crate) fn next(&self) -> u64 {
        let suffix = self.suffix.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        self.prefix | (suffix & ((1 << SUFFIX_BITS) - 1))
    }
}

/// etcd's `maxGapBetweenApplyAndCommitIndex`: a member whose applied index
/// trails its commit index by more refuses new v3 proposals.
pub(crate) const MAX_APPLY_BACKLOG: u64 = 5000;

/// etcd's refusal then (sent as gRPC Unknown with this text, as etcd does).
const TOO_MANY_REQUESTS: &str = "etcdserver: too many requests";

/// Whether the apply backlog is over [`MAX_APPLY_BACKLOG`].
fn too_far_behind(commit_index: u64, applied_index: u64) -> bool {
    commit_index > applied_index.saturating_add(MAX_APPLY_BACKLOG)
}

/// What the v3 services reach of a member.
pub(crate) struct MemberV3 {
    pub(crate) id: u64,
    /// The cluster id until the bootstrap membership has been applied.
    pub(crate) provisional_cluster_id: u64,
    pub(crate) proposer: Proposer,
    pub(crate) cluster: Arc<Mutex<Cluster>>,
    pub(crate) stores: Arc<Mutex<V3Stores>>,
    pub(crate) activity: Arc<Notify>,
    pub(crate) limits: V3Limits,
    pub(crate) ids: RequestIds,
    /// `--unsafe local-linearizable-ranges` (for testing the chaos checker only).
    pub(crate) local_linearizable_ranges: bool,
}

#[async_trait]
impl V3Backend for MemberV3 {
    async fn propose_v3(&self, mut req: InternalRaftRequest) -> Result<V3Applied, V3Error> {
        let status = self.proposer.status();
        if too_far_behind(status.commit_index, status.applied_index) {
            return Err(V3Error::Replication(ReplicationError(
                TOO_MANY_REQUESTS.into(),
            )));
        }
        let id = self.ids.next();
        req.id = id;
        let header = req.header.get_or_insert_with(RequestHeader::default);
        header.id = id;
        match self.proposer.propose(&Entry::V3(Box::new(req))).await? {
            Applied::V3(result) => Ok((*result)?),
            other => {
                tracing::error!(?other, "member: a v3 entry applied as something else");
                Err(V3Error::Replication(ReplicationError(
                    "etcdserver: unexpected apply result".into(),
                )))
            }
        }
    }

    fn v3_stores(&self) -> Arc<Mutex<V3Stores>> {
        self.stores.clone()
    }

    fn v3_activity(&self) -> Arc<Notify> {
        self.activity.clone()
    }

    fn header(&self) -> ResponseHeader {
        let cluster_id = lock(&self.cluster)
            .cluster_id()
            .unwrap_or(self.provisional_cluster_id);
        let revision = lock(&self.stores).kv.current_revision();
        ResponseHeader {
            cluster_id,
            member_id: self.id,
            revision,
            raft_term: self.proposer.status().term,
        }
    }

    fn limits(&self) -> V3Limits {
        self.limits
    }

    fn is_leader(&self) -> bool {
        self.proposer.status().is_leader()
    }

    fn has_leader(&self) -> bool {
        self.proposer.status().leader_id.is_some_and(|l| l != 0)
    }

    fn leader_client_urls(&self) -> Option<Vec<String>> {
        let leader = self.proposer.status().leader_id.filter(|&l| l != 0)?;
        if leader == self.id {
            return None;
        }
        lock(&self.cluster)
            .members()
            .into_iter()
            .find(|m| m.id == leader)
            .map(|m| m.client_urls)
            .filter(|urls| !urls.is_empty())
    }

    fn next_id(&self) -> i64 {
        // Positive, as etcd masks lease ids.
        (self.ids.next() & (i64::MAX as u64)) as i64
    }

    fn is_learner(&self) -> bool {
        lock(&self.cluster).is_learner(self.id)
    }

    fn unsafe_local_linearizable_ranges(&self) -> bool {
        self.local_linearizable_ranges
    }

    fn raft_numbers(&self) -> RaftNumbers {
        let s = self.proposer.status();
        RaftNumbers {
            leader: s.leader_id.unwrap_or(0),
            term: s.term,
            commit_index: s.commit_index,
            applied_index: s.applied_index,
            is_learner: s.learners.contains(&self.id),
        }
    }

    async fn move_leader(&self, target: u64) -> Result<(), ReplicationError> {
        super::v3_move_leader::move_leader(&self.proposer, self.id, target).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apply_backlog_over_5000_refuses_proposals() {
        assert!(!too_far_behind(5000, 0));
        assert!(too_far_behind(5001, 0));
        assert!(!too_far_behind(10, 20));
        assert_eq!(
            etcd_sdk::v3::EtcdError::ALL
                .iter()
                .find(|e| e.message() == TOO_MANY_REQUESTS)
                .map(|e| e.code()),
            Some(etcd_sdk::v3::tonic::Code::Unknown),
            "etcd sends it as Unknown"
        );
    }

    #[test]
    fn request_ids_carry_the_member_and_count_up() {
        let ids = RequestIds::new(0xabcd_1234);
        let (a, b) = (ids.next(), ids.next());
        assert_eq!(a >> SUFFIX_BITS, 0x1234);
        assert_eq!(b, a + 1);
        assert_eq!(b >> SUFFIX_BITS, 0x1234);
    }
}
