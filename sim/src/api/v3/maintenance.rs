//! `etcdserverpb.Maintenance` (etcd's `v3rpc/maintenance.go`):
//!
//! - **Status**: version, the member's modelled db size and size in use
//!   (`crate::server::v3_quota`), leader, committed and applied Raft index, term,
//!   and `errors`: "etcdserver: no leader" when none is known, then each active
//!   alarm in etcd's text form.
//! - **Alarm**: GET / ACTIVATE / DEACTIVATE through Raft; no header (as etcd).
//! - **Defragment**: local; the db size falls to the size in use; no header.
//! - **Hash**: a CRC-32C over the member's whole durable v3 state (kv, leases,
//!   alarms), equal on members that applied the same log.
//! - **HashKV**: the kv store's HashKV, with the current revision in the header
//!   and the compact revision (-1 when never compacted), as etcd.
//! - **Snapshot**: the member's database image (`v3_snapshot_file`) in 32 KiB
//!   blobs, `remaining_bytes` counting down, then the SHA-256 of it all.
//! - **MoveLeader**: asked of the leader only; to a voter.

use super::auth_info::{Credentials, admin_status, authorize_admin, stamped};
use super::error::{etcd_status, kv_status, text_status, unexpected, v3_status};
use super::header::at_revision;
use super::learner::{Rpc, check_learner};
use crate::server::v3_alarm::alarm_text;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use crate::server::v3_snapshot_file::{image, sha256};
use crate::server::v3_state::V3Stores;
use crate::store::v3::kv::hash::Crc32c;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::maintenance_server::Maintenance;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmRequest, AlarmResponse, AlarmType, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, InternalRaftRequest, MoveLeaderRequest,
    MoveLeaderResponse, SnapshotRequest, SnapshotResponse, StatusRequest, StatusResponse,
};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use futures_util::Stream;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

/// The version Status reports (the etcd release we answer as).
pub const SERVER_VERSION: &str = "3.4.23";

/// etcd's `ErrGRPCTimeoutLeaderTransfer` text (sent as Unavailable).
const TRANSFER_TIMEOUT: &str = "etcdserver: request timed out, leader transfer took too long";

/// etcd's snapshot send buffer: 32 KiB per blob.
pub const SNAPSHOT_CHUNK: usize = 32 * 1024;

/// The Maintenance service of one member.
#[derive(Clone)]
pub struct MaintenanceService {
    backend: Arc<dyn V3Backend>,
}

fn lock(stores: &Mutex<V3Stores>) -> MutexGuard<'_, V3Stores> {
    stores.lock().unwrap_or_else(|p| p.into_inner())
}

/// A CRC-32C over the durable state of `stores`.
pub fn state_hash(stores: &V3Stores) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(&stores.snapshot());
    crc.finish()
}

/// The responses of a snapshot stream of `image`: blobs of up to
/// [`SNAPSHOT_CHUNK`] bytes with the bytes remaining after each, then the
/// SHA-256 of the image with 0 remaining.
pub fn snapshot_responses(image: &[u8]) -> Vec<SnapshotResponse> {
    let total = image.len();
    let mut sent = 0;
    let mut out = Vec::with_capacity(total / SNAPSHOT_CHUNK + 2);
    for chunk in image.chunks(SNAPSHOT_CHUNK) {
        sent += chunk.len();
        out.push(SnapshotResponse {
            header: None,
            remaining_bytes: (total - sent) as u64,
            blob: chunk.to_vec(),
        });
    }
    out.push(SnapshotResponse {
        header: None,
        remaining_bytes: 0,
        blob: sha256(image).to_vec(),
    });
    out
}

impl MaintenanceService {
    /// The service over `backend`.
    pub fn new(backend: Arc<dyn V3Backend>) -> MaintenanceService {
        MaintenanceService { backend }
    }
}

