//! Property test of the lessor as the server drives it: random sequences of grants,
//! revokes, kv writes (fed back as lease changes the way the kv store produces them),
//! leadership changes, keepalives, checkpoints and expiry checks, against a plain model
//! of which key carries which lease.

use super::{LeaseChange, LeaseId, Lessor, LessorConfig, NO_LEASE, Renewal};
use crate::proptest_config::proptest_config as config;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
enum Op {
    Grant(LeaseId, i64),
    Revoke(LeaseId),
    Put(u8, LeaseId),
    Delete(u8),
    Advance(u64),
    Promote(u64),
    Demote,
    Renew(LeaseId),
    Expired(usize),
    Checkpoint(LeaseId, i64),
    SnapshotRestore,
}

fn op() -> impl Strategy<Value = Op> {
    let id = -3i64..6;
    prop_oneof![
        (id.clone(), -2i64..20).prop_map(|(i, t)| Op::Grant(i, t)),
        id.clone().prop_map(Op::Revoke),
        (0u8..5, id.clone()).prop_map(|(k, i)| Op::Put(k, i)),
        (0u8..5).prop_map(Op::Delete),
        (0u64..8000).prop_map(Op::Advance),
        (0u64..2000).prop_map(Op::Promote),
        Just(Op::Demote),
        id.clone().prop_map(Op::Renew),
        (1usize..4).prop_map(Op::Expired),
        (id, 0i64..10).prop_map(|(i, r)| Op::Checkpoint(i, r)),
        Just(Op::SnapshotRestore),
    ]
}

/// The kv side: which live key carries which lease.
struct Kv(BTreeMap<Vec<u8>, LeaseId>);

impl Kv {
    fn put(&mut self, key: Vec<u8>, lease: LeaseId) -> LeaseChange {
        let old = self.0.insert(key.clone(), lease).unwrap_or(NO_LEASE);
        LeaseChange {
            key,
            old_lease: old,
            new_lease: lease,
        }
    }

    fn delete(&mut self, key: &[u8]) -> Option<LeaseChange> {
        self.0.remove(key).map(|old| LeaseChange {
            key: key.to_vec(),
            old_lease: old,
            new_lease: NO_LEASE,
        })
    }

