//! How the workload turns an SDK result into a recorded [`Outcome`].
//!
//! The rules (the checker relies on them):
//! - etcd errors 100 (key not found), 101 (compare failed) and 105 (key already
//!   exists) are definite answers: [`Outcome::Ok`] with the matching [`Response`].
//! - Any other failure of a read is [`Outcome::Failed`]: a read has no effect.
//! - A write is [`Outcome::Failed`] only when nothing can have been applied: the
//!   server rejected it with an etcd error other than 300/301 (validation or a
//!   store error: no state change), or every endpoint refused the connection or
//!   redirected it away. Everything else (an outcome-unknown error, a timeout, a
//!   5xx, error 300 "request timed out" whose proposal may still commit, a broken
//!   connection, a bad response) is [`Outcome::Unknown`]. When in doubt, unknown.
//!
//! The workload's clients send every write at-most-once
//! ([`etcd_sdk::Config::at_most_once_writes`]), so one call has at most one effect.

use super::history::{Op, Outcome, Response};
use etcd_sdk::keys::Response as KeysResponse;
use etcd_sdk::transport::TransportErrorKind;
use etcd_sdk::wire::ErrorCode;
use etcd_sdk::{Error, Result};

/// The recorded outcome of `op` given what the SDK returned.
pub fn classify(op: &Op, result: &Result<KeysResponse>) -> Outcome {
    match result {
        Ok(resp) => Outcome::Ok(done(op, resp)),
        Err(e) => classify_error(op, e),
    }
}

fn done(op: &Op, resp: &KeysResponse) -> Response {
    let node = resp.node.as_ref();
    let value = match op {
        Op::Delete { .. } | Op::CompareAndDelete { .. } => None,
        _ => node.and_then(|n| n.value.clone()),
    };
    Response::Done {
        value,
        prev: resp.prev_node.as_ref().and_then(|n| n.value.clone()),
        node_key: node.map(|n| n.key.clone()).unwrap_or_default(),
        modified_index: node.map(|n| n.modified_index).unwrap_or(0),
        etcd_index: resp.index,
    }
}

fn classify_error(op: &Op, e: &Error) -> Outcome {
    if let Some(api) = e.api() {
        let index = api.index;
        match api.code {
            ErrorCode::KEY_NOT_FOUND => return Outcome::Ok(Response::NotFound { index }),
            ErrorCode::TEST_FAILED => return Outcome::Ok(Response::CompareFailed { index }),
            ErrorCode::NODE_EXIST => return Outcome::Ok(Response::AlreadyExists { index }),
            _ => {}
        }
    }
    let error = e.to_string();
    if !op.is_write() {
        return Outcome::Failed { error };
    }
    if certainly_not_applied(e) {
        Outcome::Failed { error }
    } else {
        Outcome::Unknown { error }
    }
}

/// Whether a failed write certainly had no effect.
fn certainly_not_applied(e: &Error) -> bool {
    match e {
        Error::Api(api) => !matches!(
            api.code,
            ErrorCode::RAFT_INTERNAL | ErrorCode::LEADER_ELECT | ErrorCode::CLIENT_INTERNAL
        ),
        Error::Cluster(c) => !c.errors.is_empty() && c.errors.iter().all(never_sent),
        other => never_sent(other),
    }
}

