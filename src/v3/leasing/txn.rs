//! Transactions through the leasing protocol (Go's `txnLeasing`): answered
//! from the cache when every compare and every op of the branch taken is
//! on owned keys and only reads; otherwise sent wrapped in a txn whose
//! compares guard the keys it writes against other owners (their lease
//! keys, which the else branch fetches so they can be revoked before the
//! next attempt).

use super::protocol::range_get;
use super::{LeasingClient, Shared};
use crate::v3::compare::{Compare, CompareOp};
use crate::v3::error::{Error, Result};
use crate::v3::kv::{OpResponse, TxnResponse};
use crate::v3::namespace::prefix_interval;
use crate::v3::op::Op;
use crate::v3::pb::etcdserverpb::{RangeRequest, RequestOp, TxnRequest, range_request, request_op};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A branch entry as an [`Op`] (`None`: an empty entry, which the server
/// refuses).
fn op_of(r: &RequestOp) -> Option<Op> {
    Some(match r.request.as_ref()? {
        request_op::Request::RequestRange(r) => Op::Get(r.clone()),
        request_op::Request::RequestPut(r) => Op::Put(r.clone()),
        request_op::Request::RequestDeleteRange(r) => Op::Delete(r.clone()),
        request_op::Request::RequestTxn(r) => Op::Txn(r.clone()),
    })
}

fn ops_of(branch: &[RequestOp]) -> Vec<Op> {
    branch.iter().filter_map(op_of).collect()
}

/// Every op of `ops`, nested transactions replaced by the ops of both
/// their branches (Go's `gatherOps`).
pub(crate) fn flatten(ops: &[Op]) -> Vec<Op> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Txn(t) => {
                out.extend(flatten(&ops_of(&t.success)));
                out.extend(flatten(&ops_of(&t.failure)));
            }
            op => out.push(op.clone()),
        }
    }
    out
}

/// The ops that ran in `req` as answered by `resp`: the branch taken, into
/// nested transactions (Go's `gatherResponseOps`).
pub(crate) fn ran(req: &TxnRequest, resp: &TxnResponse) -> Vec<Op> {
    let branch = if resp.succeeded {
        &req.success
    } else {
        &req.failure
    };
    let mut out = Vec::new();
    for (op, answer) in ops_of(branch).into_iter().zip(&resp.responses) {
        match (op, answer) {
            (Op::Txn(t), OpResponse::Txn(a)) => out.extend(ran(&t, a)),
            (op, _) => out.push(op),
        }
    }
    out
}

impl<C: LeasingClient> Shared<C> {
    /// A transaction (Go's `txnLeasing.Commit`).
    pub(crate) async fn txn(self: &Arc<Self>, req: TxnRequest) -> Result<TxnResponse> {
        if self.closed.is_open() {
            return Err(Error::Closed);
        }
        let then = ops_of(&req.success);
        let otherwise = ops_of(&req.failure);
        let all = flatten(&[then.clone(), otherwise.clone()].concat());
        for gate in self.cache.read_gates(&all) {
            gate.wait().await;
        }
        if let Some(r) = self.cache.eval_txn(&req.compare, &then, &otherwise) {
            return Ok(r);
        }
        self.server_txn(req, all).await
    }

