//! [`AuthError`]: why the v3 auth store refused something, with etcd 3.4's raw
//! `auth: …` texts (`auth/store.go`) and the typed error each one is sent as
//! (`rpctypes`), when it is one.

use etcd_sdk::v3::EtcdError;

/// A refusal of the v3 auth store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Enable without a user `root`.
    #[error("auth: root user does not exist")]
    RootUserNotExist,
    /// Enable while `root` lacks the role `root`.
    #[error("auth: root user does not have root role")]
    RootRoleNotExist,
    /// A user add with a name in use.
    #[error("auth: user already exists")]
    UserAlreadyExist,
    /// An empty user name, or no token while auth is on.
    #[error("auth: user name is empty")]
    UserEmpty,
    /// No such user.
    #[error("auth: user not found")]
    UserNotFound,
    /// A role add with a name in use.
    #[error("auth: role already exists")]
    RoleAlreadyExist,
    /// No such role.
    #[error("auth: role not found")]
    RoleNotFound,
    /// An empty role name.
    #[error("auth: role name is empty")]
    RoleEmpty,
    /// Unknown user or wrong password.
    #[error("auth: authentication failed, invalid user ID or password")]
    AuthFailed,
    /// A password check of a user added with `no_password` (etcd sends this
    /// raw, as gRPC Unknown).
    #[error("auth: authentication failed, password was given for no password user")]
    NoPasswordUser,
    /// The user may not do this.
    #[error("auth: permission denied")]
    PermissionDenied,
    /// A revoke of a role the user does not hold.
    #[error("auth: role is not granted to the user")]
    RoleNotGranted,
    /// A revoke of a permission the role does not hold.
    #[error("auth: permission is not granted to the role")]
    PermissionNotGranted,
    /// An auth call that needs auth on.
    #[error("auth: authentication is not enabled")]
    AuthNotEnabled,
    /// The request was checked at an older auth revision.
    #[error("auth: revision in header is old")]
    AuthOldRevision,
    /// An unknown or expired token.
    #[error("auth: invalid auth token")]
    InvalidAuthToken,
    /// A change that would break root's protections while auth is on.
    #[error("auth: invalid auth management")]
    InvalidAuthMgmt,
    /// bcrypt failed to hash a password.
    #[error("auth: bcrypt: {0}")]
    Hash(String),
    /// An Authenticate on a member whose JWT provider has only a public key.
    #[error("auth: token signing attempted with verify-only key")]
    VerifyOnly,
    /// Signing a JWT failed.
    #[error("auth: signing a JWT: {0}")]
    Sign(String),
}

impl AuthError {
    /// The typed etcd error this goes out as, or `None` when etcd sends the
    /// raw text with gRPC code Unknown.
    pub fn etcd_error(&self) -> Option<EtcdError> {
        Some(match self {
            AuthError::RootUserNotExist => EtcdError::RootUserNotExist,
            AuthError::RootRoleNotExist => EtcdError::RootRoleNotExist,
            AuthError::UserAlreadyExist => EtcdError::UserAlreadyExist,
            AuthError::UserEmpty => EtcdError::UserEmpty,
            AuthError::UserNotFound => EtcdError::UserNotFound,
            AuthError::RoleAlreadyExist => EtcdError::RoleAlreadyExist,
            AuthError::RoleNotFound => EtcdError::RoleNotFound,
            AuthError::RoleEmpty => EtcdError::RoleEmpty,
            AuthError::AuthFailed => EtcdError::AuthFailed,
            AuthError::PermissionDenied => EtcdError::PermissionDenied,
            AuthError::RoleNotGranted => EtcdError::RoleNotGranted,
            AuthError::PermissionNotGranted => EtcdError::PermissionNotGranted,
            AuthError::AuthNotEnabled => EtcdError::AuthNotEnabled,
            AuthError::AuthOldRevision => EtcdError::AuthOldRevision,
            AuthError::InvalidAuthToken => EtcdError::InvalidAuthToken,
            AuthError::InvalidAuthMgmt => EtcdError::InvalidAuthMgmt,
            AuthError::NoPasswordUser
            | AuthError::Hash(_)
            | AuthError::VerifyOnly
            | AuthError::Sign(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::tonic::Code;

    #[test]
    fn typed_errors_carry_etcds_codes_and_texts() {
        let cases = [
            (
                AuthError::UserEmpty,
                Code::InvalidArgument,
                "etcdserver: user name is empty",
            ),
            (
                AuthError::PermissionDenied,
                Code::PermissionDenied,
                "etcdserver: permission denied",
            ),
            (
                AuthError::InvalidAuthToken,
                Code::Unauthenticated,
                "etcdserver: invalid auth token",
            ),
            (
                AuthError::RootRoleNotExist,
                Code::FailedPrecondition,
                "etcdserver: root user does not have root role",
            ),
            (
                AuthError::AuthOldRevision,
                Code::InvalidArgument,
                "etcdserver: revision of auth store is old",
            ),
        ];
        for (e, code, text) in cases {
            let x = e.etcd_error().unwrap();
            assert_eq!((x.code(), x.message()), (code, text), "{e:?}");
        }
        assert_eq!(AuthError::NoPasswordUser.etcd_error(), None);
        assert!(
            AuthError::NoPasswordUser
                .to_string()
                .contains("no password user")
        );
    }
}
