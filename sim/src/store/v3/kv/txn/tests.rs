use std::collections::BTreeSet;

use etcd_sdk::v3::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_sdk::v3::pb::etcdserverpb::{
    Compare, PutRequest, RangeResponse, TxnRequest, TxnResponse, response_op,
};
use etcd_sdk::v3::pb::mvccpb::event::EventType;

use super::*;
use crate::store::v3::kv::test_support::*;
use crate::store::v3::kv::{LeaseChange, NoLeases};

fn txn(compare: Vec<Compare>, success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
    TxnRequest {
        compare,
        success,
        failure,
    }
}

fn value_is(key: &str, value: &str) -> Compare {
    Compare {
        key: key.as_bytes().to_vec(),
        target: CompareTarget::Value as i32,
        result: CompareResult::Equal as i32,
        target_union: Some(TargetUnion::Value(value.as_bytes().to_vec())),
        ..Default::default()
    }
}

fn range_resp(resp: &TxnResponse, i: usize) -> &RangeResponse {
    match &resp.responses[i].response {
        Some(response_op::Response::ResponseRange(r)) => r,
        other => panic!("response {i} is not a range: {other:?}"),
    }
}

fn header_rev(resp: &ResponseOp) -> Option<i64> {
    let h = match &resp.response {
        Some(response_op::Response::ResponseRange(r)) => &r.header,
        Some(response_op::Response::ResponsePut(r)) => &r.header,
        Some(response_op::Response::ResponseDeleteRange(r)) => &r.header,
        Some(response_op::Response::ResponseTxn(r)) => &r.header,
        None => return None,
    };
    h.as_ref().map(|h| h.revision)
}

#[test]
fn empty_txn_succeeds_without_revision_change() {
    let mut s = KvStore::new();
    put(&mut s, "a", "1");
    let (resp, cs) = s.txn(&TxnRequest::default(), &NoLeases).unwrap();
    assert!(resp.succeeded);
    assert!(resp.responses.is_empty());
    assert!(resp.header.is_none());
    assert!(cs.is_none());
    assert_eq!(s.current_revision(), 2);
}

#[test]
fn compares_pick_the_branch() {
    let mut s = KvStore::new();
    put(&mut s, "user1", "good");
    let req = txn(
        vec![value_is("user1", "good")],
        vec![range_op("user1", ""), del_op("user2", "")],
        vec![put_op("x", "y")],
    );
    let (resp, cs) = s.txn(&req, &NoLeases).unwrap();
    assert!(resp.succeeded);
    assert!(cs.is_none(), "a read and a no-op delete change nothing");
    assert_eq!(s.current_revision(), 2);
    assert_eq!(range_resp(&resp, 0).kvs[0].value, b"good");
    // §5.2 #6: inner headers carry only the revision.
    for op in &resp.responses {
        assert_eq!(header_rev(op), Some(2));
    }
    let req = txn(
        vec![value_is("user1", "bad")],
        vec![put_op("x", "then")],
        vec![put_op("x", "else")],
    );
    let (resp, cs) = s.txn(&req, &NoLeases).unwrap();
    assert!(!resp.succeeded);
    assert_eq!(cs.unwrap().revision, 3);
    assert_eq!(s.get(b"x").unwrap().value, b"else");
}

