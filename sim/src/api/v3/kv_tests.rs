use super::*;
use crate::server::backend::ReplicationError;
use crate::server::v3_backend::V3Limits;
use crate::server::v3_testing::{CLUSTER_ID, LocalV3, MEMBER_ID, RAFT_TERM};
use etcd_sdk::v3::pb::etcdserverpb::{Compare, compare::CompareResult, compare::CompareTarget};
use etcd_sdk::v3::pb::etcdserverpb::{RequestOp, ResponseHeader, compare, response_op};
use etcd_sdk::v3::tonic::Code;

fn service(b: LocalV3) -> KvService {
    KvService::new(Arc::new(b))
}

fn put_req(key: &str, value: &str) -> Request<PutRequest> {
    Request::new(PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    })
}

fn range_req(key: &str, serializable: bool) -> RangeRequest {
    RangeRequest {
        key: key.into(),
        serializable,
        ..Default::default()
    }
}

fn op_range(key: &str, serializable: bool) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestRange(range_req(
            key,
            serializable,
        ))),
    }
}

fn op_put(key: &str) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestPut(PutRequest {
            key: key.into(),
            value: b"t".to_vec(),
            ..Default::default()
        })),
    }
}

fn full(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: MEMBER_ID,
        revision,
        raft_term: RAFT_TERM,
    })
}

fn assert_status(s: &Status, code: Code, text: &str) {
    assert_eq!((s.code(), s.message()), (code, text));
}

