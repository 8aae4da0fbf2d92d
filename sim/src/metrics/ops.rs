//! What one v3 request did to the MVCC store, counted as etcd's mvcc metrics
//! count it: each range read, put and delete of the request (a Txn's chosen
//! branches, nested ones included), a put or delete that returns the previous
//! key-value reading it first (etcd ranges then), and the request counted as a
//! txn when it did more than one of these (etcd's rule for
//! `etcd_mvcc_txn_total`). A Txn's compares are not counted (etcd reads each
//! compared key with a range of its own; ours are not store reads).

use etcd_sdk::v3::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RequestOp, ResponseOp, TxnRequest, TxnResponse, request_op,
    response_op,
};

/// The store operations of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Range reads.
    pub ranges: u64,
    /// Puts.
    pub puts: u64,
    /// Deletes (DeleteRange operations, whatever they deleted).
    pub deletes: u64,
}

impl OpCounts {
    /// One range read.
    pub fn range() -> OpCounts {
        OpCounts {
            ranges: 1,
            ..OpCounts::default()
        }
    }

    /// A put (and its read of the previous key when it needs it).
    pub fn put(req: &PutRequest) -> OpCounts {
        OpCounts {
            ranges: u64::from(req.prev_kv || req.ignore_value || req.ignore_lease),
            puts: 1,
            deletes: 0,
        }
    }

    /// A delete (and its read of the deleted keys when it returns them).
    pub fn delete(req: &DeleteRangeRequest) -> OpCounts {
        OpCounts {
            ranges: u64::from(req.prev_kv),
            puts: 0,
            deletes: 1,
        }
    }

    /// The operations of a Txn that ran: its branch chosen by `resp.succeeded`,
    /// nested Txns by their own responses.
    pub fn txn(req: &TxnRequest, resp: &TxnResponse) -> OpCounts {
        let ops: &[RequestOp] = if resp.succeeded {
            &req.success
        } else {
            &req.failure
        };
        let mut total = OpCounts::default();
        for (op, answer) in ops.iter().zip(&resp.responses) {
            let counts = match (&op.request, answer) {
                (Some(request_op::Request::RequestRange(_)), _) => OpCounts::range(),
                (Some(request_op::Request::RequestPut(p)), _) => OpCounts::put(p),
                (Some(request_op::Request::RequestDeleteRange(d)), _) => OpCounts::delete(d),
                (
                    Some(request_op::Request::RequestTxn(t)),
                    ResponseOp {
                        response: Some(response_op::Response::ResponseTxn(r)),
                    },
                ) => OpCounts::txn(t, r),
                _ => OpCounts::default(),
            };
            total.add(counts);
        }
        total
    }

    /// The reads of a read-only Txn that ran (every answer is a range's).
    pub fn read_only_txn(resp: &TxnResponse) -> OpCounts {
        let ranges = resp
            .responses
            .iter()
            .filter(|r| matches!(r.response, Some(response_op::Response::ResponseRange(_))))
            .count();
        OpCounts {
            ranges: ranges as u64,
            ..OpCounts::default()
        }
    }

    fn add(&mut self, other: OpCounts) {
        self.ranges += other.ranges;
        self.puts += other.puts;
        self.deletes += other.deletes;
    }

    /// Whether etcd counts this as a txn: more than one operation.
    pub fn is_txn(&self) -> bool {
        self.ranges + self.puts + self.deletes > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::{PutResponse, RangeRequest, RangeResponse};

    fn op(r: request_op::Request) -> RequestOp {
        RequestOp { request: Some(r) }
    }

    #[test]
    fn a_txn_counts_its_chosen_branch_and_nested_txns() {
        let nested = TxnRequest {
            success: vec![op(request_op::Request::RequestRange(
                RangeRequest::default(),
            ))],
            ..Default::default()
        };
        let req = TxnRequest {
            success: vec![
                op(request_op::Request::RequestPut(PutRequest::default())),
                op(request_op::Request::RequestTxn(nested)),
            ],
            failure: vec![op(request_op::Request::RequestDeleteRange(
                DeleteRangeRequest::default(),
            ))],
            ..Default::default()
        };
        let resp = TxnResponse {
            succeeded: true,
            responses: vec![
                ResponseOp {
                    response: Some(response_op::Response::ResponsePut(PutResponse::default())),
                },
                ResponseOp {
                    response: Some(response_op::Response::ResponseTxn(TxnResponse {
                        succeeded: true,
                        responses: vec![ResponseOp {
                            response: Some(response_op::Response::ResponseRange(
                                RangeResponse::default(),
                            )),
                        }],
                        ..Default::default()
                    })),
                },
            ],
            ..Default::default()
        };
        let counts = OpCounts::txn(&req, &resp);
        assert_eq!((counts.ranges, counts.puts, counts.deletes), (1, 1, 0));
        assert!(counts.is_txn());
        let failed = TxnResponse {
            succeeded: false,
            responses: vec![ResponseOp::default()],
            ..Default::default()
        };
        let counts = OpCounts::txn(&req, &failed);
        assert_eq!((counts.ranges, counts.puts, counts.deletes), (0, 0, 1));
        assert!(!counts.is_txn(), "one operation is not a txn");
    }

    #[test]
    fn prev_kv_reads_before_writing() {
        let put = OpCounts::put(&PutRequest {
            prev_kv: true,
            ..Default::default()
        });
        assert_eq!((put.ranges, put.puts), (1, 1));
        assert!(put.is_txn(), "etcd counts a put that reads as a txn");
        assert!(!OpCounts::put(&PutRequest::default()).is_txn());
        assert_eq!(OpCounts::delete(&DeleteRangeRequest::default()).deletes, 1);
    }
}