    fn keys_of(&self, id: LeaseId) -> BTreeSet<Vec<u8>> {
        self.0
            .iter()
            .filter(|(_, l)| **l == id)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn check_invariants(le: &Lessor, kv: &Kv, now: Instant) -> Result<(), TestCaseError> {
    for id in le.leases() {
        let lease = le
            .get(id)
            .ok_or_else(|| TestCaseError::fail("listed lease missing"))?;
        prop_assert_eq!(lease.keys(), &kv.keys_of(id), "keys of lease {}", id);
        prop_assert!(lease.ttl() >= le.config().min_ttl);
        if !le.is_primary() {
            prop_assert_eq!(lease.expiry(), None);
        }
        let ttl = le.time_to_live(id, now, true);
        prop_assert!(ttl.found);
        prop_assert_eq!(ttl.granted_ttl, lease.ttl());
        prop_assert_eq!(
            ttl.keys.iter().cloned().collect::<BTreeSet<_>>(),
            kv.keys_of(id)
        );
    }
    for lease in kv.0.values().filter(|l| **l != NO_LEASE) {
        prop_assert!(le.contains(*lease), "key on a lease the lessor lacks");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lessor_follows_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut le = Lessor::new(LessorConfig::default());
        let mut kv = Kv(BTreeMap::new());
        for op in ops {
            match op {
                Op::Grant(id, ttl) => {
                    let existed = le.contains(id);
                    let r = le.grant(id, ttl, now);
                    prop_assert_eq!(r.is_ok(), id != 0 && !existed);
                    if let Ok(g) = r {
                        prop_assert_eq!(g.ttl, ttl.max(2));
                        let expiry = le.get(id).and_then(|l| l.expiry());
                        if le.is_primary() {
                            prop_assert_eq!(expiry, Some(now + Duration::from_secs(g.ttl as u64)));
                        }
                    }
                }
                Op::Revoke(id) => {
                    let want: Vec<_> = kv.keys_of(id).into_iter().collect();
                    match le.revoke(id) {
                        Ok(keys) => {
                            prop_assert_eq!(&keys, &want);
                            let changes: Vec<_> =
                                keys.iter().filter_map(|k| kv.delete(k)).collect();
                            prop_assert_eq!(le.apply_lease_changes(&changes), Ok(()));
                        }
                        Err(_) => prop_assert!(id == NO_LEASE || want.is_empty()),
                    }
                }
                Op::Put(k, id) => {
                    // The kv store refuses a Put with an unknown lease before writing.
                    if id == NO_LEASE || le.contains(id) {
                        let change = kv.put(vec![b'k', k], id);
                        prop_assert_eq!(le.apply_lease_changes(&[change]), Ok(()));
                    }
                }
                Op::Delete(k) => {
                    if let Some(change) = kv.delete(&[b'k', k]) {
                        prop_assert_eq!(le.apply_lease_changes(&[change]), Ok(()));
                    }
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                Op::Promote(ms) => {
                    le.promote(now, Duration::from_millis(ms));
                    for id in le.leases() {
                        let l = le.get(id).ok_or_else(|| TestCaseError::fail("lease"))?;
                        let want = now
                            + Duration::from_millis(ms)
                            + Duration::from_secs(l.effective_ttl() as u64);
                        prop_assert_eq!(l.expiry(), Some(want));
                    }
                }
                Op::Demote => le.demote(),
                Op::Renew(id) => {
                    let r = le.renew(id, now);
                    if !le.is_primary() {
                        prop_assert!(r.is_err());
                    } else {
                        match (r, le.get(id)) {
                            (Ok(Renewal::NotFound), None) => {}
                            (Ok(Renewal::Renewed { ttl, .. }), Some(l)) => {
                                prop_assert_eq!(ttl, l.ttl());
                                prop_assert!(!l.is_expired(now));
                            }
                            (Ok(Renewal::AwaitingRevoke), Some(l)) => {
                                prop_assert!(l.is_expired(now));
                            }
                            (other, _) => {
                                return Err(TestCaseError::fail(format!("renew gave {other:?}")));
                            }
                        }
                    }
                }
                Op::Expired(limit) => {
                    let found = le.expired(now, limit);
                    prop_assert!(found.len() <= limit);
                    prop_assert!(le.is_primary() || found.is_empty());
                    let unique: BTreeSet<_> = found.iter().collect();
                    prop_assert_eq!(unique.len(), found.len());
                    for id in &found {
                        prop_assert!(le.get(*id).is_some_and(|l| l.is_expired(now)));
                    }
                }
                Op::Checkpoint(id, remaining) => {
                    le.checkpoint(id, remaining, now);
                    if let Some(l) = le.get(id) {
                        prop_assert_eq!(l.checkpointed_remaining_ttl(), remaining);
                    }
                }
                Op::SnapshotRestore => {
                    let ids = le.leases().into_iter().collect::<BTreeSet<_>>();
                    let mut restored = Lessor::new(*le.config());
                    restored.restore(&le.snapshot())
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let skipped = restored
                        .rebuild_attachments(kv.0.iter().map(|(k, l)| (k.clone(), *l)));
                    prop_assert_eq!(skipped, 0);
                    prop_assert_eq!(restored.leases().into_iter().collect::<BTreeSet<_>>(), ids);
                    // A restarted member starts as a follower.
                    le = restored;
                }
            }
            check_invariants(&le, &kv, now)?;
        }
        // Every lease past its expiry is reported within one retry interval.
        if le.is_primary() {
            let expired: BTreeSet<_> = le
                .leases()
                .into_iter()
                .filter(|id| le.get(*id).is_some_and(|l| l.is_expired(now)))
                .collect();
            let later = now + le.config().expired_retry_interval;
            let mut reported = le.expired(now, usize::MAX);
            reported.extend(le.expired(later, usize::MAX));
            let reported: BTreeSet<_> = reported.into_iter().collect();
            prop_assert!(expired.is_subset(&reported));
        }
    }
}
