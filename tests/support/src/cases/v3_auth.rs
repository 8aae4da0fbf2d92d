//! The v3 Auth API (`etcd_sdk::v3::Auth`) against a 1-member cluster: root
//! user and role, enabling auth, users and roles with their outputs, prefix
//! permissions that permit and deny, password changes, etcd's typed
//! refusals, and a client that re-authenticates transparently after the
//! member restarts (simple tokens live in memory). Written against a
//! [`Backend`] so the simulated cluster can run the same body.

use crate::backend::Backend;
use etcd_sdk::v3::{
    Auth, Client, Config, EtcdError, GetOptions, KV, KeyRange, Permission, PermissionType,
    PutOptions, UserAddOptions,
};
use std::time::Duration;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn config(endpoints: &[String], creds: Option<(&str, &str)>) -> Config {
    Config {
        username: creds.map(|c| c.0.to_string()),
        password: creds.map(|c| c.1.to_string()),
        request_timeout: Some(CALL_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    }
}

async fn client(endpoints: &[String], creds: Option<(&str, &str)>) -> Client {
    Client::new(config(endpoints, creds))
        .await
        .unwrap_or_else(|e| panic!("client as {creds:?}: {e:?}"))
}

#[track_caller]
fn assert_etcd<T: std::fmt::Debug>(r: etcd_sdk::v3::Result<T>, want: EtcdError) {
    match r {
        Err(e) => {
            assert_eq!(e.etcd(), Some(want), "{e:?}");
            assert!(
                !e.is_outcome_unknown(),
                "a refusal is not outcome-unknown: {e:?}"
            );
        }
        Ok(v) => panic!("expected {want:?}, got {v:?}"),
    }
}

/// Run against a fresh 1-member cluster.
pub async fn users_roles_permissions_and_tokens(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let urls = c.client_urls();
    let admin = client(&urls, None).await;

    assert_etcd(admin.auth_enable().await, EtcdError::RootUserNotExist);
    assert_etcd(
        admin.authenticate("root", "pw").await,
        EtcdError::AuthNotEnabled,
    );
    admin
        .user_add("root", "pw", UserAddOptions::default())
        .await
        .unwrap();
    assert_etcd(admin.auth_enable().await, EtcdError::RootRoleNotExist);
    admin.role_add("root").await.unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    assert!(admin.auth_enable().await.unwrap().header.is_some());

    // Without a token every call is refused; with root's, everything works.
    assert_etcd(
        admin.get("a", GetOptions::default()).await,
        EtcdError::UserEmpty,
    );
    assert_etcd(admin.user_list().await, EtcdError::UserEmpty);
    let root = client(&urls, Some(("root", "pw"))).await;
    let token = root.authenticate("root", "pw").await.unwrap().token;
    assert!(!token.is_empty());
    assert_etcd(
        root.authenticate("root", "nope").await,
        EtcdError::AuthFailed,
    );

    root.user_add("u1", "pw1", UserAddOptions::default())
        .await
        .unwrap();
    assert_etcd(
        root.user_add("u1", "again", UserAddOptions::default())
            .await,
        EtcdError::UserAlreadyExist,
    );
    root.role_add("r1").await.unwrap();
    root.role_grant_permission("r1", Permission::prefix(PermissionType::Readwrite, "/a"))
        .await
        .unwrap();
    root.role_grant_permission("r1", Permission::key(PermissionType::Read, "/b"))
        .await
        .unwrap();
    root.user_grant_role("u1", "r1").await.unwrap();
    assert_etcd(
        root.user_grant_role("u1", "nosuch").await,
        EtcdError::RoleNotFound,
    );
    assert_etcd(root.user_get("nosuch").await, EtcdError::UserNotFound);

    assert_eq!(root.user_get("u1").await.unwrap().roles, vec!["r1"]);
    assert_eq!(root.user_list().await.unwrap().users, vec!["root", "u1"]);
    assert_eq!(root.role_list().await.unwrap().roles, vec!["r1", "root"]);
    let perms = root.role_get("r1").await.unwrap().perm;
    assert_eq!(
        perms,
        vec![
            Permission {
                perm_type: PermissionType::Readwrite,
                key: b"/a".to_vec(),
                range_end: b"/b".to_vec(),
            },
            Permission::key(PermissionType::Read, "/b"),
        ]
    );

    // u1: read-write under /a, read-only /b, nothing else.
    let u1 = client(&urls, Some(("u1", "pw1"))).await;
    u1.put("/a1", "x", PutOptions::default()).await.unwrap();
    assert_etcd(
        u1.put("/b", "x", PutOptions::default()).await,
        EtcdError::PermissionDenied,
    );
    assert_etcd(
        u1.put("/c", "x", PutOptions::default()).await,
        EtcdError::PermissionDenied,
    );
    let got = u1
        .get(
            "/a",
            GetOptions {
                range: KeyRange::Prefix,
                ..GetOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(got.kvs.len(), 1);
    assert_etcd(
        u1.get(
            "/",
            GetOptions {
                range: KeyRange::Prefix,
                ..GetOptions::default()
            },
        )
        .await,
        EtcdError::PermissionDenied,
    );
    assert_eq!(u1.user_get("u1").await.unwrap().roles, vec!["r1"]);
    assert_eq!(u1.role_get("r1").await.unwrap().perm.len(), 2);
    assert_etcd(u1.role_list().await, EtcdError::PermissionDenied);
    assert_etcd(
        u1.user_add("u2", "p", UserAddOptions::default()).await,
        EtcdError::PermissionDenied,
    );

    // Revokes, and the refusals of what is not there or must stay.
    root.role_revoke_permission("r1", b"/b", b"").await.unwrap();
    assert_etcd(
        root.role_revoke_permission("r1", b"/zz", b"").await,
        EtcdError::PermissionNotGranted,
    );
    assert_etcd(
        u1.get("/b", GetOptions::default()).await,
        EtcdError::PermissionDenied,
    );
    assert_etcd(
        root.user_revoke_role("u1", "root").await,
        EtcdError::RoleNotGranted,
    );
    assert_etcd(root.user_delete("root").await, EtcdError::InvalidAuthMgmt);
    assert_etcd(root.role_delete("root").await, EtcdError::InvalidAuthMgmt);
    assert_etcd(
        root.user_revoke_role("root", "root").await,
        EtcdError::InvalidAuthMgmt,
    );

    // A user without a password cannot log in with one. etcd 3.4 answers
    // with its raw auth error (gRPC code Unknown), not one of the typed ones.
    root.user_add("np", "", UserAddOptions { no_password: true })
        .await
        .unwrap();
    let err = Client::new(config(&urls, Some(("np", ""))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), etcd_sdk::v3::error::Code::Unknown, "{err:?}");
    assert!(err.to_string().contains("no password user"), "{err}");
    assert!(!err.is_outcome_unknown(), "{err:?}");

    // A password change invalidates u1's token; its client's refresh with
    // the old password then fails; a client with the new one works.
    root.user_change_password("u1", "pw2").await.unwrap();
    assert_etcd(
        u1.get("/a1", GetOptions::default()).await,
        EtcdError::AuthFailed,
    );
    let u1_new = client(&urls, Some(("u1", "pw2"))).await;
    u1_new.get("/a1", GetOptions::default()).await.unwrap();

    // The member restarts: simple tokens were in its memory only. The next
    // call is refused with "invalid auth token", and the client fetches a
    // new token and repeats it, transparently.
    c.kill(0);
    c.restart(0).await;
    let g = root.get("/a1", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"x");
    root.put("/a2", "y", PutOptions::default()).await.unwrap();
    u1_new.get("/a2", GetOptions::default()).await.unwrap();

    // Deleting users and roles; auth off lets the anonymous client in again.
    root.user_revoke_role("u1", "r1").await.unwrap();
    root.role_delete("r1").await.unwrap();
    assert_etcd(root.role_get("r1").await, EtcdError::RoleNotFound);
    root.user_delete("u1").await.unwrap();
    root.user_delete("np").await.unwrap();
    assert_eq!(root.user_list().await.unwrap().users, vec!["root"]);
    root.auth_disable().await.unwrap();
    admin.get("/a1", GetOptions::default()).await.unwrap();
    admin.auth_disable().await.unwrap();
}
