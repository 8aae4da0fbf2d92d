//! Txn compares: a condition on every key of `[key, range_end)` at a revision.

use std::cmp::Ordering;

use etcd_sdk::v3::pb::etcdserverpb::Compare;
use etcd_sdk::v3::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_sdk::v3::pb::mvccpb::KeyValue;

use super::key_range::KeyRange;
use super::store::KvStore;

/// Whether compare `c` holds at revision `at`.
///
/// With no live key in the range, a VALUE compare is false and every other target
/// compares against a zero KeyValue (version 0, create/mod revision 0, lease 0). With
/// keys, every key must satisfy it. The value to compare with comes from the matching
/// `target_union` field; a missing or mismatched one counts as 0 / empty.
pub fn compare_holds(store: &KvStore, c: &Compare, at: i64) -> bool {
    let kvs = store.kvs_at(&KeyRange::new(&c.key, &c.range_end), at);
    if kvs.is_empty() {
        if c.target == CompareTarget::Value as i32 {
            return false;
        }
        return compare_kv(c, &KeyValue::default());
    }
    kvs.iter().all(|kv| compare_kv(c, kv))
}

/// Whether every compare holds at `at` (an empty list holds).
pub fn compares_hold(store: &KvStore, cmps: &[Compare], at: i64) -> bool {
    cmps.iter().all(|c| compare_holds(store, c, at))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    let int = |actual: i64, wanted: Option<i64>| actual.cmp(&wanted.unwrap_or(0));
    let ord = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Value) => {
            let wanted: &[u8] = match &c.target_union {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(wanted)
        }
        Ok(CompareTarget::Create) => int(
            kv.create_revision,
            match c.target_union {
                Some(TargetUnion::CreateRevision(v)) => Some(v),
                _ => None,
            },
        ),
        Ok(CompareTarget::Mod) => int(
            kv.mod_revision,
            match c.target_union {
                Some(TargetUnion::ModRevision(v)) => Some(v),
                _ => None,
            },
        ),
        Ok(CompareTarget::Version) => int(
            kv.version,
            match c.target_union {
                Some(TargetUnion::Version(v)) => Some(v),
                _ => None,
            },
        ),
        Ok(CompareTarget::Lease) => int(
            kv.lease,
            match c.target_union {
                Some(TargetUnion::Lease(v)) => Some(v),
                _ => None,
            },
        ),
        // An unknown target compares as equal (etcd leaves its result at 0).
        Err(_) => Ordering::Equal,
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => ord == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ord != Ordering::Equal,
        Ok(CompareResult::Greater) => ord == Ordering::Greater,
        Ok(CompareResult::Less) => ord == Ordering::Less,
        // An unknown result holds (etcd falls through to true).
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn cmp(key: &str, target: CompareTarget, result: CompareResult, value: TargetUnion) -> Compare {
        Compare {
            key: key.as_bytes().to_vec(),
            target: target as i32,
            result: result as i32,
            target_union: Some(value),
            ..Default::default()
        }
    }

    /// `k`: created at 2, modified at 3 (version 2), value "m", lease 0.
    fn store() -> KvStore {
        let mut s = KvStore::new();
        put(&mut s, "k", "a");
        put(&mut s, "k", "m");
        s
    }

    #[test]
    fn every_target_and_result_on_a_present_key() {
        use CompareResult::*;
        use CompareTarget as T;
        let s = store();
        let at = s.current_revision();
        let cases: Vec<(T, TargetUnion, [bool; 4])> = vec![
            // [Equal, NotEqual, Greater, Less] against the key's actual value.
            (
                T::Version,
                TargetUnion::Version(2),
                [true, false, false, false],
            ),
            (
                T::Version,
                TargetUnion::Version(1),
                [false, true, true, false],
            ),
            (
                T::Create,
                TargetUnion::CreateRevision(2),
                [true, false, false, false],
            ),
            (
                T::Create,
                TargetUnion::CreateRevision(3),
                [false, true, false, true],
            ),
            (
                T::Mod,
                TargetUnion::ModRevision(3),
                [true, false, false, false],
            ),
            (
                T::Mod,
                TargetUnion::ModRevision(2),
                [false, true, true, false],
            ),
            (
                T::Value,
                TargetUnion::Value(b"m".to_vec()),
                [true, false, false, false],
            ),
            (
                T::Value,
                TargetUnion::Value(b"a".to_vec()),
                [false, true, true, false],
            ),
            (
                T::Value,
                TargetUnion::Value(b"z".to_vec()),
                [false, true, false, true],
            ),
            (T::Lease, TargetUnion::Lease(0), [true, false, false, false]),
            (T::Lease, TargetUnion::Lease(5), [false, true, false, true]),
        ];
        for (target, value, expect) in cases {
            for (result, want) in [Equal, NotEqual, Greater, Less].into_iter().zip(expect) {
                let c = cmp("k", target, result, value.clone());
                assert_eq!(
                    compare_holds(&s, &c, at),
                    want,
                    "{target:?} {result:?} {value:?}"
                );
            }
        }
    }

    #[test]
    fn missing_key_compares_as_zero_but_value_is_false() {
        use CompareResult::*;
        use CompareTarget as T;
        let s = store();
        let at = s.current_revision();
        assert!(compare_holds(
            &s,
            &cmp("x", T::Version, Equal, TargetUnion::Version(0)),
            at
        ));
        assert!(compare_holds(
            &s,
            &cmp("x", T::Create, Equal, TargetUnion::CreateRevision(0)),
            at
        ));
        assert!(compare_holds(
            &s,
            &cmp("x", T::Mod, Less, TargetUnion::ModRevision(1)),
            at
        ));
        assert!(compare_holds(
            &s,
            &cmp("x", T::Lease, Equal, TargetUnion::Lease(0)),
            at
        ));
        assert!(!compare_holds(
            &s,
            &cmp("x", T::Version, Greater, TargetUnion::Version(0)),
            at
        ));
        for result in [Equal, NotEqual, Greater, Less] {
            let c = cmp("x", T::Value, result, TargetUnion::Value(Vec::new()));
            assert!(
                !compare_holds(&s, &c, at),
                "value compare on a missing key: {result:?}"
            );
        }
    }

    #[test]
    fn missing_or_mismatched_union_counts_as_zero() {
        let s = store();
        let at = s.current_revision();
        let mut c = cmp(
            "k",
            CompareTarget::Version,
            CompareResult::Greater,
            TargetUnion::Lease(100),
        );
        assert!(compare_holds(&s, &c, at), "version 2 > 0");
        c.target_union = None;
        assert!(compare_holds(&s, &c, at));
        let v = Compare {
            key: b"k".to_vec(),
            target: CompareTarget::Value as i32,
            result: CompareResult::Greater as i32,
            ..Default::default()
        };
        assert!(compare_holds(&s, &v, at), "\"m\" > empty");
    }

    #[test]
    fn range_compare_needs_every_key() {
        let mut s = store();
        put(&mut s, "k2", "m");
        put(&mut s, "k3", "n");
        let at = s.current_revision();
        let mut c = cmp(
            "k",
            CompareTarget::Value,
            CompareResult::Equal,
            TargetUnion::Value(b"m".to_vec()),
        );
        c.range_end = b"k3".to_vec();
        assert!(compare_holds(&s, &c, at));
        c.range_end = b"k4".to_vec();
        assert!(!compare_holds(&s, &c, at));
        // At an older revision only k existed.
        c.range_end = b"k4".to_vec();
        assert!(compare_holds(&s, &c, 3));
        assert!(compares_hold(&s, &[], at));
    }
}