/// Whether one endpoint's error proves the request never reached a server that
/// could act on it.
fn never_sent(e: &Error) -> bool {
    match e {
        Error::Transport(t) => t.kind == TransportErrorKind::Connect,
        Error::Redirect(_) | Error::TooManyRedirects | Error::NoEndpoints => true,
        Error::InvalidEndpoint { .. } | Error::InvalidArgument(_) | Error::InvalidPeerUrl(_) => {
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::transport::TransportError;
    use etcd_sdk::wire::{Action, Node};
    use etcd_sdk::{ApiError, ClusterError};

    fn set() -> Op {
        Op::Set {
            key: "/chaos/k0".into(),
            value: "c0-1".into(),
        }
    }

    fn get() -> Op {
        Op::Get {
            key: "/chaos/k0".into(),
            quorum: true,
        }
    }

    fn api(code: u16) -> Error {
        Error::Api(ApiError {
            code: ErrorCode(u32::from(code)),
            message: "m".into(),
            cause: "/chaos/k0".into(),
            index: 42,
        })
    }

    fn transport(kind: TransportErrorKind) -> Error {
        Error::Transport(TransportError {
            kind,
            method: "PUT".into(),
            url: "http://10.0.1.1:2379/v2/keys/chaos/k0".into(),
            message: "x".into(),
        })
    }

    fn is_failed(o: &Outcome) -> bool {
        matches!(o, Outcome::Failed { .. })
    }

    fn is_unknown(o: &Outcome) -> bool {
        matches!(o, Outcome::Unknown { .. })
    }

    #[test]
    fn semantic_errors_are_definite() {
        for op in [set(), get()] {
            assert_eq!(
                classify(&op, &Err(api(100))),
                Outcome::Ok(Response::NotFound { index: 42 })
            );
            assert_eq!(
                classify(&op, &Err(api(101))),
                Outcome::Ok(Response::CompareFailed { index: 42 })
            );
            assert_eq!(
                classify(&op, &Err(api(105))),
                Outcome::Ok(Response::AlreadyExists { index: 42 })
            );
        }
    }

    #[test]
    fn any_read_failure_is_failed() {
        for e in [
            api(300),
            Error::Timeout,
            transport(TransportErrorKind::Request),
        ] {
            assert!(is_failed(&classify(&get(), &Err(e))));
        }
    }

    #[test]
    fn writes_are_unknown_unless_certainly_not_applied() {
        let unknown = [
            api(300),
            api(301),
            Error::Timeout,
            Error::Cancelled,
            Error::OutcomeUnknown {
                endpoint: "e".into(),
                cause: Box::new(Error::Timeout),
            },
            Error::HeaderTimeout {
                endpoint: "e".into(),
            },
            Error::NoLeader {
                endpoint: "e".into(),
            },
            transport(TransportErrorKind::Request),
            transport(TransportErrorKind::Body),
            Error::InvalidJson {
                excerpt: "{".into(),
                source: serde_json::from_str::<serde_json::Value>("{").unwrap_err(),
            },
            Error::Cluster(ClusterError {
                errors: vec![
                    transport(TransportErrorKind::Connect),
                    transport(TransportErrorKind::Request),
                ],
            }),
            Error::Cluster(ClusterError { errors: vec![] }),
        ];
        for e in unknown {
            let text = e.to_string();
            assert!(is_unknown(&classify(&set(), &Err(e))), "{text}");
        }
        let failed = [
            api(102),
            api(200),
            api(209),
            transport(TransportErrorKind::Connect),
            Error::Cluster(ClusterError {
                errors: vec![
                    transport(TransportErrorKind::Connect),
                    transport(TransportErrorKind::Connect),
                ],
            }),
        ];
        for e in failed {
            let text = e.to_string();
            assert!(is_failed(&classify(&set(), &Err(e))), "{text}");
        }
    }

    #[test]
    fn success_records_values_and_indexes() {
        let node = |key: &str, value: Option<&str>, index: u64| Node {
            key: key.into(),
            value: value.map(Into::into),
            modified_index: index,
            created_index: index,
            ..Default::default()
        };
        let resp = KeysResponse {
            action: Action::CompareAndSwap,
            node: Some(node("/chaos/k0", Some("c0-2"), 9)),
            prev_node: Some(node("/chaos/k0", Some("c0-1"), 8)),
            index: 9,
            cluster_id: String::new(),
            raft_index: None,
            raft_term: None,
        };
        assert_eq!(
            classify(&set(), &Ok(resp.clone())),
            Outcome::Ok(Response::Done {
                value: Some("c0-2".into()),
                prev: Some("c0-1".into()),
                node_key: "/chaos/k0".into(),
                modified_index: 9,
                etcd_index: 9,
            })
        );
        let del = Op::Delete {
            key: "/chaos/k0".into(),
        };
        match classify(&del, &Ok(resp)) {
            Outcome::Ok(Response::Done { value, prev, .. }) => {
                assert_eq!(value, None);
                assert_eq!(prev.as_deref(), Some("c0-1"));
            }
            other => panic!("{other:?}"),
        }
    }
}
