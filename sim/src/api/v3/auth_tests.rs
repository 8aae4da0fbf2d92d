//! The Auth service over a one-member stand-in, through its gRPC trait.

use super::*;
use crate::server::v3_testing::LocalV3;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::authpb::UserAddOptions;
use etcd_sdk::v3::tonic::Code;

fn service() -> AuthService {
    AuthService::new(Arc::new(LocalV3::new()))
}

fn with_token<T>(msg: T, token: Option<&str>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut().insert("token", t.parse().unwrap());
    }
    r
}

#[track_caller]
fn assert_etcd<T: std::fmt::Debug>(r: Result<T, Status>, want: EtcdError) {
    let e = r.unwrap_err();
    assert_eq!((e.code(), e.message()), (want.code(), want.message()));
}

async fn add_user(s: &AuthService, name: &str, pw: &str, token: Option<&str>) {
    s.user_add(with_token(
        AuthUserAddRequest {
            name: name.into(),
            password: pw.into(),
            options: None,
        },
        token,
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn enable_authenticate_and_admin_rights() {
    let s = service();
    assert_etcd(
        s.auth_enable(Request::new(AuthEnableRequest {})).await,
        EtcdError::RootUserNotExist,
    );
    assert_etcd(
        s.authenticate(Request::new(AuthenticateRequest {
            name: "root".into(),
            password: "pw".into(),
        }))
        .await,
        EtcdError::AuthNotEnabled,
    );
    add_user(&s, "root", "pw", None).await;
    assert_etcd(
        s.auth_enable(Request::new(AuthEnableRequest {})).await,
        EtcdError::RootRoleNotExist,
    );
    s.user_grant_role(Request::new(AuthUserGrantRoleRequest {
        user: "root".into(),
        role: "root".into(),
    }))
    .await
    .unwrap();
    let on = s
        .auth_enable(Request::new(AuthEnableRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(on.header.is_some_and(|h| h.member_id != 0));

    assert_etcd(
        s.user_list(Request::new(AuthUserListRequest {})).await,
        EtcdError::UserEmpty,
    );
    assert_etcd(
        s.authenticate(Request::new(AuthenticateRequest {
            name: "root".into(),
            password: "bad".into(),
        }))
        .await,
        EtcdError::AuthFailed,
    );
    let token = s
        .authenticate(Request::new(AuthenticateRequest {
            name: "root".into(),
            password: "pw".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .token;
    let (prefix, _) = token.split_once('.').unwrap();
    assert_eq!(prefix.len(), 16);
    let users = s
        .user_list(with_token(AuthUserListRequest {}, Some(&token)))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(users, vec!["root"]);
    assert_etcd(
        s.user_list(with_token(AuthUserListRequest {}, Some("nope.1")))
            .await,
        EtcdError::InvalidAuthToken,
    );

    // A no-password user: its password check fails with etcd's raw error.
    s.user_add(with_token(
        AuthUserAddRequest {
            name: "np".into(),
            password: String::new(),
            options: Some(UserAddOptions { no_password: true }),
        },
        Some(&token),
    ))
    .await
    .unwrap();
    let e = s
        .authenticate(Request::new(AuthenticateRequest {
            name: "np".into(),
            password: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unknown);
    assert!(e.message().contains("no password user"), "{e:?}");

    // The log carries the hash, never the password.
    let stores = s.backend.v3_stores();
    let hash = stores.lock().unwrap().auth.password_of("root").unwrap().0;
    assert!(hash.starts_with("$2a$10$"), "{hash}");

    // A password change drops the token; auth disable works for root.
    s.user_change_password(with_token(
        AuthUserChangePasswordRequest {
            name: "root".into(),
            password: "pw2".into(),
        },
        Some(&token),
    ))
    .await
    .unwrap();
    assert_etcd(
        s.auth_disable(with_token(AuthDisableRequest {}, Some(&token)))
            .await,
        EtcdError::InvalidAuthToken,
    );
    let token = s
        .authenticate(Request::new(AuthenticateRequest {
            name: "root".into(),
            password: "pw2".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .token;
    s.auth_disable(with_token(AuthDisableRequest {}, Some(&token)))
        .await
        .unwrap();
    s.auth_disable(Request::new(AuthDisableRequest {}))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_bcrypt_cost_follows_the_limits_within_etcds_bounds() {
    let limits = crate::server::v3_backend::V3Limits {
        bcrypt_cost: 4,
        ..Default::default()
    };
    let s = AuthService::new(Arc::new(LocalV3::with_limits(limits)));
    add_user(&s, "u", "pw", None).await;
    let stores = s.backend.v3_stores();
    let mut st = stores.lock().unwrap();
    st.auth.user_add("root", "x", false).unwrap();
    st.auth.user_grant_role("root", "root").unwrap();
    st.auth.enable().unwrap();
    assert!(st.auth.password_of("u").unwrap().0.starts_with("$2a$04$"));
    let bad = crate::server::v3_backend::V3Limits {
        bcrypt_cost: 40,
        ..Default::default()
    };
    assert_eq!(
        AuthService::new(Arc::new(LocalV3::with_limits(bad))).cost,
        password::DEFAULT_COST
    );
}
