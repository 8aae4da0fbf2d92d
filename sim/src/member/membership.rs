//! The cluster's membership as every member keeps it, and the `/0` store writes
//! that go with each change (etcd's `membership.RaftCluster`; the paths and index
//! arithmetic are in [`crate::store::v2::cluster_keys`]):
//!
//! - a member added by a configuration change (bootstrap ones included): **create**
//!   `raftAttributes` with `{"peerURLs":[..]}`;
//! - a member publishing itself: **set** `attributes` with `{"name":..,"clientURLs":[..]}`;
//! - the leader deciding the cluster version: **set** `/0/version`;
//! - a peer URL update, or a learner's promotion: **update** `raftAttributes`
//!   (a learner's carries `"isLearner":true`);
//! - a removal: **delete** the member's directory, **create** `/0/removed_members/<id>`.

use super::ids::cluster_id;
use crate::api::v2::members::MembersError;
use crate::store::v2::cluster_keys::{
    CLUSTER_VERSION_KEY, attributes_key, member_key, raft_attributes_key, removed_member_key,
};
use crate::store::v2::{Store, TtlOptions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

/// One member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its id.
    pub id: u64,
    /// Its name (empty until it publishes, for a member added at run time).
    pub name: String,
    /// Its peer URLs, sorted.
    pub peer_urls: Vec<String>,
    /// Its client URLs (empty until it publishes).
    pub client_urls: Vec<String>,
    /// Whether it is a learner: it receives the log but does not vote (etcd's
    /// `RaftAttributes.IsLearner`; absent from snapshots made before learners).
    #[serde(default)]
    pub is_learner: bool,
}

impl MemberInfo {
    /// Whether it has published its attributes (etcd's `IsStarted`: a name is set).
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }

    /// As the v3 API lists it.
    pub fn to_v3(&self) -> etcd_sdk::v3::pb::etcdserverpb::Member {
        etcd_sdk::v3::pb::etcdserverpb::Member {
            id: self.id,
            name: self.name.clone(),
            peer_ur_ls: self.peer_urls.clone(),
            client_ur_ls: self.client_urls.clone(),
            is_learner: self.is_learner,
        }
    }

    /// As `/v2/members` lists it (etcd 3.4 lists learners there like any
    /// member, without a learner flag).
    pub fn to_wire(&self) -> etcd_sdk::wire::Member {
        etcd_sdk::wire::Member {
            id: format!("{:x}", self.id),
            name: self.name.clone(),
            peer_urls: self.peer_urls.clone(),
            client_urls: self.client_urls.clone(),
        }
    }
}

/// The stored value of `raftAttributes` (etcd's `RaftAttributes`).
#[derive(Serialize)]
struct RaftAttributes<'a> {
    #[serde(rename = "peerURLs")]
    peer_urls: &'a [String],
    #[serde(rename = "isLearner", skip_serializing_if = "std::ops::Not::not")]
    is_learner: bool,
}

/// etcd's `maxLearners`: learners a cluster may have at once.
pub const MAX_LEARNERS: usize = 1;

/// The stored value of `attributes` (etcd's `Attributes`, fields omitted when empty).
#[derive(Serialize)]
struct Attributes<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "clientURLs", skip_serializing_if = "<[String]>::is_empty")]
    client_urls: &'a [String],
}

fn json_text<T: Serialize>(v: &T) -> String {
    String::from_utf8(etcd_sdk::wire::to_go_json(v)).unwrap_or_default()
}

/// The membership: members, removed ids, the cluster version, and the ids the
/// cluster was bootstrapped with (which fix the cluster id).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    members: BTreeMap<u64, MemberInfo>,
    removed: BTreeSet<u64>,
    version: Option<String>,
    bootstrap_ids: BTreeSet<u64>,
}

impl Cluster {
    /// The members, ordered by id.
    pub fn members(&self) -> Vec<MemberInfo> {
        self.members.values().cloned().collect()
    }

    /// Member `id`.
    pub fn member(&self, id: u64) -> Option<&MemberInfo> {
        self.members.get(&id)
    }

    /// Every removed id, ascending.
    pub fn removed_ids(&self) -> Vec<u64> {
        self.removed.iter().copied().collect()
    }

    /// Whether `id` was removed.
    pub fn is_removed(&self, id: u64) -> bool {
        self.removed.contains(&id)
    }

