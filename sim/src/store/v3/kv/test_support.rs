//! Request builders for the kv store's tests.

use etcd_sdk::v3::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, request_op,
};

use super::{KvStore, NoLeases};

pub(crate) fn put_req(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(crate) fn range_req(key: &str, end: &str) -> RangeRequest {
    RangeRequest {
        key: key.as_bytes().to_vec(),
        range_end: end.as_bytes().to_vec(),
        ..Default::default()
    }
}

pub(crate) fn range_req_at(key: &str, end: &str, revision: i64) -> RangeRequest {
    RangeRequest {
        revision,
        ..range_req(key, end)
    }
}

pub(crate) fn del_req(key: &str, end: &str) -> DeleteRangeRequest {
    DeleteRangeRequest {
        key: key.as_bytes().to_vec(),
        range_end: end.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// A plain put (no lease) that must succeed.
pub(crate) fn put(s: &mut KvStore, key: &str, value: &str) {
    s.put(&put_req(key, value), &NoLeases).unwrap();
}

pub(crate) fn put_op(key: &str, value: &str) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestPut(put_req(key, value))),
    }
}

pub(crate) fn range_op(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestRange(range_req(key, end))),
    }
}

pub(crate) fn del_op(key: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestDeleteRange(del_req(key, end))),
    }
}

pub(crate) fn txn_op(txn: TxnRequest) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestTxn(txn)),
    }
}
