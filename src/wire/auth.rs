//! The `/v2/auth` wire types.
//!
//! Go distinguishes a `null` list from an empty one in these bodies (a role created
//! without permissions has `"read":null`; after a revoke it has `"read":[]`), so the
//! lists are `Option<Vec<_>>`: `None` encodes as `null`.

use serde::{Deserialize, Serialize};

/// A user as sent to `PUT /v2/auth/users/<name>` and returned by it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user name.
    pub user: String,
    /// The password (requests only; never returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Role names (`null` when unset).
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Roles to grant.
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub grant: Option<Vec<String>>,
    /// Roles to revoke.
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub revoke: Option<Vec<String>>,
}

/// A user with its roles expanded to role objects (`GET /v2/auth/users[/<name>]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserWithRoles {
    /// The user name.
    pub user: String,
    /// The user's roles with their permissions; omitted when there are none.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::wire::members::null_as_empty"
    )]
    pub roles: Vec<Role>,
}

/// The body of `GET /v2/auth/users`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    /// The users sorted by name (`null` when there are none).
    #[serde(default)]
    pub users: Option<Vec<UserWithRoles>>,
}

/// A role and its key permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role name.
    pub role: String,
    /// The permissions the role holds.
    #[serde(default)]
    pub permissions: Permissions,
    /// Permissions to grant (requests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Permissions>,
    /// Permissions to revoke (requests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Permissions>,
}

/// The body of `GET /v2/auth/roles`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleList {
    /// The roles sorted by name.
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
}

/// The permission sets of a role (v2 has only the key-value store's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Key-value permissions.
    #[serde(default)]
    pub kv: RwPermission,
}

/// Read and write key patterns (`/foo` exact, `/foo*` prefix).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RwPermission {
    /// Patterns that may be read.
    #[serde(default)]
    pub read: Option<Vec<String>>,
    /// Patterns that may be written.
    #[serde(default)]
    pub write: Option<Vec<String>>,
}

/// The body of `GET /v2/auth/enable`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStatus {
    /// Whether auth is enabled.
    pub enabled: bool,
}

fn is_none_or_empty(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::to_go_json;

    #[test]
    fn add_user_body_matches_go_client() {
        let u = User {
            user: "root".into(),
            password: Some("pw".into()),
            ..Default::default()
        };
        assert_eq!(
            to_go_json(&u),
            br#"{"user":"root","password":"pw","roles":null}"#.to_vec()
        );
    }

    #[test]
    fn add_role_body_matches_go_client() {
        let r = Role {
            role: "r1".into(),
            ..Default::default()
        };
        assert_eq!(
            to_go_json(&r),
            br#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#.to_vec()
        );
    }
}
