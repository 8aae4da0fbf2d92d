//! The `etcdserverpb.KV` service (etcd's `v3rpc/key.go`): each call checks the
//! `hasleader` metadata, validates the request as etcd does before Raft, then
//! reads locally (serializable reads) or goes through the log (linearizable
//! reads, writes), and fills the response header.
//!
//! - Range: `serializable` reads the local kv store; otherwise the range is
//!   replicated and answered at its place in the log (etcd uses ReadIndex; both
//!   give a linearizable read).
//! - Txn: validated against `--max-txn-ops`; a read-only txn whose ranges are all
//!   serializable is served locally, another read-only txn through the log, and a
//!   writing txn is proposed.
//! - Put, DeleteRange, writing Txn and Compact are proposed; a marshalled entry
//!   above `--max-request-bytes` fails with "etcdserver: request is too large".
//!   Compact with `physical` needs no wait: compaction is synchronous here.
//!
//! Auth (see [`super::auth_info`]): every call resolves its `token` first (an
//! invalid one fails it). Local reads are checked here (READ on the range, on
//! every compare and op of a read-only txn); everything through the log carries
//! the caller in its header and is checked when applied.

use super::auth_info::{AuthInfo, auth_status, caller, check_read, check_still_current, stamp};
use super::error::{kv_status, unexpected, v3_status};
use super::header::{at_revision, fill};
use super::learner::{Rpc, check_learner};
use super::metadata::check_leader;
use super::propose::propose;
use super::quota::check_quota;
use crate::metrics::OpCounts;
use crate::server::v3_auth::check_txn;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use crate::server::v3_quota::Costed;
use crate::store::v3::kv::{
    is_txn_read_only, validate_delete_range, validate_put, validate_range, validate_txn,
};
use etcd_sdk::v3::pb::etcdserverpb::kv_server::Kv;
use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    InternalRaftRequest, PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest,
    TxnResponse, request_op,
};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use std::sync::Arc;

/// The KV service of one member.
#[derive(Clone)]
pub struct KvService {
    backend: Arc<dyn V3Backend>,
}

impl KvService {
    /// The KV service over `backend`.
    pub fn new(backend: Arc<dyn V3Backend>) -> KvService {
        KvService { backend }
    }

    /// A serializable range: the local store under its lock, header revision =
    /// the revision read.
    fn local_range(
        &self,
        req: &RangeRequest,
        who: Option<&AuthInfo>,
    ) -> Result<RangeResponse, Status> {
        let member = self.backend.header();
        let stores = self.backend.v3_stores();
        let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
        check_read(&stores, who, &req.key, &req.range_end).map_err(|e| auth_status(&e))?;
        let mut resp = stores.kv.range(req).map_err(|e| kv_status(&e))?;
        check_still_current(&stores, who).map_err(|e| auth_status(&e))?;
        resp.header = at_revision(&member, stores.kv.current_revision());
        Ok(resp)
    }

    /// A read-only txn of serializable ranges, served by the local store.
    fn local_txn(&self, req: &TxnRequest, who: Option<&AuthInfo>) -> Result<TxnResponse, Status> {
        let member = self.backend.header();
        let stores = self.backend.v3_stores();
        let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
        let (user, rev) = who.map_or(("", 0), |w| (w.username.as_str(), w.revision));
        check_txn(&stores.auth, user, rev, req).map_err(|e| auth_status(&e))?;
        let mut resp = stores
            .kv
            .txn_read(req)
            .ok_or_else(|| unexpected("a read-only txn"))?
            .map_err(|e| kv_status(&e))?;
        check_still_current(&stores, who).map_err(|e| auth_status(&e))?;
        stores.metrics.record(OpCounts::read_only_txn(&resp));
        resp.header = at_revision(&member, stores.kv.current_revision());
        Ok(resp)
    }

    /// Counts store operations served here (reads: the member that serves them
    /// counts them, as in etcd; writes are counted where applied).
    fn count(&self, ops: OpCounts) {
        let stores = self.backend.v3_stores();
        let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
        stores.metrics.record(ops);
    }

