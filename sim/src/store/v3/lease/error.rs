//! The lessor's errors, with etcd's exact texts (spec §3.1).

use etcd_sdk::v3::EtcdError;

/// A refused lessor operation. `Display` is the text etcd's server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// The lease does not exist (grant with ID 0, revoke, attach). gRPC `NotFound`.
    #[error("etcdserver: requested lease not found")]
    NotFound,
    /// A grant with an ID already in use. gRPC `FailedPrecondition`.
    #[error("etcdserver: lease already exists")]
    AlreadyExists,
    /// A grant asking for more than [`MAX_LEASE_TTL`](super::MAX_LEASE_TTL) seconds.
    /// gRPC `OutOfRange`.
    #[error("etcdserver: too large lease TTL")]
    TtlTooLarge,
    /// A renew on a member whose lessor is not primary (not the leader, or a leader
    /// that has not yet applied its term's first entry). Not sent to clients: the server
    /// forwards the keepalive to the leader instead (etcd: `ErrNotPrimary`, text "not a
    /// primary lessor", which would travel as gRPC `Unknown`).
    #[error("not a primary lessor")]
    NotPrimary,
}

impl LeaseError {
    /// The SDK's typed error for this refusal (its exact text and gRPC code), or `None`
    /// for [`LeaseError::NotPrimary`], which never reaches a client.
    pub fn etcd_error(self) -> Option<EtcdError> {
        match self {
            LeaseError::NotFound => Some(EtcdError::LeaseNotFound),
            LeaseError::AlreadyExists => Some(EtcdError::LeaseExist),
            LeaseError::TtlTooLarge => Some(EtcdError::LeaseTtlTooLarge),
            LeaseError::NotPrimary => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::tonic::Code;

    #[test]
    fn texts_and_codes_match_etcds_table() {
        let cases = [
            (
                LeaseError::NotFound,
                "etcdserver: requested lease not found",
                Code::NotFound,
            ),
            (
                LeaseError::AlreadyExists,
                "etcdserver: lease already exists",
                Code::FailedPrecondition,
            ),
            (
                LeaseError::TtlTooLarge,
                "etcdserver: too large lease TTL",
                Code::OutOfRange,
            ),
        ];
        for (err, text, code) in cases {
            assert_eq!(err.to_string(), text);
            let typed = err.etcd_error().expect("a client-visible error");
            assert_eq!(typed.message(), text);
            assert_eq!(typed.code(), code);
        }
    }

    #[test]
    fn not_primary_is_internal() {
        assert_eq!(LeaseError::NotPrimary.to_string(), "not a primary lessor");
        assert_eq!(LeaseError::NotPrimary.etcd_error(), None);
    }
}