#[test]
fn reads_see_earlier_writes_and_share_one_revision() {
    let mut s = KvStore::new();
    put(&mut s, "a", "old");
    let req = txn(
        Vec::new(),
        vec![
            range_op("a", ""),
            put_op("a", "new"),
            range_op("a", ""),
            put_op("b", "1"),
            del_op("c", ""),
            range_op("\0", "\0"),
        ],
        Vec::new(),
    );
    let (resp, cs) = s.txn(&req, &NoLeases).unwrap();
    let cs = cs.unwrap();
    assert_eq!(cs.revision, 3);
    assert_eq!(s.current_revision(), 3);
    assert_eq!(range_resp(&resp, 0).kvs[0].value, b"old");
    assert_eq!(range_resp(&resp, 2).kvs[0].value, b"new");
    assert_eq!(range_resp(&resp, 5).count, 2);
    let revs: Vec<Option<i64>> = resp.responses.iter().map(header_rev).collect();
    assert_eq!(
        revs,
        vec![Some(2), Some(3), Some(3), Some(3), Some(3), Some(3)]
    );
    // Sub revisions in op order, one event per change.
    assert_eq!(cs.events.len(), 2);
    assert_eq!(cs.events[0].kv.as_ref().unwrap().key, b"a");
    assert_eq!(cs.events[0].prev_kv.as_ref().unwrap().value, b"old");
    assert_eq!(cs.events[1].kv.as_ref().unwrap().key, b"b");
    let idx = s.index.get(b"b").unwrap().revisions();
    assert_eq!(idx, vec![crate::store::v3::kv::Revision::new(3, 1)]);
}

#[test]
fn delete_header_before_and_after_writes() {
    let mut s = KvStore::new();
    put(&mut s, "a", "1");
    let req = txn(
        Vec::new(),
        vec![del_op("zz", ""), put_op("b", "1"), del_op("zz", "")],
        Vec::new(),
    );
    let (resp, _) = s.txn(&req, &NoLeases).unwrap();
    let revs: Vec<Option<i64>> = resp.responses.iter().map(header_rev).collect();
    assert_eq!(revs, vec![Some(2), Some(3), Some(3)]);
}

#[test]
fn nested_txns_follow_their_own_compares() {
    let mut s = KvStore::new();
    put(&mut s, "flag", "on");
    let inner_a = txn(
        vec![value_is("flag", "on")],
        vec![put_op("a", "then")],
        vec![put_op("a", "else")],
    );
    let inner_b = txn(
        vec![value_is("flag", "off")],
        vec![put_op("b", "then")],
        vec![put_op("b", "else")],
    );
    let req = txn(
        Vec::new(),
        vec![txn_op(inner_a), put_op("c", "1"), txn_op(inner_b)],
        Vec::new(),
    );
    let (resp, cs) = s.txn(&req, &NoLeases).unwrap();
    assert_eq!(cs.unwrap().events.len(), 3);
    assert_eq!(s.get(b"a").unwrap().value, b"then");
    assert_eq!(s.get(b"b").unwrap().value, b"else");
    // Nested txn responses: an empty header, their ops headers with the revision.
    let Some(response_op::Response::ResponseTxn(a)) = &resp.responses[0].response else {
        panic!("not a txn response");
    };
    assert_eq!(a.header, Some(ResponseHeader::default()));
    assert!(a.succeeded);
    assert_eq!(header_rev(&a.responses[0]), Some(3));
    let Some(response_op::Response::ResponseTxn(b)) = &resp.responses[2].response else {
        panic!("not a txn response");
    };
    assert!(!b.succeeded);
    assert_eq!(s.current_revision(), 3);
}

#[test]
fn nested_compares_use_the_start_revision() {
    let mut s = KvStore::new();
    put(&mut s, "k", "before");
    // The outer put changes k, but the nested compare saw "before".
    let inner = txn(
        vec![value_is("k", "before")],
        vec![range_op("k", "")],
        Vec::new(),
    );
    let req = txn(
        Vec::new(),
        vec![put_op("k", "after"), txn_op(inner)],
        Vec::new(),
    );
    let (resp, _) = s.txn(&req, &NoLeases).unwrap();
    let Some(response_op::Response::ResponseTxn(inner)) = &resp.responses[1].response else {
        panic!("not a txn response");
    };
    assert!(inner.succeeded);
    assert_eq!(range_resp(inner, 0).kvs[0].value, b"after");
}

