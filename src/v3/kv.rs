//! The [`KV`] trait (Go's `clientv3.KV`), its typed responses, and its
//! implementation by [`Client`].

use super::client::{Client, Retry};
use super::error::{Error, Result};
use super::op::{DeleteOptions, GetOptions, Op, PutOptions};
use super::pb::etcdserverpb::{self as pb, CompactionRequest, response_op};
use super::pb::mvccpb::KeyValue;
use super::txn::Txn;
use async_trait::async_trait;

pub use super::pb::etcdserverpb::ResponseHeader;

/// The result of a get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetResponse {
    /// The header (`None` only if the server sent none).
    pub header: Option<ResponseHeader>,
    /// The key-values found (none with `count_only`).
    pub kvs: Vec<KeyValue>,
    /// Whether more keys matched than `limit` let through.
    pub more: bool,
    /// How many keys matched.
    pub count: i64,
}

/// The result of a put.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PutResponse {
    /// The header (its revision is the put's).
    pub header: Option<ResponseHeader>,
    /// The previous key-value, with `prev_kv` and when the key existed.
    pub prev_kv: Option<KeyValue>,
}

/// The result of a delete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeleteResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// How many keys were deleted.
    pub deleted: i64,
    /// The deleted key-values, with `prev_kv`.
    pub prev_kvs: Vec<KeyValue>,
}

/// The result of a compaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
}

/// The result of a transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// Whether every compare held (the `then` branch ran).
    pub succeeded: bool,
    /// One response per op of the branch that ran, in order.
    pub responses: Vec<OpResponse>,
}

/// The result of one [`Op`].
#[derive(Clone, Debug, PartialEq)]
pub enum OpResponse {
    /// Of a get.
    Get(GetResponse),
    /// Of a put.
    Put(PutResponse),
    /// Of a delete.
    Delete(DeleteResponse),
    /// Of a transaction.
    Txn(TxnResponse),
}

impl From<pb::RangeResponse> for GetResponse {
    fn from(r: pb::RangeResponse) -> Self {
        GetResponse {
            header: r.header,
            kvs: r.kvs,
            more: r.more,
            count: r.count,
        }
    }
}

impl From<pb::PutResponse> for PutResponse {
    fn from(r: pb::PutResponse) -> Self {
        PutResponse {
            header: r.header,
            prev_kv: r.prev_kv,
        }
    }
}

impl From<pb::DeleteRangeResponse> for DeleteResponse {
    fn from(r: pb::DeleteRangeResponse) -> Self {
        DeleteResponse {
            header: r.header,
            deleted: r.deleted,
            prev_kvs: r.prev_kvs,
        }
    }
}

impl TryFrom<pb::TxnResponse> for TxnResponse {
    type Error = Error;

    fn try_from(r: pb::TxnResponse) -> Result<Self> {
        let responses = r
            .responses
            .into_iter()
            .map(|op| match op.response {
                Some(response_op::Response::ResponseRange(r)) => Ok(OpResponse::Get(r.into())),
                Some(response_op::Response::ResponsePut(r)) => Ok(OpResponse::Put(r.into())),
                Some(response_op::Response::ResponseDeleteRange(r)) => {
                    Ok(OpResponse::Delete(r.into()))
                }
                Some(response_op::Response::ResponseTxn(r)) => Ok(OpResponse::Txn(r.try_into()?)),
                None => Err(Error::InvalidResponse("a txn response op is empty".into())),
            })
            .collect::<Result<_>>()?;
        Ok(TxnResponse {
            header: r.header,
            succeeded: r.succeeded,
            responses,
        })
    }
}

/// Options of a compaction. `Default`: return once the compaction is
/// scheduled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CompactOptions {
    /// Return only once the compaction is physically applied
    /// (`WithCompactPhysical`).
    pub physical: bool,
}

fn unexpected(what: &str) -> Error {
    Error::InvalidResponse(format!("expected a {what} response"))
}

