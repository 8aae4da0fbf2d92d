//! The replicated v3 requests and their applier: [`apply`] runs one
//! `InternalRaftRequest` (etcd's v3 log entry) against a member's [`V3Stores`],
//! as etcd's applier does, in log order on every member: the kv write, the
//! lessor mirroring its lease changes, and the watchers getting its events.
//!
//! Results carry a header with only `revision` set (the store's revision after
//! the request); the API layer fills the member's ids and term.

use super::v3_alarm::AlarmRefusal;
use super::v3_auth::{AuthApplied, apply_auth, authorize};
use super::v3_quota::{Costed, fits};
use super::v3_state::V3Stores;
use crate::auth::v3::AuthError;
use crate::metrics::OpCounts;
use crate::store::v3::kv::{ChangeSet, KvError, is_txn_read_only};
use crate::store::v3::lease::LeaseError;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmResponse, CompactionResponse, DeleteRangeResponse, InternalRaftRequest,
    LeaseCheckpointResponse, LeaseGrantResponse, LeaseRevokeResponse, PutResponse, RangeResponse,
    ResponseHeader, TxnResponse,
};
use std::time::Instant;

/// The result of applying one v3 request.
#[derive(Clone, Debug, PartialEq)]
pub enum V3Applied {
    /// A Range read through the log (a linearizable read).
    Range(RangeResponse),
    /// A Put.
    Put(PutResponse),
    /// A DeleteRange.
    DeleteRange(DeleteRangeResponse),
    /// A Txn.
    Txn(TxnResponse),
    /// A Compact.
    Compaction(CompactionResponse),
    /// A LeaseGrant.
    LeaseGrant(LeaseGrantResponse),
    /// A LeaseRevoke.
    LeaseRevoke(LeaseRevokeResponse),
    /// A LeaseCheckpoint (the leader's remaining-TTL checkpoints).
    LeaseCheckpoint(LeaseCheckpointResponse),
    /// An Auth request (`super::v3_auth`).
    Auth(Box<AuthApplied>),
    /// An Alarm request (get, activate, deactivate).
    Alarm(AlarmResponse),
}

/// Why a v3 request was refused when applied (the same on every member).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum V3ApplyError {
    /// The kv store refused it.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// The lessor refused it.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The auth store refused it (a permission check or an Auth request).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// An active alarm refused it (etcd's capped and corrupt appliers).
    #[error(transparent)]
    Alarm(#[from] AlarmRefusal),
    /// Applied, unlike every other variant, but it outgrew the backend quota
    /// when applied (etcd's quota applier): its caller is answered NOSPACE.
    #[error("etcdserver: mvcc: database space exceeded")]
    OverQuota,
    /// A lease expiry proposed by a leader of an earlier term than the one that
    /// appended it (a deposed leader's): not applied.
    #[error(
        "etcdserver: lease expiry from the leader of term {proposed} appended in term {appended}"
    )]
    StaleExpiry {
        /// The term the proposer led in.
        proposed: u64,
        /// The term of the log entry.
        appended: u64,
    },
    /// The entry holds no request this server applies (none of its request
    /// fields set, or one that arrives with a later issue: alarms).
    #[error("etcdserver: unsupported request in the log: {0}")]
    Unsupported(&'static str),
}

impl V3ApplyError {
    /// The etcd error this is (its gRPC code and exact text), if it is one.
    pub fn etcd_error(&self) -> Option<EtcdError> {
        match self {
            V3ApplyError::Kv(e) => {
                let text = e.to_string();
                EtcdError::ALL.iter().copied().find(|x| x.message() == text)
            }
            V3ApplyError::Lease(e) => e.etcd_error(),
            V3ApplyError::Auth(e) => e.etcd_error(),
            V3ApplyError::Alarm(AlarmRefusal::NoSpace) | V3ApplyError::OverQuota => {
                Some(EtcdError::NoSpace)
            }
            V3ApplyError::Alarm(AlarmRefusal::Corrupt) => Some(EtcdError::Corrupt),
            V3ApplyError::Unsupported(_) | V3ApplyError::StaleExpiry { .. } => None,
        }
    }
}

/// A header with only the revision set.
fn revision_header(stores: &V3Stores) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision: stores.kv.current_revision(),
        ..Default::default()
    })
}