#[test]
fn compacted_or_future_range_fails_the_whole_txn() {
    let mut s = KvStore::new();
    for i in 0..4 {
        put(&mut s, "k", &i.to_string());
    }
    s.compact(4).unwrap();
    let before = s.clone();
    let mut old = range_req("k", "");
    old.revision = 3;
    let req = txn(
        Vec::new(),
        vec![
            put_op("w", "1"),
            RequestOp {
                request: Some(request_op::Request::RequestRange(old)),
            },
        ],
        Vec::new(),
    );
    assert_eq!(
        s.txn(&req, &NoLeases),
        Err(KvError::Compacted {
            compact_revision: 4
        })
    );
    assert_eq!(s, before, "nothing written");
    let mut future = range_req("k", "");
    future.revision = 6;
    let req = txn(
        Vec::new(),
        vec![
            put_op("w", "1"),
            RequestOp {
                request: Some(request_op::Request::RequestRange(future)),
            },
        ],
        Vec::new(),
    );
    assert_eq!(s.txn(&req, &NoLeases), Err(KvError::FutureRevision));
    assert_eq!(s, before);
    // The unchosen branch is not checked.
    let mut old = range_req("k", "");
    old.revision = 3;
    let req = txn(
        vec![value_is("k", "3")],
        vec![put_op("w", "1")],
        vec![RequestOp {
            request: Some(request_op::Request::RequestRange(old.clone())),
        }],
    );
    assert!(s.txn(&req, &NoLeases).is_ok());
    // At the compact revision it is fine; read-only txns check too.
    let only_read = txn(
        Vec::new(),
        vec![RequestOp {
            request: Some(request_op::Request::RequestRange(old)),
        }],
        Vec::new(),
    );
    assert_eq!(
        s.txn_read(&only_read),
        Some(Err(KvError::Compacted {
            compact_revision: 4
        }))
    );
    let mut at_compact = range_req("k", "");
    at_compact.revision = 4;
    let ok = txn(
        Vec::new(),
        vec![RequestOp {
            request: Some(request_op::Request::RequestRange(at_compact)),
        }],
        Vec::new(),
    );
    let resp = s.txn_read(&ok).unwrap().unwrap();
    assert_eq!(range_resp(&resp, 0).kvs[0].value, b"2");
}

#[test]
fn chosen_put_checks_lease_and_ignore_flags() {
    let mut s = KvStore::new();
    let leases: BTreeSet<i64> = [5].into_iter().collect();
    let leased = |lease| RequestOp {
        request: Some(request_op::Request::RequestPut(PutRequest {
            key: b"k".to_vec(),
            lease,
            ..Default::default()
        })),
    };
    let req = txn(
        Vec::new(),
        vec![put_op("other", "1"), leased(6)],
        Vec::new(),
    );
    assert_eq!(s.txn(&req, &leases), Err(KvError::LeaseNotFound));
    assert_eq!(s.current_revision(), 1);
    // In the branch not taken it does not matter.
    let req = txn(
        vec![value_is("nope", "x")],
        vec![leased(6)],
        vec![leased(5)],
    );
    let (_, cs) = s.txn(&req, &leases).unwrap();
    assert_eq!(
        cs.unwrap().lease_changes,
        vec![LeaseChange {
            key: b"k".to_vec(),
            old_lease: 0,
            new_lease: 5
        }]
    );
    let ignore = RequestOp {
        request: Some(request_op::Request::RequestPut(PutRequest {
            key: b"missing".to_vec(),
            ignore_value: true,
            ..Default::default()
        })),
    };
    let req = txn(Vec::new(), vec![put_op("other", "1"), ignore], Vec::new());
    assert_eq!(s.txn(&req, &leases), Err(KvError::KeyNotFound));
    assert_eq!(s.current_revision(), 2);
}

