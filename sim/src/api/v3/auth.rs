//! The `etcdserverpb.Auth` service (etcd's `v3rpc/auth.go` and the auth calls of
//! `v3_server.go`). Every RPC goes through the log, stamped with the caller's
//! user and auth revision; the applier (`crate::server::v3_auth`) checks the
//! admin rights and runs it. Refusals carry etcd's codes and texts.
//!
//! - UserAdd and UserChangePassword hash the password with bcrypt at
//!   `--bcrypt-cost` *before* proposing, so the entry carries the hash (never
//!   the plain text) and applying stays cheap; a `no_password` user gets none.
//! - Authenticate checks the password against the local store's hash, then
//!   proposes an entry with a fresh random token prefix; the applier mints
//!   `<prefix>.<index>`. When the auth store changed in between, it starts over
//!   (etcd's loop).
//!
//! bcrypt (about 73 ms at cost 10) never runs on the async workers: real builds
//! run it on tokio's blocking pool (`spawn_blocking`). In sim builds madsim's
//! `spawn_blocking` is only a task on the one simulation thread, so the work
//! runs inline there: it takes no virtual time, stalls nothing simulated, and
//! keeps the run deterministic (the salt is drawn from the seeded RNG first).

use super::auth_info::{Credentials, stamped};
use super::error::unexpected;
use super::header::fill;
use super::learner::{Rpc, check_learner};
use super::metadata::check_leader;
use super::propose::propose;
use crate::auth::v3::AuthError;
use crate::auth::v3::password;
use crate::auth::v3::token::gen_prefix;
use crate::server::v3_auth::AuthApplied;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use etcd_sdk::v3::pb::etcdserverpb::auth_server::Auth;
use etcd_sdk::v3::pb::etcdserverpb::{
    AuthDisableRequest, AuthDisableResponse, AuthEnableRequest, AuthEnableResponse,
    AuthRoleAddRequest, AuthRoleAddResponse, AuthRoleDeleteRequest, AuthRoleDeleteResponse,
    AuthRoleGetRequest, AuthRoleGetResponse, AuthRoleGrantPermissionRequest,
    AuthRoleGrantPermissionResponse, AuthRoleListRequest, AuthRoleListResponse,
    AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse, AuthUserAddRequest,
    AuthUserAddResponse, AuthUserChangePasswordRequest, AuthUserChangePasswordResponse,
    AuthUserDeleteRequest, AuthUserDeleteResponse, AuthUserGetRequest, AuthUserGetResponse,
    AuthUserGrantRoleRequest, AuthUserGrantRoleResponse, AuthUserListRequest, AuthUserListResponse,
    AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse, AuthenticateRequest,
    AuthenticateResponse, InternalAuthenticateRequest, InternalRaftRequest,
};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use std::sync::Arc;

/// The Auth service of one member.
#[derive(Clone)]
pub struct AuthService {
    backend: Arc<dyn V3Backend>,
    /// The bcrypt cost of new hashes (etcd's bounds applied).
    cost: u32,
}

/// Runs `f` away from the async workers (see the module docs).
async fn off_workers<T, F>(f: F) -> Result<T, Status>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    #[cfg(not(madsim))]
    {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Status::internal(format!("etcdserver: bcrypt task failed: {e}")))
    }
    #[cfg(madsim)]
    {
        Ok(f())
    }
}

/// Hashes `password` at `cost` off the workers.
async fn hash_off_workers(password: String, cost: u32) -> Result<String, Status> {
    let salt = password::salt();
    off_workers(move || password::hash(&password, cost, salt))
        .await?
        .map_err(|e| Status::internal(e.to_string()))
}

impl AuthService {
    /// The Auth service over `backend` (its limits give the bcrypt cost).
    pub fn new(backend: Arc<dyn V3Backend>) -> AuthService {
        let cost = password::effective_cost(backend.limits().bcrypt_cost);
        AuthService { backend, cost }
    }

    /// Proposes `entry` as the caller of `creds` and returns the auth result.
    async fn call(
        &self,
        creds: Credentials<'_>,
        entry: InternalRaftRequest,
    ) -> Result<AuthApplied, Status> {
        let backend = self.backend.as_ref();
        check_learner(backend, Rpc::Other)?;
        check_leader(creds.metadata(), backend)?;
        let entry = stamped(creds, backend, entry).await?;
        match propose(backend, entry).await? {
            V3Applied::Auth(a) => Ok(*a),
            _ => Err(unexpected("an auth request")),
        }
    }

    /// The serve-time half of Authenticate: the hash and the auth revision it
    /// was read at, and the password verified off the workers.
    async fn check_password(&self, name: &str, password: String) -> Result<u64, Status> {
        let found = {
            let stores = self.backend.v3_stores();
            let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.auth.password_of(name)
        };
        let (hash, revision) = found.map_err(|e| super::auth_info::auth_status(&e))?;
        let matched = off_workers(move || password::verify(&hash, &password)).await?;
        if !matched {
            tracing::info!(user = name, "auth: invalid password");
            return Err(super::auth_info::auth_status(&AuthError::AuthFailed));
        }
        Ok(revision)
    }

    fn auth_revision(&self) -> u64 {
        let stores = self.backend.v3_stores();
        let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
        stores.auth.revision()
    }
}

