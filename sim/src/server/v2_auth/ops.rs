//! The auth operations behind `/v2/auth/*` (etcd's `v2auth.Store`): their checks,
//! their order and their errors, over [`AuthStore`].
//!
//! Reads that precede a write go through Raft (etcd's quorum `QGET`). One message
//! differs from the spec table (§6.2) because the code decides it: etcd's
//! `UpdateUser` and `UpdateRole` map a missing user or role to
//! `... doesn't exist.`, but their quorum read has already turned "not found" into
//! `auth: User <u> does not exist.` (`Role <r> does not exist.`), so that is what
//! etcd sends, and what the Go client's `IsUserNotFound` expects.

use super::AuthStore;
use crate::auth::v2::error::{AuthError, Result};
use crate::auth::v2::merge::{merge_role, merge_user};
use crate::auth::v2::model::{
    ENABLED_KEY, GUEST_ROLE, ROOT_ROLE, ROOT_USER, attach_root_role, default_guest_role,
    password_of, role_path, user_path,
};
use crate::auth::v2::password::hash_password;
use etcd_sdk::wire::{Role, User};
use http::StatusCode;

fn root_role_is_immutable(name: &str) -> AuthError {
    AuthError::auth(
        StatusCode::FORBIDDEN,
        format_args!("Cannot modify role {name}: is root role."),
    )
}

impl AuthStore<'_> {
    /// Creates a user (etcd's `CreateUser`): the `root` user gets the root role; the
    /// password must not be empty (400) and is stored hashed; an existing user is a
    /// 409. Returns the user as stored (with the hash).
    pub async fn create_user(&self, mut user: User) -> Result<User> {
        attach_root_role(&mut user);
        let Some(password) = password_of(&user) else {
            return Err(AuthError::auth(
                StatusCode::BAD_REQUEST,
                format_args!("Cannot create user {} with an empty password", user.user),
            ));
        };
        user.password = Some(hash_password(password)?);
        match self.create(&user_path(&user.user), &user).await {
            Ok(_) => {
                tracing::info!(user = %user.user, "auth: created a user");
                Ok(user)
            }
            Err(e) if e.is_node_exist() => Err(AuthError::auth(
                StatusCode::CONFLICT,
                format_args!("User {} already exists.", user.user),
            )),
            Err(e) => Err(e),
        }
    }

    /// Updates the user if it exists, creates it otherwise (etcd's
    /// `CreateOrUpdateUser`); the flag says whether it was created.
    pub async fn create_or_update_user(&self, user: User) -> Result<(User, bool)> {
        if self.user(&user.user, true).await.is_ok() {
            return Ok((self.update_user(user).await?, false));
        }
        Ok((self.create_user(user).await?, true))
    }

    /// Applies a password change and/or role grants and revokes (etcd's
    /// `UpdateUser`). 400 if nothing changed.
    pub async fn update_user(&self, change: User) -> Result<User> {
        let old = self.user(&change.user, true).await?;
        let new_hash = match password_of(&change) {
            Some(p) => Some(hash_password(p)?),
            None => None,
        };
        let merged = merge_user(&old, &change, new_hash)?;
        if merged == old {
            return Err(AuthError::auth(
                StatusCode::BAD_REQUEST,
                "User not updated. Use grant/revoke/password to update the user.",
            ));
        }
        self.update(&user_path(&change.user), &merged).await?;
        tracing::info!(user = %change.user, "auth: updated a user");
        Ok(merged)
    }

    /// Deletes a user (etcd's `DeleteUser`): not `root` while auth is enabled (403);
    /// 404 `User <u> does not exist` (no period) if missing.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        // etcd reads the flag first, whatever the name (it shows in the store stats).
        let enabled = self.enabled();
        if enabled && name == ROOT_USER {
            return Err(AuthError::auth(
                StatusCode::FORBIDDEN,
                "Cannot delete root user while auth is enabled.",
            ));
        }
        match self.delete(&user_path(name)).await {
            Ok(_) => {
                tracing::info!(user = name, "auth: deleted a user");
                Ok(())
            }
            Err(e) if e.is_not_found() => Err(AuthError::auth(
                StatusCode::NOT_FOUND,
                format_args!("User {name} does not exist"),
            )),
            Err(e) => Err(e),
        }
    }

    /// Creates a role as given (etcd's `CreateRole`): 403 for root, 409 if it exists.
    pub async fn create_role(&self, role: &Role) -> Result<()> {
        if role.role == ROOT_ROLE {
            return Err(root_role_is_immutable(&role.role));
        }
        match self.create(&role_path(&role.role), role).await {
            Ok(_) => {
                tracing::info!(role = %role.role, "auth: created a role");
                Ok(())
            }
            Err(e) if e.is_node_exist() => Err(AuthError::auth(
                StatusCode::CONFLICT,
                format_args!("Role {} already exists.", role.role),
            )),
            Err(e) => Err(e),
        }
    }

    /// Applies permission grants and revokes to a role (etcd's `UpdateRole`): 403
    /// for root, 404 if missing, 409 on a duplicate grant, 400 if nothing changed.
    pub async fn update_role(&self, change: &Role) -> Result<Role> {
        if change.role == ROOT_ROLE {
            return Err(root_role_is_immutable(&change.role));
        }
        let old = self.role(&change.role, true).await?;
        let merged = merge_role(&old, change)?;
        if merged == old {
            return Err(AuthError::auth(
                StatusCode::BAD_REQUEST,
                "Role not updated. Use grant/revoke to update the role.",
            ));
        }
        self.update(&role_path(&change.role), &merged).await?;
        tracing::info!(role = %change.role, "auth: updated a role");
        Ok(merged)
    }

    /// Deletes a role (etcd's `DeleteRole`): 403 for root, 404 `Role <r> doesn't
    /// exist.` if missing. Users keep the name of a deleted role.
    pub async fn delete_role(&self, name: &str) -> Result<()> {
        if name == ROOT_ROLE {
            return Err(root_role_is_immutable(name));
        }
        match self.delete(&role_path(name)).await {
            Ok(_) => {
                tracing::info!(role = name, "auth: deleted a role");
                Ok(())
            }
            Err(e) if e.is_not_found() => Err(AuthError::auth(
                StatusCode::NOT_FOUND,
                format_args!("Role {name} doesn't exist."),
            )),
            Err(e) => Err(e),
        }
    }

    /// Enables auth (etcd's `EnableAuth`): 409 if already enabled or if there is no
    /// root user; creates the guest role (read and write `/*`) if there is none.
    pub async fn enable(&self) -> Result<()> {
        if self.enabled() {
            return Err(AuthError::auth(StatusCode::CONFLICT, "already enabled"));
        }
        if self.user(ROOT_USER, true).await.is_err() {
            return Err(AuthError::auth(
                StatusCode::CONFLICT,
                "No root user available, please create one",
            ));
        }
        if self.role(GUEST_ROLE, true).await.is_err() {
            tracing::info!("auth: no guest role found; creating the default one");
            self.create_role(&default_guest_role()).await?;
        }
        self.update(ENABLED_KEY, &true).await?;
        tracing::info!("auth: enabled");
        Ok(())
    }

    /// Disables auth (etcd's `DisableAuth`): 409 if already disabled.
    pub async fn disable(&self) -> Result<()> {
        if !self.enabled() {
            return Err(AuthError::auth(StatusCode::CONFLICT, "already disabled"));
        }
        self.update(ENABLED_KEY, &false).await?;
        tracing::info!("auth: disabled");
        Ok(())
    }
}
