//! The Raft state machine of a member: the v2 store plus the membership, fed by
//! [`Entry`]s and membership events in log order.

use super::config::InitialMember;
use super::entry::{Applied, Entry};
use super::membership::{Cluster, MemberInfo};
use crate::raft::{ChangeKind, MembershipEvent, StateMachine};
use crate::server::v2_command::apply;
use crate::server::v3_command::{self, V3ApplyError};
use crate::server::v3_state::V3Stores;
use crate::store::v2::Store;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, LeaseRevokeRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc};

/// The context a member puts on the configuration change that adds another, or
/// promotes a learner (etcd puts its `ConfigChangeContext` there: the member's
/// JSON and `IsPromote`). Bootstrap changes carry none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddContext {
    /// The new (or promoted) member's id.
    pub id: u64,
    /// Its peer URLs, sorted (empty for a promotion).
    #[serde(rename = "peerURLs")]
    pub peer_urls: Vec<String>,
    /// Whether it joins as a learner.
    #[serde(
        rename = "isLearner",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub is_learner: bool,
    /// Whether the change promotes learner `id` to a voter (an AddNode of a
    /// member that exists as a learner).
    #[serde(
        rename = "isPromote",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub promote: bool,
}

impl AddContext {
    /// The context of a change that promotes learner `id`.
    pub fn promotion(id: u64) -> AddContext {
        AddContext {
            id,
            promote: true,
            ..AddContext::default()
        }
    }
}

/// Whether a change's context promotes a learner.
fn promotes(context: &[u8]) -> bool {
    !context.is_empty()
        && serde_json::from_slice::<AddContext>(context).is_ok_and(|ctx| ctx.promote)
}

/// Locks a mutex, taking the data of a poisoned one.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The state machine: it shares the store and the membership with the member's
/// handlers (lock order: store, then membership).
pub struct MemberStateMachine {
    /// This member's id (for the log lines of what it applies).
    local_id: u64,
    store: Arc<Mutex<Store>>,
    cluster: Arc<Mutex<Cluster>>,
    /// The v3 state (lock order: v2 store, then v3 stores).
    v3: Arc<Mutex<V3Stores>>,
    /// Notified after every applied v3 entry (watch streams send what it queued).
    v3_activity: Arc<Notify>,
    /// The initial members by id, for bootstrap changes (which carry no context).
    initial: BTreeMap<u64, InitialMember>,
    /// Peer addresses learned from applied peer URL updates, for the Raft node's
    /// address book.
    peer_updates: mpsc::UnboundedSender<(u64, SocketAddr)>,
}

impl MemberStateMachine {
    /// A state machine over `store` and `cluster` (both replaced on restore).
    pub fn new(
        local_id: u64,
        store: Arc<Mutex<Store>>,
        cluster: Arc<Mutex<Cluster>>,
        v3: (Arc<Mutex<V3Stores>>, Arc<Notify>),
        initial: &[InitialMember],
        peer_updates: mpsc::UnboundedSender<(u64, SocketAddr)>,
    ) -> Self {
        Self {
            local_id,
            store,
            cluster,
            v3: v3.0,
            v3_activity: v3.1,
            initial: initial.iter().map(|m| (m.id, m.clone())).collect(),
            peer_updates,
        }
    }

    fn added_member(&self, id: u64, event: &MembershipEvent) -> (MemberInfo, bool) {
        if !event.context.is_empty() {
            match serde_json::from_slice::<AddContext>(&event.context) {
                Ok(ctx) => {
                    let info = MemberInfo {
                        id,
                        peer_urls: ctx.peer_urls,
                        is_learner: ctx.is_learner,
                        ..MemberInfo::default()
                    };
                    return (info, false);
                }
                Err(e) => tracing::warn!(error = %e, "member: undecodable add context"),
            }
        }
        let info = match self.initial.get(&id) {
            Some(m) => MemberInfo {
                id,
                name: m.name.clone(),
                peer_urls: vec![m.peer_url.clone()],
                client_urls: Vec::new(),
                is_learner: false,
            },
            None => MemberInfo {
                id,
                peer_urls: event
                    .peer_addr
                    .map(|a| vec![format!("http://{a}")])
                    .unwrap_or_default(),
                ..MemberInfo::default()
            },
        };
        (info, event.context.is_empty())
    }
}

/// The state machine's snapshot: membership and store, length-prefixed.
/// The marker after the membership that says a v3 part follows (a v2 store
/// snapshot, JSON, starts with `{`; snapshots from before v3 have none).
const V3_MARKER: u8 = 0xE3;

