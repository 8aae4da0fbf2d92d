//! The SDK's one error type.
//!
//! Besides Go's kinds (API error, cluster error, context errors, bad responses) it
//! says what Go's client cannot: whether a failed write may still have been applied
//! ([`Error::OutcomeUnknown`]) or certainly was not (every other variant of a write
//! marked at-most-once).

use crate::transport::TransportError;
use crate::wire::ErrorCode;
use std::fmt;

/// The result type of every SDK call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything an SDK call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a v2 API error (`{"errorCode": …}`).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Every endpoint failed; each endpoint's error is kept. For an at-most-once
    /// write this means the write was certainly not applied.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An at-most-once write (create, compare-and-swap, in-order create, delete)
    /// failed after its request may have reached a server: it may or may not have
    /// been applied. It was not re-sent anywhere.
    #[error("client: outcome unknown: request to {endpoint} may have been applied: {cause}")]
    OutcomeUnknown {
        /// The endpoint the request went to.
        endpoint: String,
        /// What went wrong after the request was sent.
        cause: Box<Error>,
    },
    /// The call's overall deadline ([`crate::Config::request_timeout`]) passed.
    #[error("context deadline exceeded")]
    Timeout,
    /// The client was closed while the call was in flight.
    #[error("context canceled")]
    Cancelled,
    /// One endpoint did not send response headers within the per-request header timeout.
    #[error("client: endpoint {endpoint} exceeded header timeout")]
    HeaderTimeout {
        /// The endpoint.
        endpoint: String,
    },
    /// One endpoint stopped answering liveness probes while it held a long poll.
    #[error("client: etcd member {endpoint} did not answer a liveness probe")]
    Unresponsive {
        /// The endpoint.
        endpoint: String,
    },
    /// One endpoint answered with a 500 or 503 (it has no leader).
    #[error("client: etcd member {endpoint} has no leader")]
    NoLeader {
        /// The endpoint.
        endpoint: String,
    },
    /// One endpoint answered with another 5xx status.
    #[error("client: etcd member {endpoint} returns server error [{status_text}]")]
    ServerError {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The status's reason phrase.
        status_text: String,
    },
    /// The request could not be delivered to, or answered by, one endpoint.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A response body was empty where one was required.
    #[error("client: response body is empty")]
    EmptyBody,
    /// A response body was not the JSON that was expected.
    #[error(
        "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint"
    )]
    InvalidJson,
    /// A response was malformed in some other way (bad header, bad Location, …).
    #[error("client: invalid response: {0}")]
    InvalidResponse(String),
    /// A members or auth call got a status it does not accept.
    #[error("unexpected status code {0}")]
    UnexpectedStatus(u16),
    /// A members call failed with a message from the server (`{"message": …}`).
    #[error("{0}")]
    Members(String),
    /// An auth call failed with a message from the server (`{"message": …}`).
    #[error("{message}")]
    Auth {
        /// The server's message, e.g. `auth: User bob does not exist.`.
        message: String,
    },
    /// No endpoints were configured, or a sync found none.
    #[error("client: no endpoints available")]
    NoEndpoints,
    /// An endpoint or URL given to the SDK is not valid.
    #[error("client: invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The rejected string.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// An argument given to the SDK is not valid (a peer URL, a name, …).
    #[error("client: invalid argument: {0}")]
    InvalidArgument(String),
    /// The redirect policy stopped following redirects.
    #[error("client: too many redirects")]
    TooManyRedirects,
    /// A redirect response was unusable.
    #[error("{0}")]
    Redirect(String),
    /// A leader-prioritizing sync could not find the leader's client URL.
    #[error("client: no leader endpoint available")]
    NoLeaderEndpoint,
    /// SRV discovery failed.
    #[error("client: discovery failed: {0}")]
    Discovery(String),
}

impl Error {
    /// The v2 API error inside, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// Whether this is API error 100 (key not found), like Go's `IsKeyNotFound`.
    pub fn is_key_not_found(&self) -> bool {
        self.api()
            .is_some_and(|e| e.code == ErrorCode::KEY_NOT_FOUND)
    }

    /// Whether this is API error 401 (the watch index fell off the history). The
    /// caller should `get` the key and watch again from the response's index.
    pub fn is_event_index_cleared(&self) -> bool {
        self.api()
            .is_some_and(|e| e.code == ErrorCode::EVENT_INDEX_CLEARED)
    }

