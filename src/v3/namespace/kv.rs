//! [`Kv`]: a [`KV`] whose keys all live under a prefix (Go's
//! `namespace.NewKV`).

use super::{prefix_interval, strip};
use crate::v3::error::{Error, EtcdError, Result};
use crate::v3::kv::{CompactOptions, CompactResponse, KV, OpResponse};
use crate::v3::op::Op;
use crate::v3::pb::etcdserverpb::{Compare, RequestOp, TxnRequest, request_op};
use async_trait::async_trait;

/// A [`KV`] that puts every key under `prefix` and takes it off every key it
/// returns (Go's `namespace.NewKV`). See [the module](super) for the rules.
///
/// Everything goes through [`KV::do_op`], so [`KV::get`], [`KV::put`],
/// [`KV::delete`] and [`KV::txn`] (with its compares and nested
/// transactions) are all rewritten. [`KV::compact`] passes through: a
/// revision is the cluster's, not the namespace's.
#[derive(Clone, Debug)]
pub struct Kv<K> {
    inner: K,
    prefix: Vec<u8>,
}

impl<K: KV> Kv<K> {
    /// `inner`'s keys under `prefix` (typically ending in `/`).
    pub fn new(inner: K, prefix: impl Into<Vec<u8>>) -> Self {
        Kv {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The wrapped KV.
    pub fn inner(&self) -> &K {
        &self.inner
    }

    /// `op` as sent to the wrapped KV: keys, range ends and compares
    /// prefixed, recursively through nested transactions. An empty key
    /// (outside a compare) is refused with [`EtcdError::EmptyKey`].
    pub fn prefix_op(&self, op: Op) -> Result<Op> {
        let pfx = &self.prefix[..];
        Ok(match op {
            Op::Get(mut r) => {
                non_empty(&r.key)?;
                (r.key, r.range_end) = prefix_interval(pfx, &r.key, &r.range_end);
                Op::Get(r)
            }
            Op::Put(mut r) => {
                non_empty(&r.key)?;
                r.key = [pfx, &r.key].concat();
                Op::Put(r)
            }
            Op::Delete(mut r) => {
                non_empty(&r.key)?;
                (r.key, r.range_end) = prefix_interval(pfx, &r.key, &r.range_end);
                Op::Delete(r)
            }
            Op::Txn(t) => Op::Txn(self.prefix_txn(t)?),
        })
    }

    fn prefix_txn(&self, t: TxnRequest) -> Result<TxnRequest> {
        Ok(TxnRequest {
            compare: t.compare.into_iter().map(|c| self.prefix_cmp(c)).collect(),
            success: self.prefix_request_ops(t.success)?,
            failure: self.prefix_request_ops(t.failure)?,
        })
    }

    /// A compare's key gets the prefix, and so does its range end if it has
    /// one (with `"\0"` becoming the prefix's end). An empty key is left to
    /// the server, as in Go.
    fn prefix_cmp(&self, mut c: Compare) -> Compare {
        (c.key, c.range_end) = prefix_interval(&self.prefix, &c.key, &c.range_end);
        c
    }

    fn prefix_request_ops(&self, ops: Vec<RequestOp>) -> Result<Vec<RequestOp>> {
        ops.into_iter()
            .map(|r| {
                let op = match r.request {
                    Some(request_op::Request::RequestRange(r)) => Op::Get(r),
                    Some(request_op::Request::RequestPut(r)) => Op::Put(r),
                    Some(request_op::Request::RequestDeleteRange(r)) => Op::Delete(r),
                    Some(request_op::Request::RequestTxn(r)) => Op::Txn(r),
                    // An empty op: the server refuses it; nothing to prefix.
                    None => return Ok(RequestOp { request: None }),
                };
                Ok(self.prefix_op(op)?.into_request_op())
            })
            .collect()
    }

    /// `resp` with the prefix taken off every key in it, recursively
    /// through nested transaction responses.
    pub fn unprefix_response(&self, resp: OpResponse) -> OpResponse {
        let pfx = &self.prefix[..];
        match resp {
            OpResponse::Get(mut r) => {
                r.kvs.iter_mut().for_each(|kv| strip(pfx, &mut kv.key));
                OpResponse::Get(r)
            }
            OpResponse::Put(mut r) => {
                if let Some(kv) = r.prev_kv.as_mut() {
                    strip(pfx, &mut kv.key);
                }
                OpResponse::Put(r)
            }
            OpResponse::Delete(mut r) => {
                r.prev_kvs.iter_mut().for_each(|kv| strip(pfx, &mut kv.key));
                OpResponse::Delete(r)
            }
            OpResponse::Txn(mut r) => {
                r.responses = std::mem::take(&mut r.responses)
                    .into_iter()
                    .map(|r| self.unprefix_response(r))
                    .collect();
                OpResponse::Txn(r)
            }
        }
    }
}

fn non_empty(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        Err(Error::etcd_error(EtcdError::EmptyKey))
    } else {
        Ok(())
    }
}

#[async_trait]
impl<K: KV> KV for Kv<K> {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        let op = self.prefix_op(op)?;
        let resp = self.inner.do_op(op).await?;
        Ok(self.unprefix_response(resp))
    }

    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse> {
        self.inner.compact(revision, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::compare::{Compare as Cmp, CompareOp};
    use crate::v3::kv::{DeleteResponse, GetResponse, PutResponse, TxnResponse};
    use crate::v3::op::{DeleteOptions, GetOptions, KeyRange, PutOptions};
    use crate::v3::pb::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};
    use crate::v3::pb::mvccpb::KeyValue;
    use std::sync::Mutex;

    /// A KV that records the ops it is sent and answers each with a scripted
    /// response.
    #[derive(Default)]
    struct Scripted {
        sent: Mutex<Vec<Op>>,
        answers: Mutex<Vec<OpResponse>>,
    }

    impl Scripted {
        fn answering(answers: Vec<OpResponse>) -> Self {
            Scripted {
                sent: Mutex::default(),
                answers: Mutex::new(answers),
            }
        }
        fn sent(&self) -> Vec<Op> {
            self.sent.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl KV for Scripted {
        async fn do_op(&self, op: Op) -> Result<OpResponse> {
            self.sent.lock().unwrap().push(op);
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                return Err(Error::InvalidResponse("no scripted answer".into()));
            }
            Ok(answers.remove(0))
        }
        async fn compact(&self, revision: i64, _: CompactOptions) -> Result<CompactResponse> {
            Ok(CompactResponse {
                header: Some(crate::v3::ResponseHeader {
                    revision,
                    ..Default::default()
                }),
            })
        }
    }

    fn kv(key: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            ..Default::default()
        }
    }

    fn range(key: &[u8], end: &[u8]) -> RangeRequest {
        RangeRequest {
            key: key.to_vec(),
            range_end: end.to_vec(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn get_prefixes_the_range_and_strips_the_answer() {
        let inner = Scripted::answering(vec![
            OpResponse::Get(GetResponse {
                kvs: vec![kv(b"app/a"), kv(b"app/b")],
                count: 2,
                ..Default::default()
            });
            4
        ]);
        let ns = Kv::new(inner, "app/");
        let got = ns.get("a", GetOptions::default()).await.unwrap();
        assert_eq!(got.kvs, vec![kv(b"a"), kv(b"b")]);
        ns.get("a", GetOptions::prefix()).await.unwrap();
        ns.get("a", GetOptions::from_key()).await.unwrap();
        ns.get("", GetOptions::prefix()).await.unwrap();
        assert_eq!(
            ns.inner().sent(),
            vec![
                Op::Get(range(b"app/a", b"")),
                Op::Get(range(b"app/a", b"app/b")),
                Op::Get(range(b"app/a", b"app0")),
                Op::Get(range(b"app/\0", b"app0")),
            ]
        );
    }

    #[tokio::test]
    async fn put_and_delete_strip_previous_values() {
        let inner = Scripted::answering(vec![
            OpResponse::Put(PutResponse {
                prev_kv: Some(kv(b"app/k")),
                ..Default::default()
            }),
            OpResponse::Delete(DeleteResponse {
                deleted: 2,
                prev_kvs: vec![kv(b"app/k"), kv(b"app/l")],
                ..Default::default()
            }),
        ]);
        let ns = Kv::new(inner, "app/");
        let put = ns
            .put(
                "k",
                "v",
                PutOptions {
                    prev_kv: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(put.prev_kv, Some(kv(b"k")));
        let del = ns
            .delete(
                "k",
                DeleteOptions {
                    range: KeyRange::End(b"m".to_vec()),
                    prev_kv: true,
                },
            )
            .await
            .unwrap();
        assert_eq!(del.prev_kvs, vec![kv(b"k"), kv(b"l")]);
        assert_eq!(
            ns.inner().sent(),
            vec![
                Op::Put(PutRequest {
                    key: b"app/k".to_vec(),
                    value: b"v".to_vec(),
                    prev_kv: true,
                    ..Default::default()
                }),
                Op::Delete(DeleteRangeRequest {
                    key: b"app/k".to_vec(),
                    range_end: b"app/m".to_vec(),
                    prev_kv: true,
                }),
            ]
        );
    }

    #[tokio::test]
    async fn empty_keys_are_refused_before_sending() {
        let ns = Kv::new(Scripted::default(), "app/");
        for r in [
            ns.get("", GetOptions::default()).await.map(|_| ()),
            ns.put("", "v", PutOptions::default()).await.map(|_| ()),
            ns.delete("", DeleteOptions::default()).await.map(|_| ()),
            ns.txn()
                .and_then([Op::put("", "v", PutOptions::default())])
                .commit()
                .await
                .map(|_| ()),
        ] {
            assert_eq!(r.unwrap_err().etcd(), Some(EtcdError::EmptyKey));
        }
        assert!(ns.inner().sent().is_empty());
    }

    #[tokio::test]
    async fn txn_compares_ops_and_nested_txns_are_prefixed_and_stripped() {
        let answer = TxnResponse {
            succeeded: true,
            responses: vec![
                OpResponse::Get(GetResponse {
                    kvs: vec![kv(b"app/a")],
                    ..Default::default()
                }),
                OpResponse::Txn(TxnResponse {
                    succeeded: false,
                    responses: vec![
                        OpResponse::Delete(DeleteResponse {
                            prev_kvs: vec![kv(b"app/x/1")],
                            ..Default::default()
                        }),
                        OpResponse::Txn(TxnResponse {
                            responses: vec![OpResponse::Put(PutResponse {
                                prev_kv: Some(kv(b"app/deep")),
                                ..Default::default()
                            })],
                            ..Default::default()
                        }),
                    ],
                    ..Default::default()
                }),
            ],
            ..Default::default()
        };
        let ns = Kv::new(Scripted::answering(vec![OpResponse::Txn(answer)]), "app/");
        let inner_txn = Op::txn(
            [Cmp::value("b", CompareOp::Equal, "v").with_range("\0")],
            [Op::get("x/", GetOptions::prefix())],
            [
                Op::delete("x/", DeleteOptions::prefix()),
                Op::txn([], [Op::put("deep", "d", PutOptions::default())], []),
            ],
        );
        let resp = ns
            .txn()
            .when([
                Cmp::version("a", CompareOp::Greater, 0),
                Cmp::mod_revision("r/", CompareOp::Less, 9).with_prefix(),
            ])
            .and_then([Op::get("a", GetOptions::default()), inner_txn])
            .commit()
            .await
            .unwrap();

        // The request.
        let sent = ns.inner().sent();
        let [Op::Txn(t)] = &sent[..] else {
            panic!("{sent:?}")
        };
        let cmp_keys: Vec<_> = t
            .compare
            .iter()
            .map(|c| (c.key.clone(), c.range_end.clone()))
            .collect();
        assert_eq!(
            cmp_keys,
            vec![
                (b"app/a".to_vec(), vec![]),
                (b"app/r/".to_vec(), b"app/r0".to_vec())
            ]
        );
        let Some(request_op::Request::RequestRange(get)) = &t.success[0].request else {
            panic!("{t:?}")
        };
        assert_eq!(get, &range(b"app/a", b""));
        let Some(request_op::Request::RequestTxn(nested)) = &t.success[1].request else {
            panic!("{t:?}")
        };
        assert_eq!(
            (&nested.compare[0].key[..], &nested.compare[0].range_end[..]),
            (&b"app/b"[..], &b"app0"[..])
        );
        assert!(matches!(
            &nested.success[0].request,
            Some(request_op::Request::RequestRange(r)) if r == &range(b"app/x/", b"app/x0")
        ));
        assert!(matches!(
            &nested.failure[0].request,
            Some(request_op::Request::RequestDeleteRange(r))
                if r.key == b"app/x/" && r.range_end == b"app/x0"
        ));
        let Some(request_op::Request::RequestTxn(deepest)) = &nested.failure[1].request else {
            panic!("{nested:?}")
        };
        assert!(matches!(
            &deepest.success[0].request,
            Some(request_op::Request::RequestPut(p)) if p.key == b"app/deep"
        ));

        // The response, stripped at every level.
        assert!(resp.succeeded);
        let OpResponse::Get(g) = &resp.responses[0] else {
            panic!("{resp:?}")
        };
        assert_eq!(g.kvs, vec![kv(b"a")]);
        let OpResponse::Txn(n) = &resp.responses[1] else {
            panic!("{resp:?}")
        };
        let OpResponse::Delete(d) = &n.responses[0] else {
            panic!("{n:?}")
        };
        assert_eq!(d.prev_kvs, vec![kv(b"x/1")]);
        let OpResponse::Txn(deep) = &n.responses[1] else {
            panic!("{n:?}")
        };
        let OpResponse::Put(p) = &deep.responses[0] else {
            panic!("{deep:?}")
        };
        assert_eq!(p.prev_kv, Some(kv(b"deep")));
    }

    #[tokio::test]
    async fn compact_passes_through() {
        let ns = Kv::new(Scripted::default(), "app/");
        let r = ns.compact(7, CompactOptions::default()).await.unwrap();
        assert_eq!(r.header.map(|h| h.revision), Some(7));
    }
}