    /// The cluster version, once decided.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The cluster id, once the bootstrap members are known.
    pub fn cluster_id(&self) -> Option<u64> {
        let ids: Vec<u64> = self.bootstrap_ids.iter().copied().collect();
        (!ids.is_empty()).then(|| cluster_id(&ids))
    }

    /// Whether every member has published its attributes.
    pub fn all_started(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(MemberInfo::is_started)
    }

    /// The voting members (learners left out), ordered by id.
    pub fn voters(&self) -> impl Iterator<Item = &MemberInfo> + Clone {
        self.members.values().filter(|m| !m.is_learner)
    }

    /// Whether member `id` is a learner.
    pub fn is_learner(&self, id: u64) -> bool {
        self.members.get(&id).is_some_and(|m| m.is_learner)
    }

    /// etcd's `IsReadyToAddVotingMember`: after the addition, the started voters
    /// still make a quorum (or it is the second member of a one-member cluster).
    pub fn ready_to_add_voter(&self) -> bool {
        let nmembers = self.voters().count() + 1;
        let nstarted = self.voters().filter(|m| m.is_started()).count();
        (nstarted == 1 && nmembers == 2) || nstarted > nmembers / 2
    }

    /// Whether removing voter `id` leaves a quorum of started voters among the
    /// rest (etcd's `IsReadyToRemoveVotingMember`).
    pub fn ready_to_remove_voter(&self, id: u64) -> bool {
        let rest = self.voters().filter(|m| m.id != id);
        let nmembers = rest.clone().count();
        let nstarted = rest.filter(|m| m.is_started()).count();
        nstarted > nmembers / 2
    }

    /// etcd's `IsReadyToPromoteMember`: the voters plus the promoted learner
    /// (counted as started) still make a quorum of started members.
    pub fn ready_to_promote(&self) -> bool {
        let nmembers = self.voters().count() + 1;
        let nstarted = self.voters().filter(|m| m.is_started()).count() + 1;
        nstarted > nmembers / 2
    }

    fn url_owner(&self, url: &str) -> Option<u64> {
        self.members
            .values()
            .find(|m| m.peer_urls.iter().any(|u| u == url))
            .map(|m| m.id)
    }

    /// Checks an addition (etcd's `ValidateConfigurationChange` for AddNode and
    /// AddLearnerNode): a learner only while the cluster has fewer than
    /// [`MAX_LEARNERS`].
    ///
    /// # Errors
    ///
    /// [`MembersError::IdRemoved`], [`MembersError::IdExists`],
    /// [`MembersError::PeerUrlExists`] or [`MembersError::TooManyLearners`].
    pub fn check_add(
        &self,
        id: u64,
        peer_urls: &[String],
        learner: bool,
    ) -> Result<(), MembersError> {
        if self.is_removed(id) {
            return Err(MembersError::IdRemoved);
        }
        if self.members.contains_key(&id) {
            return Err(MembersError::IdExists);
        }
        if peer_urls.iter().any(|u| self.url_owner(u).is_some()) {
            return Err(MembersError::PeerUrlExists);
        }
        let learners = self.members.values().filter(|m| m.is_learner).count();
        if learner && learners + 1 > MAX_LEARNERS {
            return Err(MembersError::TooManyLearners);
        }
        Ok(())
    }

    /// Checks a learner's promotion (etcd's `ValidateConfigurationChange` for an
    /// AddNode that promotes).
    ///
    /// # Errors
    ///
    /// [`MembersError::IdRemoved`], [`MembersError::IdNotFound`] or
    /// [`MembersError::MemberNotLearner`].
    pub fn check_promote(&self, id: u64) -> Result<(), MembersError> {
        self.check_remove(id)?;
        if !self.is_learner(id) {
            return Err(MembersError::MemberNotLearner);
        }
        Ok(())
    }

    /// Checks a removal.
    ///
    /// # Errors
    ///
    /// [`MembersError::IdRemoved`] or [`MembersError::IdNotFound`].
    pub fn check_remove(&self, id: u64) -> Result<(), MembersError> {
        if self.is_removed(id) {
            return Err(MembersError::IdRemoved);
        }
        if !self.members.contains_key(&id) {
            return Err(MembersError::IdNotFound);
        }
        Ok(())
    }