/// The stream a Snapshot call answers with.
pub type SnapshotStream =
    Pin<Box<dyn Stream<Item = Result<SnapshotResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        let (meta, ext) = (req.metadata().clone(), req.extensions().clone());
        let entry = InternalRaftRequest {
            alarm: Some(req.into_inner()),
            ..Default::default()
        };
        // etcd checks the token (not a permission) of an alarm request.
        let entry = stamped(Credentials::new(&meta, &ext), self.backend.as_ref(), entry).await?;
        let applied = self
            .backend
            .propose_v3(entry)
            .await
            .map_err(|e| v3_status(&e))?;
        let V3Applied::Alarm(resp) = applied else {
            return Err(unexpected("alarm"));
        };
        Ok(Response::new(resp))
    }

    async fn status(
        &self,
        _req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Status)?;
        let member = self.backend.header();
        let raft = self.backend.raft_numbers();
        let (db_size, db_size_in_use, alarms) = {
            let stores = self.backend.v3_stores();
            let mut s = lock(&stores);
            let db = s.db_size();
            (db, s.size_in_use(), s.alarms.get(AlarmType::None as i32))
        };
        let mut errors = Vec::new();
        if raft.leader == 0 {
            errors.push(EtcdError::NoLeader.message().to_string());
        }
        errors.extend(alarms.iter().map(alarm_text));
        Ok(Response::new(StatusResponse {
            header: at_revision(&member, member.revision),
            version: SERVER_VERSION.to_string(),
            db_size: db_size as i64,
            leader: raft.leader,
            raft_index: raft.commit_index,
            raft_term: raft.term,
            raft_applied_index: raft.applied_index,
            errors,
            db_size_in_use: db_size_in_use as i64,
            is_learner: raft.is_learner,
        }))
    }

    async fn defragment(
        &self,
        req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        authorize_admin(&req, self.backend.as_ref())
            .await
            .map_err(|e| admin_status(&e))?;
        tracing::info!("starting to defragment the storage backend...");
        let stores = self.backend.v3_stores();
        let mut s = lock(&stores);
        let in_use = s.size_in_use();
        s.backend_size.defragment(in_use);
        tracing::info!("finished defragmenting the storage backend");
        Ok(Response::new(DefragmentResponse { header: None }))
    }

    async fn hash(&self, req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        authorize_admin(&req, self.backend.as_ref())
            .await
            .map_err(|e| admin_status(&e))?;
        let member = self.backend.header();
        let (hash, revision) = {
            let stores = self.backend.v3_stores();
            let s = lock(&stores);
            (state_hash(&s), s.kv.current_revision())
        };
        Ok(Response::new(HashResponse {
            header: at_revision(&member, revision),
            hash,
        }))
    }

    async fn hash_kv(
        &self,
        req: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        authorize_admin(&req, self.backend.as_ref())
            .await
            .map_err(|e| admin_status(&e))?;
        let member = self.backend.header();
        let (h, revision) = {
            let stores = self.backend.v3_stores();
            let s = lock(&stores);
            let h =
                s.kv.hash_kv(req.get_ref().revision)
                    .map_err(|e| kv_status(&e))?;
            (h, s.kv.current_revision())
        };
        Ok(Response::new(HashKvResponse {
            header: at_revision(&member, revision),
            hash: h.hash,
            compact_revision: h.compact_revision,
        }))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(
        &self,
        req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        authorize_admin(&req, self.backend.as_ref())
            .await
            .map_err(|e| admin_status(&e))?;
        let img = {
            let stores = self.backend.v3_stores();
            image(&lock(&stores))
        };
        tracing::info!(
            total_bytes = img.len(),
            "sending database snapshot to client"
        );
        let responses = snapshot_responses(&img);
        Ok(Response::new(Box::pin(futures_util::stream::iter(
            responses.into_iter().map(Ok),
        ))))
    }

    async fn move_leader(
        &self,
        req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        let member = self.backend.header();
        if self.backend.raft_numbers().leader != member.member_id {
            return Err(etcd_status(EtcdError::NotLeader));
        }
        self.backend
            .move_leader(req.get_ref().target_id)
            .await
            .map_err(|e| match e.0.as_str() {
                TRANSFER_TIMEOUT => Status::unavailable(TRANSFER_TIMEOUT),
                text => text_status(text),
            })?;
        // etcd 3.4 sends no header.
        Ok(Response::new(MoveLeaderResponse { header: None }))
    }
}

#[cfg(test)]
#[path = "maintenance_tests.rs"]
mod tests;
