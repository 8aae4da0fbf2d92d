//! The learner gate (etcd's gRPC interceptors): a member that is a learner
//! serves only Maintenance `Status` and serializable `Range`; every other unary
//! call and every stream is refused with Unavailable "etcdserver: rpc not
//! supported for learner", before anything else is checked. Every service calls
//! [`check_learner`] first with what it serves.

use super::error::etcd_status;
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::RangeRequest;
use etcd_sdk::v3::tonic::Status;

/// The call a service is about to serve, as the gate sees it.
#[derive(Clone, Copy, Debug)]
pub enum Rpc<'a> {
    /// `Maintenance.Status` (served by learners).
    Status,
    /// `KV.Range` (served by learners when serializable).
    Range(&'a RangeRequest),
    /// Any other unary call, or any stream.
    Other,
}

impl Rpc<'_> {
    /// Whether a learner serves it (etcd 3.4's `isRPCSupportedForLearner`).
    pub fn served_by_learners(self) -> bool {
        match self {
            Rpc::Status => true,
            Rpc::Range(r) => r.serializable,
            Rpc::Other => false,
        }
    }
}

/// Refuses `rpc` when this member is a learner and learners do not serve it.
///
/// # Errors
///
/// Unavailable "etcdserver: rpc not supported for learner".
pub fn check_learner(backend: &dyn V3Backend, rpc: Rpc<'_>) -> Result<(), Status> {
    if !rpc.served_by_learners() && backend.is_learner() {
        return Err(etcd_status(EtcdError::NotSupportedForLearner));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::v3_testing::LocalV3;
    use etcd_sdk::v3::tonic::Code;
    use std::sync::atomic::Ordering;

    #[test]
    fn a_learner_serves_status_and_serializable_ranges_only() {
        let backend = LocalV3::new();
        let linearizable = RangeRequest::default();
        let serializable = RangeRequest {
            serializable: true,
            ..Default::default()
        };
        for rpc in [Rpc::Status, Rpc::Range(&linearizable), Rpc::Other] {
            assert!(
                check_learner(&backend, rpc).is_ok(),
                "a voter serves {rpc:?}"
            );
        }
        backend.learner.store(true, Ordering::Relaxed);
        assert!(check_learner(&backend, Rpc::Status).is_ok());
        assert!(check_learner(&backend, Rpc::Range(&serializable)).is_ok());
        for rpc in [Rpc::Range(&linearizable), Rpc::Other] {
            let s = check_learner(&backend, rpc).unwrap_err();
            assert_eq!(
                (s.code(), s.message()),
                (
                    Code::Unavailable,
                    "etcdserver: rpc not supported for learner"
                )
            );
        }
    }
}