#[test]
fn put_after_from_key_delete_rolls_back() {
    // etcd's duplicate check lets this through (checked on etcd 3.4.23: a from-key
    // delete plus a put inside it is accepted); with ignore_value etcd's applier would
    // crash. We refuse it and leave the store untouched.
    let mut s = KvStore::new();
    put(&mut s, "k", "v");
    let before = s.clone();
    let ignore = RequestOp {
        request: Some(request_op::Request::RequestPut(PutRequest {
            key: b"k".to_vec(),
            ignore_value: true,
            ..Default::default()
        })),
    };
    let req = txn(Vec::new(), vec![del_op("a", "\0"), ignore], Vec::new());
    assert_eq!(crate::store::v3::kv::validate_txn(&req, 128), Ok(()));
    assert_eq!(s.txn(&req, &NoLeases), Err(KvError::KeyNotFound));
    assert_eq!(s, before);
}

#[test]
fn txn_delete_events_and_lease_changes() {
    let mut s = KvStore::new();
    let leases: BTreeSet<i64> = [8].into_iter().collect();
    let mut p = put_req("a", "1");
    p.lease = 8;
    s.put(&p, &leases).unwrap();
    put(&mut s, "b", "2");
    let mut del = del_req("a", "c");
    del.prev_kv = true;
    let req = txn(
        Vec::new(),
        vec![
            RequestOp {
                request: Some(request_op::Request::RequestDeleteRange(del)),
            },
            put_op("c", "3"),
        ],
        Vec::new(),
    );
    let (resp, cs) = s.txn(&req, &leases).unwrap();
    let cs = cs.unwrap();
    let Some(response_op::Response::ResponseDeleteRange(d)) = &resp.responses[0].response else {
        panic!("not a delete response");
    };
    assert_eq!((d.deleted, d.prev_kvs.len()), (2, 2));
    let types: Vec<i32> = cs.events.iter().map(|e| e.r#type).collect();
    assert_eq!(
        types,
        vec![
            EventType::Delete as i32,
            EventType::Delete as i32,
            EventType::Put as i32
        ]
    );
    assert_eq!(
        cs.lease_changes,
        vec![LeaseChange {
            key: b"a".to_vec(),
            old_lease: 8,
            new_lease: 0
        }]
    );
}

#[test]
fn read_only_detection_and_txn_read() {
    let mut s = KvStore::new();
    put(&mut s, "a", "1");
    let ro = txn(
        vec![value_is("a", "1")],
        vec![range_op("a", "")],
        vec![range_op("b", "")],
    );
    assert!(is_txn_read_only(&ro));
    let resp = s.txn_read(&ro).unwrap().unwrap();
    assert!(resp.succeeded);
    assert_eq!(header_rev(&resp.responses[0]), Some(2));
    let (via_write, cs) = s.txn(&ro, &NoLeases).unwrap();
    assert!(cs.is_none());
    assert_eq!(via_write, resp);
    let nested = txn(Vec::new(), vec![txn_op(TxnRequest::default())], Vec::new());
    assert!(!is_txn_read_only(&nested));
    assert!(s.txn_read(&nested).is_none());
    assert!(!is_txn_read_only(&txn(
        Vec::new(),
        Vec::new(),
        vec![put_op("x", "1")]
    )));
}

#[test]
fn negative_range_revision_in_a_txn_is_checked_raw() {
    // etcd's pre-check compares the raw revision with the compact revision (-1 before
    // any compaction): -1 passes (reads current), -2 is "compacted" (checked on etcd
    // 3.4.23 after a compaction: a txn range at -2 failed, a plain range read current).
    let mut s = KvStore::new();
    put(&mut s, "k", "v");
    let at = |revision| {
        let mut r = range_req("k", "");
        r.revision = revision;
        txn(
            Vec::new(),
            vec![RequestOp {
                request: Some(request_op::Request::RequestRange(r)),
            }],
            Vec::new(),
        )
    };
    let resp = s.txn_read(&at(-1)).unwrap().unwrap();
    assert_eq!(range_resp(&resp, 0).kvs[0].value, b"v");
    assert_eq!(
        s.txn_read(&at(-2)),
        Some(Err(KvError::Compacted {
            compact_revision: -1
        }))
    );
    // A top-level Range treats any negative revision as current.
    assert_eq!(s.range(&range_req_at("k", "", -2)).unwrap().kvs.len(), 1);
}
