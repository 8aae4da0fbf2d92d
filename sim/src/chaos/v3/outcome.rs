//! How the v3 workload turns an SDK result into a recorded [`V3Outcome`].
//!
//! The rules (the checker relies on them), as for v2:
//! - "requested lease not found" is a definite answer
//!   ([`V3Response::LeaseNotFound`]): the put, txn, revoke or keepalive had no
//!   effect, and the lease checker reads it.
//! - Any other failure of a range or keepalive is [`V3Outcome::Failed`].
//! - A write is [`V3Outcome::Failed`] only when nothing can have been applied:
//!   etcd refused it with an error that is not a proposal timeout or a leader
//!   change, or no endpoint was reachable before it was sent. Everything else
//!   (the SDK's outcome-unknown error, the call deadline, a gRPC status from the
//!   transport, a closed client) is [`V3Outcome::Unknown`].

use super::history::{V3KeyValue, V3Outcome, V3Request, V3Response};
use etcd_sdk::v3::{Error, EtcdError, KeyValue};

/// A key-value as text.
pub fn kv_of(kv: &KeyValue) -> V3KeyValue {
    V3KeyValue {
        key: String::from_utf8_lossy(&kv.key).into_owned(),
        value: String::from_utf8_lossy(&kv.value).into_owned(),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
    }
}

/// The recorded outcome of a failed `request`.
pub fn classify_error(request: &V3Request, e: &Error) -> V3Outcome {
    if e.etcd() == Some(EtcdError::LeaseNotFound) {
        return V3Outcome::Ok(V3Response::LeaseNotFound);
    }
    let error = e.to_string();
    if !request.is_write() || certainly_not_applied(e) {
        V3Outcome::Failed { error }
    } else {
        V3Outcome::Unknown { error }
    }
}

/// Whether a failed write certainly had no effect.
fn certainly_not_applied(e: &Error) -> bool {
    match e {
        // Unavailable answers (no leader, stopped, timeouts) may come after
        // the proposal: unknown. The rest refuse before proposing.
        Error::Etcd { kind, .. } => {
            !kind.may_have_been_applied() && kind.code() != etcd_sdk::v3::tonic::Code::Unavailable
        }
        Error::NoAvailableEndpoints
        | Error::InvalidEndpoint { .. }
        | Error::InvalidConfig { .. }
        | Error::Connect(_)
        | Error::TlsConfig(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::tonic::{Code, Status};

    fn put() -> V3Request {
        V3Request::Put {
            key: "k".into(),
            value: "c0-1".into(),
            lease: 0,
        }
    }

    fn range() -> V3Request {
        V3Request::Range {
            range: super::super::history::V3Range::key("k"),
            serializable: false,
        }
    }

    #[test]
    fn lease_not_found_is_definite() {
        let e = Error::etcd_error(EtcdError::LeaseNotFound);
        for r in [put(), V3Request::LeaseKeepAlive { id: 7 }] {
            assert_eq!(
                classify_error(&r, &e),
                V3Outcome::Ok(V3Response::LeaseNotFound)
            );
        }
    }

    #[test]
    fn writes_are_unknown_unless_certainly_refused() {
        let unknown = [
            Error::Timeout,
            Error::Closed,
            Error::OutcomeUnknown {
                cause: Box::new(Error::Status(Status::new(Code::Unavailable, "gone"))),
            },
            Error::Status(Status::new(Code::Unavailable, "connection reset")),
            Error::etcd_error(EtcdError::Timeout),
            Error::etcd_error(EtcdError::LeaderChanged),
            Error::etcd_error(EtcdError::NoLeader),
        ];
        for e in unknown {
            assert!(
                matches!(classify_error(&put(), &e), V3Outcome::Unknown { .. }),
                "{e}"
            );
            assert!(matches!(
                classify_error(&range(), &e),
                V3Outcome::Failed { .. }
            ));
        }
        for e in [
            Error::etcd_error(EtcdError::DuplicateKey),
            Error::etcd_error(EtcdError::Compacted),
            Error::NoAvailableEndpoints,
        ] {
            assert!(
                matches!(classify_error(&put(), &e), V3Outcome::Failed { .. }),
                "{e}"
            );
        }
    }

    #[test]
    fn key_values_become_text() {
        let kv = KeyValue {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            create_revision: 2,
            mod_revision: 3,
            version: 2,
            lease: 9,
        };
        let t = kv_of(&kv);
        assert_eq!((t.key.as_str(), t.value.as_str()), ("k", "v"));
        assert_eq!(
            (t.create_revision, t.mod_revision, t.version, t.lease),
            (2, 3, 2, 9)
        );
    }
}
