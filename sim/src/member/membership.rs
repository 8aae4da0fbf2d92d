//! The cluster's membership as every member keeps it, and the `/0` store writes
//! that go with each change (etcd's `membership.RaftCluster`; the paths and index
//! arithmetic are in [`crate::store::v2::cluster_keys`]):
//!
//! - a member added by a configuration change (bootstrap ones included): **create**
//!   `raftAttributes` with `{"peerURLs":[..]}`;
//! - a member publishing itself: **set** `attributes` with `{"name":..,"clientURLs":[..]}`;
//! - the leader deciding the cluster version: **set** `/0/version`;
//! - a peer URL update: **update** `raftAttributes`;
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
}

impl MemberInfo {
    /// Whether it has published its attributes (etcd's `IsStarted`: a name is set).
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }

    /// As `/v2/members` lists it.
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
}

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

    /// etcd's `IsReadyToAddVotingMember`: after the addition, the started members
    /// still make a quorum (or it is the second member of a one-member cluster).
    pub fn ready_to_add_voter(&self) -> bool {
        let nmembers = self.members.len() + 1;
        let nstarted = self.members.values().filter(|m| m.is_started()).count();
        (nstarted == 1 && nmembers == 2) || nstarted > nmembers / 2
    }

    /// Whether removing voter `id` leaves a quorum of started members among the
    /// rest (etcd's `IsReadyToRemoveVotingMember`).
    pub fn ready_to_remove_voter(&self, id: u64) -> bool {
        let rest = self.members.values().filter(|m| m.id != id);
        let nmembers = rest.clone().count();
        let nstarted = rest.filter(|m| m.is_started()).count();
        nstarted > nmembers / 2
    }

    fn url_owner(&self, url: &str) -> Option<u64> {
        self.members
            .values()
            .find(|m| m.peer_urls.iter().any(|u| u == url))
            .map(|m| m.id)
    }

    /// Checks an addition (etcd's `ValidateConfigurationChange` for AddNode).
    ///
    /// # Errors
    ///
    /// [`MembersError::IdRemoved`], [`MembersError::IdExists`] or
    /// [`MembersError::PeerUrlExists`].
    pub fn check_add(&self, id: u64, peer_urls: &[String]) -> Result<(), MembersError> {
        if self.is_removed(id) {
            return Err(MembersError::IdRemoved);
        }
        if self.members.contains_key(&id) {
            return Err(MembersError::IdExists);
        }
        if peer_urls.iter().any(|u| self.url_owner(u).is_some()) {
            return Err(MembersError::PeerUrlExists);
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

    /// Applies a peer URL update.
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
        }
        Ok(())
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
            c.check_add(1, &["http://b:1".into()]),
            Err(MembersError::IdExists)
        );
        assert_eq!(
            c.check_add(2, &["http://a:1".into()]),
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
        assert_eq!(c.check_add(2, &[]), Err(MembersError::IdRemoved));
        assert_eq!(
            c.publish(&mut store, 2, "x".into(), vec![], now),
            Err(MembersError::IdRemoved)
        );
        assert_eq!(store.index(), before + 2);
        assert_eq!(c.cluster_id(), Some(cluster_id(&[1])), "fixed by bootstrap");
    }
}
