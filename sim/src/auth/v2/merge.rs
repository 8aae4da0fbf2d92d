//! Grant and revoke: how a change request merges into a stored user or role
//! (etcd's `User.merge`, `Role.merge`, `RWPermission.Grant/Revoke`).
//!
//! Sets, then sorted lists: duplicates in stored data collapse. A merged list is
//! always present (`[]`, never `null`), which matters twice: it is what clients see
//! after a grant or revoke, and a role whose lists were `null` differs from its merge
//! even when nothing was granted or revoked, so the "not updated" error does not
//! fire for it (as in etcd, whose check is `reflect.DeepEqual`).

use super::error::{AuthError, Result};
use etcd_sdk::wire::{Permissions, Role, RwPermission, User};
use http::StatusCode;
use std::collections::BTreeSet;

/// Merges a user change into `old`: the new password hash (if one was given),
/// then `grant` (409 if a role is already held), then `revoke` (409 if a role is
/// not held). The result has sorted roles and no grant or revoke lists.
pub fn merge_user(old: &User, change: &User, new_hash: Option<String>) -> Result<User> {
    let mut roles: BTreeSet<String> = old.roles.iter().flatten().cloned().collect();
    for g in change.grant.iter().flatten() {
        if !roles.insert(g.clone()) {
            return Err(AuthError::auth(
                StatusCode::CONFLICT,
                format_args!("Granting duplicate role {g} for user {}", change.user),
            ));
        }
    }
    for r in change.revoke.iter().flatten() {
        if !roles.remove(r) {
            return Err(AuthError::auth(
                StatusCode::CONFLICT,
                format_args!("Revoking ungranted role {r} for user {}", change.user),
            ));
        }
    }
    Ok(User {
        user: old.user.clone(),
        password: new_hash.or_else(|| old.password.clone()),
        roles: Some(roles.into_iter().collect()),
        grant: None,
        revoke: None,
    })
}

/// Merges a role change into `old`: `grant` (409 on a pattern already held), then
/// `revoke` (patterns not held are ignored). An absent grant or revoke leaves the
/// permissions exactly as they were.
pub fn merge_role(old: &Role, change: &Role) -> Result<Role> {
    let mut permissions = old.permissions.clone();
    if let Some(grant) = &change.grant {
        permissions = grant_kv(&permissions, grant)?;
    }
    if let Some(revoke) = &change.revoke {
        permissions = revoke_kv(&permissions, revoke);
    }
    Ok(Role {
        role: old.role.clone(),
        permissions,
        grant: None,
        revoke: None,
    })
}

fn set_of(list: &Option<Vec<String>>) -> BTreeSet<String> {
    list.iter().flatten().cloned().collect()
}

fn grant_list(
    current: &Option<Vec<String>>,
    add: &Option<Vec<String>>,
    kind: &str,
) -> Result<Vec<String>> {
    let mut set = set_of(current);
    for p in add.iter().flatten() {
        if !set.insert(p.clone()) {
            return Err(AuthError::auth(
                StatusCode::CONFLICT,
                format_args!("Granting duplicate {kind} permission {p}"),
            ));
        }
    }
    Ok(set.into_iter().collect())
}

fn grant_kv(current: &Permissions, add: &Permissions) -> Result<Permissions> {
    Ok(Permissions {
        kv: RwPermission {
            read: Some(grant_list(&current.kv.read, &add.kv.read, "read")?),
            write: Some(grant_list(&current.kv.write, &add.kv.write, "write")?),
        },
    })
}

fn revoke_list(current: &Option<Vec<String>>, remove: &Option<Vec<String>>) -> Vec<String> {
    let mut set = set_of(current);
    for p in remove.iter().flatten() {
        if !set.remove(p) {
            tracing::info!(permission = %p, "auth: revoking an ungranted permission");
        }
    }
    set.into_iter().collect()
}

