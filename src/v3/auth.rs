//! The [`Auth`] trait (Go's `clientv3.Auth`): turning auth on and off, users,
//! roles and their permissions; typed responses; the implementation by
//! [`Client`].

use super::client::{Client, Retry};
use super::error::{Error, Result};
use super::op::KeyRange;
use super::pb::authpb::{self, UserAddOptions as PbUserAddOptions};
use super::pb::etcdserverpb::{
    AuthDisableRequest, AuthEnableRequest, AuthRoleAddRequest, AuthRoleDeleteRequest,
    AuthRoleGetRequest, AuthRoleGrantPermissionRequest, AuthRoleListRequest,
    AuthRoleRevokePermissionRequest, AuthUserAddRequest, AuthUserChangePasswordRequest,
    AuthUserDeleteRequest, AuthUserGetRequest, AuthUserGrantRoleRequest, AuthUserListRequest,
    AuthUserRevokeRoleRequest, AuthenticateRequest,
};
use async_trait::async_trait;

pub use super::pb::etcdserverpb::ResponseHeader;

/// What a permission allows (Go's `PermRead`, `PermWrite`, `PermReadWrite`).
pub use super::pb::authpb::permission::Type as PermissionType;

/// One permission of a role: a key or a range of keys, and what it allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permission {
    /// Read, write or both.
    pub perm_type: PermissionType,
    /// The first key.
    pub key: Vec<u8>,
    /// The end of the range (exclusive): empty for `key` alone, `"\0"` for
    /// every key from `key` on.
    pub range_end: Vec<u8>,
}

impl Permission {
    /// A permission on `key` alone.
    pub fn key(perm_type: PermissionType, key: impl Into<Vec<u8>>) -> Permission {
        Permission::range(perm_type, key, KeyRange::Single)
    }

    /// A permission on every key starting with `prefix` (etcdctl's
    /// `--prefix`); an empty prefix means every key.
    ///
    /// ```
    /// use etcd_sdk::v3::{Permission, PermissionType};
    /// let p = Permission::prefix(PermissionType::Read, "/a");
    /// assert_eq!((p.key, p.range_end), (b"/a".to_vec(), b"/b".to_vec()));
    /// ```
    pub fn prefix(perm_type: PermissionType, prefix: impl Into<Vec<u8>>) -> Permission {
        Permission::range(perm_type, prefix, KeyRange::Prefix)
    }

    /// A permission on every key from `key` on (etcdctl's `--from-key`).
    pub fn from_key(perm_type: PermissionType, key: impl Into<Vec<u8>>) -> Permission {
        Permission::range(perm_type, key, KeyRange::FromKey)
    }

    /// A permission on `key` and the keys `range` adds to it.
    pub fn range(
        perm_type: PermissionType,
        key: impl Into<Vec<u8>>,
        range: KeyRange,
    ) -> Permission {
        let (key, range_end) = range.encode(key.into());
        Permission {
            perm_type,
            key,
            range_end,
        }
    }

    fn into_pb(self) -> authpb::Permission {
        authpb::Permission {
            perm_type: self.perm_type as i32,
            key: self.key,
            range_end: self.range_end,
        }
    }

    fn from_pb(p: authpb::Permission) -> Result<Permission> {
        let perm_type = PermissionType::try_from(p.perm_type).map_err(|_| {
            Error::InvalidResponse(format!("unknown permission type {}", p.perm_type))
        })?;
        Ok(Permission {
            perm_type,
            key: p.key,
            range_end: p.range_end,
        })
    }
}

/// Options of a user add (Go's `UserAddOptions`). `Default`: a user who
/// logs in with a password.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAddOptions {
    /// The user has no password and cannot authenticate with one (for
    /// users who authenticate by TLS common name).
    pub no_password: bool,
}

/// The result of an auth call that returns nothing but a header (enable,
/// disable, user add/delete/change-password/grant/revoke, role
/// add/delete/grant/revoke).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
}

/// The result of an authenticate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuthenticateResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The token to send as the `token` metadata of later calls.
    pub token: String,
}

