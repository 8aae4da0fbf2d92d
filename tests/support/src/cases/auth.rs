//! `AuthAPI`, `AuthUserAPI` and `AuthRoleAPI` checks — the enable flow, users,
//! roles, grants and revokes, passwords, the guest role and what an anonymous
//! caller gets once it is revoked — written once and run against real etcd
//! (`tests/real_auth.rs`) and the simulated cluster (`sim/tests/sim_auth.rs`).

use etcd_sdk::auth::{new_auth_api, new_auth_role_api, new_auth_user_api};
use etcd_sdk::keys::{GetOptions, SetOptions, new_keys_api};
use etcd_sdk::wire::ErrorCode;
use etcd_sdk::{
    AuthAPI, AuthRoleAPI, AuthUserAPI, Client, Config, Error, HttpClient, KeysAPI, PermissionType,
};
use std::sync::Arc;
use std::time::Duration;

struct Apis {
    auth: Box<dyn AuthAPI>,
    users: Box<dyn AuthUserAPI>,
    roles: Box<dyn AuthRoleAPI>,
    keys: Box<dyn KeysAPI>,
}

fn apis(client: HttpClient) -> Apis {
    let client: Arc<dyn Client> = Arc::new(client);
    Apis {
        auth: Box::new(new_auth_api(client.clone())),
        users: Box::new(new_auth_user_api(client.clone())),
        roles: Box::new(new_auth_role_api(client.clone())),
        keys: Box::new(new_keys_api(client)),
    }
}

fn anonymous(endpoints: &[String]) -> Apis {
    apis(client(endpoints, None))
}

fn as_user(endpoints: &[String], user: &str, password: &str) -> Apis {
    apis(client(endpoints, Some((user, password))))
}

fn client(endpoints: &[String], credentials: Option<(&str, &str)>) -> HttpClient {
    HttpClient::new(Config {
        endpoints: endpoints.to_vec(),
        header_timeout_per_request: Some(Duration::from_secs(5)),
        username: credentials.map(|(u, _)| u.to_string()),
        password: credentials.map(|(_, p)| p.to_string()),
        ..Default::default()
    })
    .expect("valid endpoints")
}

#[track_caller]
fn assert_auth_error(r: Result<impl std::fmt::Debug, Error>, message: &str) {
    match r {
        Err(Error::Auth(e)) => assert_eq!(e.message, message),
        other => panic!("expected auth error {message:?}, got {other:?}"),
    }
}

