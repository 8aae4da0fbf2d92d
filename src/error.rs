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
    /// The call's deadline passed: the client-wide
    /// [`crate::Config::request_timeout`], or a per-call bound set with
    /// `with_timeout` / `with_deadline` on an API handle (e.g.
    /// [`crate::HttpKeysAPI::with_timeout`]). Nothing that may have been applied
    /// is reported this way: an at-most-once write already sent fails with
    /// [`Error::OutcomeUnknown`] (whose cause is this error) instead.
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
        "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint (body: {excerpt:?})"
    )]
    InvalidJson {
        /// The start of the body (at most [`BODY_EXCERPT_LEN`] bytes, lossily
        /// decoded, `…` appended when cut).
        excerpt: String,
        /// What the decoder found wrong.
        #[source]
        source: serde_json::Error,
    },
    /// A response was malformed in some other way (bad header, bad Location, …).
    #[error("client: invalid response: {0}")]
    InvalidResponse(String),
    /// A members or auth call got a status it does not accept.
    #[error("unexpected status code {0}")]
    UnexpectedStatus(u16),
    /// A members call was refused by the server with a message (`{"message": …}`).
    #[error(transparent)]
    Members(#[from] MembersError),
    /// An auth call was refused by the server with a message (`{"message": …}`).
    #[error(transparent)]
    Auth(#[from] AuthError),
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
    /// A [`crate::Config`] field is not valid ([`crate::Config::validate`]).
    #[error("client: invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The field's name, e.g. `request_timeout`.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP transport could not be built (e.g. reqwest's TLS backend failed
    /// to load). The SDK never falls back to a transport with other semantics.
    #[error("client: cannot build the HTTP transport")]
    TransportInit {
        /// The transport library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The TLS settings ([`crate::Config::tls`], or a transport's
    /// `with_tls`) could not be loaded: a PEM file unreadable or invalid (the
    /// error names it), a certificate without its key, no system roots.
    #[error("client: TLS settings: {0}")]
    Tls(#[source] crate::tls::TlsError),
    /// A peer URL given to a members call is not valid (checked before sending).
    #[error("client: invalid peer URL: {0}")]
    InvalidPeerUrl(#[from] crate::members::PeerUrlError),
    /// An argument given to the SDK is not valid (an empty member id or name, …).
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
    /// `IsUserNotFound`; see [`AuthError::is_user_not_found`]).
    pub fn is_user_not_found(&self) -> bool {
        matches!(self, Error::Auth(e) if e.is_user_not_found())
    }

    /// Whether an auth call failed because the role does not exist (Go's `IsRoleNotFound`).
    pub fn is_role_not_found(&self) -> bool {
        matches!(self, Error::Auth(e) if e.is_role_not_found())
    }

    /// Whether the call's deadline passed before anything that may have been
    /// applied was sent ([`Error::Timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }

    /// [`Error::InvalidJson`] for `body`, keeping the decoder's error and the
    /// start of the body.
    pub(crate) fn invalid_json(source: serde_json::Error, body: &[u8]) -> Self {
        Error::InvalidJson {
            excerpt: excerpt(body),
            source,
        }
    }

    /// Whether the operation may have been applied although it failed: true only
    /// for [`Error::OutcomeUnknown`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }
}

/// How much of an undecodable body [`Error::InvalidJson`] keeps.
pub const BODY_EXCERPT_LEN: usize = 120;

/// The first [`BODY_EXCERPT_LEN`] bytes of `body`, lossily decoded (never cut
/// inside a character), with `…` appended when the body was longer.
fn excerpt(body: &[u8]) -> String {
    if body.len() <= BODY_EXCERPT_LEN {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut text = String::from_utf8_lossy(&body[..BODY_EXCERPT_LEN]).into_owned();
    // A multi-byte character cut at the end decodes as U+FFFD: drop it.
    if std::str::from_utf8(&body[..BODY_EXCERPT_LEN]).is_err() && text.ends_with('\u{FFFD}') {
        text.pop();
    }
    text.push('…');
    text
}

/// What a members call was refused with: the HTTP status and the server's
/// `{"message": …}` (Go's `membersError`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MembersError {
    /// The HTTP status, e.g. 404 or 409.
    pub status: u16,
    /// The server's message, e.g. `No such member: 1234` or `membership: peerURL exists`.
    pub message: String,
}

/// What kind of refusal a [`MembersError`] is (from etcd 3.4's statuses and texts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembersErrorKind {
    /// 404: no member has that id (`No such member: <id>`).
    MemberNotFound,
    /// 410: the member was removed earlier (`Member permanently removed: <id>`).
    MemberRemoved,
    /// 409 `membership: peerURL exists`: another member has that peer URL.
    PeerUrlExists,
    /// 409 `membership: ID exists`: a member with that id exists.
    IdExists,
    /// Anything else; see the status and message.
    Other,
}

impl MembersError {
    /// Classifies the refusal by status and, for 409, by etcd's message.
    pub fn kind(&self) -> MembersErrorKind {
        match self.status {
            404 => MembersErrorKind::MemberNotFound,
            410 => MembersErrorKind::MemberRemoved,
            409 if self.message.contains("peerURL exists") => MembersErrorKind::PeerUrlExists,
            409 if self.message.contains("ID exists") => MembersErrorKind::IdExists,
            _ => MembersErrorKind::Other,
        }
    }
}

/// What an auth call was refused with: the HTTP status and the server's
/// `{"message": …}` (Go's `authError`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    /// The HTTP status, e.g. 404 or 409.
    pub status: u16,
    /// The server's message, e.g. `auth: User bob does not exist.`.
    pub message: String,
}

/// What kind of refusal an [`AuthError`] is, by HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// 404: the user or role does not exist.
    NotFound,
    /// 409 `… already exists.`: the user or role exists.
    AlreadyExists,
    /// Another 409: a duplicate grant, an ungranted revoke, auth already on or off.
    Conflict,
    /// 401 or 403: the credentials may not do this (or root cannot be removed).
    Forbidden,
    /// 400: the request was refused as malformed or as changing nothing.
    BadRequest,
    /// Anything else; see the status and message.
    Other,
}

impl AuthError {
    /// Classifies the refusal by status (and, for 409, by etcd's message).
    pub fn kind(&self) -> AuthErrorKind {
        match self.status {
            404 => AuthErrorKind::NotFound,
            409 if self.message.ends_with("already exists.") => AuthErrorKind::AlreadyExists,
            409 => AuthErrorKind::Conflict,
            401 | 403 => AuthErrorKind::Forbidden,
            400 => AuthErrorKind::BadRequest,
            _ => AuthErrorKind::Other,
        }
    }

    /// Go's `IsUserNotFound`: the message matches `auth: User .* does not exist.`
    /// (unanchored). The final `.` needs one more character after "exist", so the
    /// server's DELETE text "auth: User x does not exist" does not match; use
    /// [`AuthError::kind`] for a status-based answer.
    pub fn is_user_not_found(&self) -> bool {
        self.message_matches("auth: User ")
    }

    /// Go's `IsRoleNotFound`: like [`AuthError::is_user_not_found`] for roles.
    pub fn is_role_not_found(&self) -> bool {
        self.message_matches("auth: Role ")
    }

    fn message_matches(&self, prefix: &str) -> bool {
        let Some(start) = self.message.find(prefix) else {
            return false;
        };
        let rest = &self.message[start + prefix.len()..];
        rest.match_indices(" does not exist")
            .any(|(i, m)| rest.len() > i + m.len())
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
        let auth = |m: &str| {
            Error::Auth(AuthError {
                status: 404,
                message: m.into(),
            })
        };
        assert!(auth("auth: User bob does not exist.").is_user_not_found());
        assert!(
            !auth("auth: User bob does not exist").is_user_not_found(),
            "the DELETE text has nothing after 'exist'"
        );
        assert!(auth("auth: Role r does not exist.").is_role_not_found());
        assert!(!auth("auth: Role r does not exist.").is_user_not_found());
        assert!(!Error::Timeout.is_user_not_found());
    }

    #[test]
    fn invalid_json_keeps_the_decoder_error_and_an_excerpt() {
        let body = b"<html>404 page not found</html>";
        let source = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        let e = Error::invalid_json(source, body);
        assert_eq!(
            e.to_string(),
            "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint (body: \"<html>404 page not found</html>\")"
        );
        let cause = std::error::Error::source(&e).expect("the serde error is the source");
        assert_eq!(cause.to_string(), "expected value at line 1 column 1");

        let long = "é".repeat(100); // 200 bytes; byte 120 is inside no character
        match Error::invalid_json(source_of(&long), long.as_bytes()) {
            Error::InvalidJson { excerpt, .. } => {
                assert_eq!(excerpt, format!("{}…", "é".repeat(60)))
            }
            other => panic!("{other:?}"),
        }
        let odd = format!("x{}", "é".repeat(100)); // byte 120 cuts an é in half
        match Error::invalid_json(source_of(&odd), odd.as_bytes()) {
            Error::InvalidJson { excerpt, .. } => {
                assert_eq!(excerpt, format!("x{}…", "é".repeat(59)))
            }
            other => panic!("{other:?}"),
        }
    }

    fn source_of(body: &str) -> serde_json::Error {
        serde_json::from_str::<serde_json::Value>(body).unwrap_err()
    }

    #[test]
    fn members_and_auth_errors_are_classified() {
        let m = |status, message: &str| MembersError {
            status,
            message: message.into(),
        };
        assert_eq!(
            m(404, "No such member: 1234").kind(),
            MembersErrorKind::MemberNotFound
        );
        assert_eq!(
            m(410, "Member permanently removed: 1").kind(),
            MembersErrorKind::MemberRemoved
        );
        assert_eq!(
            m(409, "membership: peerURL exists").kind(),
            MembersErrorKind::PeerUrlExists
        );
        assert_eq!(
            m(409, "membership: ID exists").kind(),
            MembersErrorKind::IdExists
        );
        assert_eq!(m(400, "bad").kind(), MembersErrorKind::Other);
        assert_eq!(
            Error::from(m(404, "No such member: 1234")).to_string(),
            "No such member: 1234"
        );

        let a = |status, message: &str| AuthError {
            status,
            message: message.into(),
        };
        assert_eq!(
            a(404, "auth: User x does not exist").kind(),
            AuthErrorKind::NotFound
        );
        assert_eq!(
            a(409, "auth: User bob already exists.").kind(),
            AuthErrorKind::AlreadyExists
        );
        assert_eq!(
            a(409, "auth: already enabled").kind(),
            AuthErrorKind::Conflict
        );
        assert_eq!(
            a(403, "auth: Cannot delete root user while auth is enabled.").kind(),
            AuthErrorKind::Forbidden
        );
        assert_eq!(
            a(400, "auth: Role not updated.").kind(),
            AuthErrorKind::BadRequest
        );
        assert_eq!(a(500, "x").kind(), AuthErrorKind::Other);
    }
}
