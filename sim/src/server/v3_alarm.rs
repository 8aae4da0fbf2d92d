//! [`AlarmStore`]: the cluster's active alarms (etcd's `v3alarm.AlarmStore`), a
//! set of (alarm type, member id) pairs that is part of the replicated v3 state:
//! alarms are raised and cleared only by `InternalRaftRequest.alarm` entries, in
//! log order, so every member holds the same set.
//!
//! While an alarm is active the applier refuses what etcd's alarm appliers
//! refuse ([`AlarmStore::gate`]): under NOSPACE (etcd's capped applier) every
//! Put, every Txn that holds a put and every LeaseGrant fail with "database
//! space exceeded"; under CORRUPT (etcd's corrupt applier) every Range, Put,
//! DeleteRange, Txn, Compaction, LeaseGrant and LeaseRevoke fail with "corrupt
//! cluster". CORRUPT wins when both are active.

use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmMember, AlarmRequest, AlarmResponse, AlarmType, InternalRaftRequest, TxnRequest,
    alarm_request::AlarmAction, request_op,
};
use std::collections::BTreeSet;

/// Bytes one alarm takes in [`AlarmStore::to_bytes`] (type as u32, member as u64).
const RECORD_BYTES: usize = 12;

/// Why the applier refuses a request because of an alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlarmRefusal {
    /// A NOSPACE alarm is active and the request would write.
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,
    /// A CORRUPT alarm is active.
    #[error("etcdserver: corrupt cluster")]
    Corrupt,
}

/// An alarm blob that cannot be restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("alarm store: {0}")]
pub struct AlarmSnapshotError(&'static str);

/// The active alarms, ordered by alarm type, then member id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmStore {
    active: BTreeSet<(i32, u64)>,
}

fn member(alarm: i32, member_id: u64) -> AlarmMember {
    AlarmMember { member_id, alarm }
}

impl AlarmStore {
    /// No alarms.
    pub fn new() -> AlarmStore {
        AlarmStore::default()
    }

    /// The alarms of type `alarm`, or all of them for `NONE` (etcd's `Get`).
    pub fn get(&self, alarm: i32) -> Vec<AlarmMember> {
        self.active
            .iter()
            .filter(|(t, _)| alarm == AlarmType::None as i32 || *t == alarm)
            .map(|&(t, m)| member(t, m))
            .collect()
    }

    /// Whether no alarm is active.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Whether an alarm of type `alarm` is active.
    pub fn has(&self, alarm: AlarmType) -> bool {
        self.active.iter().any(|(t, _)| *t == alarm as i32)
    }

    /// Applies an alarm request as etcd's applier does: GET lists (all for type
    /// NONE), ACTIVATE adds the pair and answers it (also when it was already
    /// active; activating NONE does nothing), DEACTIVATE removes it and answers
    /// it when it was active.
    pub fn apply(&mut self, req: &AlarmRequest) -> AlarmResponse {
        let mut resp = AlarmResponse::default();
        let pair = (req.alarm, req.member_id);
        match AlarmAction::try_from(req.action) {
            Ok(AlarmAction::Get) => resp.alarms = self.get(req.alarm),
            Ok(AlarmAction::Activate) => {
                if req.alarm != AlarmType::None as i32 {
                    if self.active.insert(pair) {
                        tracing::warn!(alarm = req.alarm, from = %format!("{:x}", req.member_id), "alarm raised");
                    }
                    resp.alarms.push(member(pair.0, pair.1));
                }
            }
            Ok(AlarmAction::Deactivate) => {
                if self.active.remove(&pair) {
                    tracing::warn!(alarm = req.alarm, from = %format!("{:x}", req.member_id), "alarm disarmed");
                    resp.alarms.push(member(pair.0, pair.1));
                }
            }
            Err(_) => {}
        }
        resp
    }

    /// Whether the active alarms let `req` be applied.
    ///
    /// # Errors
    ///
    /// [`AlarmRefusal`] when an alarm's applier refuses it.
    pub fn gate(&self, req: &InternalRaftRequest) -> Result<(), AlarmRefusal> {
        if self.has(AlarmType::Corrupt)
            && (req.range.is_some()
                || req.put.is_some()
                || req.delete_range.is_some()
                || req.txn.is_some()
                || req.compaction.is_some()
                || req.lease_grant.is_some()
                || req.lease_revoke.is_some())
        {
            return Err(AlarmRefusal::Corrupt);
        }
        if self.has(AlarmType::Nospace)
            && (req.put.is_some()
                || req.lease_grant.is_some()
                || req.txn.as_ref().is_some_and(txn_has_put))
        {
            return Err(AlarmRefusal::NoSpace);
        }
        Ok(())
    }

    /// The alarms as bytes: a count (u32, big-endian), then each alarm's type
    /// (u32) and member id (u64), in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.active.len() * RECORD_BYTES);
        out.extend_from_slice(&(self.active.len() as u32).to_be_bytes());
        for &(t, m) in &self.active {
            out.extend_from_slice(&(t as u32).to_be_bytes());
            out.extend_from_slice(&m.to_be_bytes());
        }
        out
    }

    /// Reads [`AlarmStore::to_bytes`]; the whole of `data` must be used.
    ///
    /// # Errors
    ///
    /// [`AlarmSnapshotError`] for bytes that are not such a blob.
    pub fn from_bytes(data: &[u8]) -> Result<AlarmStore, AlarmSnapshotError> {
        let (count, mut rest) = data
            .split_first_chunk::<4>()
            .ok_or(AlarmSnapshotError("truncated"))?;
        let count = u32::from_be_bytes(*count) as usize;
        if rest.len() != count.saturating_mul(RECORD_BYTES) {
            return Err(AlarmSnapshotError("length"));
        }
        let mut active = BTreeSet::new();
        while let Some((t, r)) = rest.split_first_chunk::<4>() {
            let (m, r) = r
                .split_first_chunk::<8>()
                .ok_or(AlarmSnapshotError("truncated"))?;
            active.insert((u32::from_be_bytes(*t) as i32, u64::from_be_bytes(*m)));
            rest = r;
        }
        Ok(AlarmStore { active })
    }
}

