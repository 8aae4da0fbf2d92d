//! [`Txn`]: the transaction builder (Go's `Txn`: `If`/`Then`/`Else`/`Commit`).

use super::compare::Compare;
use super::error::{Error, Result};
use super::kv::{KV, OpResponse, TxnResponse};
use super::op::Op;

/// A transaction being built on a [`KV`]: compares ([`Txn::when`]), the ops
/// run when they all hold ([`Txn::and_then`]) and those run otherwise
/// ([`Txn::or_else`]); [`Txn::commit`] sends it. Go's names `if_`, `then`
/// and `else_` are aliases.
///
/// ```no_run
/// use etcd_sdk::v3::{Client, Compare, CompareOp, GetOptions, KV, Op, PutOptions};
///
/// # async fn demo(client: Client) -> etcd_sdk::v3::Result<()> {
/// let resp = client
///     .txn()
///     .when([Compare::create_revision("lock", CompareOp::Equal, 0)])
///     .and_then([Op::put("lock", "me", PutOptions::default())])
///     .or_else([Op::get("lock", GetOptions::default())])
///     .commit()
///     .await?;
/// println!("acquired: {}", resp.succeeded);
/// # Ok(()) }
/// ```
#[must_use = "a transaction does nothing until committed"]
pub struct Txn<'a, K: KV + ?Sized> {
    kv: &'a K,
    compares: Vec<Compare>,
    then: Vec<Op>,
    otherwise: Vec<Op>,
}

impl<'a, K: KV + ?Sized> Txn<'a, K> {
    /// An empty transaction on `kv`.
    pub fn new(kv: &'a K) -> Self {
        Txn {
            kv,
            compares: Vec::new(),
            then: Vec::new(),
            otherwise: Vec::new(),
        }
    }

    /// Adds compares; all of them must hold for the `then` branch to run.
    pub fn when(mut self, compares: impl IntoIterator<Item = Compare>) -> Self {
        self.compares.extend(compares);
        self
    }

    /// Adds ops run when every compare holds.
    pub fn and_then(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.then.extend(ops);
        self
    }

    /// Adds ops run when a compare does not hold.
    pub fn or_else(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.otherwise.extend(ops);
        self
    }

    /// Go's `If` ([`Txn::when`]).
    pub fn if_(self, compares: impl IntoIterator<Item = Compare>) -> Self {
        self.when(compares)
    }

    /// Go's `Then` ([`Txn::and_then`]).
    pub fn then(self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.and_then(ops)
    }

    /// Go's `Else` ([`Txn::or_else`]).
    pub fn else_(self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.or_else(ops)
    }

    /// The transaction as an [`Op`] (to nest it, or to inspect the request).
    pub fn into_op(self) -> Op {
        Op::txn(self.compares, self.then, self.otherwise)
    }

    /// Sends it. A transaction of gets only is retried like a read; any
    /// other is a write (see [`crate::v3::Client`]).
    pub async fn commit(self) -> Result<TxnResponse> {
        let kv = self.kv;
        match kv.do_op(self.into_op()).await? {
            OpResponse::Txn(r) => Ok(r),
            _ => Err(Error::InvalidResponse("expected a txn response".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare::CompareOp;
    use super::super::kv::{CompactOptions, CompactResponse};
    use super::super::op::{DeleteOptions, GetOptions, PutOptions};
    use super::super::pb::etcdserverpb::{TxnRequest, request_op};
    use super::*;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A KV that records the ops it is given and answers a txn with `succeeded`.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Op>>);

    #[async_trait]
    impl KV for Recorder {
        async fn do_op(&self, op: Op) -> Result<OpResponse> {
            self.0.lock().unwrap().push(op);
            Ok(OpResponse::Txn(TxnResponse {
                succeeded: true,
                ..Default::default()
            }))
        }

        async fn compact(&self, _: i64, _: CompactOptions) -> Result<CompactResponse> {
            Ok(CompactResponse::default())
        }
    }

    #[tokio::test]
    async fn builder_sends_one_txn_with_both_branches() {
        let kv = Recorder::default();
        let resp = kv
            .txn()
            .when([Compare::value("k", CompareOp::Equal, "v")])
            .if_([Compare::version("k", CompareOp::Greater, 1)])
            .and_then([Op::put("k", "w", PutOptions::default())])
            .then([Op::delete("j", DeleteOptions::default())])
            .or_else([Op::get("k", GetOptions::default())])
            .commit()
            .await
            .unwrap();
        assert!(resp.succeeded);
        let ops = kv.0.lock().unwrap();
        let [
            Op::Txn(TxnRequest {
                compare,
                success,
                failure,
            }),
        ] = &ops[..]
        else {
            panic!("{ops:?}")
        };
        assert_eq!(compare.len(), 2);
        assert_eq!(
            compare[0],
            Compare::value("k", CompareOp::Equal, "v").into_pb()
        );
        assert!(matches!(
            success[0].request,
            Some(request_op::Request::RequestPut(_))
        ));
        assert!(matches!(
            success[1].request,
            Some(request_op::Request::RequestDeleteRange(_))
        ));
        assert_eq!(failure.len(), 1);
        assert!(matches!(
            failure[0].request,
            Some(request_op::Request::RequestRange(_))
        ));
    }

    #[test]
    fn nested_txn_becomes_a_request_op() {
        let kv = Recorder::default();
        let inner = kv
            .txn()
            .and_then([Op::get("a", GetOptions::default())])
            .into_op();
        let outer = Txn::new(&kv).and_then([inner]).into_op();
        let Op::Txn(t) = outer else { panic!() };
        assert!(matches!(
            t.success[0].request,
            Some(request_op::Request::RequestTxn(_))
        ));
    }
}