fn revoke_kv(current: &Permissions, remove: &Permissions) -> Permissions {
    Permissions {
        kv: RwPermission {
            read: Some(revoke_list(&current.kv.read, &remove.kv.read)),
            write: Some(revoke_list(&current.kv.write, &remove.kv.write)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn user(name: &str, roles: Option<Vec<String>>) -> User {
        User {
            user: name.into(),
            password: Some("hash".into()),
            roles,
            ..Default::default()
        }
    }

    fn rw(read: Option<Vec<String>>, write: Option<Vec<String>>) -> Permissions {
        Permissions {
            kv: RwPermission { read, write },
        }
    }

    fn message(e: AuthError) -> (u16, String) {
        match e {
            AuthError::Auth { status, message } => (status.as_u16(), message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn user_grant_and_revoke_give_sorted_roles() {
        let old = user("bob", strings(&["w", "a"]));
        let change = User {
            user: "bob".into(),
            grant: strings(&["c", "b"]),
            revoke: strings(&["w"]),
            ..Default::default()
        };
        let out = merge_user(&old, &change, None).unwrap();
        assert_eq!(out.roles, strings(&["a", "b", "c"]));
        assert_eq!(out.password.as_deref(), Some("hash"), "kept");
        assert_eq!((out.grant, out.revoke), (None, None));
        let out = merge_user(&old, &User::default(), Some("new".into())).unwrap();
        assert_eq!(out.password.as_deref(), Some("new"));
    }

    #[test]
    fn user_merge_errors_are_conflicts() {
        let old = user("bob", strings(&["a"]));
        let dup = User {
            user: "bob".into(),
            grant: strings(&["a"]),
            ..Default::default()
        };
        assert_eq!(
            message(merge_user(&old, &dup, None).unwrap_err()),
            (409, "auth: Granting duplicate role a for user bob".into())
        );
        let twice = User {
            user: "bob".into(),
            grant: strings(&["x", "x"]),
            ..Default::default()
        };
        assert_eq!(message(merge_user(&old, &twice, None).unwrap_err()).0, 409);
        let ungranted = User {
            user: "bob".into(),
            revoke: strings(&["z"]),
            ..Default::default()
        };
        assert_eq!(
            message(merge_user(&old, &ungranted, None).unwrap_err()),
            (409, "auth: Revoking ungranted role z for user bob".into())
        );
    }

    #[test]
    fn a_user_with_null_roles_changes_on_an_empty_merge() {
        let old = user("foo", None);
        let out = merge_user(&old, &User::default(), None).unwrap();
        assert_eq!(out.roles, Some(vec![]));
        assert_ne!(out, old, "null roles become []: not 'unchanged'");
        let with = user("foo", strings(&["a"]));
        assert_eq!(merge_user(&with, &User::default(), None).unwrap(), with);
    }

    #[test]
    fn role_grant_sorts_and_rejects_duplicates() {
        let old = Role {
            role: "r".into(),
            permissions: rw(strings(&["/b"]), None),
            ..Default::default()
        };
        let change = Role {
            role: "r".into(),
            grant: Some(rw(strings(&["/a*"]), strings(&["/w"]))),
            ..Default::default()
        };
        let out = merge_role(&old, &change).unwrap();
        assert_eq!(
            out.permissions,
            rw(strings(&["/a*", "/b"]), strings(&["/w"]))
        );
        let dup = Role {
            role: "r".into(),
            grant: Some(rw(None, strings(&["/w"]))),
            ..Default::default()
        };
        assert_eq!(
            message(merge_role(&out, &dup).unwrap_err()),
            (409, "auth: Granting duplicate write permission /w".into())
        );
        let dup_read = Role {
            role: "r".into(),
            grant: Some(rw(strings(&["/b"]), None)),
            ..Default::default()
        };
        assert_eq!(
            message(merge_role(&out, &dup_read).unwrap_err()).1,
            "auth: Granting duplicate read permission /b"
        );
    }

    #[test]
    fn role_revoke_ignores_ungranted_and_yields_empty_lists() {
        let guest = Role {
            role: "guest".into(),
            permissions: rw(strings(&["/*"]), strings(&["/*"])),
            ..Default::default()
        };
        let change = Role {
            role: "guest".into(),
            revoke: Some(rw(strings(&["/*", "/nope"]), strings(&["/*"]))),
            ..Default::default()
        };
        let out = merge_role(&guest, &change).unwrap();
        assert_eq!(out.permissions, rw(Some(vec![]), Some(vec![])));
        let again = merge_role(&out, &change).unwrap();
        assert_eq!(
            again, out,
            "nothing changed: the caller reports 'not updated'"
        );
    }

    #[test]
    fn null_lists_stay_null_without_grant_or_revoke() {
        let bare = Role {
            role: "r".into(),
            ..Default::default()
        };
        assert_eq!(merge_role(&bare, &Role::default()).unwrap(), bare);
        let revoke_nothing = Role {
            revoke: Some(Permissions::default()),
            ..Default::default()
        };
        let out = merge_role(&bare, &revoke_nothing).unwrap();
        assert_eq!(out.permissions, rw(Some(vec![]), Some(vec![])));
        assert_ne!(out, bare, "null became []");
    }
}