/// etcd's quota cost of a txn is above 0: some branch holds a put.
fn txn_has_put(txn: &TxnRequest) -> bool {
    txn.success
        .iter()
        .chain(&txn.failure)
        .any(|op| matches!(op.request, Some(request_op::Request::RequestPut(_))))
}

/// etcd's text for an alarm in Status's `errors` (the protobuf text form of the
/// AlarmMember, its trailing space included).
pub fn alarm_text(m: &AlarmMember) -> String {
    let name = AlarmType::try_from(m.alarm)
        .map(|a| a.as_str_name().to_string())
        .unwrap_or_else(|_| m.alarm.to_string());
    let mut out = String::new();
    if m.member_id != 0 {
        out.push_str(&format!("memberID:{} ", m.member_id));
    }
    if m.alarm != 0 {
        out.push_str(&format!("alarm:{name} "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::{
        LeaseRevokeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
    };

    fn req(action: AlarmAction, member_id: u64, alarm: AlarmType) -> AlarmRequest {
        AlarmRequest {
            action: action as i32,
            member_id,
            alarm: alarm as i32,
        }
    }

    #[test]
    fn activate_deactivate_and_get_as_etcd() {
        let mut s = AlarmStore::new();
        let on = s.apply(&req(AlarmAction::Activate, 7, AlarmType::Nospace));
        assert_eq!(on.alarms, vec![member(1, 7)]);
        let again = s.apply(&req(AlarmAction::Activate, 7, AlarmType::Nospace));
        assert_eq!(again.alarms, vec![member(1, 7)], "answered again");
        s.apply(&req(AlarmAction::Activate, 3, AlarmType::Corrupt));
        let none = s.apply(&req(AlarmAction::Activate, 3, AlarmType::None));
        assert!(none.alarms.is_empty());
        let all = s.apply(&req(AlarmAction::Get, 0, AlarmType::None));
        assert_eq!(all.alarms, vec![member(1, 7), member(2, 3)]);
        assert_eq!(s.get(AlarmType::Corrupt as i32), vec![member(2, 3)]);
        let miss = s.apply(&req(AlarmAction::Deactivate, 0, AlarmType::Nospace));
        assert!(miss.alarms.is_empty(), "member 0 is not a wildcard");
        let off = s.apply(&req(AlarmAction::Deactivate, 7, AlarmType::Nospace));
        assert_eq!(off.alarms, vec![member(1, 7)]);
        assert!(!s.has(AlarmType::Nospace) && s.has(AlarmType::Corrupt));
    }

    #[test]
    fn nospace_refuses_writes_that_grow_and_corrupt_refuses_kv() {
        let mut s = AlarmStore::new();
        let put = InternalRaftRequest {
            put: Some(PutRequest::default()),
            ..Default::default()
        };
        let range = InternalRaftRequest {
            range: Some(RangeRequest::default()),
            ..Default::default()
        };
        let put_op = RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest::default())),
        };
        let txn = |failure: Vec<RequestOp>| InternalRaftRequest {
            txn: Some(TxnRequest {
                failure,
                ..Default::default()
            }),
            ..Default::default()
        };
        let revoke = InternalRaftRequest {
            lease_revoke: Some(LeaseRevokeRequest { id: 1 }),
            ..Default::default()
        };
        assert_eq!(s.gate(&put), Ok(()));
        s.apply(&req(AlarmAction::Activate, 1, AlarmType::Nospace));
        assert_eq!(s.gate(&put), Err(AlarmRefusal::NoSpace));
        assert_eq!(s.gate(&txn(vec![put_op])), Err(AlarmRefusal::NoSpace));
        assert_eq!(s.gate(&txn(vec![])), Ok(()));
        assert_eq!(s.gate(&range), Ok(()));
        assert_eq!(s.gate(&revoke), Ok(()));
        s.apply(&req(AlarmAction::Activate, 1, AlarmType::Corrupt));
        assert_eq!(s.gate(&range), Err(AlarmRefusal::Corrupt));
        assert_eq!(s.gate(&revoke), Err(AlarmRefusal::Corrupt));
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        let mut s = AlarmStore::new();
        assert_eq!(AlarmStore::from_bytes(&s.to_bytes()), Ok(s.clone()));
        s.apply(&req(AlarmAction::Activate, u64::MAX, AlarmType::Nospace));
        s.apply(&req(AlarmAction::Activate, 2, AlarmType::Corrupt));
        let b = s.to_bytes();
        assert_eq!(AlarmStore::from_bytes(&b), Ok(s));
        assert!(AlarmStore::from_bytes(&b[..b.len() - 1]).is_err());
        assert!(AlarmStore::from_bytes(&[]).is_err());
    }

    #[test]
    fn alarm_text_is_etcds() {
        let m = member(1, 417_814_435_005_835_908);
        assert_eq!(alarm_text(&m), "memberID:417814435005835908 alarm:NOSPACE ");
        assert_eq!(alarm_text(&member(2, 5)), "memberID:5 alarm:CORRUPT ");
    }
}
