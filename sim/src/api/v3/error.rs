//! How the v3 services' failures reach clients: a `tonic::Status` with etcd's gRPC
//! code and exact text (§3.1 of the spec; clients match on the text). A failure
//! that is not one of etcd's errors goes out as Unknown with its own text, as
//! etcd sends errors missing from its map.

use crate::server::v3_backend::V3Error;
use crate::server::v3_command::V3ApplyError;
use crate::store::v3::kv::KvError;
use crate::store::v3::lease::LeaseError;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::tonic::{Code, Status};

/// The status of one of etcd's errors.
pub fn etcd_status(e: EtcdError) -> Status {
    Status::new(e.code(), e.message())
}

/// The status for an error text: etcd's code when the text is one of etcd's,
/// otherwise Unknown with the text.
pub fn text_status(text: &str) -> Status {
    match EtcdError::ALL.iter().copied().find(|e| e.message() == text) {
        Some(e) => etcd_status(e),
        None => Status::new(Code::Unknown, text),
    }
}

/// The status of a kv store or validation error.
pub fn kv_status(e: &KvError) -> Status {
    text_status(&e.to_string())
}

/// The status of a lessor error.
pub fn lease_status(e: LeaseError) -> Status {
    match e.etcd_error() {
        Some(x) => etcd_status(x),
        None => Status::new(Code::Unknown, e.to_string()),
    }
}

/// The status of an error applying a replicated request.
pub fn apply_status(e: &V3ApplyError) -> Status {
    match e.etcd_error() {
        Some(x) => etcd_status(x),
        None => Status::new(Code::Unknown, e.to_string()),
    }
}

/// The status of a failed proposal: refused by the state, or not replicated
/// (no leader, timed out, stopped: Unavailable with etcd's text).
pub fn v3_status(e: &V3Error) -> Status {
    match e {
        V3Error::Apply(a) => apply_status(a),
        V3Error::Replication(r) => text_status(&r.0),
    }
}

/// Unavailable "etcdserver: no leader".
pub fn no_leader() -> Status {
    etcd_status(EtcdError::NoLeader)
}

/// InvalidArgument "etcdserver: request is too large".
pub fn too_large() -> Status {
    etcd_status(EtcdError::RequestTooLarge)
}

/// Internal: the applier answered a request with another request's result.
pub fn unexpected(what: &'static str) -> Status {
    Status::internal(format!("etcdserver: unexpected result for {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::backend::ReplicationError;

    #[test]
    fn kv_errors_carry_etcds_codes_and_texts() {
        let cases = [
            (
                KvError::KeyNotProvided,
                Code::InvalidArgument,
                "etcdserver: key is not provided",
            ),
            (
                KvError::Compacted {
                    compact_revision: 3,
                },
                Code::OutOfRange,
                "etcdserver: mvcc: required revision has been compacted",
            ),
            (
                KvError::FutureRevision,
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision",
            ),
            (
                KvError::LeaseNotFound,
                Code::NotFound,
                "etcdserver: requested lease not found",
            ),
            (
                KvError::TooManyOps,
                Code::InvalidArgument,
                "etcdserver: too many operations in txn request",
            ),
        ];
        for (e, code, text) in cases {
            let s = kv_status(&e);
            assert_eq!((s.code(), s.message()), (code, text), "{e:?}");
        }
    }

    #[test]
    fn replication_errors_are_unavailable_and_others_unknown() {
        for text in [
            "etcdserver: request timed out",
            "etcdserver: no leader",
            "etcdserver: server stopped",
            "etcdserver: leader changed",
        ] {
            let s = v3_status(&V3Error::Replication(ReplicationError(text.into())));
            assert_eq!((s.code(), s.message()), (Code::Unavailable, text));
        }
        let s = v3_status(&V3Error::Replication(ReplicationError("boom".into())));
        assert_eq!((s.code(), s.message()), (Code::Unknown, "boom"));
        let s = apply_status(&V3ApplyError::Lease(LeaseError::AlreadyExists));
        assert_eq!(
            (s.code(), s.message()),
            (Code::FailedPrecondition, "etcdserver: lease already exists")
        );
        let s = too_large();
        assert_eq!(
            (s.code(), s.message()),
            (Code::InvalidArgument, "etcdserver: request is too large")
        );
    }
}