/// Mirrors a committed write into the lessor and the watchers.
fn committed(stores: &mut V3Stores, changes: &ChangeSet) {
    if let Err(e) = stores.lessor.apply_lease_changes(&changes.lease_changes) {
        // The kv store checked every lease before writing; a refusal here means the
        // two disagree, which a later revoke or restore repairs.
        tracing::error!(error = %e, revision = changes.revision, "v3: lease changes not mirrored");
    }
    stores.watch.notify(changes.revision, &changes.events);
}

/// Applies one v3 request to `stores` at `now` (the member's clock: lease expiries
/// on the primary lessor count from it).
///
/// # Errors
///
/// [`V3ApplyError`]: the request is refused and nothing changed, except for
/// [`V3ApplyError::OverQuota`]: a Put, Txn or LeaseGrant that did not fit the
/// backend quota any more when applied is applied and answered NOSPACE, and
/// unless a NOSPACE alarm is active (or the entry is replayed at boot) the
/// member is told to raise one ([`V3Stores::nospace`]), as etcd's applier does.
pub fn apply(
    stores: &mut V3Stores,
    req: &InternalRaftRequest,
    now: Instant,
) -> Result<V3Applied, V3ApplyError> {
    stores.alarms.gate(req)?;
    let cost = Costed::of(req).map_or(0, Costed::cost);
    let fitted = cost == 0 || fits(stores.quota_backend_bytes, stores.db_size(), cost);
    let result = apply_request(stores, req, now);
    // The modelled backend file grows with what was written.
    let in_use = stores.size_in_use();
    stores.backend_size.observe(in_use);
    match result {
        Ok(_) if !fitted => {
            let replayed = stores.applied_index != 0 && stores.applied_index <= stores.replay_until;
            if !replayed
                && !stores
                    .alarms
                    .has(etcd_sdk::v3::pb::etcdserverpb::AlarmType::Nospace)
            {
                tracing::warn!(
                    cost,
                    "v3: an applied write exceeded the backend quota; raising NOSPACE"
                );
                if let Some(tx) = &stores.nospace {
                    let _ = tx.send(());
                }
            }
            Err(V3ApplyError::OverQuota)
        }
        other => other,
    }
}

/// [`apply`] past the alarms' gate: alarm requests (checked at serve time),
/// then the auth check of everything else.
fn apply_request(
    stores: &mut V3Stores,
    req: &InternalRaftRequest,
    now: Instant,
) -> Result<V3Applied, V3ApplyError> {
    if let Some(r) = &req.alarm {
        return Ok(V3Applied::Alarm(stores.alarms.apply(r)));
    }
    authorize(stores, req)?;
    if let Some(r) = &req.range {
        // Counted where it is served (`api::v3::kv`): one member reads.
        let mut resp = stores.kv.range(r)?;
        resp.header = revision_header(stores);
        return Ok(V3Applied::Range(resp));
    }
    if let Some(r) = &req.put {
        let (mut resp, changes) = stores.kv.put(r, &stores.lessor)?;
        stores.metrics.record(OpCounts::put(r));
        committed(stores, &changes);
        resp.header = revision_header(stores);
        return Ok(V3Applied::Put(resp));
    }
    if let Some(r) = &req.delete_range {
        let (mut resp, changes) = stores.kv.delete_range(r);
        stores.metrics.record(OpCounts::delete(r));
        if let Some(changes) = changes {
            committed(stores, &changes);
        }
        resp.header = revision_header(stores);
        return Ok(V3Applied::DeleteRange(resp));
    }
    if let Some(r) = &req.txn {
        let (mut resp, changes) = stores.kv.txn(r, &stores.lessor)?;
        if !is_txn_read_only(r) {
            // A read-only one is counted where it is served, as a range.
            stores.metrics.record(OpCounts::txn(r, &resp));
        }
        if let Some(changes) = changes {
            committed(stores, &changes);
        }
        resp.header = revision_header(stores);
        return Ok(V3Applied::Txn(resp));
    }
    if let Some(r) = &req.compaction {
        stores.kv.compact(r.revision)?;
        stores.watch.compacted(stores.kv.compact_revision());
        return Ok(V3Applied::Compaction(CompactionResponse {
            header: revision_header(stores),
        }));
    }
    if let Some(r) = &req.lease_grant {
        let granted = stores.lessor.grant(r.id, r.ttl, now)?;
        stores.metrics.lease_granted();
        return Ok(V3Applied::LeaseGrant(LeaseGrantResponse {
            header: revision_header(stores),
            id: granted.id,
            ttl: granted.ttl,
            error: String::new(),
        }));
    }
    if let Some(r) = &req.lease_revoke {
        let keys = stores.lessor.revoke(r.id)?;
        stores.metrics.lease_revoked();
        if let Some(changes) = stores.kv.delete_keys(&keys) {
            committed(stores, &changes);
        }
        return Ok(V3Applied::LeaseRevoke(LeaseRevokeResponse {
            header: revision_header(stores),
        }));
    }
    if let Some(r) = &req.lease_checkpoint {
        for c in &r.checkpoints {
            stores.lessor.checkpoint(c.id, c.remaining_ttl, now);
        }
        return Ok(V3Applied::LeaseCheckpoint(LeaseCheckpointResponse {
            header: revision_header(stores),
        }));
    }
    if let Some(result) = apply_auth(stores, req, now) {
        return result;
    }
    Err(V3ApplyError::Unsupported(kind(req)))
}

