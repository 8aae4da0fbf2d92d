//! Proposing a v3 request through the backend, as etcd's server does after its
//! gRPC checks: the marshalled entry may not exceed `--max-request-bytes`
//! (InvalidArgument "etcdserver: request is too large"), and a failure becomes
//! etcd's status.
//!
//! etcd measures the entry after giving it its request header (`header.ID`, a
//! request id with the member id's low 16 bits on top): a put of a value 26 bytes
//! under the limit with the key "big" is refused when the id needs 9 bytes. The
//! backend sets the id when it proposes, so the size is measured here with a
//! stand-in id of the same varint length.

use super::error::{too_large, v3_status};
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, RequestHeader};
use etcd_sdk::v3::tonic::Status;
use prost::Message as _;

/// Refuses an entry larger than the backend's request limit.
///
/// # Errors
///
/// InvalidArgument "etcdserver: request is too large".
pub fn check_size(backend: &dyn V3Backend, req: &InternalRaftRequest) -> Result<(), Status> {
    if proposed_len(req, backend.header().member_id) > backend.limits().max_request_bytes {
        return Err(too_large());
    }
    Ok(())
}

/// The marshalled length of `req` as member `member_id` proposes it: with a
/// request header whose id has the width of that member's request ids (etcd's
/// id generator: the member id's low 16 bits above a 48-bit counter).
fn proposed_len(req: &InternalRaftRequest, member_id: u64) -> usize {
    if req.header.as_ref().is_some_and(|h| h.id != 0) {
        return req.encoded_len();
    }
    let widest_id = ((member_id & 0xffff) << 48) | ((1 << 48) - 1);
    let header = RequestHeader {
        id: widest_id,
        ..req.header.clone().unwrap_or_default()
    };
    let measured = InternalRaftRequest {
        header: Some(header),
        ..req.clone()
    };
    measured.encoded_len()
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

#[cfg(test)]
mod tests {
    use super::proposed_len;
    use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, PutRequest, RequestHeader};

    fn put(value_len: usize) -> InternalRaftRequest {
        InternalRaftRequest {
            put: Some(PutRequest {
                key: b"big".to_vec(),
                value: vec![b'v'; value_len],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_request_header_counts_as_etcd_measures_it() {
        // etcd 3.4.23 took a 1,572,838-byte value under "big" and refused one byte
        // more (--max-request-bytes 1,572,864) as member 8e9e05c52164694d, whose
        // request ids take 9 bytes.
        let member_id = 0x8e9e_05c5_2164_694d;
        assert_eq!(proposed_len(&put(1_572_838), member_id), 1_572_864);
        assert_eq!(proposed_len(&put(1_572_839), member_id), 1_572_865);
        // Ids of a member whose low 16 bits are at or above 0x8000 take 10 bytes.
        assert_eq!(proposed_len(&put(1_572_838), 0x9234), 1_572_865);
    }

    #[test]
    fn a_request_with_its_header_is_measured_as_it_is() {
        let mut req = put(10);
        req.header = Some(RequestHeader {
            id: 7,
            ..Default::default()
        });
        assert_eq!(
            proposed_len(&req, 0x1234),
            prost::Message::encoded_len(&req)
        );
    }
}
