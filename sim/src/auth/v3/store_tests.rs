use super::*;
use etcd_sdk::v3::pb::authpb::permission::Type;

fn perm(t: Type, key: &str, end: &str) -> Permission {
    Permission {
        perm_type: t as i32,
        key: key.as_bytes().to_vec(),
        range_end: end.as_bytes().to_vec(),
    }
}

fn with_root() -> AuthStore {
    let mut s = AuthStore::new();
    s.user_add("root", "hash", false).unwrap();
    s.user_grant_role("root", "root").unwrap();
    s
}

#[test]
fn enabling_needs_root_with_the_root_role() {
    let mut s = AuthStore::new();
    assert_eq!(s.enable(), Err(AuthError::RootUserNotExist));
    s.user_add("root", "h", false).unwrap();
    assert_eq!(s.enable(), Err(AuthError::RootRoleNotExist));
    s.user_grant_role("root", "root").unwrap();
    let rev = s.revision();
    s.enable().unwrap();
    assert!(s.is_enabled());
    assert_eq!(s.revision(), rev, "enable commits no revision");
    s.enable().unwrap();
    assert!(s.disable());
    assert!(!s.disable(), "idempotent");
    assert_eq!(s.revision(), rev + 1);
}

#[test]
fn root_is_protected_while_enabled() {
    let mut s = with_root();
    s.role_add("root").unwrap();
    s.enable().unwrap();
    assert_eq!(s.user_delete("root"), Err(AuthError::InvalidAuthMgmt));
    assert_eq!(s.role_delete("root"), Err(AuthError::InvalidAuthMgmt));
    assert_eq!(
        s.user_revoke_role("root", "root"),
        Err(AuthError::InvalidAuthMgmt)
    );
    s.disable();
    s.user_revoke_role("root", "root").unwrap();
    s.role_delete("root").unwrap();
    s.user_delete("root").unwrap();
}

#[test]
fn users_and_roles_with_etcds_refusals() {
    let mut s = with_root();
    let rev = s.revision();
    assert_eq!(s.user_add("", "h", false), Err(AuthError::UserEmpty));
    assert_eq!(
        s.user_add("root", "h", false),
        Err(AuthError::UserAlreadyExist)
    );
    assert_eq!(s.role_add(""), Err(AuthError::RoleEmpty));
    s.role_add("r").unwrap();
    assert_eq!(s.role_add("r"), Err(AuthError::RoleAlreadyExist));
    assert_eq!(
        s.user_grant_role("nosuch", "r"),
        Err(AuthError::UserNotFound)
    );
    assert_eq!(
        s.user_grant_role("root", "nosuch"),
        Err(AuthError::RoleNotFound)
    );
    s.user_add("u", "h", false).unwrap();
    s.user_grant_role("u", "r").unwrap();
    let before = s.revision();
    s.user_grant_role("u", "r").unwrap();
    assert_eq!(s.revision(), before, "a held role is a no-op");
    assert_eq!(s.user_revoke_role("u", "x"), Err(AuthError::RoleNotGranted));
    assert_eq!(s.user_get("u").unwrap(), vec!["r"]);
    assert_eq!(s.user_list(), vec!["root", "u"]);
    assert_eq!(s.role_list(), vec!["r"]);
    assert_eq!(s.role_get("x"), Err(AuthError::RoleNotFound));
    s.role_delete("r").unwrap();
    assert!(
        s.user_get("u").unwrap().is_empty(),
        "revoked from its users"
    );
    assert_eq!(s.user_delete("x"), Err(AuthError::UserNotFound));
    assert_eq!(
        s.user_change_password("x", "h"),
        Err(AuthError::UserNotFound)
    );
    assert!(s.revision() > rev);
}