    /// Checks a peer URL update.
    ///
    /// # Errors
    ///
    /// [`MembersError::IdRemoved`], [`MembersError::IdNotFound`] or
    /// [`MembersError::PeerUrlExists`] (a URL of another member).
    pub fn check_update(&self, id: u64, peer_urls: &[String]) -> Result<(), MembersError> {
        self.check_remove(id)?;
        if peer_urls
            .iter()
            .any(|u| self.url_owner(u).is_some_and(|owner| owner != id))
        {
            return Err(MembersError::PeerUrlExists);
        }
        Ok(())
    }

    /// Applies an addition: records the member and creates its `raftAttributes`.
    /// A member already present is left alone (a repeated addition changes nothing).
    pub fn add(&mut self, store: &mut Store, member: MemberInfo, bootstrap: bool, now: SystemTime) {
        if bootstrap {
            self.bootstrap_ids.insert(member.id);
        }
        if self.members.contains_key(&member.id) || self.removed.contains(&member.id) {
            tracing::warn!(id = %format!("{:x}", member.id), "membership: addition of a known id ignored");
            return;
        }
        let value = json_text(&RaftAttributes {
            peer_urls: &member.peer_urls,
            is_learner: member.is_learner,
        });
        if let Err(e) = store.create(
            &raft_attributes_key(member.id),
            false,
            &value,
            false,
            None,
            now,
        ) {
            tracing::warn!(error = %e, "membership: raftAttributes not created");
        }
        self.members.insert(member.id, member);
    }

    /// Applies a removal: forgets the member, deletes its directory and records the
    /// id as removed.
    pub fn remove(&mut self, store: &mut Store, id: u64, now: SystemTime) {
        if self.members.remove(&id).is_none() {
            tracing::warn!(id = %format!("{id:x}"), "membership: removal of an unknown id ignored");
            return;
        }
        if let Err(e) = store.delete(&member_key(id), true, true, now) {
            tracing::warn!(error = %e, "membership: member directory not deleted");
        }
        if let Err(e) = store.create(&removed_member_key(id), false, "", false, None, now) {
            tracing::warn!(error = %e, "membership: removed marker not created");
        }
        self.removed.insert(id);
    }

    /// Applies a peer URL update. As in etcd 3.4.23, the member's new
    /// `raftAttributes` are the peer URLs alone: a learner's record loses its
    /// learner flag (it is listed as a voter, counted among the voters by the
    /// strict reconfiguration checks, and can no longer be promoted), although
    /// Raft keeps it a learner (verified live: `member update` of a learner,
    /// then `member list` shows it with `false`).
    ///
    /// # Errors
    ///
    /// As [`Cluster::check_update`] (checked again: the log orders concurrent
    /// requests).
    pub fn update_peer_urls(
        &mut self,
        store: &mut Store,
        id: u64,
        peer_urls: Vec<String>,
        now: SystemTime,
    ) -> Result<(), MembersError> {
        self.check_update(id, &peer_urls)?;
        let value = json_text(&RaftAttributes {
            peer_urls: &peer_urls,
            is_learner: false,
        });
        if let Err(e) = store.update(
            &raft_attributes_key(id),
            &value,
            TtlOptions::permanent(),
            now,
        ) {
            tracing::warn!(error = %e, "membership: raftAttributes not updated");
        }
        if let Some(m) = self.members.get_mut(&id) {
            m.peer_urls = peer_urls;
            m.is_learner = false;
        }
        Ok(())
    }

    /// Applies a learner's promotion: it becomes a voter, and its
    /// `raftAttributes` are updated without the learner flag (etcd's
    /// `PromoteMember`). Anything but a learner is left alone (checked before).
    pub fn promote(&mut self, store: &mut Store, id: u64, now: SystemTime) {
        let Some(m) = self.members.get_mut(&id).filter(|m| m.is_learner) else {
            tracing::warn!(id = %format!("{id:x}"), "membership: promotion of a non-learner ignored");
            return;
        };
        m.is_learner = false;
        let value = json_text(&RaftAttributes {
            peer_urls: &m.peer_urls,
            is_learner: false,
        });
        if let Err(e) = store.update(
            &raft_attributes_key(id),
            &value,
            TtlOptions::permanent(),
            now,
        ) {
            tracing::warn!(error = %e, "membership: raftAttributes not updated");
        }
    }

