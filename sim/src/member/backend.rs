//! [`MemberBackend`]: the member as the v2 handlers see it (the HTTP service's
//! only view of it): replication through the [`Proposer`], the local store, the
//! membership operations with etcd's strict reconfiguration checks, and the
//! statistics.

use super::config::{MemberConfig, url_socket_addr};
use super::entry::{Applied, Entry};
use super::ids::member_id_of;
use super::membership::{Cluster, MemberInfo};
use super::proposer::Proposer;
use super::state_machine::{AddContext, lock};
use super::stats::StatsTracker;
use super::unsafe_mode::UnsafeMode;
use crate::api::v2::members::{ClusterBackend, MembersError};
use crate::api::v2::stats::{LeaderStats, SelfStats, StatsBackend};
use crate::raft::{ChangeKind, MembershipChange};
use crate::server::backend::{RaftStatus, ReplicationError, V2Backend};
use crate::server::v2_command::{V2Command, V2Proposal};
use crate::store::v2::{Reply, Store, StoreError};
use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::Member as V3Member;
use etcd_sdk::wire::Member as WireMember;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// etcd's `HealthInterval`: how long a member must have been connected to every
/// other member before it accepts a new voting member (its strict reconfiguration
/// check, on by default).
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// etcd's `readyPercent`: a learner may be promoted once its match index is at
/// least this share of the leader's.
const LEARNER_READY_PERCENT: f64 = 0.9;

/// What the HTTP service of one member reaches: its identity and settings, the
/// proposer, the store, the membership and the statistics.
pub(crate) struct MemberBackend {
    id: u64,
    name: String,
    cluster_token: String,
    strict_reconfig_check: bool,
    /// etcd's `--enable-v2`.
    enable_v2: bool,
    unsafe_mode: Option<UnsafeMode>,
    /// The cluster id until the bootstrap membership has been applied.
    provisional_cluster_id: u64,
    proposer: Proposer,
    store: Arc<Mutex<Store>>,
    cluster: Arc<Mutex<Cluster>>,
    stats: Arc<Mutex<StatsTracker>>,
    /// The member's v3 state (its alarms, for `/health`), once attached.
    v3_stores: Option<Arc<Mutex<crate::server::v3_state::V3Stores>>>,
    /// What `/metrics` serves, once attached.
    metrics: Option<crate::metrics::MetricsPage>,
}

impl MemberBackend {
    /// Attaches the member's metrics page (served at `/metrics`).
    pub(crate) fn with_metrics(mut self, page: crate::metrics::MetricsPage) -> Self {
        self.metrics = Some(page);
        self
    }

    /// Attaches the member's v3 state (for `/health`'s alarm check).
    pub(crate) fn with_v3_stores(
        mut self,
        stores: Arc<Mutex<crate::server::v3_state::V3Stores>>,
    ) -> Self {
        self.v3_stores = Some(stores);
        self
    }

    /// The backend of the member `cfg` describes.
    pub fn new(
        cfg: &MemberConfig,
        provisional_cluster_id: u64,
        proposer: Proposer,
        store: Arc<Mutex<Store>>,
        cluster: Arc<Mutex<Cluster>>,
        stats: Arc<Mutex<StatsTracker>>,
    ) -> Self {
        MemberBackend {
            id: cfg.id(),
            name: cfg.name.clone(),
            cluster_token: cfg.cluster_token.clone(),
            strict_reconfig_check: cfg.strict_reconfig_check,
            enable_v2: cfg.enable_v2,
            unsafe_mode: cfg.unsafe_mode,
            provisional_cluster_id,
            proposer,
            store,
            cluster,
            stats,
            v3_stores: None,
            metrics: None,
        }
    }

    /// The cluster id: from the bootstrap members once known.
    pub fn cluster_id(&self) -> u64 {
        lock(&self.cluster)
            .cluster_id()
            .unwrap_or(self.provisional_cluster_id)
    }

    /// The v2 store's current index.
    pub fn store_index(&self) -> u64 {
        lock(&self.store).index()
    }

    /// Whether this member has heard from every other member without a gap for at
    /// least `d` (etcd's `isConnectedFullySince(now - d)` over the voting members).
    pub(crate) fn connected_to_all_members_for(&self, d: Duration) -> bool {
        let now = Instant::now();
        let Some(since) = now.checked_sub(d) else {
            return false;
        };
        let ids: Vec<u64> = lock(&self.cluster).voters().map(|m| m.id).collect();
        self.proposer
            .raft()
            .peer_activity()
            .connected_fully_since(self.id, ids, since, now)
    }

