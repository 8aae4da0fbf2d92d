//! The error of a v2 auth operation, shaped by how etcd writes it (spec §3.4, §6.2).

use crate::store::v2::StoreError;
use http::StatusCode;

/// A failed auth operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// etcd's `v2auth.Error`: a status and a message that starts with `auth: `,
    /// sent as `{"message":..}`.
    #[error("{message}")]
    Auth {
        /// The HTTP status.
        status: StatusCode,
        /// The full message, `auth: ` included.
        message: String,
    },
    /// A v2 store error from an internal read or write, sent as a key error body.
    #[error(transparent)]
    Store(StoreError),
    /// Anything else (replication failure, undecodable stored data): 500
    /// `{"message":"Internal Server Error"}`.
    #[error("{0}")]
    Internal(String),
}

impl AuthError {
    /// An `auth: <message>` error with `status`.
    pub fn auth(status: StatusCode, message: impl std::fmt::Display) -> Self {
        AuthError::Auth {
            status,
            message: format!("auth: {message}"),
        }
    }

    /// Whether this is the store's "key not found" (100).
    pub fn is_not_found(&self) -> bool {
        matches!(self, AuthError::Store(e) if e.code == etcd_sdk::wire::ErrorCode::KEY_NOT_FOUND)
    }

    /// Whether this is the store's "key already exists" (105).
    pub fn is_node_exist(&self) -> bool {
        matches!(self, AuthError::Store(e) if e.code == etcd_sdk::wire::ErrorCode::NODE_EXIST)
    }
}

/// A specialised `Result`.
pub type Result<T> = std::result::Result<T, AuthError>;

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::wire::ErrorCode;

    #[test]
    fn auth_messages_carry_the_prefix_and_codes_are_recognised() {
        let e = AuthError::auth(StatusCode::CONFLICT, "already enabled");
        assert_eq!(e.to_string(), "auth: already enabled");
        let nf = AuthError::Store(StoreError::new(ErrorCode::KEY_NOT_FOUND, "/2/x", 3));
        assert!(nf.is_not_found() && !nf.is_node_exist());
        let ex = AuthError::Store(StoreError::new(ErrorCode::NODE_EXIST, "/2/x", 3));
        assert!(ex.is_node_exist() && !ex.is_not_found());
        assert!(!e.is_not_found());
    }
}