/// The name of the request an entry holds, for logs and errors.
pub fn kind(req: &InternalRaftRequest) -> &'static str {
    let fields: [(&'static str, bool); 25] = [
        ("range", req.range.is_some()),
        ("put", req.put.is_some()),
        ("delete_range", req.delete_range.is_some()),
        ("txn", req.txn.is_some()),
        ("compaction", req.compaction.is_some()),
        ("lease_grant", req.lease_grant.is_some()),
        ("lease_revoke", req.lease_revoke.is_some()),
        ("alarm", req.alarm.is_some()),
        ("lease_checkpoint", req.lease_checkpoint.is_some()),
        ("auth_enable", req.auth_enable.is_some()),
        ("auth_disable", req.auth_disable.is_some()),
        ("authenticate", req.authenticate.is_some()),
        ("auth_user_add", req.auth_user_add.is_some()),
        ("auth_user_delete", req.auth_user_delete.is_some()),
        ("auth_user_get", req.auth_user_get.is_some()),
        (
            "auth_user_change_password",
            req.auth_user_change_password.is_some(),
        ),
        ("auth_user_grant_role", req.auth_user_grant_role.is_some()),
        ("auth_user_revoke_role", req.auth_user_revoke_role.is_some()),
        ("auth_user_list", req.auth_user_list.is_some()),
        ("auth_role_list", req.auth_role_list.is_some()),
        ("auth_role_add", req.auth_role_add.is_some()),
        ("auth_role_delete", req.auth_role_delete.is_some()),
        ("auth_role_get", req.auth_role_get.is_some()),
        (
            "auth_role_grant_permission",
            req.auth_role_grant_permission.is_some(),
        ),
        (
            "auth_role_revoke_permission",
            req.auth_role_revoke_permission.is_some(),
        ),
    ];
    fields
        .iter()
        .find(|(_, set)| *set)
        .map_or("empty", |(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::watch::WatchConfig;
    use etcd_sdk::v3::pb::etcdserverpb::{
        CompactionRequest, LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest,
        WatchCreateRequest,
    };
    use etcd_sdk::v3::tonic::Code;
    use std::time::Duration;

    fn stores() -> V3Stores {
        V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20))
    }

    fn put(key: &str, lease: i64) -> InternalRaftRequest {
        InternalRaftRequest {
            put: Some(PutRequest {
                key: key.into(),
                value: b"v".to_vec(),
                lease,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_write_past_the_quota_is_applied_answered_nospace_and_raises_once() {
        use etcd_sdk::v3::pb::etcdserverpb::{AlarmRequest, AlarmType, alarm_request::AlarmAction};
        let mut s = stores();
        let (tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        s.nospace = Some(tx);
        let fresh = s.db_size();
        // Room for the first put (cost 256 + 2) only.
        s.quota_backend_bytes = Some(fresh + 300);
        s.applied_index = 1;
        assert!(matches!(
            apply(&mut s, &put("a", 0), Instant::now()),
            Ok(V3Applied::Put(_))
        ));
        assert!(told.try_recv().is_err(), "a write that fits raises nothing");
        // A put of 1 KiB does not fit (it passed no check before it was proposed).
        let mut big = put("b", 0);
        if let Some(p) = big.put.as_mut() {
            p.value = vec![0; 1024];
        }
        let e = apply(&mut s, &big, Instant::now()).unwrap_err();
        assert_eq!(e, V3ApplyError::OverQuota);
        assert_eq!(e.etcd_error(), Some(EtcdError::NoSpace));
        assert_eq!(s.kv.current_revision(), 3, "applied all the same");
        assert!(
            told.try_recv().is_ok(),
            "the member is told to raise NOSPACE"
        );
        // A lease grant past the quota too (cost 64); reads and deletes are free.
        s.applied_index = 3;
        s.quota_backend_bytes = Some(s.db_size() + 64);
        let grant = InternalRaftRequest {
            lease_grant: Some(LeaseGrantRequest { ttl: 10, id: 7 }),
            ..Default::default()
        };
        assert_eq!(
            apply(&mut s, &grant, Instant::now()).unwrap_err(),
            V3ApplyError::OverQuota
        );
        assert_eq!(s.lessor.len(), 1);
        let range = InternalRaftRequest {
            range: Some(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(apply(&mut s, &range, Instant::now()).is_ok());
        while told.try_recv().is_ok() {}
        // Once NOSPACE is active, the alarm gate refuses writes before they apply.
        let alarm = InternalRaftRequest {
            alarm: Some(AlarmRequest {
                action: AlarmAction::Activate as i32,
                member_id: 1,
                alarm: AlarmType::Nospace as i32,
            }),
            ..Default::default()
        };
        apply(&mut s, &alarm, Instant::now()).unwrap();
        assert_eq!(
            apply(&mut s, &put("c", 0), Instant::now()).unwrap_err(),
            V3ApplyError::Alarm(AlarmRefusal::NoSpace)
        );
        assert!(told.try_recv().is_err());
        assert_eq!(s.kv.current_revision(), 3);
    }

    #[test]
    fn a_write_replayed_at_boot_past_the_quota_raises_nothing() {
        let mut s = stores();
        let (tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        s.nospace = Some(tx);
        s.quota_backend_bytes = Some(1);
        s.replay_until = 5;
        s.applied_index = 5;
        assert_eq!(
            apply(&mut s, &put("a", 0), Instant::now()).unwrap_err(),
            V3ApplyError::OverQuota
        );
        assert!(told.try_recv().is_err());
        s.applied_index = 6;
        assert_eq!(
            apply(&mut s, &put("a", 0), Instant::now()).unwrap_err(),
            V3ApplyError::OverQuota
        );
        assert!(told.try_recv().is_ok());
        // No quota: everything fits.
        s.quota_backend_bytes = None;
        assert!(apply(&mut s, &put("a", 0), Instant::now()).is_ok());
    }

    #[test]
    fn writes_bump_the_revision_and_reach_watchers() {
        let mut s = stores();
        let stream = s.watch.open_stream();
        s.watch
            .create(
                stream,
                &WatchCreateRequest {
                    key: b"a".to_vec(),
                    ..Default::default()
                },
                &s.kv,
            )
            .unwrap();
        let now = Instant::now();
        let V3Applied::Put(p) = apply(&mut s, &put("a", 0), now).unwrap() else {
            panic!("a put response");
        };
        assert_eq!(p.header.unwrap().revision, 2);
        let sent = s.watch.poll(stream).unwrap();
        assert_eq!(sent.iter().map(|r| r.events.len()).sum::<usize>(), 1);
        let range = InternalRaftRequest {
            range: Some(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let V3Applied::Range(r) = apply(&mut s, &range, now).unwrap() else {
            panic!("a range response");
        };
        assert_eq!((r.count, r.header.unwrap().revision), (1, 2));
    }

    #[test]
    fn leases_attach_and_revoke_delete_their_keys() {
        let mut s = stores();
        let now = Instant::now();
        s.lessor.promote(now, Duration::from_secs(1));
        let grant = InternalRaftRequest {
            lease_grant: Some(LeaseGrantRequest { ttl: 1, id: 5 }),
            ..Default::default()
        };
        let V3Applied::LeaseGrant(g) = apply(&mut s, &grant, now).unwrap() else {
            panic!("a grant");
        };
        assert_eq!((g.id, g.ttl), (5, 2), "raised to the minimum TTL");
        let again = apply(&mut s, &grant, now).unwrap_err();
        assert_eq!(again.etcd_error(), Some(EtcdError::LeaseExist));
        apply(&mut s, &put("a", 5), now).unwrap();
        apply(&mut s, &put("b", 5), now).unwrap();
        let missing = apply(&mut s, &put("c", 6), now).unwrap_err();
        let e = missing.etcd_error().unwrap();
        assert_eq!(
            (e.code(), e.message()),
            (Code::NotFound, "etcdserver: requested lease not found")
        );
        let revoke = InternalRaftRequest {
            lease_revoke: Some(LeaseRevokeRequest { id: 5 }),
            ..Default::default()
        };
        let V3Applied::LeaseRevoke(r) = apply(&mut s, &revoke, now).unwrap() else {
            panic!("a revoke");
        };
        assert_eq!(r.header.unwrap().revision, 4, "both keys in one revision");
        assert!(s.kv.get(b"a").is_none() && s.kv.get(b"b").is_none());
        assert!(!s.lessor.contains(5));
    }

    #[test]
    fn compaction_errors_are_etcds_and_the_snapshot_restores_everything() {
        let mut s = stores();
        let now = Instant::now();
        for k in ["a", "b", "c"] {
            apply(&mut s, &put(k, 0), now).unwrap();
        }
        let compact = |revision| InternalRaftRequest {
            compaction: Some(CompactionRequest {
                revision,
                physical: false,
            }),
            ..Default::default()
        };
        let future = apply(&mut s, &compact(9), now).unwrap_err();
        assert_eq!(future.etcd_error(), Some(EtcdError::FutureRev));
        apply(&mut s, &compact(3), now).unwrap();
        let again = apply(&mut s, &compact(3), now).unwrap_err();
        assert_eq!(again.etcd_error(), Some(EtcdError::Compacted));

        s.lessor.grant(9, 60, now).unwrap();
        apply(&mut s, &put("d", 9), now).unwrap();
        let blob = s.snapshot();
        let mut t = stores();
        t.restore(&blob).unwrap();
        assert_eq!(t.kv.current_revision(), s.kv.current_revision());
        assert_eq!(t.kv.compact_revision(), 3);
        assert_eq!(t.lessor.leases(), vec![9]);
        let keys = t.lessor.revoke(9).unwrap();
        assert_eq!(keys, vec![b"d".to_vec()], "attachments rebuilt");
        assert!(t.restore(&blob[..blob.len() - 1]).is_err());
        assert!(t.restore(&[]).is_err());
    }

    #[test]
    fn an_empty_entry_is_refused_by_name() {
        let mut s = stores();
        let e = apply(&mut s, &InternalRaftRequest::default(), Instant::now()).unwrap_err();
        assert_eq!(e, V3ApplyError::Unsupported("empty"));
        assert_eq!(e.etcd_error(), None);
    }

    #[test]
    fn alarms_are_applied_gate_writes_and_survive_snapshots() {
        use etcd_sdk::v3::pb::etcdserverpb::{AlarmRequest, AlarmType, alarm_request::AlarmAction};
        let mut s = stores();
        let now = Instant::now();
        let alarm = |action: AlarmAction| InternalRaftRequest {
            alarm: Some(AlarmRequest {
                action: action as i32,
                member_id: 7,
                alarm: AlarmType::Nospace as i32,
            }),
            ..Default::default()
        };
        let V3Applied::Alarm(on) = apply(&mut s, &alarm(AlarmAction::Activate), now).unwrap()
        else {
            panic!("an alarm response");
        };
        assert_eq!(on.alarms.len(), 1);
        let e = apply(&mut s, &put("a", 0), now).unwrap_err();
        assert_eq!(e.etcd_error(), Some(EtcdError::NoSpace));
        let blob = s.snapshot();
        let mut t = stores();
        t.restore(&blob).unwrap();
        assert!(
            t.alarms.has(AlarmType::Nospace),
            "alarms are replicated state"
        );
        apply(&mut t, &alarm(AlarmAction::Deactivate), now).unwrap();
        apply(&mut t, &put("a", 0), now).unwrap();
    }

    #[test]
    fn a_snapshot_of_the_format_before_alarms_restores() {
        let mut s = stores();
        apply(&mut s, &put("a", 0), Instant::now()).unwrap();
        let kv = s.kv.to_snapshot();
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&(kv.len() as u64).to_be_bytes());
        v1.extend_from_slice(&kv);
        v1.extend_from_slice(&s.lessor.snapshot());
        let mut t = stores();
        t.restore(&v1).unwrap();
        assert_eq!(t.kv.current_revision(), 2);
        assert!(t.alarms.is_empty());
        let mut bad = v1.clone();
        bad[0] = 9;
        assert!(t.restore(&bad).is_err());
    }
}