    /// A read replicated through the log (no size limit: etcd's reads are not
    /// proposals).
    async fn read_through_log(&self, req: InternalRaftRequest) -> Result<V3Applied, Status> {
        self.backend
            .propose_v3(req)
            .await
            .map_err(|e| v3_status(&e))
    }
}

/// Whether every op of both branches is a serializable range.
fn all_serializable(req: &TxnRequest) -> bool {
    req.success.iter().chain(&req.failure).all(
        |op| matches!(&op.request, Some(request_op::Request::RequestRange(r)) if r.serializable),
    )
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Range(req.get_ref()))?;
        check_leader(req.metadata(), self.backend.as_ref())?;
        let who = caller(&req, self.backend.as_ref()).await?;
        let req = req.into_inner();
        validate_range(&req).map_err(|e| kv_status(&e))?;
        self.count(OpCounts::range());
        // The unsafe mode (for testing the chaos checker only) skips the barrier.
        if req.serializable || self.backend.unsafe_local_linearizable_ranges() {
            return Ok(Response::new(self.local_range(&req, who.as_ref())?));
        }
        let mut entry = InternalRaftRequest {
            range: Some(req),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let V3Applied::Range(mut resp) = self.read_through_log(entry).await? else {
            return Err(unexpected("range"));
        };
        fill(&mut resp.header, &self.backend.header());
        Ok(Response::new(resp))
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        check_leader(req.metadata(), self.backend.as_ref())?;
        let who = caller(&req, self.backend.as_ref()).await?;
        let req = req.into_inner();
        check_quota(self.backend.as_ref(), Costed::Put(&req)).await?;
        validate_put(&req).map_err(|e| kv_status(&e))?;
        let mut entry = InternalRaftRequest {
            put: Some(req),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let V3Applied::Put(mut resp) = propose(self.backend.as_ref(), entry).await? else {
            return Err(unexpected("put"));
        };
        fill(&mut resp.header, &self.backend.header());
        Ok(Response::new(resp))
    }

    async fn delete_range(
        &self,
        req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        check_leader(req.metadata(), self.backend.as_ref())?;
        let who = caller(&req, self.backend.as_ref()).await?;
        let req = req.into_inner();
        validate_delete_range(&req).map_err(|e| kv_status(&e))?;
        let mut entry = InternalRaftRequest {
            delete_range: Some(req),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let V3Applied::DeleteRange(mut resp) = propose(self.backend.as_ref(), entry).await? else {
            return Err(unexpected("delete_range"));
        };
        fill(&mut resp.header, &self.backend.header());
        Ok(Response::new(resp))
    }

    async fn txn(&self, req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        check_leader(req.metadata(), self.backend.as_ref())?;
        let who = caller(&req, self.backend.as_ref()).await?;
        let req = req.into_inner();
        check_quota(self.backend.as_ref(), Costed::Txn(&req)).await?;
        validate_txn(&req, self.backend.limits().max_txn_ops).map_err(|e| kv_status(&e))?;
        let read_only = is_txn_read_only(&req);
        if read_only && all_serializable(&req) {
            return Ok(Response::new(self.local_txn(&req, who.as_ref())?));
        }
        let mut entry = InternalRaftRequest {
            txn: Some(req),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let applied = if read_only {
            self.read_through_log(entry).await?
        } else {
            propose(self.backend.as_ref(), entry).await?
        };
        let V3Applied::Txn(mut resp) = applied else {
            return Err(unexpected("txn"));
        };
        if read_only {
            self.count(OpCounts::read_only_txn(&resp));
        }
        fill(&mut resp.header, &self.backend.header());
        Ok(Response::new(resp))
    }

    async fn compact(
        &self,
        req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        check_leader(req.metadata(), self.backend.as_ref())?;
        let who = caller(&req, self.backend.as_ref()).await?;
        let mut entry = InternalRaftRequest {
            compaction: Some(req.into_inner()),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let V3Applied::Compaction(mut resp) = propose(self.backend.as_ref(), entry).await? else {
            return Err(unexpected("compact"));
        };
        fill(&mut resp.header, &self.backend.header());
        Ok(Response::new(resp))
    }
}

#[cfg(test)]
#[path = "kv_tests.rs"]
mod tests;