/// A member snapshot: the membership (JSON, length-prefixed), then [`V3_MARKER`],
/// the v2 store (length-prefixed) and the v3 blob.
fn encode_snapshot(cluster: &Cluster, store: &[u8], v3: &[u8]) -> Vec<u8> {
    let cluster = serde_json::to_vec(cluster).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + cluster.len() + 9 + store.len() + v3.len());
    out.extend_from_slice(&(cluster.len() as u64).to_le_bytes());
    out.extend_from_slice(&cluster);
    out.push(V3_MARKER);
    out.extend_from_slice(&(store.len() as u64).to_le_bytes());
    out.extend_from_slice(store);
    out.extend_from_slice(v3);
    out
}

/// A length-prefixed part and what follows it.
fn split_prefixed<'a>(data: &'a [u8], what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (len, rest) = data
        .split_first_chunk::<8>()
        .ok_or_else(|| format!("member snapshot: {what} truncated"))?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|e| e.to_string())?;
    if rest.len() < len {
        return Err(format!("member snapshot: {what} truncated"));
    }
    Ok(rest.split_at(len))
}

/// The parts of a member snapshot: the membership, the v2 store's bytes and, in
/// snapshots made since v3, the v3 blob.
type SnapshotParts<'a> = (Cluster, &'a [u8], Option<&'a [u8]>);

/// Splits a member snapshot into its parts.
fn decode_snapshot(data: &[u8]) -> Result<SnapshotParts<'_>, String> {
    let (cluster, rest) = split_prefixed(data, "membership")?;
    let cluster = serde_json::from_slice(cluster).map_err(|e| format!("membership: {e}"))?;
    match rest.split_first() {
        Some((&V3_MARKER, rest)) => {
            let (store, v3) = split_prefixed(rest, "v2 store")?;
            Ok((cluster, store, Some(v3)))
        }
        _ => Ok((cluster, rest, None)),
    }
}

impl StateMachine for MemberStateMachine {
    type Output = Applied;