#[tokio::test]
async fn put_then_range_both_ways_with_full_headers() {
    let kv = service(LocalV3::new());
    let p = kv.put(put_req("a", "1")).await.unwrap().into_inner();
    assert_eq!(p.header, full(2));
    let p = kv
        .put(Request::new(PutRequest {
            key: b"a".to_vec(),
            value: b"2".to_vec(),
            prev_kv: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.header, full(3));
    assert_eq!(p.prev_kv.map(|kv| kv.value), Some(b"1".to_vec()));
    for serializable in [false, true] {
        let r = kv
            .range(Request::new(range_req("a", serializable)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.header, full(3), "serializable={serializable}");
        assert_eq!(r.count, 1);
        assert_eq!(r.kvs[0].value, b"2");
        assert_eq!((r.kvs[0].create_revision, r.kvs[0].mod_revision), (2, 3));
    }
    // An older revision: the header still shows the current one.
    let mut old = range_req("a", true);
    old.revision = 2;
    let r = kv.range(Request::new(old)).await.unwrap().into_inner();
    assert_eq!((r.kvs[0].value.as_slice(), r.header), (&b"1"[..], full(3)));
}

#[tokio::test]
async fn serializable_reads_are_local_and_linearizable_ones_go_through_the_log() {
    let mut b = LocalV3::new();
    b.fail = Some(ReplicationError::timed_out());
    let kv = service(b);
    let r = kv.range(Request::new(range_req("a", true))).await.unwrap();
    assert_eq!(r.into_inner().count, 0);
    let e = kv
        .range(Request::new(range_req("a", false)))
        .await
        .unwrap_err();
    assert_status(&e, Code::Unavailable, "etcdserver: request timed out");
    let e = kv.put(put_req("a", "1")).await.unwrap_err();
    assert_status(&e, Code::Unavailable, "etcdserver: request timed out");
    // Read-only txns: local when every range is serializable, else through the log.
    let local = TxnRequest {
        success: vec![op_range("a", true), op_range("b", true)],
        ..Default::default()
    };
    let t = kv.txn(Request::new(local)).await.unwrap().into_inner();
    assert!(t.succeeded);
    assert_eq!(t.header, full(1));
    assert_eq!(t.responses.len(), 2);
    let mixed = TxnRequest {
        success: vec![op_range("a", true), op_range("b", false)],
        ..Default::default()
    };
    let e = kv.txn(Request::new(mixed)).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
}

#[tokio::test]
async fn validation_errors_have_etcds_codes_and_texts() {
    let kv = service(LocalV3::new());
    let e = kv
        .range(Request::new(RangeRequest::default()))
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: key is not provided");
    let e = kv.put(put_req("", "v")).await.unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: key is not provided");
    let e = kv
        .put(Request::new(PutRequest {
            key: b"a".to_vec(),
            value: b"v".to_vec(),
            ignore_value: true,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: value is provided");
    let e = kv
        .put(Request::new(PutRequest {
            key: b"a".to_vec(),
            lease: 5,
            ignore_lease: true,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: lease is provided");
    let e = kv
        .put(Request::new(PutRequest {
            key: b"a".to_vec(),
            ignore_value: true,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: key not found");
    let e = kv
        .put(Request::new(PutRequest {
            key: b"a".to_vec(),
            lease: 77,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_status(&e, Code::NotFound, "etcdserver: requested lease not found");
    let e = kv
        .delete_range(Request::new(DeleteRangeRequest::default()))
        .await
        .unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: key is not provided");
    let mut future = range_req("a", true);
    future.revision = 5;
    let e = kv.range(Request::new(future.clone())).await.unwrap_err();
    assert_status(
        &e,
        Code::OutOfRange,
        "etcdserver: mvcc: required revision is a future revision",
    );
    future.serializable = false;
    let e = kv.range(Request::new(future)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange);
}

#[tokio::test]
async fn delete_range_counts_and_returns_prev_kvs() {
    let kv = service(LocalV3::new());
    for k in ["a", "b", "c"] {
        kv.put(put_req(k, k)).await.unwrap();
    }
    let d = kv
        .delete_range(Request::new(DeleteRangeRequest {
            key: b"a".to_vec(),
            range_end: b"c".to_vec(),
            prev_kv: true,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((d.deleted, d.prev_kvs.len(), d.header), (2, 2, full(5)));
    let none = kv
        .delete_range(Request::new(DeleteRangeRequest {
            key: b"zz".to_vec(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (none.deleted, none.header),
        (0, full(5)),
        "no revision bump"
    );
}

#[tokio::test]
async fn txn_limits_writes_and_nested_headers() {
    let kv = service(LocalV3::with_limits(V3Limits {
        max_txn_ops: 2,
        ..V3Limits::default()
    }));
    let too_many = TxnRequest {
        success: vec![op_put("a"), op_put("b"), op_put("c")],
        ..Default::default()
    };
    let e = kv.txn(Request::new(too_many)).await.unwrap_err();
    assert_status(
        &e,
        Code::InvalidArgument,
        "etcdserver: too many operations in txn request",
    );
    let dup = TxnRequest {
        success: vec![op_put("a"), op_put("a")],
        ..Default::default()
    };
    let e = kv.txn(Request::new(dup)).await.unwrap_err();
    assert_status(
        &e,
        Code::InvalidArgument,
        "etcdserver: duplicate key given in txn request",
    );
    let empty_op = TxnRequest {
        success: vec![RequestOp { request: None }],
        ..Default::default()
    };
    let e = kv.txn(Request::new(empty_op)).await.unwrap_err();
    assert_status(&e, Code::InvalidArgument, "etcdserver: key not found");

    let write = TxnRequest {
        compare: vec![Compare {
            result: CompareResult::Equal as i32,
            target: CompareTarget::Version as i32,
            key: b"a".to_vec(),
            target_union: Some(compare::TargetUnion::Version(0)),
            ..Default::default()
        }],
        success: vec![op_put("a"), op_range("a", false)],
        failure: vec![op_range("a", false)],
    };
    let t = kv
        .txn(Request::new(write.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(t.succeeded);
    assert_eq!(t.header, full(2));
    let Some(response_op::Response::ResponseRange(r)) = &t.responses[1].response else {
        panic!("a range response");
    };
    assert_eq!(r.count, 1, "reads see the txn's own writes");
    assert_eq!(
        r.header,
        Some(ResponseHeader {
            revision: 2,
            ..Default::default()
        }),
        "nested responses keep the applier's header"
    );
    let t = kv.txn(Request::new(write)).await.unwrap().into_inner();
    assert!(!t.succeeded);
    assert_eq!(t.header, full(2), "the failure branch only read");
}

#[tokio::test]
async fn compact_errors_and_success() {
    let kv = service(LocalV3::new());
    for k in ["a", "b", "c"] {
        kv.put(put_req(k, k)).await.unwrap();
    }
    let compact = |revision| {
        Request::new(CompactionRequest {
            revision,
            physical: true,
        })
    };
    let e = kv.compact(compact(9)).await.unwrap_err();
    assert_status(
        &e,
        Code::OutOfRange,
        "etcdserver: mvcc: required revision is a future revision",
    );
    let c = kv.compact(compact(3)).await.unwrap().into_inner();
    assert_eq!(c.header, full(4));
    let e = kv.compact(compact(3)).await.unwrap_err();
    assert_status(
        &e,
        Code::OutOfRange,
        "etcdserver: mvcc: required revision has been compacted",
    );
    let mut old = range_req("a", true);
    old.revision = 2;
    let e = kv.range(Request::new(old)).await.unwrap_err();
    assert_eq!(
        e.message(),
        "etcdserver: mvcc: required revision has been compacted"
    );
}

#[tokio::test]
async fn hasleader_refuses_when_no_leader_is_known() {
    let b = LocalV3::new();
    b.no_leader.store(true, std::sync::atomic::Ordering::SeqCst);
    let kv = service(b);
    let mut req = Request::new(range_req("a", true));
    req.metadata_mut()
        .insert("hasleader", "true".parse().unwrap());
    let e = kv.range(req).await.unwrap_err();
    assert_status(&e, Code::Unavailable, "etcdserver: no leader");
    let mut put = put_req("a", "1");
    put.metadata_mut()
        .insert("hasleader", "true".parse().unwrap());
    let e = kv.put(put).await.unwrap_err();
    assert_status(&e, Code::Unavailable, "etcdserver: no leader");
    // Without the metadata, a serializable read works with no leader.
    let r = kv.range(Request::new(range_req("a", true))).await;
    assert!(r.is_ok());
}

#[tokio::test]
async fn a_request_above_the_limit_is_too_large() {
    let kv = service(LocalV3::with_limits(V3Limits {
        max_request_bytes: 1024,
        ..V3Limits::default()
    }));
    let e = kv.put(put_req("a", &"x".repeat(2000))).await.unwrap_err();
    assert_status(
        &e,
        Code::InvalidArgument,
        "etcdserver: request is too large",
    );
    assert!(kv.put(put_req("a", &"x".repeat(900))).await.is_ok());
    let big_txn = TxnRequest {
        success: vec![RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest {
                key: b"b".to_vec(),
                value: vec![b'y'; 2000],
                ..Default::default()
            })),
        }],
        ..Default::default()
    };
    let e = kv.txn(Request::new(big_txn)).await.unwrap_err();
    assert_status(
        &e,
        Code::InvalidArgument,
        "etcdserver: request is too large",
    );
}
