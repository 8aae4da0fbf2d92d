//! The v2 auth model: where users, roles and the `enabled` flag live in the v2 store,
//! and the built-in roles (etcd's `v2auth` package, spec §6.1).
//!
//! Users and roles are the SDK's wire types ([`User`], [`Role`]): etcd stores exactly
//! the JSON it serves (plus the password hash), and keeping Go's `null`-versus-`[]`
//! distinction (`Option<Vec<_>>`) in the model is what makes responses byte-exact.

use crate::store::v2::{AUTH_NAMESPACE, clean_path};
use etcd_sdk::wire::{Permissions, Role, RwPermission, User};

/// The built-in role that may do anything, including managing auth and members.
pub const ROOT_ROLE: &str = "root";
/// The role of requests without an `Authorization` header.
pub const GUEST_ROLE: &str = "guest";
/// The user that always holds [`ROOT_ROLE`] and must exist before auth is enabled.
pub const ROOT_USER: &str = "root";

/// The directory of the users (`/2/users`); each user is a JSON file in it.
pub const USERS_DIR: &str = "/2/users";
/// The directory of the roles (`/2/roles`); the root role is never stored.
pub const ROLES_DIR: &str = "/2/roles";
/// The flag (`/2/enabled`): JSON `true` or `false`.
pub const ENABLED_KEY: &str = "/2/enabled";

/// What the first auth write creates, in order (etcd's `ensureAuthDirectories`):
/// `/2`, `/2/users`, `/2/roles` (directories), then `/2/enabled` = `false`.
pub const AUTH_DIRS: [&str; 3] = [AUTH_NAMESPACE, USERS_DIR, ROLES_DIR];

/// The store path of user `name`: `path.Join("/2/users", name)` as etcd builds it,
/// so a name with `/` or `..` lands where Go's would.
pub fn user_path(name: &str) -> String {
    clean_path(&format!("{USERS_DIR}/{name}"))
}

/// The store path of role `name` (see [`user_path`]).
pub fn role_path(name: &str) -> String {
    clean_path(&format!("{ROLES_DIR}/{name}"))
}

/// Read and write on `/*`.
fn everything() -> Permissions {
    Permissions {
        kv: RwPermission {
            read: Some(vec!["/*".to_string()]),
            write: Some(vec!["/*".to_string()]),
        },
    }
}

/// The built-in root role: read and write `/*` (never stored, cannot be changed).
pub fn root_role() -> Role {
    Role {
        role: ROOT_ROLE.to_string(),
        permissions: everything(),
        grant: None,
        revoke: None,
    }
}

/// The guest role that enabling auth creates when none exists: read and write `/*`.
pub fn default_guest_role() -> Role {
    Role {
        role: GUEST_ROLE.to_string(),
        permissions: everything(),
        grant: None,
        revoke: None,
    }
}

/// Adds the root role to the `root` user's roles if it is missing (appended, not
/// sorted, as etcd's `attachRootRole`); other users are left alone.
pub fn attach_root_role(user: &mut User) {
    if user.user != ROOT_USER {
        return;
    }
    let roles = user.roles.get_or_insert_with(Vec::new);
    if !roles.iter().any(|r| r == ROOT_ROLE) {
        roles.push(ROOT_ROLE.to_string());
    }
}

/// Whether a user holds the root role.
pub fn has_root_role(user: &User) -> bool {
    user.roles.iter().flatten().any(|r| r == ROOT_ROLE)
}

/// etcd's `Permissions.IsEmpty`: absent, or no read and no write patterns.
pub fn permissions_empty(p: Option<&Permissions>) -> bool {
    p.is_none_or(|p| {
        p.kv.read.as_ref().is_none_or(Vec::is_empty)
            && p.kv.write.as_ref().is_none_or(Vec::is_empty)
    })
}

/// A non-empty password (`""` counts as none, as Go's zero value does).
pub fn password_of(user: &User) -> Option<&str> {
    user.password.as_deref().filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::wire::to_go_json;

    #[test]
    fn paths_join_like_go() {
        assert_eq!(user_path("bob"), "/2/users/bob");
        assert_eq!(role_path("r1"), "/2/roles/r1");
        assert_eq!(user_path("a/../b"), "/2/users/b");
        assert_eq!(user_path(""), "/2/users");
    }

    #[test]
    fn built_in_roles_encode_as_etcd_serves_them() {
        assert_eq!(
            String::from_utf8(to_go_json(&root_role())).unwrap(),
            r#"{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}"#
        );
        assert_eq!(default_guest_role().role, "guest");
    }

    #[test]
    fn root_role_is_appended_to_the_root_user_only() {
        let mut root = User {
            user: "root".into(),
            ..Default::default()
        };
        attach_root_role(&mut root);
        assert_eq!(root.roles, Some(vec!["root".to_string()]));
        let mut z = User {
            user: "root".into(),
            roles: Some(vec!["z".into()]),
            ..Default::default()
        };
        attach_root_role(&mut z);
        assert_eq!(z.roles, Some(vec!["z".to_string(), "root".to_string()]));
        attach_root_role(&mut z);
        assert_eq!(z.roles.as_ref().map(Vec::len), Some(2), "not twice");
        let mut bob = User {
            user: "bob".into(),
            ..Default::default()
        };
        attach_root_role(&mut bob);
        assert_eq!(bob.roles, None);
        assert!(has_root_role(&root) && !has_root_role(&bob));
    }

    #[test]
    fn empty_permissions_follow_go_is_empty() {
        assert!(permissions_empty(None));
        assert!(permissions_empty(Some(&Permissions::default())));
        let mut p = Permissions::default();
        p.kv.read = Some(vec![]);
        assert!(permissions_empty(Some(&p)));
        p.kv.write = Some(vec!["/a".into()]);
        assert!(!permissions_empty(Some(&p)));
    }
}