/// Asserts a keys call was refused with API error 110.
#[track_caller]
fn assert_unauthorized<T: std::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(Error::Api(e)) => {
            assert_eq!(e.code, ErrorCode(110));
            assert_eq!(e.message, "The request requires user authentication");
            assert_eq!(e.cause, "Insufficient credentials");
            assert_eq!(e.index, 0);
        }
        other => panic!("expected error 110, got {other:?}"),
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn enable_users_roles_guest_and_disable(endpoints: Vec<String>) {
    let anon = anonymous(&endpoints);

    // Enabling needs a root user.
    assert_auth_error(
        anon.auth.enable().await,
        "auth: No root user available, please create one",
    );
    anon.users.add_user("root", "rootpw").await.unwrap();
    assert_eq!(anon.users.list_users().await.unwrap(), names(&["root"]));
    anon.auth.enable().await.unwrap();
    let root = as_user(&endpoints, "root", "rootpw");
    assert_auth_error(root.auth.enable().await, "auth: already enabled");

    // Enabling created the guest role with read and write on everything, so
    // anonymous key access still works.
    anon.keys
        .set("/open", "v", SetOptions::default())
        .await
        .unwrap();
    let guest = root.roles.get_role("guest").await.unwrap();
    assert_eq!(guest.permissions.kv.read, Some(names(&["/*"])));
    assert_eq!(guest.permissions.kv.write, Some(names(&["/*"])));
    assert_eq!(
        root.roles.list_roles().await.unwrap(),
        names(&["guest", "root"])
    );
    // Managing users and roles now needs root.
    assert_auth_error(anon.users.list_users().await, "Insufficient credentials");
    assert_auth_error(
        anon.users.add_user("eve", "pw").await,
        "Insufficient credentials",
    );
    let wrong = as_user(&endpoints, "root", "not-the-password");
    assert_auth_error(wrong.users.list_users().await, "Insufficient credentials");

    // Users and roles, managed with root credentials.
    root.users.add_user("bob", "bobpw").await.unwrap();
    assert_eq!(
        root.users.list_users().await.unwrap(),
        names(&["bob", "root"])
    );
    let bob = root.users.get_user("bob").await.unwrap();
    assert_eq!(bob.user, "bob");
    assert!(bob.roles.unwrap_or_default().is_empty());
    let root_user = root.users.get_user("root").await.unwrap();
    assert_eq!(root_user.roles, Some(names(&["root"])));

    root.roles.add_role("writer").await.unwrap();
    assert_auth_error(
        root.roles.add_role("writer").await,
        "auth: Role writer already exists.",
    );
    let writer = root.roles.get_role("writer").await.unwrap();
    assert_eq!(
        (writer.permissions.kv.read, writer.permissions.kv.write),
        (None, None)
    );
    let writer = root
        .roles
        .grant_role_kv("writer", &names(&["/w/*"]), PermissionType::ReadWrite)
        .await
        .unwrap();
    assert_eq!(writer.permissions.kv.read, Some(names(&["/w/*"])));
    assert_eq!(writer.permissions.kv.write, Some(names(&["/w/*"])));
    assert_auth_error(
        root.roles
            .grant_role_kv("writer", &names(&["/w/*"]), PermissionType::Read)
            .await,
        "auth: Granting duplicate read permission /w/*",
    );
    let writer = root
        .roles
        .grant_role_kv("writer", &names(&["/exact"]), PermissionType::Read)
        .await
        .unwrap();
    assert_eq!(writer.permissions.kv.read, Some(names(&["/exact", "/w/*"])));
    assert_eq!(writer.permissions.kv.write, Some(names(&["/w/*"])));
    assert_eq!(
        root.roles.list_roles().await.unwrap(),
        names(&["guest", "root", "writer"])
    );

    let bob = root
        .users
        .grant_user("bob", &names(&["writer"]))
        .await
        .unwrap();
    assert_eq!(bob.roles, Some(names(&["writer"])));
    assert_auth_error(
        root.users.grant_user("bob", &names(&["writer"])).await,
        "auth: Granting duplicate role writer for user bob",
    );
    assert_eq!(
        root.users.get_user("bob").await.unwrap().roles,
        Some(names(&["writer"]))
    );

    // Revoke the guest role's permissions: anonymous key access is refused.
    let guest = root
        .roles
        .revoke_role_kv("guest", &names(&["/*"]), PermissionType::ReadWrite)
        .await
        .unwrap();
    assert_eq!(guest.permissions.kv.read, Some(Vec::new()));
    assert_eq!(guest.permissions.kv.write, Some(Vec::new()));
    assert_unauthorized(anon.keys.get("/open", GetOptions::default()).await);
    assert_unauthorized(anon.keys.set("/open", "x", SetOptions::default()).await);

    // bob reaches /w/* (and the exact key he may read), nothing else.
    let bob_c = as_user(&endpoints, "bob", "bobpw");
    bob_c
        .keys
        .set("/w/x", "1", SetOptions::default())
        .await
        .unwrap();
    assert_unauthorized(bob_c.keys.set("/other", "1", SetOptions::default()).await);
    assert_unauthorized(bob_c.keys.get("/open", GetOptions::default()).await);
    assert_unauthorized(bob_c.keys.set("/exact", "1", SetOptions::default()).await);
    root.keys
        .set("/exact", "e", SetOptions::default())
        .await
        .unwrap();
    let r = bob_c
        .keys
        .get("/exact", GetOptions::default())
        .await
        .unwrap();
    assert_eq!(r.node.unwrap().value.as_deref(), Some("e"));
    // A wrong password gets no guest fallback.
    let bad = as_user(&endpoints, "bob", "wrong");
    assert_unauthorized(bad.keys.get("/w/x", GetOptions::default()).await);

    // Change bob's password: the old one stops working.
    let u = root.users.change_password("bob", "newpw").await.unwrap();
    assert_eq!(u.user, "bob");
    assert_unauthorized(bob_c.keys.get("/w/x", GetOptions::default()).await);
    let bob_new = as_user(&endpoints, "bob", "newpw");
    let r = bob_new
        .keys
        .get("/w/x", GetOptions::default())
        .await
        .unwrap();
    assert_eq!(r.node.unwrap().value.as_deref(), Some("1"));

    // Revoke the role from bob.
    let u = root
        .users
        .revoke_user("bob", &names(&["writer"]))
        .await
        .unwrap();
    assert!(u.roles.unwrap_or_default().is_empty());
    assert_auth_error(
        root.users.revoke_user("bob", &names(&["writer"])).await,
        "auth: Revoking ungranted role writer for user bob",
    );
    assert_unauthorized(bob_new.keys.set("/w/y", "1", SetOptions::default()).await);

    // Revoking permissions from a role.
    let writer = root
        .roles
        .revoke_role_kv("writer", &names(&["/exact"]), PermissionType::Read)
        .await
        .unwrap();
    assert_eq!(writer.permissions.kv.read, Some(names(&["/w/*"])));

    // Deleting roles and users, and the not-found errors.
    root.roles.remove_role("writer").await.unwrap();
    let e = root.roles.get_role("writer").await.unwrap_err();
    assert!(e.is_role_not_found(), "{e:?}");
    assert_auth_error(Err::<(), _>(e), "auth: Role writer does not exist.");
    root.users.remove_user("bob").await.unwrap();
    let e = root.users.get_user("bob").await.unwrap_err();
    assert!(e.is_user_not_found(), "{e:?}");
    let e = root.users.remove_user("bob").await.unwrap_err();
    assert!(
        !e.is_user_not_found(),
        "Go's regexp does not match the DELETE text"
    );
    assert_auth_error(Err::<(), _>(e), "auth: User bob does not exist");
    assert_auth_error(
        root.users.remove_user("root").await,
        "auth: Cannot delete root user while auth is enabled.",
    );

    // Disabling needs root; afterwards anonymous access works again.
    assert_auth_error(anon.auth.disable().await, "Insufficient credentials");
    root.auth.disable().await.unwrap();
    assert_auth_error(root.auth.disable().await, "auth: already disabled");
    let r = anon.keys.get("/open", GetOptions::default()).await.unwrap();
    assert_eq!(r.node.unwrap().value.as_deref(), Some("v"));
}