#[test]
fn grants_replace_same_range_and_keep_key_order() {
    let mut s = AuthStore::new();
    s.role_add("r").unwrap();
    s.role_grant_permission("r", perm(Type::Read, "/b", ""))
        .unwrap();
    s.role_grant_permission("r", perm(Type::Readwrite, "/a", "/b"))
        .unwrap();
    s.role_grant_permission("r", perm(Type::Write, "/b", ""))
        .unwrap();
    assert_eq!(
        s.role_get("r").unwrap(),
        vec![
            perm(Type::Readwrite, "/a", "/b"),
            perm(Type::Write, "/b", "")
        ]
    );
    assert_eq!(
        s.role_revoke_permission("r", b"/zz", b""),
        Err(AuthError::PermissionNotGranted)
    );
    s.role_revoke_permission("r", b"/b", b"").unwrap();
    assert_eq!(s.role_get("r").unwrap().len(), 1);
    assert_eq!(
        s.role_grant_permission("x", perm(Type::Read, "a", "")),
        Err(AuthError::RoleNotFound)
    );
}

#[test]
fn checks_follow_the_merged_permissions_and_the_revision() {
    let mut s = with_root();
    s.role_add("r").unwrap();
    s.role_grant_permission("r", perm(Type::Readwrite, "/a", "/b"))
        .unwrap();
    s.user_add("u", "h", false).unwrap();
    s.user_grant_role("u", "r").unwrap();
    // Auth off: everything is allowed.
    assert_eq!(s.check("", 0, Access::Write, b"x", b""), Ok(()));
    s.enable().unwrap();
    let rev = s.revision();
    assert_eq!(s.check("u", rev, Access::Write, b"/a1", b""), Ok(()));
    assert_eq!(
        s.check("u", rev, Access::Write, b"/c", b""),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(
        s.check("u", 0, Access::Read, b"/a", b""),
        Err(AuthError::UserEmpty)
    );
    assert_eq!(s.check("root", rev, Access::Write, b"", b"\0"), Ok(()));
    assert_eq!(
        s.check("ghost", rev, Access::Read, b"a", b""),
        Err(AuthError::PermissionDenied)
    );
    // A change: the old revision is refused, the cache follows.
    s.role_revoke_permission("r", b"/a", b"/b").unwrap();
    assert_eq!(
        s.check("u", rev, Access::Read, b"/a", b""),
        Err(AuthError::AuthOldRevision)
    );
    assert_eq!(
        s.check("u", s.revision(), Access::Read, b"/a", b""),
        Err(AuthError::PermissionDenied)
    );
    assert_eq!(s.check_admin("root"), Ok(()));
    assert_eq!(s.check_admin("u"), Err(AuthError::PermissionDenied));
    assert_eq!(s.check_admin(""), Err(AuthError::UserEmpty));
    assert_eq!(s.check_admin("ghost"), Err(AuthError::UserNotFound));
    assert!(s.has_role("u", "r") || s.user_get("u").unwrap() == vec!["r"]);
}

#[test]
fn passwords_and_no_password_users() {
    let mut s = with_root();
    s.user_add("np", "ignored", true).unwrap();
    assert_eq!(s.password_of("root"), Err(AuthError::AuthNotEnabled));
    assert_eq!(s.may_authenticate("root"), Err(AuthError::AuthNotEnabled));
    s.enable().unwrap();
    assert_eq!(s.password_of("root").unwrap().0, "hash");
    assert_eq!(s.password_of("x"), Err(AuthError::AuthFailed));
    assert_eq!(s.password_of("np"), Err(AuthError::NoPasswordUser));
    assert_eq!(s.may_authenticate("np"), Err(AuthError::AuthFailed));
    s.user_change_password("root", "new").unwrap();
    assert_eq!(s.password_of("root").unwrap().0, "new");
}

#[test]
fn the_snapshot_restores_everything() {
    let mut s = with_root();
    s.role_add("r").unwrap();
    s.role_grant_permission("r", perm(Type::Read, "k", "\0"))
        .unwrap();
    s.user_add("u", "h", false).unwrap();
    s.user_grant_role("u", "r").unwrap();
    s.enable().unwrap();
    let blob = s.to_snapshot();
    let t = AuthStore::from_snapshot(&blob).unwrap();
    assert_eq!(t, s);
    assert_eq!(
        t.check("u", t.revision(), Access::Read, b"z", b""),
        Ok(()),
        "the cache is rebuilt"
    );
    assert!(AuthStore::from_snapshot(&blob[..blob.len() - 1]).is_err());
    assert!(AuthStore::from_snapshot(&[]).is_err());
    let mut long = blob.clone();
    long.push(0);
    assert!(AuthStore::from_snapshot(&long).is_err());
}
