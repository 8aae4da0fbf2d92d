//! [`MemberProbe`]: what a scrape reads of a member (its Raft status, its
//! membership and its v3 stores) for [`crate::metrics::MemberSample`].

use super::entry::Applied;
use super::membership::Cluster;
use super::state_machine::lock;
use crate::metrics::{MemberSample, Probe};
use crate::raft::RaftNode;
use crate::server::v3_state::V3Stores;
use std::sync::{Arc, Mutex};

/// A member's state, read for `/metrics`.
pub(crate) struct MemberProbe {
    pub(crate) id: u64,
    pub(crate) raft: Arc<RaftNode<Applied>>,
    pub(crate) cluster: Arc<Mutex<Cluster>>,
    pub(crate) stores: Arc<Mutex<V3Stores>>,
}

impl Probe for MemberProbe {
    fn sample(&self) -> MemberSample {
        let status = self.raft.status();
        let (is_learner, cluster_version) = {
            let cluster = lock(&self.cluster);
            (
                cluster.is_learner(self.id),
                cluster.version().map(str::to_string),
            )
        };
        let mut stores = lock(&self.stores);
        let db_total_size = stores.db_size();
        let watch = &stores.watch;
        MemberSample {
            id: self.id,
            has_leader: status.leader_id.is_some_and(|l| l != 0),
            is_leader: status.is_leader(),
            is_learner,
            leader_changes: status.leader_changes,
            committed_index: status.commit_index,
            applied_index: status.applied_index,
            cluster_version,
            db_total_size,
            db_size_in_use: stores.size_in_use(),
            keys: stores.kv.live_key_count() as u64,
            current_revision: stores.kv.current_revision(),
            compact_revision: stores.kv.compact_revision(),
            watch_streams: watch.stream_count() as u64,
            watchers: watch.watcher_count() as u64,
            slow_watchers: (watch.unsynced_count() + watch.victim_count()) as u64,
        }
    }
}
