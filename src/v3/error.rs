//! The v3 client's one error type ([`Error`]) and the typed server errors
//! ([`EtcdError`], Go's `rpctypes`).
//!
//! etcd reports a refusal as a gRPC status whose message is one of a fixed set
//! of texts (spec §3.1); clients match on the code and the exact text.
//! [`Error::from_status`] turns each of them into an [`EtcdError`] variant and
//! keeps any other status as it is ([`Error::Status`]).

pub use crate::tls::TlsFailure;
pub use tonic::{Code, Status};

/// The result type of every v3 call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! etcd_errors {
    ($( $(#[$doc:meta])* $variant:ident = ($code:ident, $text:literal), )*) => {
        /// A refusal etcd sends as a gRPC status with a fixed message (spec
        /// §3.1; Go's `rpctypes`). `Display` is the exact server text;
        /// [`EtcdError::code`] the gRPC code it travels with.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EtcdError {
            $( $(#[$doc])* $variant, )*
        }

        impl EtcdError {
            /// Every typed server error, in the order of spec §3.1.
            pub const ALL: &'static [EtcdError] = &[$(EtcdError::$variant,)*];

            /// The exact message etcd sends.
            pub fn message(self) -> &'static str {
                match self { $( EtcdError::$variant => $text, )* }
            }

            /// The gRPC code etcd sends this message with.
            pub fn code(self) -> Code {
                match self { $( EtcdError::$variant => Code::$code, )* }
            }

            /// The typed error for a status with this code and exact message,
            /// if it is one of §3.1's.
            pub fn from_code_and_message(code: Code, message: &str) -> Option<EtcdError> {
                match (code, message) {
                    $( (Code::$code, $text) => Some(EtcdError::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

etcd_errors! {
    /// An empty key in Range, Put, DeleteRange or Txn.
    EmptyKey = (InvalidArgument, "etcdserver: key is not provided"),
    /// `ignore_value`/`ignore_lease` on a missing key, or an empty request op.
    KeyNotFound = (InvalidArgument, "etcdserver: key not found"),
    /// `ignore_value` together with a value.
    ValueProvided = (InvalidArgument, "etcdserver: value is provided"),
    /// `ignore_lease` together with a lease.
    LeaseProvided = (InvalidArgument, "etcdserver: lease is provided"),
    /// A txn with more operations than the server allows (128 by default).
    TooManyOps = (InvalidArgument, "etcdserver: too many operations in txn request"),
    /// A txn that writes one key twice.
    DuplicateKey = (InvalidArgument, "etcdserver: duplicate key given in txn request"),
    /// The revision asked for has been compacted away.
    Compacted = (OutOfRange, "etcdserver: mvcc: required revision has been compacted"),
    /// The revision asked for is newer than the store's.
    FutureRev = (OutOfRange, "etcdserver: mvcc: required revision is a future revision"),
    /// The backend quota is exhausted (a NOSPACE alarm).
    NoSpace = (ResourceExhausted, "etcdserver: mvcc: database space exceeded"),
    /// The lease does not exist.
    LeaseNotFound = (NotFound, "etcdserver: requested lease not found"),
    /// A grant with an ID already in use.
    LeaseExist = (FailedPrecondition, "etcdserver: lease already exists"),
    /// A TTL above the maximum.
    LeaseTtlTooLarge = (OutOfRange, "etcdserver: too large lease TTL"),
    /// A watch stream was cancelled.
    WatchCanceled = (Cancelled, "etcdserver: watch canceled"),
    /// A member add with an ID already in use.
    MemberExist = (FailedPrecondition, "etcdserver: member ID already exist"),
    /// A member add or update with peer URLs another member has.
    PeerUrlExist = (FailedPrecondition, "etcdserver: Peer URLs already exists"),
    /// Strict reconfiguration refused a change (sent as Unknown by etcd 3.4).
    MemberNotEnoughStarted = (Unknown, "etcdserver: re-configuration failed due to not enough started members"),
    /// Member peer URLs that do not parse.
    MemberBadUrls = (InvalidArgument, "etcdserver: given member URLs are invalid"),
    /// The member does not exist.
    MemberNotFound = (NotFound, "etcdserver: member not found"),
    /// A promote of a voting member.
    MemberNotLearner = (FailedPrecondition, "etcdserver: can only promote a learner member"),
    /// A promote of a learner that has not caught up.
    LearnerNotReady = (FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader"),
    /// A learner add beyond the limit.
    TooManyLearners = (FailedPrecondition, "etcdserver: too many learner members in cluster"),
    /// A request above the server's size limit.
    RequestTooLarge = (InvalidArgument, "etcdserver: request is too large"),
    /// The apply backlog is too long (sent as Unknown by etcd 3.4).
    TooManyRequests = (Unknown, "etcdserver: too many requests"),
    /// Auth enable without a root user.
    RootUserNotExist = (FailedPrecondition, "etcdserver: root user does not exist"),
    /// Auth enable while root lacks the root role.
    RootRoleNotExist = (FailedPrecondition, "etcdserver: root user does not have root role"),
    /// A user add with a name in use.
    UserAlreadyExist = (FailedPrecondition, "etcdserver: user name already exists"),
    /// No token (auth on) or an empty user name.
    UserEmpty = (InvalidArgument, "etcdserver: user name is empty"),
    /// The user does not exist.
    UserNotFound = (FailedPrecondition, "etcdserver: user name not found"),
    /// A role add with a name in use.
    RoleAlreadyExist = (FailedPrecondition, "etcdserver: role name already exists"),
    /// The role does not exist.
    RoleNotFound = (FailedPrecondition, "etcdserver: role name not found"),
    /// An empty role name.
    RoleEmpty = (InvalidArgument, "etcdserver: role name is empty"),
    /// Wrong user name or password.
    AuthFailed = (InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"),
    /// The user may not do this.
    PermissionDenied = (PermissionDenied, "etcdserver: permission denied"),
    /// A revoke of a role the user does not have.
    RoleNotGranted = (FailedPrecondition, "etcdserver: role is not granted to the user"),
    /// A revoke of a permission the role does not have.
    PermissionNotGranted = (FailedPrecondition, "etcdserver: permission is not granted to the role"),
    /// An auth call while auth is off.
    AuthNotEnabled = (FailedPrecondition, "etcdserver: authentication is not enabled"),
    /// The token is unknown or expired.
    InvalidAuthToken = (Unauthenticated, "etcdserver: invalid auth token"),
    /// A change that would break root's protections.
    InvalidAuthMgmt = (InvalidArgument, "etcdserver: invalid auth management"),
    /// The token was issued before the last auth change.
    AuthOldRevision = (InvalidArgument, "etcdserver: revision of auth store is old"),
    /// The member has no leader.
    NoLeader = (Unavailable, "etcdserver: no leader"),
    /// MoveLeader sent to a follower.
    NotLeader = (FailedPrecondition, "etcdserver: not leader"),
    /// A leader change interrupted the request.
    LeaderChanged = (Unavailable, "etcdserver: leader changed"),
    /// The cluster version lacks a capability.
    NotCapable = (Unavailable, "etcdserver: not capable"),
    /// The member is stopping.
    Stopped = (Unavailable, "etcdserver: server stopped"),
    /// A proposal timed out (it may still be applied).
    Timeout = (Unavailable, "etcdserver: request timed out"),
    /// A proposal timed out after a leader failure.
    TimeoutDueToLeaderFail = (Unavailable, "etcdserver: request timed out, possibly due to previous leader failure"),
    /// A proposal timed out after a lost connection.
    TimeoutDueToConnectionLost = (Unavailable, "etcdserver: request timed out, possibly due to connection lost"),
    /// Waiting for the applied index took too long.
    TimeoutWaitAppliedIndex = (Unavailable, "etcdserver: request timed out, waiting for the applied index took too long"),
    /// A member add refused because the cluster is unhealthy.
    Unhealthy = (Unavailable, "etcdserver: unhealthy cluster"),
    /// A CORRUPT alarm is raised.
    Corrupt = (DataLoss, "etcdserver: corrupt cluster"),
    /// A learner was asked for something only voters serve.
    NotSupportedForLearner = (Unavailable, "etcdserver: rpc not supported for learner"),
    /// MoveLeader to a member that cannot lead.
    BadLeaderTransferee = (FailedPrecondition, "etcdserver: bad leader transferee"),
}

impl std::fmt::Display for EtcdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EtcdError {}

impl EtcdError {
    /// Whether a write refused with this error may still be applied (the
    /// server gave up waiting, not deciding): the proposal timeouts and a
    /// leader change.
    pub fn may_have_been_applied(self) -> bool {
        matches!(
            self,
            EtcdError::Timeout
                | EtcdError::TimeoutDueToLeaderFail
                | EtcdError::TimeoutDueToConnectionLost
                | EtcdError::LeaderChanged
                | EtcdError::Stopped
        )
    }
}

/// Everything a v3 call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// etcd refused the request with one of its typed errors (spec §3.1); the
    /// status it came in is kept as the source.
    #[error("{kind}")]
    Etcd {
        /// Which error.
        kind: EtcdError,
        /// The gRPC status as received.
        #[source]
        status: Status,
    },
    /// Any other gRPC status (transport failures, unknown server errors).
    #[error("{}: {}", .0.code(), .0.message())]
    Status(#[source] Status),
    /// A non-repeatable write (put, delete, txn, compact) failed after its
    /// request may have reached a server: it may or may not have been applied.
    /// It was not re-sent.
    #[error("etcdclient: outcome unknown: the request may have been applied: {cause}")]
    OutcomeUnknown {
        /// What went wrong after the request was sent.
        #[source]
        cause: Box<Error>,
    },
    /// The call's deadline passed ([`crate::v3::Config::request_timeout`] or
    /// [`crate::v3::Client::with_timeout`] / `with_deadline`). A
    /// non-repeatable write already sent fails with [`Error::OutcomeUnknown`]
    /// (whose cause is this error) instead.
    #[error("context deadline exceeded")]
    Timeout,
    /// The client was closed ([`crate::v3::Client::close`]).
    #[error("context canceled")]
    Closed,
    /// No endpoint could be used.
    #[error("etcdclient: no available endpoints")]
    NoAvailableEndpoints,
    /// An endpoint string is not valid.
    #[error("etcdclient: invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The rejected string.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// A [`crate::v3::Config`] field is not valid ([`crate::v3::Config::validate`]).
    #[error("etcdclient: invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The field's name.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The gRPC channel could not be built.
    #[error("etcdclient: cannot connect")]
    Connect(#[source] tonic::transport::Error),
    /// The TLS settings ([`crate::v3::Config::tls`]) could not be loaded:
    /// a PEM file unreadable or invalid (the error names it), a certificate
    /// without its key, no system roots.
    #[error("etcdclient: TLS settings: {0}")]
    TlsConfig(#[source] crate::tls::TlsError),
    /// A TLS connection to an endpoint failed. `failure` says whose
    /// certificate was refused: the server's
    /// ([`TlsFailure::ServerCertificate`]: not signed by a trusted CA, wrong
    /// name, expired) or the client's
    /// ([`TlsFailure::ClientCertificateRefused`]: none sent to a member
    /// with `--client-cert-auth`, or signed by a CA it does not trust).
    /// Not retried: another attempt would meet the same certificates. The
    /// request never reached etcd, so a write was not applied.
    #[error("etcdclient: {failure}: {message}")]
    Tls {
        /// Whose certificate, or what else.
        failure: TlsFailure,
        /// rustls's words for it (e.g. "invalid peer certificate: UnknownIssuer").
        message: String,
        /// The gRPC status the failure came in.
        #[source]
        status: Status,
    },
    /// [`crate::v3::Config::reject_old_cluster`]: no endpoint runs 3.2 or later.
    #[error("etcdclient: old cluster version {version:?}")]
    OldCluster {
        /// The version the last endpoint reported.
        version: String,
    },
    /// A response lacked something etcd always sends.
    #[error("etcdclient: invalid response: {0}")]
    InvalidResponse(String),
    /// A watcher's next revision was compacted away (on its first create or
    /// when it was resumed on a new stream): the watch ended. Re-read the
    /// keys and watch again from a revision after `compact_revision`.
    /// [`Error::etcd`] is [`EtcdError::Compacted`].
    #[error(
        "etcdserver: mvcc: required revision has been compacted (compact revision {compact_revision})"
    )]
    WatchCompacted {
        /// The server's compact revision: the oldest revision a new watch may start at.
        compact_revision: i64,
    },
    /// The server refused or cancelled a watcher, saying why (e.g. "mvcc:
    /// watcher range is empty", or a permission error as its full gRPC text);
    /// the watch ended. [`Error::etcd`] types the reason when it is one of
    /// spec §3.1's texts.
    #[error("etcdclient: watch canceled: {reason}")]
    WatchCanceled {
        /// The server's `cancel_reason` (may be empty).
        reason: String,
    },
    /// The keepalive of a lease stopped (Go's `ErrKeepAliveHalted`): the
    /// lease expired or was revoked (the server answered TTL 0, `reason` is
    /// [`EtcdError::LeaseNotFound`]), or no answer came before the lease's
    /// deadline (`reason` is [`Error::Timeout`]).
    #[error("etcdclient: leases keep alive halted: lease {id:016x}: {reason}")]
    KeepAliveHalted {
        /// The lease.
        id: i64,
        /// Why.
        #[source]
        reason: Box<Error>,
    },
    /// An [`crate::v3::ordering::Kv`] saw responses older than one it had
    /// already returned more often than its violation function allows (Go's
    /// `ordering.ErrNoGreaterRev`).
    #[error(
        "etcdclient: no cluster members have a revision higher than the previously received revision"
    )]
    NoGreaterRev,
}

impl Error {
    /// The typed error for a status: [`Error::Tls`] when a TLS failure
    /// caused it, an [`Error::Etcd`] when its code and message are one of
    /// spec §3.1's, [`Error::Status`] otherwise.
    pub fn from_status(status: Status) -> Error {
        #[cfg(not(madsim))]
        if let Some((failure, message)) = crate::tls::failure_in(&status) {
            return Error::Tls {
                failure,
                message,
                status,
            };
        }
        match EtcdError::from_code_and_message(status.code(), status.message()) {
            Some(kind) => Error::Etcd { kind, status },
            None => Error::Status(status),
        }
    }

    /// The typed server error, looking through [`Error::OutcomeUnknown`]
    /// and [`Error::KeepAliveHalted`]; [`EtcdError::Compacted`] for
    /// [`Error::WatchCompacted`], and the typed reason of a
    /// [`Error::WatchCanceled`].
    pub fn etcd(&self) -> Option<EtcdError> {
        match self {
            Error::Etcd { kind, .. } => Some(*kind),
            Error::OutcomeUnknown { cause } => cause.etcd(),
            Error::KeepAliveHalted { reason, .. } => reason.etcd(),
            Error::WatchCompacted { .. } => Some(EtcdError::Compacted),
            Error::WatchCanceled { reason } => etcd_error_in_text(reason),
            _ => None,
        }
    }

    /// The typed error for a status etcd built itself, with the exact text
    /// and code of spec §3.1 (e.g. a keepalive answer with TTL 0 is
    /// [`EtcdError::LeaseNotFound`], as Go's client reports it).
    pub fn etcd_error(kind: EtcdError) -> Error {
        Error::Etcd {
            kind,
            status: Status::new(kind.code(), kind.message()),
        }
    }

    /// The gRPC code: the status's for server answers, the closest one for
    /// client-side errors (Go's `toErr`).
    pub fn code(&self) -> Code {
        match self {
            Error::Etcd { status, .. } | Error::Status(status) => status.code(),
            Error::OutcomeUnknown { cause } => cause.code(),
            Error::Timeout => Code::DeadlineExceeded,
            Error::Closed => Code::Cancelled,
            Error::NoAvailableEndpoints | Error::Connect(_) => Code::Unavailable,
            Error::InvalidEndpoint { .. } | Error::InvalidConfig { .. } => Code::InvalidArgument,
            Error::TlsConfig(_) => Code::InvalidArgument,
            Error::Tls { status, .. } => status.code(),
            Error::InvalidResponse(_) => Code::Internal,
            Error::OldCluster { .. } => Code::FailedPrecondition,
            Error::WatchCompacted { .. } => Code::OutOfRange,
            Error::WatchCanceled { reason } => etcd_error_in_text(reason)
                .map(EtcdError::code)
                .unwrap_or(Code::FailedPrecondition),
            Error::KeepAliveHalted { reason, .. } => reason.code(),
            Error::NoGreaterRev => Code::Unavailable,
        }
    }

    /// Whether a write failed in a way that leaves it possibly applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// Whether the call's deadline passed before anything that may have been
    /// applied was sent.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout)
    }

    /// Whether the revision asked for has been compacted
    /// ([`EtcdError::Compacted`]).
    pub fn is_compacted(&self) -> bool {
        self.etcd() == Some(EtcdError::Compacted)
    }
}

/// The typed error a text names: one of spec §3.1's messages, alone or as
/// the description of Go's printed status (`rpc error: code = X desc = M`),
/// which is how etcd words a watch create refused by auth.
fn etcd_error_in_text(text: &str) -> Option<EtcdError> {
    let message = text.split_once(" desc = ").map_or(text, |(_, m)| m);
    EtcdError::ALL
        .iter()
        .copied()
        .find(|e| e.message() == message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// Spec §3.1, row by row: (code, message).
    const TABLE: &[(Code, &str)] = &[
        (Code::InvalidArgument, "etcdserver: key is not provided"),
        (Code::InvalidArgument, "etcdserver: key not found"),
        (Code::InvalidArgument, "etcdserver: value is provided"),
        (Code::InvalidArgument, "etcdserver: lease is provided"),
        (
            Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
        ),
        (
            Code::InvalidArgument,
            "etcdserver: duplicate key given in txn request",
        ),
        (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        ),
        (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision",
        ),
        (
            Code::ResourceExhausted,
            "etcdserver: mvcc: database space exceeded",
        ),
        (Code::NotFound, "etcdserver: requested lease not found"),
        (Code::FailedPrecondition, "etcdserver: lease already exists"),
        (Code::OutOfRange, "etcdserver: too large lease TTL"),
        (Code::Cancelled, "etcdserver: watch canceled"),
        (
            Code::FailedPrecondition,
            "etcdserver: member ID already exist",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: Peer URLs already exists",
        ),
        (
            Code::Unknown,
            "etcdserver: re-configuration failed due to not enough started members",
        ),
        (
            Code::InvalidArgument,
            "etcdserver: given member URLs are invalid",
        ),
        (Code::NotFound, "etcdserver: member not found"),
        (
            Code::FailedPrecondition,
            "etcdserver: can only promote a learner member",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: can only promote a learner member which is in sync with leader",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: too many learner members in cluster",
        ),
        (Code::InvalidArgument, "etcdserver: request is too large"),
        (Code::Unknown, "etcdserver: too many requests"),
        (
            Code::FailedPrecondition,
            "etcdserver: root user does not exist",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: root user does not have root role",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: user name already exists",
        ),
        (Code::InvalidArgument, "etcdserver: user name is empty"),
        (Code::FailedPrecondition, "etcdserver: user name not found"),
        (
            Code::FailedPrecondition,
            "etcdserver: role name already exists",
        ),
        (Code::FailedPrecondition, "etcdserver: role name not found"),
        (Code::InvalidArgument, "etcdserver: role name is empty"),
        (
            Code::InvalidArgument,
            "etcdserver: authentication failed, invalid user ID or password",
        ),
        (Code::PermissionDenied, "etcdserver: permission denied"),
        (
            Code::FailedPrecondition,
            "etcdserver: role is not granted to the user",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: permission is not granted to the role",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: authentication is not enabled",
        ),
        (Code::Unauthenticated, "etcdserver: invalid auth token"),
        (Code::InvalidArgument, "etcdserver: invalid auth management"),
        (
            Code::InvalidArgument,
            "etcdserver: revision of auth store is old",
        ),
        (Code::Unavailable, "etcdserver: no leader"),
        (Code::FailedPrecondition, "etcdserver: not leader"),
        (Code::Unavailable, "etcdserver: leader changed"),
        (Code::Unavailable, "etcdserver: not capable"),
        (Code::Unavailable, "etcdserver: server stopped"),
        (Code::Unavailable, "etcdserver: request timed out"),
        (
            Code::Unavailable,
            "etcdserver: request timed out, possibly due to previous leader failure",
        ),
        (
            Code::Unavailable,
            "etcdserver: request timed out, possibly due to connection lost",
        ),
        (
            Code::Unavailable,
            "etcdserver: request timed out, waiting for the applied index took too long",
        ),
        (Code::Unavailable, "etcdserver: unhealthy cluster"),
        (Code::DataLoss, "etcdserver: corrupt cluster"),
        (
            Code::Unavailable,
            "etcdserver: rpc not supported for learner",
        ),
        (
            Code::FailedPrecondition,
            "etcdserver: bad leader transferee",
        ),
    ];

    #[test]
    fn every_spec_row_maps_to_its_own_variant_and_back() {
        assert_eq!(TABLE.len(), EtcdError::ALL.len());
        let mut seen = std::collections::BTreeSet::new();
        for &(code, message) in TABLE {
            let err = Error::from_status(Status::new(code, message));
            let kind = err.etcd().unwrap_or_else(|| panic!("{message} not typed"));
            assert!(
                seen.insert(format!("{kind:?}")),
                "{message}: {kind:?} twice"
            );
            assert_eq!((kind.code(), kind.message()), (code, message));
            assert_eq!(err.to_string(), message);
            assert_eq!(err.code(), code);
            let source = err.source().expect("the status is kept as the source");
            assert!(source.to_string().contains(message), "{source}");
        }
    }

    #[test]
    fn the_same_text_with_another_code_or_other_text_stays_a_status() {
        let other_code =
            Error::from_status(Status::new(Code::Unknown, "etcdserver: key not found"));
        assert!(matches!(other_code, Error::Status(ref s) if s.code() == Code::Unknown));
        let other_text =
            Error::from_status(Status::new(Code::Unavailable, "etcdserver: no leader!"));
        assert!(other_text.etcd().is_none());
        assert_eq!(other_text.code(), Code::Unavailable);
        assert!(other_text.source().is_some());
    }

    #[test]
    fn outcome_unknown_keeps_its_cause() {
        let err = Error::OutcomeUnknown {
            cause: Box::new(Error::from_status(Status::new(
                Code::Unavailable,
                "etcdserver: request timed out",
            ))),
        };
        assert!(err.is_outcome_unknown());
        assert_eq!(err.etcd(), Some(EtcdError::Timeout));
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("etcdserver: request timed out")
        );
        assert_eq!(
            Error::NoAvailableEndpoints.to_string(),
            "etcdclient: no available endpoints"
        );
    }

    #[test]
    fn client_side_watch_and_lease_errors_are_typed() {
        let compacted = Error::WatchCompacted {
            compact_revision: 12,
        };
        assert!(compacted.is_compacted());
        assert_eq!(compacted.code(), Code::OutOfRange);

        let denied = Error::WatchCanceled {
            reason: "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
                .into(),
        };
        assert_eq!(denied.etcd(), Some(EtcdError::PermissionDenied));
        assert_eq!(denied.code(), Code::PermissionDenied);
        let empty = Error::WatchCanceled {
            reason: "mvcc: watcher range is empty".into(),
        };
        assert_eq!(empty.etcd(), None);
        assert_eq!(empty.code(), Code::FailedPrecondition);

        let halted = Error::KeepAliveHalted {
            id: 0x1f,
            reason: Box::new(Error::etcd_error(EtcdError::LeaseNotFound)),
        };
        assert_eq!(halted.etcd(), Some(EtcdError::LeaseNotFound));
        assert_eq!(halted.code(), Code::NotFound);
        assert_eq!(
            halted.to_string(),
            "etcdclient: leases keep alive halted: lease 000000000000001f: etcdserver: requested lease not found"
        );
        assert!(halted.source().is_some());
    }
}