    fn apply(&mut self, index: u64, term: u64, data: &[u8]) -> Applied {
        let entry = match Entry::decode(data) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(index, error = %e, "member: undecodable entry");
                return Applied::Undecodable;
            }
        };
        let entry = match entry {
            Entry::LeaseExpired { term: led, id } if led != term => {
                tracing::debug!(
                    index,
                    lease = id,
                    proposed = led,
                    term,
                    "member: stale lease expiry ignored"
                );
                return Applied::V3(Box::new(Err(V3ApplyError::StaleExpiry {
                    proposed: led,
                    appended: term,
                })));
            }
            // The leader revokes expired leases as root (etcd's `WithRoot`), at
            // the auth revision of this point in the log.
            Entry::LeaseExpired { id, .. } => Entry::V3(Box::new(InternalRaftRequest {
                header: Some(crate::server::v3_auth::as_root(&lock(&self.v3).auth)),
                lease_revoke: Some(LeaseRevokeRequest { id }),
                ..Default::default()
            })),
            other => other,
        };
        if let Entry::V3(req) = entry {
            let result = {
                let mut v3 = lock(&self.v3);
                // Simple tokens minted by this entry carry its index.
                v3.applied_index = index;
                v3_command::apply(&mut v3, &req, Instant::now())
            };
            if let Err(e) = &result {
                tracing::debug!(index, error = %e, kind = v3_command::kind(&req), "member: v3 request refused");
            }
            self.v3_activity.notify_waiters();
            return Applied::V3(Box::new(result));
        }
        let mut store = lock(&self.store);
        match entry {
            Entry::V3(_) | Entry::LeaseExpired { .. } => Applied::Undecodable,
            Entry::V2(p) => Applied::V2(Box::new(apply(&mut store, p))),
            Entry::Publish {
                id,
                name,
                client_urls,
                now,
            } => Applied::Membership(lock(&self.cluster).publish(
                &mut store,
                id,
                name,
                client_urls,
                now,
            )),
            Entry::ClusterVersion { version, now } => {
                lock(&self.cluster).set_version(&mut store, version, now, self.local_id);
                Applied::Membership(Ok(()))
            }
            Entry::UpdatePeerUrls { id, peer_urls, now } => {
                let addrs: Vec<SocketAddr> = peer_urls
                    .iter()
                    .filter_map(|u| super::config::url_socket_addr(u).ok())
                    .collect();
                let res = lock(&self.cluster).update_peer_urls(&mut store, id, peer_urls, now);
                if res.is_ok() {
                    if let Some(addr) = addrs.first() {
                        let _ = self.peer_updates.send((id, *addr));
                    }
                }
                Applied::Membership(res)
            }
        }
    }

    fn apply_membership(&mut self, event: &MembershipEvent) {
        // Membership writes carry no TTL: the clock they get shows nowhere.
        let now: SystemTime = UNIX_EPOCH;
        for &(kind, id) in &event.changes {
            match kind {
                ChangeKind::AddVoter if promotes(&event.context) => {
                    let mut store = lock(&self.store);
                    lock(&self.cluster).promote(&mut store, id, now);
                }
                ChangeKind::AddVoter | ChangeKind::AddLearner => {
                    let (info, bootstrap) = self.added_member(id, event);
                    let mut store = lock(&self.store);
                    lock(&self.cluster).add(&mut store, info, bootstrap, now);
                }
                ChangeKind::Remove => {
                    let mut store = lock(&self.store);
                    lock(&self.cluster).remove(&mut store, id, now);
                }
            }
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let store = lock(&self.store);
        let v3 = lock(&self.v3).snapshot();
        let cluster = lock(&self.cluster);
        encode_snapshot(&cluster, &store.save(), &v3)
    }

    fn validate_membership(
        &self,
        changes: &[(ChangeKind, u64)],
        context: &[u8],
    ) -> Result<(), String> {
        let cluster = lock(&self.cluster);
        for &(kind, id) in changes {
            let checked = match kind {
                // Only adds made through the members API carry their peer URLs;
                // the bootstrap entries are checked by construction.
                ChangeKind::AddVoter | ChangeKind::AddLearner => {
                    match serde_json::from_slice::<AddContext>(context) {
                        Ok(ctx) if ctx.promote => cluster.check_promote(id),
                        Ok(ctx) => cluster.check_add(id, &ctx.peer_urls, ctx.is_learner),
                        Err(_) => Ok(()),
                    }
                }
                ChangeKind::Remove => cluster.check_remove(id),
            };
            checked.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn removed_ids(&self) -> Vec<u64> {
        lock(&self.cluster).removed_ids()
    }

    fn restore(&mut self, index: u64, data: &[u8]) -> Result<(), String> {
        let (cluster, store_bytes, v3_bytes) = decode_snapshot(data)?;
        let mut store = lock(&self.store);
        let mut v3 = lock(&self.v3);
        // Check both stores' parts before changing either.
        let mut probe = Store::new();
        probe
            .recover(store_bytes)
            .map_err(|e| format!("store snapshot at {index}: {e}"))?;
        if let Some(v3_bytes) = v3_bytes {
            v3.restore(v3_bytes)
                .map_err(|e| format!("v3 snapshot at {index}: {e}"))?;
        }
        store
            .recover(store_bytes)
            .map_err(|e| format!("store snapshot at {index}: {e}"))?;
        v3.applied_index = index;
        drop(v3);
        self.v3_activity.notify_waiters();
        for m in cluster.members() {
            if let Some(addr) = m
                .peer_urls
                .iter()
                .find_map(|u| super::config::url_socket_addr(u).ok())
            {
                let _ = self.peer_updates.send((m.id, addr));
            }
        }
        *lock(&self.cluster) = cluster;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::ConfState;
    use crate::server::v2_command::{V2Command, V2Proposal};
    use etcd_sdk::v3::pb::etcdserverpb::InternalRaftRequest;

    fn sm() -> (MemberStateMachine, Arc<Mutex<Store>>, Arc<Mutex<Cluster>>) {
        let store = Arc::new(Mutex::new(Store::new()));
        let cluster = Arc::new(Mutex::new(Cluster::default()));
        let initial = vec![InitialMember {
            id: 1,
            name: "one".into(),
            peer_url: "http://10.0.0.1:2380".into(),
            addr: "10.0.0.1:2380".parse().unwrap(),
        }];
        let (tx, _rx) = mpsc::unbounded_channel();
        (
            MemberStateMachine::new(
                1,
                store.clone(),
                cluster.clone(),
                (
                    Arc::new(Mutex::new(V3Stores::new(
                        crate::store::v3::lease::LessorConfig::default(),
                        crate::store::v3::watch::WatchConfig::new(1 << 20),
                    ))),
                    Arc::new(Notify::new()),
                ),
                &initial,
                tx,
            ),
            store,
            cluster,
        )
    }

    fn add_event(id: u64, context: Vec<u8>) -> MembershipEvent {
        MembershipEvent {
            index: 1,
            changes: vec![(ChangeKind::AddVoter, id)],
            peer_addr: None,
            context,
            conf_state: ConfState::default(),
        }
    }

    #[test]
    fn membership_changes_are_validated_against_the_state_at_apply() {
        let (mut a, _store, _cluster) = sm();
        a.apply_membership(&add_event(1, vec![]));
        let ctx = |id: u64, url: &str| {
            serde_json::to_vec(&AddContext {
                id,
                peer_urls: vec![url.into()],
                ..AddContext::default()
            })
            .unwrap()
        };
        let add = |id| vec![(ChangeKind::AddVoter, id)];
        let first = ctx(9, "http://10.0.0.9:2380");
        assert_eq!(a.validate_membership(&add(9), &first), Ok(()));
        a.apply_membership(&add_event(9, first.clone()));
        // The same add proposed twice (two members accepted it before either
        // applied it), or another id for the same URL: refused.
        assert_eq!(
            a.validate_membership(&add(9), &first),
            Err("membership: ID exists".into())
        );
        assert_eq!(
            a.validate_membership(&add(10), &ctx(10, "http://10.0.0.9:2380")),
            Err("membership: peerURL exists".into())
        );
        let remove = |id| vec![(ChangeKind::Remove, id)];
        assert_eq!(a.validate_membership(&remove(9), &[]), Ok(()));
        a.apply_membership(&MembershipEvent {
            changes: remove(9),
            ..add_event(9, vec![])
        });
        assert_eq!(
            a.validate_membership(&remove(9), &[]),
            Err("membership: ID removed".into())
        );
        assert_eq!(
            a.validate_membership(&remove(77), &[]),
            Err("membership: ID not found".into())
        );
    }

    #[test]
    fn a_learner_is_added_refused_twice_promoted_and_kept_in_snapshots() {
        let (mut a, _store, cluster) = sm();
        a.apply_membership(&add_event(1, vec![]));
        let learner = |id: u64, url: &str| {
            serde_json::to_vec(&AddContext {
                id,
                peer_urls: vec![url.into()],
                is_learner: true,
                promote: false,
            })
            .unwrap()
        };
        let add_learner = |id| vec![(ChangeKind::AddLearner, id)];
        let first = learner(9, "http://10.0.0.9:2380");
        assert_eq!(a.validate_membership(&add_learner(9), &first), Ok(()));
        a.apply_membership(&MembershipEvent {
            changes: add_learner(9),
            ..add_event(9, first)
        });
        assert!(lock(&cluster).is_learner(9));
        assert_eq!(
            a.validate_membership(&add_learner(10), &learner(10, "http://10.0.0.10:2380")),
            Err("membership: too many learner members in cluster".into())
        );
        let promote = |id| serde_json::to_vec(&AddContext::promotion(id)).unwrap();
        let add_voter = |id| vec![(ChangeKind::AddVoter, id)];
        assert_eq!(
            a.validate_membership(&add_voter(1), &promote(1)),
            Err("membership: can only promote a learner member".into())
        );
        assert_eq!(
            a.validate_membership(&add_voter(5), &promote(5)),
            Err("membership: ID not found".into())
        );
        // The learner survives a snapshot as a learner.
        let (mut b, _, cluster_b) = sm();
        b.restore(3, &a.snapshot()).unwrap();
        assert!(lock(&cluster_b).is_learner(9));
        assert_eq!(a.validate_membership(&add_voter(9), &promote(9)), Ok(()));
        a.apply_membership(&add_event(9, promote(9)));
        assert!(!lock(&cluster).is_learner(9));
        assert_eq!(lock(&cluster).members().len(), 2);
    }

    #[test]
    fn applies_entries_and_round_trips_snapshots() {
        let (mut a, store, cluster) = sm();
        a.apply_membership(&add_event(1, vec![]));
        let ctx = serde_json::to_vec(&AddContext {
            id: 9,
            peer_urls: vec!["http://10.0.0.9:2380".into()],
            ..AddContext::default()
        })
        .unwrap();
        a.apply_membership(&add_event(9, ctx));
        let publish = Entry::Publish {
            id: 1,
            name: "one".into(),
            client_urls: vec!["http://10.0.0.1:2379".into()],
            now: UNIX_EPOCH,
        };
        assert_eq!(
            a.apply(3, 1, &publish.encode().unwrap()),
            Applied::Membership(Ok(()))
        );
        let set = Entry::V2(V2Proposal {
            command: V2Command::Set {
                path: "/1/k".into(),
                dir: false,
                value: "v".into(),
                expire: None,
                refresh: false,
            },
            now: UNIX_EPOCH,
        });
        match a.apply(4, 1, &set.encode().unwrap()) {
            Applied::V2(r) => match *r {
                Some(Ok(r)) => assert_eq!(r.etcd_index, 4),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert_eq!(a.apply(5, 1, b"junk"), Applied::Undecodable);
        {
            let c = lock(&cluster);
            assert_eq!(c.member(1).unwrap().name, "one");
            assert_eq!(c.member(9).unwrap().name, "");
            assert_eq!(c.cluster_id(), Some(super::super::ids::cluster_id(&[1])));
        }
        let snap = a.snapshot();
        let (mut b, store_b, cluster_b) = sm();
        b.restore(5, &snap).unwrap();
        assert_eq!(lock(&store_b).save(), lock(&store).save());
        assert_eq!(*lock(&cluster_b), *lock(&cluster));
        assert!(b.restore(5, b"short").is_err());
    }

    #[test]
    fn v3_entries_apply_in_log_order_and_travel_in_snapshots() {
        use etcd_sdk::v3::pb::etcdserverpb::PutRequest;
        let (mut a, store, cluster) = sm();
        let put = |key: &str| {
            Entry::V3(Box::new(InternalRaftRequest {
                put: Some(PutRequest {
                    key: key.into(),
                    value: b"v".to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .encode()
            .unwrap()
        };
        match a.apply(1, 1, &put("a")) {
            Applied::V3(r) => match *r {
                Ok(crate::server::v3_command::V3Applied::Put(p)) => {
                    assert_eq!(p.header.unwrap().revision, 2)
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        // A refused request (a lease that does not exist) is an answer, not an
        // undecodable entry.
        let unknown_lease = Entry::V3(Box::new(InternalRaftRequest {
            put: Some(PutRequest {
                key: b"x".to_vec(),
                lease: 42,
                ..Default::default()
            }),
            ..Default::default()
        }))
        .encode()
        .unwrap();
        assert!(matches!(a.apply(2, 1, &unknown_lease), Applied::V3(r) if r.is_err()));
        a.apply(3, 1, &put("b"));
        let snap = a.snapshot();

        let (mut b, _, _) = sm();
        b.restore(3, &snap).unwrap();
        let kv_b = lock(&b.v3).kv.current_revision();
        assert_eq!(kv_b, 3);
        assert!(lock(&b.v3).kv.get(b"b").is_some());

        // A snapshot from before v3 (no marker, the v2 store right after the
        // membership) restores with empty v3 stores.
        let old = {
            let c = serde_json::to_vec(&*lock(&cluster)).unwrap();
            let mut out = (c.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(&c);
            out.extend_from_slice(&lock(&store).save());
            out
        };
        let (mut c, _, _) = sm();
        c.restore(3, &old).unwrap();
        assert_eq!(lock(&c.v3).kv.current_revision(), 1);
        // A damaged v3 part changes nothing.
        let (mut d, _, _) = sm();
        d.apply(1, 1, &put("z"));
        assert!(d.restore(3, &snap[..snap.len() - 3]).is_err());
        assert!(lock(&d.v3).kv.get(b"z").is_some());
    }

    #[test]
    fn a_lease_expiry_applies_only_at_the_term_it_was_proposed_in() {
        use etcd_sdk::v3::pb::etcdserverpb::{LeaseGrantRequest, PutRequest};
        let (mut a, _, _) = sm();
        let v3 = |req: InternalRaftRequest| Entry::V3(Box::new(req)).encode().unwrap();
        a.apply(
            1,
            2,
            &v3(InternalRaftRequest {
                lease_grant: Some(LeaseGrantRequest { ttl: 60, id: 9 }),
                ..Default::default()
            }),
        );
        a.apply(
            2,
            2,
            &v3(InternalRaftRequest {
                put: Some(PutRequest {
                    key: b"k".to_vec(),
                    lease: 9,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        );
        let expired = Entry::LeaseExpired { term: 2, id: 9 }.encode().unwrap();
        // Proposed by the leader of term 2, appended in term 3 (forwarded by a
        // deposed leader): refused, nothing deleted.
        match a.apply(3, 3, &expired) {
            Applied::V3(r) => assert_eq!(
                *r,
                Err(V3ApplyError::StaleExpiry {
                    proposed: 2,
                    appended: 3
                })
            ),
            other => panic!("{other:?}"),
        }
        assert!(lock(&a.v3).lessor.contains(9));
        assert!(lock(&a.v3).kv.get(b"k").is_some());
        // At its own term: a revoke, the key deleted.
        match a.apply(4, 2, &expired) {
            Applied::V3(r) => assert!(matches!(*r, Ok(v3_command::V3Applied::LeaseRevoke(_)))),
            other => panic!("{other:?}"),
        }
        assert!(!lock(&a.v3).lessor.contains(9));
        assert!(lock(&a.v3).kv.get(b"k").is_none());
    }
}