/// The result of a user get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserGetResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The user's roles, sorted.
    pub roles: Vec<String>,
}

/// The result of a user list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserListResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// Every user's name, sorted.
    pub users: Vec<String>,
}

/// The result of a role get.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleGetResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The role's permissions.
    pub perm: Vec<Permission>,
}

/// The result of a role list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleListResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// Every role's name, sorted.
    pub roles: Vec<String>,
}

/// Auth calls (Go's `clientv3.Auth`). With auth on, every call but
/// [`Auth::authenticate`] needs the `root` role, except that a user may get
/// itself and the roles it holds. The gets and lists are repeatable; the
/// changes are not (a change cut short after it may have been sent fails
/// with [`Error::OutcomeUnknown`]).
#[async_trait]
pub trait Auth: Send + Sync {
    /// Turns auth on (needs user `root` holding role `root`).
    async fn auth_enable(&self) -> Result<AuthResponse>;

    /// Turns auth off.
    async fn auth_disable(&self) -> Result<AuthResponse>;

    /// Fetches a token for `name` (this does not change the token the client
    /// itself sends, which comes from [`crate::v3::Config::username`]).
    async fn authenticate(&self, name: &str, password: &str) -> Result<AuthenticateResponse>;

    /// Adds a user.
    async fn user_add(
        &self,
        name: &str,
        password: &str,
        opts: UserAddOptions,
    ) -> Result<AuthResponse>;

    /// A user's roles.
    async fn user_get(&self, name: &str) -> Result<UserGetResponse>;

    /// Every user.
    async fn user_list(&self) -> Result<UserListResponse>;

    /// Deletes a user.
    async fn user_delete(&self, name: &str) -> Result<AuthResponse>;

    /// Sets a user's password (its simple tokens stop working).
    async fn user_change_password(&self, name: &str, password: &str) -> Result<AuthResponse>;

    /// Grants a role to a user.
    async fn user_grant_role(&self, user: &str, role: &str) -> Result<AuthResponse>;

    /// Revokes a role from a user.
    async fn user_revoke_role(&self, user: &str, role: &str) -> Result<AuthResponse>;

    /// Adds a role.
    async fn role_add(&self, name: &str) -> Result<AuthResponse>;

    /// A role's permissions.
    async fn role_get(&self, name: &str) -> Result<RoleGetResponse>;

    /// Every role.
    async fn role_list(&self) -> Result<RoleListResponse>;

    /// Deletes a role.
    async fn role_delete(&self, name: &str) -> Result<AuthResponse>;

    /// Grants a permission to a role (one on the same key and range end is
    /// replaced).
    async fn role_grant_permission(&self, name: &str, perm: Permission) -> Result<AuthResponse>;

