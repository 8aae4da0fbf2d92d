//! Proposing a v3 request through the backend, as etcd's server does after its
//! gRPC checks: the marshalled entry may not exceed `--max-request-bytes`
//! (InvalidArgument "etcdserver: request is too large"), and a failure becomes
//! etcd's status.

use super::error::{too_large, v3_status};
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use etcd_sdk::v3::pb::etcdserverpb::InternalRaftRequest;
use etcd_sdk::v3::tonic::Status;
use prost::Message as _;

/// Refuses an entry larger than the backend's request limit.
///
/// # Errors
///
/// InvalidArgument "etcdserver: request is too large".
pub fn check_size(backend: &dyn V3Backend, req: &InternalRaftRequest) -> Result<(), Status> {
    if req.encoded_len() > backend.limits().max_request_bytes {
        return Err(too_large());
    }
    Ok(())
}

/// Checks the size of `req`, replicates it and returns what applying it gave.
///
/// # Errors
///
/// Too large, not replicated, or refused by the state: etcd's status.
pub async fn propose(
    backend: &dyn V3Backend,
    req: InternalRaftRequest,
) -> Result<V3Applied, Status> {
    check_size(backend, &req)?;
    backend.propose_v3(req).await.map_err(|e| v3_status(&e))
}