    /// Applies a member's published attributes; a removed or unknown member's are
    /// ignored (as etcd skips a removed member's).
    pub fn publish(
        &mut self,
        store: &mut Store,
        id: u64,
        name: String,
        client_urls: Vec<String>,
        now: SystemTime,
    ) -> Result<(), MembersError> {
        let Some(m) = self.members.get_mut(&id) else {
            return Err(if self.removed.contains(&id) {
                MembersError::IdRemoved
            } else {
                MembersError::IdNotFound
            });
        };
        let value = json_text(&Attributes {
            name: &name,
            client_urls: &client_urls,
        });
        if let Err(e) = store.set(
            &attributes_key(id),
            false,
            &value,
            TtlOptions::permanent(),
            now,
        ) {
            tracing::warn!(error = %e, "membership: attributes not set");
        }
        m.name = name;
        m.client_urls = client_urls;
        Ok(())
    }

    /// Applies the cluster version (no write when it is already this version),
    /// and logs etcd's lines for it (`local_id`: this member, for the log).
    pub fn set_version(
        &mut self,
        store: &mut Store,
        version: String,
        now: SystemTime,
        local_id: u64,
    ) {
        if self.version.as_deref() == Some(version.as_str()) {
            return;
        }
        if let Err(e) = store.set(
            CLUSTER_VERSION_KEY,
            false,
            &version,
            TtlOptions::permanent(),
            now,
        ) {
            tracing::warn!(error = %e, "membership: cluster version not set");
        }
        let shown = super::publish::major_minor(&version).to_string();
        let cluster = self
            .cluster_id()
            .map(|c| format!("{c:x}"))
            .unwrap_or_default();
        match self.version.replace(version) {
            None => tracing::info!(
                capnslog = "N",
                zap_msg = "set initial cluster version",
                cluster_id = %cluster,
                local_member_id = %format!("{local_id:x}"),
                cluster_version = %shown,
                "etcdserver/membership: set the initial cluster version to {shown}"
            ),
            Some(old) => tracing::info!(
                capnslog = "N",
                zap_msg = "updated cluster version",
                cluster_id = %cluster,
                local_member_id = %format!("{local_id:x}"),
                from = %super::publish::major_minor(&old),
                to = %shown,
                "etcdserver/membership: updated the cluster version from {} to {shown}",
                super::publish::major_minor(&old)
            ),
        }
        tracing::info!(
            zap_msg = "enabled capabilities for version",
            cluster_version = %shown,
            "etcdserver/api: enabled capabilities for version {shown}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn m(id: u64, url: &str) -> MemberInfo {
        MemberInfo {
            id,
            name: String::new(),
            peer_urls: vec![url.into()],
            client_urls: vec![],
            is_learner: false,
        }
    }

    #[test]
    fn bootstrap_publish_version_then_first_write_is_index_8_for_three() {
        let now = UNIX_EPOCH;
        let mut store = Store::new();
        let mut c = Cluster::default();
        for id in 1..=3 {
            c.add(
                &mut store,
                m(id, &format!("http://10.0.0.{id}:2380")),
                true,
                now,
            );
        }
        assert!(!c.all_started());
        for id in 1..=3 {
            c.publish(
                &mut store,
                id,
                format!("m{id}"),
                vec![format!("http://10.0.0.{id}:2379")],
                now,
            )
            .unwrap();
        }
        assert!(c.all_started());
        c.set_version(&mut store, "3.4.0".into(), now, 1);
        c.set_version(&mut store, "3.4.0".into(), now, 1);
        assert_eq!(store.index(), 7);
        assert_eq!(c.cluster_id(), Some(cluster_id(&[1, 2, 3])));
        let got = store.get(&attributes_key(2), false, now).unwrap();
        assert_eq!(
            got.event.node.unwrap().value.as_deref(),
            Some(r#"{"name":"m2","clientURLs":["http://10.0.0.2:2379"]}"#)
        );
        let got = store.get(&raft_attributes_key(3), false, now).unwrap();
        assert_eq!(
            got.event.node.unwrap().value.as_deref(),
            Some(r#"{"peerURLs":["http://10.0.0.3:2380"]}"#)
        );
    }

    #[test]
    fn checks_and_removal() {
        let now = UNIX_EPOCH;
        let mut store = Store::new();
        let mut c = Cluster::default();
        let mut one = m(1, "http://a:1");
        one.name = "one".into();
        c.add(&mut store, one, true, now);
        assert!(c.ready_to_add_voter(), "a second member for a lone one");
        assert_eq!(
            c.check_add(1, &["http://b:1".into()], false),
            Err(MembersError::IdExists)
        );
        assert_eq!(
            c.check_add(2, &["http://a:1".into()], false),
            Err(MembersError::PeerUrlExists)
        );
        c.add(&mut store, m(2, "http://b:1"), false, now);
        assert!(!c.ready_to_add_voter(), "1 of 3 would be started");
        assert_eq!(c.check_update(2, &["http://b:1".into()]), Ok(()));
        assert_eq!(
            c.check_update(2, &["http://a:1".into()]),
            Err(MembersError::PeerUrlExists)
        );
        assert_eq!(c.check_remove(3), Err(MembersError::IdNotFound));
        let before = store.index();
        c.remove(&mut store, 2, now);
        assert_eq!(c.members().len(), 1);
        assert_eq!(store.index(), before + 2, "delete + removed marker");
        assert_eq!(c.check_remove(2), Err(MembersError::IdRemoved));
        assert_eq!(c.check_add(2, &[], false), Err(MembersError::IdRemoved));
        assert_eq!(
            c.publish(&mut store, 2, "x".into(), vec![], now),
            Err(MembersError::IdRemoved)
        );
        assert_eq!(store.index(), before + 2);
        assert_eq!(c.cluster_id(), Some(cluster_id(&[1])), "fixed by bootstrap");
    }

    #[test]
    fn learners_one_at_most_promoted_once_and_left_out_of_quorums() {
        let now = UNIX_EPOCH;
        let mut store = Store::new();
        let mut c = Cluster::default();
        for id in 1..=3 {
            let mut v = m(id, &format!("http://v:{id}"));
            v.name = format!("v{id}");
            c.add(&mut store, v, true, now);
        }
        let mut learner = m(9, "http://l:9");
        learner.is_learner = true;
        assert_eq!(c.check_add(9, &learner.peer_urls, true), Ok(()));
        c.add(&mut store, learner, false, now);
        let got = store.get(&raft_attributes_key(9), false, now).unwrap();
        assert_eq!(
            got.event.node.unwrap().value.as_deref(),
            Some(r#"{"peerURLs":["http://l:9"],"isLearner":true}"#)
        );
        assert!(c.is_learner(9));
        assert_eq!(
            c.check_add(10, &["http://l:10".into()], true),
            Err(MembersError::TooManyLearners)
        );
        assert_eq!(c.check_add(10, &["http://l:10".into()], false), Ok(()));
        // The unstarted learner does not count against the voters' quorums.
        assert!(c.ready_to_add_voter());
        assert!(c.ready_to_remove_voter(1));
        assert!(c.ready_to_promote());
        assert_eq!(c.voters().count(), 3);
        assert_eq!(c.check_promote(1), Err(MembersError::MemberNotLearner));
        assert_eq!(c.check_promote(77), Err(MembersError::IdNotFound));
        assert_eq!(c.check_promote(9), Ok(()));
        let before = store.index();
        c.promote(&mut store, 9, now);
        assert_eq!(store.index(), before + 1, "one update of raftAttributes");
        assert!(!c.is_learner(9));
        assert_eq!(c.check_promote(9), Err(MembersError::MemberNotLearner));
        let got = store.get(&raft_attributes_key(9), false, now).unwrap();
        assert_eq!(
            got.event.node.unwrap().value.as_deref(),
            Some(r#"{"peerURLs":["http://l:9"]}"#)
        );
        assert!(c.member(9).unwrap().to_v3().id == 9);
        // etcd 3.4.23: a peer URL update drops a learner's flag.
        let mut lone = m(11, "http://l:11");
        lone.is_learner = true;
        c.remove(&mut store, 9, now);
        c.add(&mut store, lone, false, now);
        c.update_peer_urls(&mut store, 11, vec!["http://l:12".into()], now)
            .unwrap();
        assert!(!c.is_learner(11));
        // A membership saved before learners existed reads as all voters.
        let old = r#"{"members":{"1":{"id":1,"name":"a","peer_urls":[],"client_urls":[]}},"removed":[],"version":null,"bootstrap_ids":[1]}"#;
        let read: Cluster = serde_json::from_str(old).unwrap();
        assert!(!read.is_learner(1));
    }
}