    /// Revokes the role's permission on `[key, range_end)` (`range_end`
    /// empty: `key` alone).
    async fn role_revoke_permission(
        &self,
        name: &str,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<AuthResponse>;
}

/// One auth call: `$method` of the Auth service with request `$req`,
/// header-only response.
macro_rules! auth_call {
    ($self:ident, $retry:expr, $method:ident, $req:expr) => {{
        let req = $req;
        $self
            .unary($retry, |c, d| {
                let mut auth = c.auth_client();
                let req = c.request(req.clone(), d);
                async move { auth.$method(req).await }
            })
            .await?
    }};
}

#[async_trait]
impl Auth for Client {
    async fn auth_enable(&self) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            auth_enable,
            AuthEnableRequest {}
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn auth_disable(&self) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            auth_disable,
            AuthDisableRequest {}
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn authenticate(&self, name: &str, password: &str) -> Result<AuthenticateResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            authenticate,
            AuthenticateRequest {
                name: name.into(),
                password: password.into(),
            }
        );
        Ok(AuthenticateResponse {
            header: r.header,
            token: r.token,
        })
    }

    async fn user_add(
        &self,
        name: &str,
        password: &str,
        opts: UserAddOptions,
    ) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            user_add,
            AuthUserAddRequest {
                name: name.into(),
                password: password.into(),
                options: Some(PbUserAddOptions {
                    no_password: opts.no_password,
                }),
            }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn user_get(&self, name: &str) -> Result<UserGetResponse> {
        let r = auth_call!(
            self,
            Retry::Repeatable,
            user_get,
            AuthUserGetRequest { name: name.into() }
        );
        Ok(UserGetResponse {
            header: r.header,
            roles: r.roles,
        })
    }

    async fn user_list(&self) -> Result<UserListResponse> {
        let r = auth_call!(self, Retry::Repeatable, user_list, AuthUserListRequest {});
        Ok(UserListResponse {
            header: r.header,
            users: r.users,
        })
    }

    async fn user_delete(&self, name: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            user_delete,
            AuthUserDeleteRequest { name: name.into() }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn user_change_password(&self, name: &str, password: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            user_change_password,
            AuthUserChangePasswordRequest {
                name: name.into(),
                password: password.into(),
            }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn user_grant_role(&self, user: &str, role: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            user_grant_role,
            AuthUserGrantRoleRequest {
                user: user.into(),
                role: role.into(),
            }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn user_revoke_role(&self, user: &str, role: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            user_revoke_role,
            AuthUserRevokeRoleRequest {
                name: user.into(),
                role: role.into(),
            }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn role_add(&self, name: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            role_add,
            AuthRoleAddRequest { name: name.into() }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn role_get(&self, name: &str) -> Result<RoleGetResponse> {
        let r = auth_call!(
            self,
            Retry::Repeatable,
            role_get,
            AuthRoleGetRequest { role: name.into() }
        );
        let perm = r
            .perm
            .into_iter()
            .map(Permission::from_pb)
            .collect::<Result<_>>()?;
        Ok(RoleGetResponse {
            header: r.header,
            perm,
        })
    }

    async fn role_list(&self) -> Result<RoleListResponse> {
        let r = auth_call!(self, Retry::Repeatable, role_list, AuthRoleListRequest {});
        Ok(RoleListResponse {
            header: r.header,
            roles: r.roles,
        })
    }

    async fn role_delete(&self, name: &str) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            role_delete,
            AuthRoleDeleteRequest { role: name.into() }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn role_grant_permission(&self, name: &str, perm: Permission) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            role_grant_permission,
            AuthRoleGrantPermissionRequest {
                name: name.into(),
                perm: Some(perm.into_pb()),
            }
        );
        Ok(AuthResponse { header: r.header })
    }

    async fn role_revoke_permission(
        &self,
        name: &str,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<AuthResponse> {
        let r = auth_call!(
            self,
            Retry::NonRepeatable,
            role_revoke_permission,
            AuthRoleRevokePermissionRequest {
                role: name.into(),
                key: key.to_vec(),
                range_end: range_end.to_vec(),
            }
        );
        Ok(AuthResponse { header: r.header })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_helpers_encode_ranges_as_etcdctl_does() {
        let k = Permission::key(PermissionType::Write, "k");
        assert_eq!(
            (k.key.as_slice(), k.range_end.as_slice()),
            (&b"k"[..], &b""[..])
        );
        let p = Permission::prefix(PermissionType::Readwrite, "/a");
        assert_eq!(
            (p.key.as_slice(), p.range_end.as_slice()),
            (&b"/a"[..], &b"/b"[..])
        );
        let f = Permission::from_key(PermissionType::Read, "m");
        assert_eq!(
            (f.key.as_slice(), f.range_end.as_slice()),
            (&b"m"[..], &b"\0"[..])
        );
        let all = Permission::prefix(PermissionType::Read, "");
        assert_eq!(
            (all.key.as_slice(), all.range_end.as_slice()),
            (&b"\0"[..], &b"\0"[..])
        );

        let wire = p.clone().into_pb();
        assert_eq!(wire.perm_type, 2);
        assert_eq!(Permission::from_pb(wire).unwrap(), p);
        let bad = authpb::Permission {
            perm_type: 7,
            ..Default::default()
        };
        assert!(matches!(
            Permission::from_pb(bad),
            Err(Error::InvalidResponse(_))
        ));
    }
}
