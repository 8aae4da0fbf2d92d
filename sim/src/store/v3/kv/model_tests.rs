//! Property test: the kv store against a plain model (the list of every write, replayed
//! to answer reads) over random put / delete / txn / compact / range sequences.

use std::collections::BTreeMap;

use etcd_sdk::v3::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_sdk::v3::pb::etcdserverpb::{Compare, TxnRequest};
use etcd_sdk::v3::pb::mvccpb::event::EventType;
use proptest::prelude::*;

use super::test_support::*;
use super::{KvError, KvStore, NoLeases};
use crate::proptest_config::proptest_config;

const KEYS: [&str; 5] = ["a", "b", "ba", "c", "d"];

#[derive(Clone, Debug)]
enum Op {
    Put(usize, u8),
    /// Delete `[KEYS[i], end)` where end is: 0 = one key, 1 = "\0" (from key), 2 = "c".
    Delete(usize, u8),
    /// If KEYS[i] has value v: put KEYS[j], delete KEYS[k]; else put KEYS[k].
    Txn(usize, u8, usize, usize),
    /// Compact at `current - back`.
    Compact(u8),
    /// Check a read at `current - back` (may be compacted or, with back = 255, future).
    Read(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS.len(), 0u8..3).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0..KEYS.len(), 0u8..3).prop_map(|(k, e)| Op::Delete(k, e)),
        2 => (0..KEYS.len(), 0u8..3, 0..KEYS.len(), 0..KEYS.len())
            .prop_map(|(c, v, p, d)| Op::Txn(c, v, p, d)),
        1 => (0u8..6).prop_map(Op::Compact),
        2 => prop_oneof![0u8..8, Just(255u8)].prop_map(Op::Read),
    ]
}

#[derive(Clone, Debug, PartialEq)]
struct ModelKv {
    value: Vec<u8>,
    create: i64,
    modified: i64,
    version: i64,
}

/// Every write as (revision, key, Some(value) for a put / None for a delete).
#[derive(Default)]
struct Model {
    writes: Vec<(i64, Vec<u8>, Option<Vec<u8>>)>,
    current: i64,
    compact: i64,
}

impl Model {
    fn new() -> Self {
        Model {
            writes: Vec::new(),
            current: 1,
            compact: -1,
        }
    }

    fn state_at(&self, at: i64) -> BTreeMap<Vec<u8>, ModelKv> {
        let mut state: BTreeMap<Vec<u8>, ModelKv> = BTreeMap::new();
        for (rev, key, value) in self.writes.iter().filter(|w| w.0 <= at) {
            match value {
                Some(v) => {
                    let (create, version) = match state.get(key) {
                        Some(old) => (old.create, old.version + 1),
                        None => (*rev, 1),
                    };
                    state.insert(
                        key.clone(),
                        ModelKv {
                            value: v.clone(),
                            create,
                            modified: *rev,
                            version,
                        },
                    );
                }
                None => {
                    state.remove(key);
                }
            }
        }
        state
    }

    /// Applies one write's changes (all at the next revision); no revision when empty.
    fn commit(&mut self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        if changes.is_empty() {
            return;
        }
        self.current += 1;
        for (k, v) in changes {
            self.writes.push((self.current, k, v));
        }
    }
}

fn delete_end(e: u8) -> &'static str {
    match e {
        0 => "",
        1 => "\0",
        _ => "c",
    }
}

fn check_read(s: &KvStore, m: &Model, back: u8) -> Result<(), TestCaseError> {
    let rev = if back == 255 {
        m.current + 1
    } else {
        m.current - i64::from(back)
    };
    let res = s.range(&range_req_at("\0", "\0", rev));
    if rev > m.current {
        prop_assert_eq!(res, Err(KvError::FutureRevision));
        return Ok(());
    }
    let at = if rev <= 0 { m.current } else { rev };
    if at < m.compact {
        prop_assert_eq!(
            res,
            Err(KvError::Compacted {
                compact_revision: m.compact
            })
        );
        return Ok(());
    }
    let resp = res.map_err(|e| TestCaseError::fail(e.to_string()))?;
    let got: BTreeMap<Vec<u8>, ModelKv> = resp
        .kvs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                ModelKv {
                    value: kv.value.clone(),
                    create: kv.create_revision,
                    modified: kv.mod_revision,
                    version: kv.version,
                },
            )
        })
        .collect();
    prop_assert_eq!(&got, &m.state_at(at));
    prop_assert_eq!(resp.count as usize, got.len());
    Ok(())
}

