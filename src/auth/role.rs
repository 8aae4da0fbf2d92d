//! [`AuthRoleAPI`] over HTTP (Go's `httpAuthRoleAPI`): `/v2/auth/roles`.

use super::response::{collection_path, decode, expect_status, item_path, once_if_write};
use super::{AuthRoleAPI, PermissionType, Permissions, Role, RwPermission};
use crate::client::shared::per_call_bounds;
use crate::client::{Caller, Request, SharedClient};
use crate::error::{Error, Result};
use crate::wire::to_go_json;
use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Deserialize;

/// The HTTP [`AuthRoleAPI`]; build it with [`new_auth_role_api`].
#[derive(Clone)]
pub struct HttpAuthRoleAPI {
    caller: Caller,
}

per_call_bounds!(HttpAuthRoleAPI);

impl std::fmt::Debug for HttpAuthRoleAPI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAuthRoleAPI").finish_non_exhaustive()
    }
}

/// An [`AuthRoleAPI`] that sends its requests through `client` (by value, in an `Arc`, or as
/// an `Arc<dyn Client>`: see [`SharedClient`]; Go's `NewAuthRoleAPI`).
pub fn new_auth_role_api(client: impl Into<SharedClient>) -> HttpAuthRoleAPI {
    HttpAuthRoleAPI {
        caller: Caller::new(client),
    }
}

/// The part of `GET /v2/auth/roles` the list needs.
#[derive(Deserialize)]
struct RoleNames {
    #[serde(default)]
    roles: Option<Vec<RoleName>>,
}

#[derive(Deserialize)]
struct RoleName {
    role: String,
}

/// The key patterns of a grant or revoke; the permission type not chosen stays `null`.
fn rw_permission(prefixes: &[String], perm: PermissionType) -> RwPermission {
    let list = || Some(prefixes.to_vec());
    match perm {
        PermissionType::Read => RwPermission {
            read: list(),
            write: None,
        },
        PermissionType::Write => RwPermission {
            read: None,
            write: list(),
        },
        PermissionType::ReadWrite => RwPermission {
            read: list(),
            write: list(),
        },
    }
}

impl HttpAuthRoleAPI {
    /// Sends `req`; the answer must be 200 or 201.
    async fn add_remove(&self, req: Request) -> Result<()> {
        let resp = self.caller.send(once_if_write(req)).await?;
        expect_status(&resp, &[StatusCode::OK, StatusCode::CREATED])
    }

    /// Sends `req`; the answer must be 200 with the role.
    async fn modify(&self, req: Request) -> Result<Role> {
        let resp = self.caller.send(once_if_write(req)).await?;
        expect_status(&resp, &[StatusCode::OK])?;
        decode(&resp)
    }

    fn put(role: &Role) -> Result<Request> {
        Ok(Request::new(Method::PUT, item_path("roles", &role.role)?).json(to_go_json(role)))
    }
}

#[async_trait]
impl AuthRoleAPI for HttpAuthRoleAPI {
    async fn add_role(&self, role: &str) -> Result<()> {
        self.add_remove(Self::put(&Role {
            role: role.to_string(),
            ..Default::default()
        })?)
        .await
    }

    async fn remove_role(&self, role: &str) -> Result<()> {
        self.add_remove(Request::new(Method::DELETE, item_path("roles", role)?))
            .await
    }

    async fn get_role(&self, role: &str) -> Result<Role> {
        self.modify(Request::new(Method::GET, item_path("roles", role)?))
            .await
    }

    async fn grant_role_kv(
        &self,
        role: &str,
        prefixes: &[String],
        perm: PermissionType,
    ) -> Result<Role> {
        let grant = Permissions {
            kv: rw_permission(prefixes, perm),
        };
        self.modify(Self::put(&Role {
            role: role.to_string(),
            grant: Some(grant),
            ..Default::default()
        })?)
        .await
    }

    async fn revoke_role_kv(
        &self,
        role: &str,
        prefixes: &[String],
        perm: PermissionType,
    ) -> Result<Role> {
        let revoke = Permissions {
            kv: rw_permission(prefixes, perm),
        };
        self.modify(Self::put(&Role {
            role: role.to_string(),
            revoke: Some(revoke),
            ..Default::default()
        })?)
        .await
    }

    /// Unlike the other calls, a refusal is [`Error::UnexpectedStatus`] (Go does
    /// not decode the message here).
    async fn list_roles(&self) -> Result<Vec<String>> {
        // Go sets the JSON Content-Type even on this GET.
        let req = Request::new(Method::GET, collection_path("roles")).json(Vec::new());
        let resp = self.caller.send(once_if_write(req)).await?;
        if resp.status != StatusCode::OK {
            return Err(Error::UnexpectedStatus(resp.status.as_u16()));
        }
        let list: RoleNames = decode(&resp)?;
        Ok(list
            .roles
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.role)
            .collect())
    }
}