    /// Whether an auth call failed because the user does not exist (Go's
    /// `IsUserNotFound`: the message matches `auth: User .* does not exist.`).
    pub fn is_user_not_found(&self) -> bool {
        self.auth_message_matches("auth: User ")
    }

    /// Whether an auth call failed because the role does not exist (Go's `IsRoleNotFound`).
    pub fn is_role_not_found(&self) -> bool {
        self.auth_message_matches("auth: Role ")
    }

    fn auth_message_matches(&self, prefix: &str) -> bool {
        // Go's regexp `auth: User .* does not exist.` (unanchored): the final `.`
        // needs one more character after "exist", so the server's DELETE text
        // "auth: User x does not exist" (nothing after it) does not match.
        let Error::Auth { message } = self else {
            return false;
        };
        let Some(start) = message.find(prefix) else {
            return false;
        };
        let rest = &message[start + prefix.len()..];
        rest.match_indices(" does not exist")
            .any(|(i, m)| rest.len() > i + m.len())
    }

    /// Whether the operation may have been applied although it failed: true only
    /// for [`Error::OutcomeUnknown`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }
}

/// A v2 API error as the server reported it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ApiError {
    /// The error code (see [`ErrorCode`]'s constants).
    pub code: ErrorCode,
    /// etcd's message for the code.
    pub message: String,
    /// Details: usually the key or the failed comparison.
    pub cause: String,
    /// The store index at the time of the error.
    pub index: u64,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Go: "%v: %v (%v) [%v]", which etcdctl prints as `Error:  105: Key already exists (/a) [1078]`.
        write!(
            f,
            "{}: {} ({}) [{}]",
            self.code, self.message, self.cause, self.index
        )
    }
}

impl From<crate::wire::ErrorBody> for ApiError {
    fn from(b: crate::wire::ErrorBody) -> Self {
        ApiError {
            code: b.error_code,
            message: b.message,
            cause: b.cause,
            index: b.index,
        }
    }
}

/// Every endpoint failed; `errors` holds one entry per attempt, in order.
#[derive(Debug, thiserror::Error)]
pub struct ClusterError {
    /// The error of each attempt.
    pub errors: Vec<Error>,
}

impl ClusterError {
    /// One line per error, `error #i: <e>` (Go's `ClusterError.Detail`).
    pub fn detail(&self) -> String {
        self.errors
            .iter()
            .enumerate()
            .map(|(i, e)| format!("error #{i}: {e}\n"))
            .collect()
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("client: etcd cluster is unavailable or misconfigured")?;
        for (i, e) in self.errors.iter().enumerate() {
            writeln!(f, "; error #{i}: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_error_prints_like_go() {
        let e = ClusterError {
            errors: vec![
                Error::NoLeader {
                    endpoint: "http://a:1".into(),
                },
                Error::HeaderTimeout {
                    endpoint: "http://b:2".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "client: etcd cluster is unavailable or misconfigured; error #0: client: etcd member http://a:1 has no leader\n; error #1: client: endpoint http://b:2 exceeded header timeout\n"
        );
        assert_eq!(
            e.detail(),
            "error #0: client: etcd member http://a:1 has no leader\nerror #1: client: endpoint http://b:2 exceeded header timeout\n"
        );
    }

    #[test]
    fn api_error_prints_like_go() {
        let e = ApiError {
            code: ErrorCode::NODE_EXIST,
            message: "Key already exists".into(),
            cause: "/ctl/a".into(),
            index: 1078,
        };
        assert_eq!(e.to_string(), "105: Key already exists (/ctl/a) [1078]");
        assert!(!Error::Api(e).is_key_not_found());
    }

    #[test]
    fn user_and_role_not_found_follow_gos_regexp() {
        let auth = |m: &str| Error::Auth { message: m.into() };
        assert!(auth("auth: User bob does not exist.").is_user_not_found());
        assert!(
            !auth("auth: User bob does not exist").is_user_not_found(),
            "the DELETE text has nothing after 'exist'"
        );
        assert!(auth("auth: Role r does not exist.").is_role_not_found());
        assert!(!auth("auth: Role r does not exist.").is_user_not_found());
        assert!(!Error::Timeout.is_user_not_found());
    }
}