fn check_events(s: &KvStore, m: &Model) -> Result<(), TestCaseError> {
    let from = m.compact.max(0) + 1;
    let events = s
        .events_between(from, m.current, b"\0", b"\0")
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let expected: Vec<_> = m.writes.iter().filter(|w| w.0 >= from).collect();
    prop_assert_eq!(events.len(), expected.len());
    for (ev, (rev, key, value)) in events.iter().zip(expected) {
        let kv = ev.kv.clone().unwrap_or_default();
        prop_assert_eq!(&kv.key, key);
        prop_assert_eq!(kv.mod_revision, *rev);
        match value {
            Some(v) => {
                prop_assert_eq!(ev.r#type, EventType::Put as i32);
                prop_assert_eq!(&kv.value, v);
            }
            None => prop_assert_eq!(ev.r#type, EventType::Delete as i32),
        }
        let prev = if *rev > m.compact {
            m.state_at(rev - 1).get(key).map(|p| p.value.clone())
        } else {
            None
        };
        prop_assert_eq!(ev.prev_kv.as_ref().map(|p| p.value.clone()), prev);
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut s = KvStore::new();
    let mut m = Model::new();
    for op in ops {
        match *op {
            Op::Put(k, v) => {
                put(&mut s, KEYS[k], &v.to_string());
                m.commit(vec![(KEYS[k].into(), Some(v.to_string().into_bytes()))]);
            }
            Op::Delete(k, e) => {
                let end = delete_end(e);
                let range = super::KeyRange::new(KEYS[k].as_bytes(), end.as_bytes());
                let live: Vec<Vec<u8>> = m
                    .state_at(m.current)
                    .into_keys()
                    .filter(|key| range.contains(key))
                    .collect();
                let (resp, _) = s.delete_range(&del_req(KEYS[k], end));
                prop_assert_eq!(resp.deleted as usize, live.len());
                m.commit(live.into_iter().map(|k| (k, None)).collect());
            }
            Op::Txn(c, v, p, d) => {
                let cmp = Compare {
                    key: KEYS[c].as_bytes().to_vec(),
                    target: CompareTarget::Value as i32,
                    result: CompareResult::Equal as i32,
                    target_union: Some(TargetUnion::Value(v.to_string().into_bytes())),
                    ..Default::default()
                };
                let holds = m
                    .state_at(m.current)
                    .get(KEYS[c].as_bytes())
                    .is_some_and(|kv| kv.value == v.to_string().into_bytes());
                let then = if p == d {
                    vec![put_op(KEYS[p], "t")]
                } else {
                    vec![put_op(KEYS[p], "t"), del_op(KEYS[d], "")]
                };
                let req = TxnRequest {
                    compare: vec![cmp],
                    success: then,
                    failure: vec![put_op(KEYS[d], "f")],
                };
                prop_assert_eq!(super::validate_txn(&req, 128), Ok(()));
                let (resp, _) = s
                    .txn(&req, &NoLeases)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(resp.succeeded, holds);
                let mut changes = Vec::new();
                if holds {
                    changes.push((KEYS[p].as_bytes().to_vec(), Some(b"t".to_vec())));
                    if p != d && m.state_at(m.current).contains_key(KEYS[d].as_bytes()) {
                        changes.push((KEYS[d].as_bytes().to_vec(), None));
                    }
                } else {
                    changes.push((KEYS[d].as_bytes().to_vec(), Some(b"f".to_vec())));
                }
                m.commit(changes);
            }
            Op::Compact(back) => {
                let rev = m.current - i64::from(back);
                let res = s.compact(rev);
                if rev <= m.compact {
                    prop_assert_eq!(
                        res,
                        Err(KvError::Compacted {
                            compact_revision: m.compact
                        })
                    );
                } else {
                    prop_assert_eq!(res, Ok(()));
                    m.compact = rev;
                }
            }
            Op::Read(back) => check_read(&s, &m, back)?,
        }
        prop_assert_eq!(s.current_revision(), m.current);
    }
    for back in 0..=(m.current.min(20) as u8) {
        check_read(&s, &m, back)?;
    }
    check_events(&s, &m)?;
    let restored =
        KvStore::from_snapshot(&s.to_snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(restored.hash_kv(0), s.hash_kv(0));
    prop_assert!(restored == s);
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops)?;
    }
}