    /// etcd's `mayAddMember` under `--strict-reconfig-check`: enough started
    /// voters for the bigger cluster (not asked of a learner), and this member
    /// connected to every voter for [`HEALTH_INTERVAL`].
    pub(crate) fn may_add_member(&self, learner: bool) -> Result<(), MembersError> {
        if !self.strict_reconfig_check {
            return Ok(());
        }
        if !learner && !lock(&self.cluster).ready_to_add_voter() {
            tracing::warn!(member = %self.name, "rejecting member add request; not enough healthy members");
            return Err(MembersError::NotEnoughStarted);
        }
        if !self.connected_to_all_members_for(HEALTH_INTERVAL) {
            tracing::warn!(
                member = %self.name,
                "rejecting member add request; local member has not been connected to all \
                 peers, reconfigure breaks active quorum"
            );
            return Err(MembersError::Unhealthy);
        }
        Ok(())
    }

    /// etcd's `mayPromoteMember`: only the leader knows how far learner `id`
    /// has caught up (`isLearnerReady`: its match index at least 90% of the
    /// leader's; an id the leader does not replicate to passes, and is judged
    /// when the change applies), then, under `--strict-reconfig-check`, the
    /// voters and the learner must make a quorum of started members.
    async fn may_promote_member(&self, id: u64) -> Result<(), MembersError> {
        let matched = self
            .proposer
            .raft()
            .match_indexes()
            .await
            .map_err(|e| MembersError::Other(e.to_string()))?
            .ok_or(MembersError::NotLeader)?;
        if let (Some(&learner), Some(&leader)) = (matched.get(&id), matched.get(&self.id)) {
            if (learner as f64) < (leader as f64) * LEARNER_READY_PERCENT {
                return Err(MembersError::LearnerNotReady);
            }
        }
        if self.strict_reconfig_check && !lock(&self.cluster).ready_to_promote() {
            tracing::warn!(member = %self.name, "rejecting member promote request; not enough healthy members");
            return Err(MembersError::NotEnoughStarted);
        }
        Ok(())
    }

    /// etcd's `mayRemoveMember` under `--strict-reconfig-check`: the members left
    /// must hold a quorum of started ones, and, unless the member to remove is down
    /// (never heard from), the members this one has been connected to for
    /// [`HEALTH_INTERVAL`] must still make a quorum without it.
    fn may_remove_member(&self, id: u64) -> Result<(), MembersError> {
        if !self.strict_reconfig_check {
            return Ok(());
        }
        let ids: Vec<u64> = {
            let cluster = lock(&self.cluster);
            // Unknown or removed ids get their own answers (404, 410); a
            // learner's removal takes no vote away.
            if cluster.member(id).is_none_or(|m| m.is_learner) {
                return Ok(());
            }
            if !cluster.ready_to_remove_voter(id) {
                return Err(MembersError::NotEnoughStarted);
            }
            cluster.voters().map(|m| m.id).collect()
        };
        let now = Instant::now();
        let activity = self.proposer.raft().peer_activity();
        if id != self.id && activity.active_since(id, now).is_none() {
            return Ok(());
        }
        let Some(since) = now.checked_sub(HEALTH_INTERVAL) else {
            return Err(MembersError::Unhealthy);
        };
        let active = activity.connected_since(self.id, ids.iter().copied(), since, now);
        if active.saturating_sub(1) < 1 + (ids.len() - 1) / 2 {
            tracing::warn!(
                member = %self.name,
                "rejecting member remove request; local member has not been connected to \
                 enough peers, reconfigure breaks active quorum"
            );
            return Err(MembersError::Unhealthy);
        }
        Ok(())
    }

    /// Adds a member (a voter, or a learner) through a Raft configuration
    /// change: both APIs' additions. Returns it as listed.
    async fn add(&self, peer_urls: Vec<String>, learner: bool) -> Result<MemberInfo, MembersError> {
        // etcd checks the quorum first (mayAddMember), so an unhealthy cluster
        // answers 500 even to an add that would be refused as a duplicate.
        self.may_add_member(learner)?;
        let id = {
            let cluster = lock(&self.cluster);
            // The id the new member computes itself from its peer URL and the
            // token; if that one is taken, a time-salted one, as etcd gives every
            // added member (the new member must then be told its id).
            let mut id = member_id_of(&peer_urls, &self.cluster_token, None);
            if cluster.member(id).is_some() || cluster.is_removed(id) {
                let secs = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                id = member_id_of(&peer_urls, "", Some(secs));
            }
            cluster.check_add(id, &peer_urls, learner)?;
            id
        };
        let context = serde_json::to_vec(&AddContext {
            id,
            peer_urls: peer_urls.clone(),
            is_learner: learner,
            promote: false,
        })
        .unwrap_or_default();
        self.change(MembershipChange {
            kind: if learner {
                ChangeKind::AddLearner
            } else {
                ChangeKind::AddVoter
            },
            node_id: id,
            peer_addr: peer_urls.iter().find_map(|u| url_socket_addr(u).ok()),
            context,
        })
        .await?;
        Ok(MemberInfo {
            id,
            peer_urls,
            is_learner: learner,
            ..MemberInfo::default()
        })
    }

    async fn propose(&self, entry: &Entry) -> Result<Applied, ReplicationError> {
        self.proposer.propose(entry).await
    }

    async fn change(&self, change: MembershipChange) -> Result<(), MembersError> {
        self.proposer
            .change(change)
            .await
            .map_err(|e| MembersError::from_apply_error(e.0))
    }
}

