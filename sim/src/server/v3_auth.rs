//! The auth half of the v3 applier (etcd's `apply_auth.go` plus the auth arms of
//! `apply.go`): [`authorize`] checks a logged request against the auth store
//! with the user and auth revision its proposer put in its header, before it
//! runs; [`apply_auth`] runs the Auth requests (users, roles, enable/disable,
//! minting simple tokens).
//!
//! Everything here is deterministic: password hashes and simple-token prefixes
//! were made by the proposer and arrive in the entry (an `AuthUserAdd` /
//! `AuthUserChangePassword` entry carries the bcrypt hash in `password`, never
//! the plain text); the token's index is the entry's raft index.

use super::v3_command::{V3Applied, V3ApplyError};
use super::v3_state::V3Stores;
use crate::auth::v3::{Access, AuthError, AuthStore};
use crate::store::v3::lease::Lessor;
use etcd_sdk::v3::pb::etcdserverpb::{
    AuthDisableResponse, AuthEnableResponse, AuthRoleAddResponse, AuthRoleDeleteResponse,
    AuthRoleGetResponse, AuthRoleGrantPermissionResponse, AuthRoleListResponse,
    AuthRoleRevokePermissionResponse, AuthUserAddResponse, AuthUserChangePasswordResponse,
    AuthUserDeleteResponse, AuthUserGetResponse, AuthUserGrantRoleResponse, AuthUserListResponse,
    AuthUserRevokeRoleResponse, AuthenticateResponse, InternalRaftRequest, RequestHeader,
    RequestOp, ResponseHeader, TxnRequest, request_op,
};
use std::time::Instant;

/// The result of an applied Auth request.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthApplied {
    /// AuthEnable.
    Enable(AuthEnableResponse),
    /// AuthDisable.
    Disable(AuthDisableResponse),
    /// Authenticate: the minted token.
    Authenticate(AuthenticateResponse),
    /// UserAdd.
    UserAdd(AuthUserAddResponse),
    /// UserGet.
    UserGet(AuthUserGetResponse),
    /// UserList.
    UserList(AuthUserListResponse),
    /// UserDelete.
    UserDelete(AuthUserDeleteResponse),
    /// UserChangePassword.
    UserChangePassword(AuthUserChangePasswordResponse),
    /// UserGrantRole.
    UserGrantRole(AuthUserGrantRoleResponse),
    /// UserRevokeRole.
    UserRevokeRole(AuthUserRevokeRoleResponse),
    /// RoleAdd.
    RoleAdd(AuthRoleAddResponse),
    /// RoleGet.
    RoleGet(AuthRoleGetResponse),
    /// RoleList.
    RoleList(AuthRoleListResponse),
    /// RoleDelete.
    RoleDelete(AuthRoleDeleteResponse),
    /// RoleGrantPermission.
    RoleGrantPermission(AuthRoleGrantPermissionResponse),
    /// RoleRevokePermission.
    RoleRevokePermission(AuthRoleRevokePermissionResponse),
}

/// Whether `req` needs the root role (etcd's `needAdminPermission`).
pub fn needs_admin(req: &InternalRaftRequest) -> bool {
    req.auth_enable.is_some()
        || req.auth_disable.is_some()
        || req.auth_user_add.is_some()
        || req.auth_user_delete.is_some()
        || req.auth_user_change_password.is_some()
        || req.auth_user_grant_role.is_some()
        || req.auth_user_revoke_role.is_some()
        || req.auth_role_add.is_some()
        || req.auth_role_grant_permission.is_some()
        || req.auth_role_revoke_permission.is_some()
        || req.auth_role_delete.is_some()
        || req.auth_user_list.is_some()
        || req.auth_role_list.is_some()
}

/// The header of a request the server makes itself (lease expiry): user root
/// at the store's current revision (etcd's `WithRoot`).
pub fn as_root(auth: &AuthStore) -> RequestHeader {
    RequestHeader {
        id: 0,
        username: crate::auth::v3::store::ROOT_USER.to_string(),
        auth_revision: auth.revision(),
    }
}

/// Whether `user` at `revision` may write every key attached to `lease`.
fn check_lease_keys(
    auth: &AuthStore,
    lessor: &Lessor,
    user: &str,
    revision: u64,
    lease: i64,
) -> Result<(), AuthError> {
    if let Some(l) = lessor.get(lease) {
        for key in l.keys() {
            auth.check(user, revision, Access::Write, key, b"")?;
        }
    }
    Ok(())
}