    /// Sends the user's txn `req` (whose ops, flattened, are `all`) nested
    /// in `If(guards) Then(req) Else(lease keys of the keys written)`,
    /// revoking the lease keys found until the guards hold (Go's
    /// `serverTxn`).
    async fn server_txn(&self, req: TxnRequest, all: Vec<Op>) -> Result<TxnResponse> {
        self.wait_session().await?;
        let fallback: Vec<Op> = all
            .iter()
            .filter_map(|op| {
                let (key, end) = match op {
                    Op::Put(p) => (&p.key, &Vec::new()),
                    Op::Delete(d) => (&d.key, &d.range_end),
                    Op::Get(_) | Op::Txn(_) => return None,
                };
                let (lkey, lend) = prefix_interval(&self.prefix, key, end);
                Some(range_get(lkey, lend))
            })
            .collect();
        let _guards = self.cache.lock_writes(&all);
        loop {
            let compares = self.guards(&all).await?;
            let resp = self
                .client
                .txn()
                .when(compares)
                .and_then([Op::Txn(req.clone())])
                .or_else(fallback.clone())
                .commit()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    // Whether it was applied is unknown.
                    for op in &all {
                        match op {
                            Op::Put(p) => {
                                self.cache.evict(&p.key);
                            }
                            Op::Delete(d) if d.range_end.is_empty() => {
                                self.cache.evict(&d.key);
                            }
                            Op::Delete(d) => self.cache.evict_range(&d.key, &d.range_end),
                            Op::Get(_) | Op::Txn(_) => {}
                        }
                    }
                    return Err(e);
                }
            };
            if resp.succeeded {
                let mut user = match resp.responses.into_iter().next() {
                    Some(OpResponse::Txn(t)) => t,
                    _ => {
                        return Err(Error::InvalidResponse(
                            "leasing: expected the nested txn's response".into(),
                        ));
                    }
                };
                self.cache.apply(&ran(&req, &user), &resp.header);
                user.header = resp.header;
                return Ok(user);
            }
            for answer in &resp.responses {
                if let OpResponse::Get(g) = answer {
                    self.revoke_lease_kvs(&g.kvs).await?;
                }
            }
        }
    }

    /// The compares that make a txn writing `all` safe (Go's `guard`): for
    /// each key written, its lease key is this client's or absent; for each
    /// range deleted, after revoking the other owners there, no key in it
    /// changed and no lease key appeared since.
    async fn guards(&self, all: &[Op]) -> Result<Vec<Compare>> {
        let mut compares = Vec::new();
        let mut seen = BTreeSet::new();
        for op in all {
            let key = match op {
                Op::Put(p) => &p.key,
                Op::Delete(d) if d.range_end.is_empty() => &d.key,
                _ => continue,
            };
            if seen.insert(key.clone()) {
                let rev = self.cache.rev(key);
                compares.push(Compare::create_revision(
                    self.lease_key(key),
                    CompareOp::Less,
                    rev + 1,
                ));
            }
        }
        for op in all {
            let Op::Delete(d) = op else { continue };
            if d.range_end.is_empty() {
                continue;
            }
            let max_lease_rev = self.revoke_range(&d.key, &d.range_end).await?;
            let last = RangeRequest {
                key: d.key.clone(),
                range_end: d.range_end.clone(),
                limit: 1,
                sort_order: range_request::SortOrder::Descend as i32,
                sort_target: range_request::SortTarget::Mod as i32,
                ..Default::default()
            };
            let max_mod = match self.client.do_op(Op::Get(last)).await? {
                OpResponse::Get(g) => g.kvs.first().map_or(0, |kv| kv.mod_revision),
                _ => {
                    return Err(Error::InvalidResponse(
                        "leasing: expected a get response".into(),
                    ));
                }
            };
            compares.push(
                Compare::mod_revision(d.key.clone(), CompareOp::Less, max_mod + 1)
                    .with_range(d.range_end.clone()),
            );
            let (lkey, lend) = prefix_interval(&self.prefix, &d.key, &d.range_end);
            compares.push(
                Compare::create_revision(lkey, CompareOp::Less, max_lease_rev + 1).with_range(lend),
            );
        }
        Ok(compares)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::kv::PutResponse;
    use crate::v3::op::{DeleteOptions, GetOptions, PutOptions};

    fn put(k: &str) -> Op {
        Op::put(k, "v", PutOptions::default())
    }

    #[test]
    fn flatten_and_ran_follow_nested_branches() {
        let inner = Op::txn([], [put("a")], [put("b")]);
        let outer = Op::txn(
            [],
            [inner, Op::delete("c", DeleteOptions::default())],
            [Op::get("d", GetOptions::default())],
        );
        let Op::Txn(req) = outer.clone() else {
            unreachable!()
        };
        let keys = |ops: Vec<Op>| -> Vec<String> {
            ops.iter()
                .map(|op| {
                    let k = match op {
                        Op::Get(r) => &r.key,
                        Op::Put(r) => &r.key,
                        Op::Delete(r) => &r.key,
                        Op::Txn(_) => unreachable!(),
                    };
                    String::from_utf8_lossy(k).into_owned()
                })
                .collect()
        };
        assert_eq!(keys(flatten(&[outer])), ["a", "b", "c", "d"]);
        // The outer then branch ran, and in it the inner else branch.
        let answer = TxnResponse {
            succeeded: true,
            responses: vec![
                OpResponse::Txn(TxnResponse {
                    succeeded: false,
                    responses: vec![OpResponse::Put(PutResponse::default())],
                    ..Default::default()
                }),
                OpResponse::Delete(Default::default()),
            ],
            ..Default::default()
        };
        assert_eq!(keys(ran(&req, &answer)), ["b", "c"]);
    }
}