fn unexpected(what: &Applied) -> ReplicationError {
    ReplicationError(format!("etcdserver: unexpected apply result {what:?}"))
}

#[async_trait]
impl V2Backend for MemberBackend {
    async fn propose_v2(
        &self,
        command: V2Command,
        now: SystemTime,
    ) -> Result<Result<Reply, StoreError>, ReplicationError> {
        if let (Some(UnsafeMode::LocalQuorumReads), V2Command::QuorumGet { path, recursive }) =
            (self.unsafe_mode, &command)
        {
            // Unsafe, for testing the chaos checker only: no ReadIndex, no log.
            return Ok(lock(&self.store).get(path, *recursive, now));
        }
        // Encoded, the command (and its value) is not needed any more.
        let data = super::proposer::encode(&Entry::V2(V2Proposal { command, now }))?;
        match self.proposer.propose_encoded(data).await? {
            Applied::V2(r) => (*r).ok_or_else(|| ReplicationError("etcdserver: no reply".into())),
            other => Err(unexpected(&other)),
        }
    }

    fn v2_store(&self) -> Arc<Mutex<Store>> {
        self.store.clone()
    }

    fn cluster_id(&self) -> u64 {
        MemberBackend::cluster_id(self)
    }

    fn v2_enabled(&self) -> bool {
        self.enable_v2
    }

    fn raft_status(&self) -> RaftStatus {
        let s = self.proposer.status();
        RaftStatus {
            commit_index: s.commit_index,
            term: s.term,
        }
    }

    fn alarm_names(&self) -> Vec<String> {
        let Some(stores) = &self.v3_stores else {
            return Vec::new();
        };
        lock(stores)
            .alarms
            .get(0)
            .iter()
            .map(|a| {
                etcd_sdk::v3::pb::etcdserverpb::AlarmType::try_from(a.alarm)
                    .map_or_else(|_| a.alarm.to_string(), |t| t.as_str_name().to_string())
            })
            .collect()
    }
}

#[async_trait]
impl ClusterBackend for MemberBackend {
    fn member_list(&self) -> Vec<WireMember> {
        lock(&self.cluster)
            .members()
            .iter()
            .map(|m| m.to_wire())
            .collect()
    }

    fn leader_id(&self) -> Option<u64> {
        self.proposer.status().leader_id
    }

    fn cluster_version(&self) -> Option<String> {
        lock(&self.cluster).version().map(str::to_string)
    }

    async fn add_member(&self, peer_urls: Vec<String>) -> Result<WireMember, MembersError> {
        self.add(peer_urls, false).await.map(|m| m.to_wire())
    }

    async fn remove_member(&self, id: u64) -> Result<(), MembersError> {
        self.may_remove_member(id)?;
        lock(&self.cluster).check_remove(id)?;
        self.change(MembershipChange {
            kind: ChangeKind::Remove,
            node_id: id,
            peer_addr: None,
            context: Vec::new(),
        })
        .await
    }

    async fn update_member(&self, id: u64, peer_urls: Vec<String>) -> Result<(), MembersError> {
        lock(&self.cluster).check_update(id, &peer_urls)?;
        let entry = Entry::UpdatePeerUrls {
            id,
            peer_urls,
            now: SystemTime::now(),
        };
        match self.propose(&entry).await {
            Ok(Applied::Membership(r)) => r,
            Ok(other) => Err(MembersError::Other(unexpected(&other).0)),
            Err(e) => Err(MembersError::Other(e.0)),
        }
    }

    fn v3_members(&self) -> Vec<V3Member> {
        lock(&self.cluster)
            .members()
            .iter()
            .map(MemberInfo::to_v3)
            .collect()
    }

    async fn add_member_as(
        &self,
        peer_urls: Vec<String>,
        learner: bool,
    ) -> Result<V3Member, MembersError> {
        self.add(peer_urls, learner).await.map(|m| m.to_v3())
    }

    async fn promote_member(&self, id: u64) -> Result<(), MembersError> {
        self.may_promote_member(id).await?;
        let context = serde_json::to_vec(&AddContext::promotion(id)).unwrap_or_default();
        self.change(MembershipChange {
            kind: ChangeKind::AddVoter,
            node_id: id,
            peer_addr: None,
            context,
        })
        .await
    }
}

impl StatsBackend for MemberBackend {
    fn metrics_text(&self) -> Option<String> {
        self.metrics
            .as_ref()
            .map(crate::metrics::MetricsPage::render)
    }

    fn self_stats(&self) -> SelfStats {
        let status = self.proposer.status();
        lock(&self.stats).self_stats(&self.name, self.id, &status, SystemTime::now())
    }

    fn leader_stats(&self) -> Option<LeaderStats> {
        let status = self.proposer.status();
        if !status.is_leader() {
            return None;
        }
        Some(LeaderStats {
            leader: format!("{:x}", self.id),
            followers: lock(&self.stats).followers(&status),
        })
    }
}
