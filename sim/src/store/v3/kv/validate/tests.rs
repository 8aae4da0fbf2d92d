use super::*;
use crate::store::v3::kv::test_support::*;
use etcd_sdk::v3::pb::etcdserverpb::Compare;

fn txn(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
    TxnRequest {
        compare: Vec::new(),
        success,
        failure,
    }
}

fn check(req: &TxnRequest) -> Result<()> {
    validate_txn(req, DEFAULT_MAX_TXN_OPS)
}

#[test]
fn put_range_delete_validation() {
    assert_eq!(
        validate_range(&range_req("", "")),
        Err(KvError::KeyNotProvided)
    );
    assert_eq!(validate_range(&range_req("a", "")), Ok(()));
    assert_eq!(
        validate_delete_range(&del_req("", "z")),
        Err(KvError::KeyNotProvided)
    );
    assert_eq!(
        validate_put(&put_req("", "v")),
        Err(KvError::KeyNotProvided)
    );
    let mut p = put_req("k", "v");
    p.ignore_value = true;
    assert_eq!(validate_put(&p), Err(KvError::ValueProvided));
    p.value.clear();
    assert_eq!(validate_put(&p), Ok(()));
    p.ignore_lease = true;
    p.lease = 3;
    assert_eq!(validate_put(&p), Err(KvError::LeaseProvided));
    // Empty key wins over the other checks.
    p.key.clear();
    p.value = b"x".to_vec();
    assert_eq!(validate_put(&p), Err(KvError::KeyNotProvided));
}

#[test]
fn op_limit_128_passes_129_fails() {
    let puts = |n: usize| {
        (0..n)
            .map(|i| put_op(&format!("k{i}"), "v"))
            .collect::<Vec<_>>()
    };
    assert_eq!(check(&txn(puts(128), Vec::new())), Ok(()));
    assert_eq!(check(&txn(puts(129), Vec::new())), Err(KvError::TooManyOps));
    assert_eq!(check(&txn(Vec::new(), puts(129))), Err(KvError::TooManyOps));
    let cmps = |n: usize| {
        (0..n)
            .map(|i| Compare {
                key: format!("c{i}").into_bytes(),
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };
    let mut req = txn(Vec::new(), Vec::new());
    req.compare = cmps(128);
    assert_eq!(check(&req), Ok(()));
    req.compare = cmps(129);
    assert_eq!(check(&req), Err(KvError::TooManyOps));
    // A custom limit.
    assert_eq!(
        validate_txn(&txn(puts(3), Vec::new()), 2),
        Err(KvError::TooManyOps)
    );
}

#[test]
fn nested_txn_limit_shrinks_by_enclosing_width() {
    // Outer width 2 leaves 126 for the nested txn.
    let nested = |n: usize| {
        txn_op(txn(
            (0..n).map(|i| put_op(&format!("n{i}"), "v")).collect(),
            Vec::new(),
        ))
    };
    let outer = |n: usize| txn(vec![nested(n), range_op("r", "")], Vec::new());
    assert_eq!(check(&outer(126)), Ok(()));
    assert_eq!(check(&outer(127)), Err(KvError::TooManyOps));
}

#[test]
fn order_too_many_then_keys_then_duplicates() {
    // Too many ops wins over an empty key.
    let mut ops: Vec<RequestOp> = (0..129).map(|i| put_op(&format!("k{i}"), "v")).collect();
    ops[0] = put_op("", "v");
    assert_eq!(check(&txn(ops, Vec::new())), Err(KvError::TooManyOps));
    // Empty compare key.
    let mut req = txn(vec![put_op("a", "1"), put_op("a", "2")], Vec::new());
    req.compare = vec![Compare::default()];
    assert_eq!(check(&req), Err(KvError::KeyNotProvided));
    // Empty op key (in failure) wins over a duplicate in success.
    let req = txn(
        vec![put_op("a", "1"), put_op("a", "2")],
        vec![del_op("", "")],
    );
    assert_eq!(check(&req), Err(KvError::KeyNotProvided));
    // An op with nothing set.
    let req = txn(vec![RequestOp { request: None }], Vec::new());
    assert_eq!(check(&req), Err(KvError::KeyNotFound));
    // ignore_value with a value, nested.
    let mut p = put_req("k", "v");
    p.ignore_value = true;
    let inner = txn(
        vec![RequestOp {
            request: Some(request_op::Request::RequestPut(p)),
        }],
        Vec::new(),
    );
    assert_eq!(
        check(&txn(vec![txn_op(inner)], Vec::new())),
        Err(KvError::ValueProvided)
    );
}

#[test]
fn two_puts_of_one_key_in_a_branch() {
    let req = txn(vec![put_op("d", "1"), put_op("d", "2")], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // One in each branch is fine.
    let req = txn(vec![put_op("d", "1")], vec![put_op("d", "2")]);
    assert_eq!(check(&req), Ok(()));
}

#[test]
fn put_inside_a_delete_of_the_same_level() {
    let req = txn(vec![del_op("d", "e"), put_op("d1", "2")], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    let req = txn(vec![put_op("d", "2"), del_op("d", "")], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // Just outside the interval.
    let req = txn(vec![del_op("d", "e"), put_op("e", "2")], Vec::new());
    assert_eq!(check(&req), Ok(()));
    // etcd quirk: a from-key delete ("\0" end) is not treated as an interval here.
    let req = txn(vec![del_op("d", "\0"), put_op("x", "2")], Vec::new());
    assert_eq!(check(&req), Ok(()));
}

#[test]
fn put_against_nested_or_enclosing_delete() {
    // Nested put inside an outer delete.
    let inner = txn(vec![put_op("b", "1")], Vec::new());
    let req = txn(vec![del_op("a", "c"), txn_op(inner)], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // Outer put inside a nested delete (else branch).
    let inner = txn(Vec::new(), vec![del_op("a", "c")]);
    let req = txn(vec![txn_op(inner), put_op("b", "1")], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // A later nested txn's put inside an earlier nested txn's delete.
    let first = txn(vec![del_op("a", "c")], Vec::new());
    let second = txn(vec![put_op("b", "1")], Vec::new());
    let req = txn(vec![txn_op(first), txn_op(second)], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
}

#[test]
fn overlapping_deletes_are_allowed() {
    let inner = txn(vec![del_op("a", "z")], Vec::new());
    let req = txn(
        vec![
            del_op("a", "c"),
            del_op("b", "d"),
            del_op("b", ""),
            txn_op(inner),
        ],
        Vec::new(),
    );
    assert_eq!(check(&req), Ok(()));
}

#[test]
fn nested_then_and_else_may_put_the_same_key() {
    let inner = txn(vec![put_op("k", "then")], vec![put_op("k", "else")]);
    assert_eq!(check(&txn(vec![txn_op(inner)], Vec::new())), Ok(()));
}

#[test]
fn nested_put_colliding_with_outer_put() {
    let inner = txn(vec![put_op("k", "1")], Vec::new());
    let req = txn(vec![put_op("k", "0"), txn_op(inner)], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // In the nested else branch too.
    let inner = txn(Vec::new(), vec![put_op("k", "1")]);
    let req = txn(vec![txn_op(inner), put_op("k", "0")], Vec::new());
    assert_eq!(check(&req), Err(KvError::DuplicateKey));
    // Two sibling nested txns putting one key.
    let a = txn(vec![put_op("k", "1")], Vec::new());
    let b = txn(vec![put_op("k", "2")], Vec::new());
    assert_eq!(
        check(&txn(vec![txn_op(a), txn_op(b)], Vec::new())),
        Err(KvError::DuplicateKey)
    );
}