/// The permission checks of a txn's ops (one branch).
fn check_ops(auth: &AuthStore, user: &str, rev: u64, ops: &[RequestOp]) -> Result<(), AuthError> {
    for op in ops {
        match &op.request {
            Some(request_op::Request::RequestRange(r)) => {
                auth.check(user, rev, Access::Read, &r.key, &r.range_end)?;
            }
            Some(request_op::Request::RequestPut(r)) => {
                auth.check(user, rev, Access::Write, &r.key, b"")?;
            }
            Some(request_op::Request::RequestDeleteRange(r)) => {
                if r.prev_kv {
                    auth.check(user, rev, Access::Read, &r.key, &r.range_end)?;
                }
                auth.check(user, rev, Access::Write, &r.key, &r.range_end)?;
            }
            // etcd 3.4.23 checks nothing inside a nested txn (verified live: a
            // user without WRITE on a key puts it through a nested txn).
            Some(request_op::Request::RequestTxn(_)) | None => {}
        }
    }
    Ok(())
}

/// The permission checks of a txn (etcd's `checkTxnAuth`): READ on every
/// compare, then the ops of both branches.
pub fn check_txn(
    auth: &AuthStore,
    user: &str,
    revision: u64,
    txn: &TxnRequest,
) -> Result<(), AuthError> {
    for c in &txn.compare {
        auth.check(user, revision, Access::Read, &c.key, &c.range_end)?;
    }
    check_ops(auth, user, revision, &txn.success)?;
    check_ops(auth, user, revision, &txn.failure)
}

/// Checks `req` against the auth store with the user and auth revision of its
/// header (etcd's `authApplierV3`): admin requests need root; Range, Put,
/// DeleteRange, Txn and LeaseRevoke need their key permissions; UserGet is also
/// allowed for the user itself and RoleGet for a role the user holds. Every
/// check passes while auth is off.
///
/// # Errors
///
/// The auth store's refusal.
pub fn authorize(stores: &V3Stores, req: &InternalRaftRequest) -> Result<(), AuthError> {
    let auth = &stores.auth;
    if !auth.is_enabled() {
        return Ok(());
    }
    let (user, rev) = req
        .header
        .as_ref()
        .map_or(("", 0), |h| (h.username.as_str(), h.auth_revision));
    if needs_admin(req) {
        auth.check_admin(user)?;
    }
    if let Some(r) = &req.range {
        auth.check(user, rev, Access::Read, &r.key, &r.range_end)?;
    }
    if let Some(r) = &req.put {
        auth.check(user, rev, Access::Write, &r.key, b"")?;
        check_lease_keys(auth, &stores.lessor, user, rev, r.lease)?;
        if r.prev_kv {
            auth.check(user, rev, Access::Read, &r.key, b"")?;
        }
    }
    if let Some(r) = &req.delete_range {
        auth.check(user, rev, Access::Write, &r.key, &r.range_end)?;
        if r.prev_kv {
            auth.check(user, rev, Access::Read, &r.key, &r.range_end)?;
        }
    }
    if let Some(t) = &req.txn {
        check_txn(auth, user, rev, t)?;
    }
    if let Some(r) = &req.lease_revoke {
        check_lease_keys(auth, &stores.lessor, user, rev, r.id)?;
    }
    if let Some(r) = &req.auth_user_get
        && r.name != user
    {
        auth.check_admin(user)?;
    }
    if let Some(r) = &req.auth_role_get
        && !auth.has_role(user, &r.role)
    {
        auth.check_admin(user)?;
    }
    Ok(())
}

fn header(stores: &V3Stores) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision: stores.kv.current_revision(),
        ..Default::default()
    })
}

/// Runs the Auth request `req` holds at `now` (when it holds one).
pub fn apply_auth(
    stores: &mut V3Stores,
    req: &InternalRaftRequest,
    now: Instant,
) -> Option<Result<V3Applied, V3ApplyError>> {
    let applied = run(stores, req, now)?;
    Some(
        applied
            .map(|a| V3Applied::Auth(Box::new(a)))
            .map_err(V3ApplyError::Auth),
    )
}

