//! The auth API (`/v2/auth`): Go's `AuthAPI`, `AuthUserAPI` and `AuthRoleAPI`.

mod enable;
mod response;
mod role;
mod user;

pub use enable::{HttpAuthAPI, new_auth_api};
pub use role::{HttpAuthRoleAPI, new_auth_role_api};
pub use user::{HttpAuthUserAPI, new_auth_user_api};

use crate::error::Result;
pub use crate::wire::{Permissions, Role, RwPermission, User};
use async_trait::async_trait;

/// Turns auth on and off (Go's `client.AuthAPI`).
#[async_trait]
pub trait AuthAPI: Send + Sync {
    /// Enables auth (needs a `root` user; creates the `guest` role).
    async fn enable(&self) -> Result<()>;
    /// Disables auth.
    async fn disable(&self) -> Result<()>;
}

/// Manages users (Go's `client.AuthUserAPI`).
#[async_trait]
pub trait AuthUserAPI: Send + Sync {
    /// Creates a user.
    async fn add_user(&self, username: &str, password: &str) -> Result<()>;
    /// Deletes a user.
    async fn remove_user(&self, username: &str) -> Result<()>;
    /// A user and the names of its roles.
    async fn get_user(&self, username: &str) -> Result<User>;
    /// Grants roles to a user; returns the updated user.
    async fn grant_user(&self, username: &str, roles: &[String]) -> Result<User>;
    /// Revokes roles from a user; returns the updated user.
    async fn revoke_user(&self, username: &str, roles: &[String]) -> Result<User>;
    /// Changes a user's password; returns the user.
    async fn change_password(&self, username: &str, password: &str) -> Result<User>;
    /// The user names.
    async fn list_users(&self) -> Result<Vec<String>>;
}

/// Which permissions a grant or revoke is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionType {
    /// Read.
    Read,
    /// Write.
    Write,
    /// Read and write.
    ReadWrite,
}

/// Manages roles (Go's `client.AuthRoleAPI`).
#[async_trait]
pub trait AuthRoleAPI: Send + Sync {
    /// Creates a role with no permissions.
    async fn add_role(&self, role: &str) -> Result<()>;
    /// Deletes a role.
    async fn remove_role(&self, role: &str) -> Result<()>;
    /// A role and its permissions.
    async fn get_role(&self, role: &str) -> Result<Role>;
    /// Grants key patterns (`/foo` exact, `/foo*` prefix) to a role; returns the updated role.
    async fn grant_role_kv(
        &self,
        role: &str,
        prefixes: &[String],
        perm: PermissionType,
    ) -> Result<Role>;
    /// Revokes key patterns from a role; returns the updated role.
    async fn revoke_role_kv(
        &self,
        role: &str,
        prefixes: &[String],
        perm: PermissionType,
    ) -> Result<Role>;
    /// The role names.
    async fn list_roles(&self) -> Result<Vec<String>>;
}

#[cfg(test)]
mod tests;