/// One Auth RPC: the request in its entry field, the result's variant, the
/// header filled.
macro_rules! rpc {
    ($self:ident, $req:ident, $field:ident, $variant:ident) => {{
        let (meta, ext) = ($req.metadata().clone(), $req.extensions().clone());
        let entry = InternalRaftRequest {
            $field: Some($req.into_inner()),
            ..Default::default()
        };
        match $self.call(Credentials::new(&meta, &ext), entry).await? {
            AuthApplied::$variant(mut resp) => {
                fill(&mut resp.header, &$self.backend.header());
                Ok(Response::new(resp))
            }
            _ => Err(unexpected(stringify!($field))),
        }
    }};
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn auth_enable(
        &self,
        req: Request<AuthEnableRequest>,
    ) -> Result<Response<AuthEnableResponse>, Status> {
        rpc!(self, req, auth_enable, Enable)
    }

    async fn auth_disable(
        &self,
        req: Request<AuthDisableRequest>,
    ) -> Result<Response<AuthDisableResponse>, Status> {
        rpc!(self, req, auth_disable, Disable)
    }

    async fn authenticate(
        &self,
        req: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let (meta, ext) = (req.metadata().clone(), req.extensions().clone());
        let AuthenticateRequest { name, password } = req.into_inner();
        loop {
            let checked = self.check_password(&name, password.clone()).await?;
            let entry = InternalRaftRequest {
                authenticate: Some(InternalAuthenticateRequest {
                    name: name.clone(),
                    password: String::new(),
                    simple_token: gen_prefix(),
                }),
                ..Default::default()
            };
            let AuthApplied::Authenticate(mut resp) =
                self.call(Credentials::new(&meta, &ext), entry).await?
            else {
                return Err(unexpected("authenticate"));
            };
            if checked == self.auth_revision() {
                fill(&mut resp.header, &self.backend.header());
                return Ok(Response::new(resp));
            }
            tracing::info!("auth: revision when the password was checked became stale; retrying");
        }
    }

    async fn user_add(
        &self,
        req: Request<AuthUserAddRequest>,
    ) -> Result<Response<AuthUserAddResponse>, Status> {
        let meta = req.metadata().clone();
        let mut r = req.into_inner();
        let no_password = r.options.as_ref().is_some_and(|o| o.no_password);
        r.password = if no_password {
            String::new()
        } else {
            hash_off_workers(std::mem::take(&mut r.password), self.cost).await?
        };
        let mut req = Request::new(r);
        *req.metadata_mut() = meta;
        rpc!(self, req, auth_user_add, UserAdd)
    }

    async fn user_get(
        &self,
        req: Request<AuthUserGetRequest>,
    ) -> Result<Response<AuthUserGetResponse>, Status> {
        rpc!(self, req, auth_user_get, UserGet)
    }

    async fn user_list(
        &self,
        req: Request<AuthUserListRequest>,
    ) -> Result<Response<AuthUserListResponse>, Status> {
        rpc!(self, req, auth_user_list, UserList)
    }

    async fn user_delete(
        &self,
        req: Request<AuthUserDeleteRequest>,
    ) -> Result<Response<AuthUserDeleteResponse>, Status> {
        rpc!(self, req, auth_user_delete, UserDelete)
    }

    async fn user_change_password(
        &self,
        req: Request<AuthUserChangePasswordRequest>,
    ) -> Result<Response<AuthUserChangePasswordResponse>, Status> {
        let meta = req.metadata().clone();
        let mut r = req.into_inner();
        r.password = hash_off_workers(std::mem::take(&mut r.password), self.cost).await?;
        let mut req = Request::new(r);
        *req.metadata_mut() = meta;
        rpc!(self, req, auth_user_change_password, UserChangePassword)
    }

    async fn user_grant_role(
        &self,
        req: Request<AuthUserGrantRoleRequest>,
    ) -> Result<Response<AuthUserGrantRoleResponse>, Status> {
        rpc!(self, req, auth_user_grant_role, UserGrantRole)
    }

    async fn user_revoke_role(
        &self,
        req: Request<AuthUserRevokeRoleRequest>,
    ) -> Result<Response<AuthUserRevokeRoleResponse>, Status> {
        rpc!(self, req, auth_user_revoke_role, UserRevokeRole)
    }

    async fn role_add(
        &self,
        req: Request<AuthRoleAddRequest>,
    ) -> Result<Response<AuthRoleAddResponse>, Status> {
        rpc!(self, req, auth_role_add, RoleAdd)
    }

    async fn role_get(
        &self,
        req: Request<AuthRoleGetRequest>,
    ) -> Result<Response<AuthRoleGetResponse>, Status> {
        rpc!(self, req, auth_role_get, RoleGet)
    }

    async fn role_list(
        &self,
        req: Request<AuthRoleListRequest>,
    ) -> Result<Response<AuthRoleListResponse>, Status> {
        rpc!(self, req, auth_role_list, RoleList)
    }

    async fn role_delete(
        &self,
        req: Request<AuthRoleDeleteRequest>,
    ) -> Result<Response<AuthRoleDeleteResponse>, Status> {
        rpc!(self, req, auth_role_delete, RoleDelete)
    }

    async fn role_grant_permission(
        &self,
        req: Request<AuthRoleGrantPermissionRequest>,
    ) -> Result<Response<AuthRoleGrantPermissionResponse>, Status> {
        rpc!(self, req, auth_role_grant_permission, RoleGrantPermission)
    }

    async fn role_revoke_permission(
        &self,
        req: Request<AuthRoleRevokePermissionRequest>,
    ) -> Result<Response<AuthRoleRevokePermissionResponse>, Status> {
        rpc!(self, req, auth_role_revoke_permission, RoleRevokePermission)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