fn run(
    stores: &mut V3Stores,
    req: &InternalRaftRequest,
    now: Instant,
) -> Option<Result<AuthApplied, AuthError>> {
    let h = header(stores);
    let auth = &mut stores.auth;
    let result = if req.auth_enable.is_some() {
        auth.enable()
            .map(|()| AuthApplied::Enable(AuthEnableResponse { header: h }))
    } else if req.auth_disable.is_some() {
        if auth.disable() {
            stores.tokens.clear();
        }
        Ok(AuthApplied::Disable(AuthDisableResponse { header: h }))
    } else if let Some(r) = &req.authenticate {
        let revision = auth.revision();
        auth.may_authenticate(&r.name).and_then(|()| {
            let index = stores.applied_index;
            let token = if index <= stores.replay_until {
                // Replayed after a restart: nobody waits for this token.
                format!("{}.{index}", r.simple_token)
            } else {
                stores
                    .tokens
                    .assign(&r.name, &r.simple_token, index, revision, now)?
            };
            Ok(AuthApplied::Authenticate(AuthenticateResponse {
                header: h,
                token,
            }))
        })
    } else if let Some(r) = &req.auth_user_add {
        let no_password = r.options.as_ref().is_some_and(|o| o.no_password);
        auth.user_add(&r.name, &r.password, no_password)
            .map(|()| AuthApplied::UserAdd(AuthUserAddResponse { header: h }))
    } else if let Some(r) = &req.auth_user_delete {
        auth.user_delete(&r.name).map(|()| {
            stores.tokens.invalidate_user(&r.name);
            AuthApplied::UserDelete(AuthUserDeleteResponse { header: h })
        })
    } else if let Some(r) = &req.auth_user_change_password {
        auth.user_change_password(&r.name, &r.password).map(|()| {
            stores.tokens.invalidate_user(&r.name);
            AuthApplied::UserChangePassword(AuthUserChangePasswordResponse { header: h })
        })
    } else if let Some(r) = &req.auth_user_get {
        auth.user_get(&r.name)
            .map(|roles| AuthApplied::UserGet(AuthUserGetResponse { header: h, roles }))
    } else if req.auth_user_list.is_some() {
        Ok(AuthApplied::UserList(AuthUserListResponse {
            header: h,
            users: auth.user_list(),
        }))
    } else if let Some(r) = &req.auth_user_grant_role {
        auth.user_grant_role(&r.user, &r.role)
            .map(|()| AuthApplied::UserGrantRole(AuthUserGrantRoleResponse { header: h }))
    } else if let Some(r) = &req.auth_user_revoke_role {
        auth.user_revoke_role(&r.name, &r.role)
            .map(|()| AuthApplied::UserRevokeRole(AuthUserRevokeRoleResponse { header: h }))
    } else if let Some(r) = &req.auth_role_add {
        auth.role_add(&r.name)
            .map(|()| AuthApplied::RoleAdd(AuthRoleAddResponse { header: h }))
    } else if let Some(r) = &req.auth_role_delete {
        auth.role_delete(&r.role)
            .map(|()| AuthApplied::RoleDelete(AuthRoleDeleteResponse { header: h }))
    } else if let Some(r) = &req.auth_role_get {
        auth.role_get(&r.role)
            .map(|perm| AuthApplied::RoleGet(AuthRoleGetResponse { header: h, perm }))
    } else if req.auth_role_list.is_some() {
        Ok(AuthApplied::RoleList(AuthRoleListResponse {
            header: h,
            roles: auth.role_list(),
        }))
    } else if let Some(r) = &req.auth_role_grant_permission {
        let perm = r.perm.clone().unwrap_or_default();
        auth.role_grant_permission(&r.name, perm).map(|()| {
            AuthApplied::RoleGrantPermission(AuthRoleGrantPermissionResponse { header: h })
        })
    } else if let Some(r) = &req.auth_role_revoke_permission {
        auth.role_revoke_permission(&r.role, &r.key, &r.range_end)
            .map(|()| {
                AuthApplied::RoleRevokePermission(AuthRoleRevokePermissionResponse { header: h })
            })
    } else {
        return None;
    };
    Some(result)
}

#[cfg(test)]
#[path = "v3_auth_tests.rs"]
mod tests;