/// Key-value calls (Go's `clientv3.KV`). [`Client`] implements it; wrappers
/// and test doubles implement [`KV::do_op`] and [`KV::compact`] and get the
/// rest.
#[async_trait]
pub trait KV: Send + Sync {
    /// Runs one op (Go's `Do`).
    async fn do_op(&self, op: Op) -> Result<OpResponse>;

    /// Compacts the history up to `revision` (Go's `Compact`).
    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse>;

    /// Reads `key` (or a range, per `opts`).
    async fn get<K>(&self, key: K, opts: GetOptions) -> Result<GetResponse>
    where
        K: Into<Vec<u8>> + Send,
        Self: Sized,
    {
        match self.do_op(Op::get(key, opts)).await? {
            OpResponse::Get(r) => Ok(r),
            _ => Err(unexpected("get")),
        }
    }

    /// Writes `value` at `key`.
    async fn put<K, V>(&self, key: K, value: V, opts: PutOptions) -> Result<PutResponse>
    where
        K: Into<Vec<u8>> + Send,
        V: Into<Vec<u8>> + Send,
        Self: Sized,
    {
        match self.do_op(Op::put(key, value, opts)).await? {
            OpResponse::Put(r) => Ok(r),
            _ => Err(unexpected("put")),
        }
    }

    /// Deletes `key` (or a range, per `opts`).
    async fn delete<K>(&self, key: K, opts: DeleteOptions) -> Result<DeleteResponse>
    where
        K: Into<Vec<u8>> + Send,
        Self: Sized,
    {
        match self.do_op(Op::delete(key, opts)).await? {
            OpResponse::Delete(r) => Ok(r),
            _ => Err(unexpected("delete")),
        }
    }

    /// Starts a transaction (Go's `Txn`): `kv.txn().when(..).and_then(..).or_else(..).commit()`.
    fn txn(&self) -> Txn<'_, Self>
    where
        Self: Sized,
    {
        Txn::new(self)
    }
}

#[async_trait]
impl KV for Client {
    /// Gets (and txns of gets only) are repeatable; puts, deletes and other
    /// txns are not (see [`Client`]).
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        let retry = if op.is_read_only() {
            Retry::Repeatable
        } else {
            Retry::NonRepeatable
        };
        match op {
            Op::Get(req) => {
                let r = self
                    .unary(retry, |c, d| {
                        let mut kv = c.kv_client();
                        let req = c.request(req.clone(), d);
                        async move { kv.range(req).await }
                    })
                    .await?;
                Ok(OpResponse::Get(r.into()))
            }
            Op::Put(req) => {
                let r = self
                    .unary(retry, |c, d| {
                        let mut kv = c.kv_client();
                        let req = c.request(req.clone(), d);
                        async move { kv.put(req).await }
                    })
                    .await?;
                Ok(OpResponse::Put(r.into()))
            }
            Op::Delete(req) => {
                let r = self
                    .unary(retry, |c, d| {
                        let mut kv = c.kv_client();
                        let req = c.request(req.clone(), d);
                        async move { kv.delete_range(req).await }
                    })
                    .await?;
                Ok(OpResponse::Delete(r.into()))
            }
            Op::Txn(req) => {
                let r = self
                    .unary(retry, |c, d| {
                        let mut kv = c.kv_client();
                        let req = c.request(req.clone(), d);
                        async move { kv.txn(req).await }
                    })
                    .await?;
                Ok(OpResponse::Txn(r.try_into()?))
            }
        }
    }

    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse> {
        let req = CompactionRequest {
            revision,
            physical: opts.physical,
        };
        let r = self
            .unary(Retry::NonRepeatable, |c, d| {
                let mut kv = c.kv_client();
                let req = c.request(req, d);
                async move { kv.compact(req).await }
            })
            .await?;
        Ok(CompactResponse { header: r.header })
    }
}
