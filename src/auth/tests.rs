//! Unit tests of the HTTP auth APIs against a scripted transport.

use super::*;
use crate::client::{Config, HttpClient};
use crate::error::Error;
use crate::transport::{Reply, ScriptedTransport, TransportRequest};
use ::http::Method;
use std::sync::Arc;

const EP: &str = "http://example.com:2379";

fn client(reply: Reply) -> (Arc<ScriptedTransport>, Arc<dyn crate::client::Client>) {
    let transport = Arc::new(ScriptedTransport::new(move |_| reply.clone()));
    let client = HttpClient::new(Config {
        endpoints: vec![EP.to_string()],
        transport: Some(transport.clone()),
        ..Default::default()
    })
    .unwrap();
    (transport, Arc::new(client))
}

fn users(reply: Reply) -> (Arc<ScriptedTransport>, HttpAuthUserAPI) {
    let (t, c) = client(reply);
    (t, new_auth_user_api(c))
}

fn roles(reply: Reply) -> (Arc<ScriptedTransport>, HttpAuthRoleAPI) {
    let (t, c) = client(reply);
    (t, new_auth_role_api(c))
}

fn only_request(t: &ScriptedTransport) -> TransportRequest {
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    reqs.into_iter().next().unwrap()
}

/// Checks method, URL, Content-Type and body of the one request sent.
fn assert_request(t: &ScriptedTransport, method: Method, path: &str, json_body: Option<&str>) {
    let r = only_request(t);
    assert_eq!(r.method, method);
    assert_eq!(r.url.as_str(), format!("{EP}{path}"));
    let ct = r
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    match json_body {
        Some(body) => {
            assert_eq!(ct.as_deref(), Some("application/json"));
            assert_eq!(std::str::from_utf8(&r.body).unwrap(), body);
        }
        None => {
            assert_eq!(ct, None);
            assert!(r.body.is_empty());
        }
    }
}

fn auth_message(r: Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Auth(e)) => e.message,
        other => panic!("expected an auth error, got {other:?}"),
    }
}

const ROLE_OBJECTS_USER: &str = r#"{"user":"bob","roles":[{"role":"writer","permissions":{"kv":{"read":["/*"],"write":["/*"]}}},{"role":"reader","permissions":{"kv":{"read":["/a*"],"write":null}}}]}"#;

#[tokio::test]
async fn enable_and_disable_send_no_body_and_accept_200_and_201() {
    for status in [200, 201] {
        let (t, c) = client(Reply::status(status, ""));
        new_auth_api(c).enable().await.unwrap();
        assert_request(&t, Method::PUT, "/v2/auth/enable", None);
        let (t, c) = client(Reply::status(status, ""));
        new_auth_api(c).disable().await.unwrap();
        assert_request(&t, Method::DELETE, "/v2/auth/enable", None);
    }
}

#[tokio::test]
async fn enable_errors_carry_the_server_message() {
    let (_, c) = client(Reply::json(
        409,
        r#"{"message":"auth: No root user available, please create one"}"#,
    ));
    let err = new_auth_api(c).enable().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "auth: No root user available, please create one"
    );
    let (_, c) = client(Reply::json(409, r#"{"message":"auth: already disabled"}"#));
    assert_eq!(
        auth_message(new_auth_api(c).disable().await),
        "auth: already disabled"
    );
    let (_, c) = client(Reply::status(401, "Insufficient credentials"));
    assert!(matches!(
        new_auth_api(c).enable().await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn add_user_puts_go_json() {
    for status in [200, 201] {
        let (t, api) = users(Reply::json(status, r#"{"user":"root","roles":["root"]}"#));
        api.add_user("root", "rootpw").await.unwrap();
        assert_request(
            &t,
            Method::PUT,
            "/v2/auth/users/root",
            Some(r#"{"user":"root","password":"rootpw","roles":null}"#),
        );
    }
    // Go omits an empty password, and escapes HTML characters in JSON.
    let (t, api) = users(Reply::status(201, ""));
    api.add_user("a<b", "").await.unwrap();
    assert_request(
        &t,
        Method::PUT,
        "/v2/auth/users/a%3Cb",
        Some(r#"{"user":"a\u003cb","roles":null}"#),
    );
}

#[tokio::test]
async fn add_user_errors() {
    let (_, api) = users(Reply::json(
        409,
        r#"{"message":"auth: User root already exists."}"#,
    ));
    assert_eq!(
        auth_message(api.add_user("root", "x").await),
        "auth: User root already exists."
    );
    let (_, api) = users(Reply::status(400, "{"));
    assert!(matches!(
        api.add_user("root", "x").await,
        Err(Error::InvalidJson { .. })
    ));
    let (t, api) = users(Reply::status(201, ""));
    assert!(matches!(
        api.add_user("", "x").await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn remove_user_sends_delete() {
    for status in [200, 201] {
        let (t, api) = users(Reply::status(status, ""));
        api.remove_user("bob").await.unwrap();
        assert_request(&t, Method::DELETE, "/v2/auth/users/bob", None);
    }
}

#[tokio::test]
async fn remove_user_not_found_is_not_user_not_found() {
    // The DELETE text has no trailing period, so Go's IsUserNotFound is false for it.
    let (_, api) = users(Reply::json(
        404,
        r#"{"message":"auth: User x does not exist"}"#,
    ));
    let err = api.remove_user("x").await.unwrap_err();
    assert_eq!(err.to_string(), "auth: User x does not exist");
    assert!(!err.is_user_not_found());
    let (_, api) = users(Reply::json(
        403,
        r#"{"message":"auth: Cannot delete root user while auth is enabled."}"#,
    ));
    assert_eq!(
        auth_message(api.remove_user("root").await),
        "auth: Cannot delete root user while auth is enabled."
    );
}

#[tokio::test]
async fn get_user_keeps_the_names_of_role_objects() {
    let (t, api) = users(Reply::json(200, ROLE_OBJECTS_USER));
    let u = api.get_user("bob").await.unwrap();
    assert_eq!(
        u,
        User {
            user: "bob".into(),
            roles: Some(vec!["writer".into(), "reader".into()]),
            ..Default::default()
        }
    );
    assert_request(&t, Method::GET, "/v2/auth/users/bob", None);
}

#[tokio::test]
async fn get_user_accepts_role_names_and_no_roles() {
    let (_, api) = users(Reply::json(200, r#"{"user":"root","roles":["root"]}"#));
    assert_eq!(
        api.get_user("root").await.unwrap().roles,
        Some(vec!["root".to_string()])
    );
    let (_, api) = users(Reply::json(200, r#"{"user":"bob"}"#));
    let u = api.get_user("bob").await.unwrap();
    assert_eq!(
        u,
        User {
            user: "bob".into(),
            ..Default::default()
        }
    );
    let (_, api) = users(Reply::json(200, r#"{"user":"bob","roles":[]}"#));
    assert_eq!(api.get_user("bob").await.unwrap().roles, Some(vec![]));
}

#[tokio::test]
async fn get_user_errors() {
    let (_, api) = users(Reply::json(
        404,
        r#"{"message":"auth: User x does not exist."}"#,
    ));
    let err = api.get_user("x").await.unwrap_err();
    assert!(err.is_user_not_found(), "{err:?}");
    assert!(!err.is_role_not_found());
    // A user whose role was deleted cannot be read.
    let (_, api) = users(Reply::json(
        404,
        r#"{"message":"auth: Role writer does not exist."}"#,
    ));
    let err = api.get_user("bob").await.unwrap_err();
    assert!(
        err.is_role_not_found() && !err.is_user_not_found(),
        "{err:?}"
    );
    // 201 is not accepted for a GET.
    let (_, api) = users(Reply::json(201, r#"{"user":"bob"}"#));
    assert_eq!(auth_message(api.get_user("bob").await), "");
    let (_, api) = users(Reply::json(200, r#"{"user":"bob","roles":[1]}"#));
    assert!(matches!(
        api.get_user("bob").await,
        Err(Error::InvalidJson { .. })
    ));
    let (_, api) = users(Reply::json(200, ""));
    assert!(matches!(
        api.get_user("bob").await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn grant_and_revoke_user_put_role_lists() {
    let reply = Reply::json(200, r#"{"user":"bob","roles":["reader","writer"]}"#);
    let (t, api) = users(reply.clone());
    let u = api.grant_user("bob", &["writer".into()]).await.unwrap();
    assert_eq!(
        u.roles,
        Some(vec!["reader".to_string(), "writer".to_string()])
    );
    assert_request(
        &t,
        Method::PUT,
        "/v2/auth/users/bob",
        Some(r#"{"user":"bob","roles":null,"grant":["writer"]}"#),
    );

    let (t, api) = users(reply);
    api.revoke_user("bob", &["a".into(), "b".into()])
        .await
        .unwrap();
    assert_request(
        &t,
        Method::PUT,
        "/v2/auth/users/bob",
        Some(r#"{"user":"bob","roles":null,"revoke":["a","b"]}"#),
    );
}

#[tokio::test]
async fn grant_and_revoke_user_accept_only_200() {
    let (_, api) = users(Reply::json(201, r#"{"user":"bob","roles":["writer"]}"#));
    assert_eq!(
        auth_message(api.grant_user("bob", &["writer".into()]).await),
        ""
    );
    let (_, api) = users(Reply::json(
        409,
        r#"{"message":"auth: Granting duplicate role writer for user bob"}"#,
    ));
    assert_eq!(
        auth_message(api.grant_user("bob", &["writer".into()]).await),
        "auth: Granting duplicate role writer for user bob"
    );
    let (_, api) = users(Reply::json(
        409,
        r#"{"message":"auth: Revoking ungranted role w for user bob"}"#,
    ));
    assert_eq!(
        auth_message(api.revoke_user("bob", &["w".into()]).await),
        "auth: Revoking ungranted role w for user bob"
    );
    let (_, api) = users(Reply::json(
        404,
        r#"{"message":"auth: User bob doesn't exist."}"#,
    ));
    let err = api.revoke_user("bob", &["w".into()]).await.unwrap_err();
    assert_eq!(err.to_string(), "auth: User bob doesn't exist.");
}

#[tokio::test]
async fn change_password_puts_the_password() {
    let (t, api) = users(Reply::json(200, r#"{"user":"bob","roles":["reader"]}"#));
    let u = api.change_password("bob", "new").await.unwrap();
    assert_eq!(
        u,
        User {
            user: "bob".into(),
            roles: Some(vec!["reader".into()]),
            ..Default::default()
        }
    );
    assert_request(
        &t,
        Method::PUT,
        "/v2/auth/users/bob",
        Some(r#"{"user":"bob","password":"new","roles":null}"#),
    );
}

#[tokio::test]
async fn change_password_of_a_missing_user_is_an_empty_auth_error() {
    // The server creates the user (201) and the client, accepting only 200,
    // decodes the user body as an error with no message, as Go does.
    let (_, api) = users(Reply::json(201, r#"{"user":"nobody","roles":null}"#));
    let err = api.change_password("nobody", "pw").await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth(e) if e.message.is_empty() && e.status == 201),
        "{err:?}"
    );
    assert!(!err.is_user_not_found());
}

#[tokio::test]
async fn list_users_sends_json_content_type_and_returns_names() {
    let body = format!(
        r#"{{"users":[{{"user":"root","roles":[{{"role":"root","permissions":{{"kv":{{"read":["/*"],"write":["/*"]}}}}}}]}},{ROLE_OBJECTS_USER}]}}"#
    );
    let (t, api) = users(Reply::json(200, body));
    assert_eq!(
        api.list_users().await.unwrap(),
        vec!["root".to_string(), "bob".to_string()]
    );
    assert_request(&t, Method::GET, "/v2/auth/users", Some(""));
}

#[tokio::test]
async fn list_users_null_and_errors() {
    let (_, api) = users(Reply::json(200, r#"{"users":null}"#));
    assert_eq!(api.list_users().await.unwrap(), Vec::<String>::new());
    let (_, api) = users(Reply::json(
        401,
        r#"{"message":"Insufficient credentials"}"#,
    ));
    assert_eq!(
        auth_message(api.list_users().await),
        "Insufficient credentials"
    );
    let (_, api) = users(Reply::json(200, r#"{"users":"#));
    assert!(matches!(
        api.list_users().await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn add_role_puts_null_permissions() {
    for status in [200, 201] {
        let (t, api) = roles(Reply::json(
            status,
            r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#,
        ));
        api.add_role("r1").await.unwrap();
        assert_request(
            &t,
            Method::PUT,
            "/v2/auth/roles/r1",
            Some(r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#),
        );
    }
    let (_, api) = roles(Reply::json(
        409,
        r#"{"message":"auth: Role r1 already exists."}"#,
    ));
    assert_eq!(
        auth_message(api.add_role("r1").await),
        "auth: Role r1 already exists."
    );
    let (_, api) = roles(Reply::json(
        403,
        r#"{"message":"auth: Cannot modify role root: is root role."}"#,
    ));
    assert_eq!(
        auth_message(api.add_role("root").await),
        "auth: Cannot modify role root: is root role."
    );
}

#[tokio::test]
async fn remove_role_sends_delete() {
    for status in [200, 201] {
        let (t, api) = roles(Reply::status(status, ""));
        api.remove_role("r1").await.unwrap();
        assert_request(&t, Method::DELETE, "/v2/auth/roles/r1", None);
    }
    let (_, api) = roles(Reply::json(
        404,
        r#"{"message":"auth: Role r1 doesn't exist."}"#,
    ));
    assert_eq!(
        auth_message(api.remove_role("r1").await),
        "auth: Role r1 doesn't exist."
    );
    let (_, api) = roles(Reply::status(404, "404 page not found"));
    assert!(matches!(
        api.remove_role("r1").await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn get_role_decodes_the_role() {
    let (t, api) = roles(Reply::json(
        200,
        r#"{"role":"r1","permissions":{"kv":{"read":["/a"],"write":[]}}}"#,
    ));
    let r = api.get_role("r1").await.unwrap();
    assert_eq!(
        r,
        Role {
            role: "r1".into(),
            permissions: Permissions {
                kv: RwPermission {
                    read: Some(vec!["/a".into()]),
                    write: Some(vec![])
                }
            },
            ..Default::default()
        }
    );
    assert_request(&t, Method::GET, "/v2/auth/roles/r1", None);
    let (_, api) = roles(Reply::json(
        404,
        r#"{"message":"auth: Role r1 does not exist."}"#,
    ));
    let err = api.get_role("r1").await.unwrap_err();
    assert!(err.is_role_not_found(), "{err:?}");
    let (_, api) = roles(Reply::json(200, r#"{"role":"#));
    assert!(matches!(
        api.get_role("r1").await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn grant_role_kv_leaves_the_other_permission_null() {
    let ok = Reply::json(
        200,
        r#"{"role":"r","permissions":{"kv":{"read":["/a*"],"write":[]}}}"#,
    );
    let prefixes = vec!["/a*".to_string()];
    let cases = [
        (
            PermissionType::Read,
            r#"{"kv":{"read":["/a*"],"write":null}}"#,
        ),
        (
            PermissionType::Write,
            r#"{"kv":{"read":null,"write":["/a*"]}}"#,
        ),
        (
            PermissionType::ReadWrite,
            r#"{"kv":{"read":["/a*"],"write":["/a*"]}}"#,
        ),
    ];
    for (perm, kv) in cases {
        let (t, api) = roles(ok.clone());
        let r = api.grant_role_kv("r", &prefixes, perm).await.unwrap();
        assert_eq!(r.permissions.kv.read, Some(prefixes.clone()));
        let want = format!(
            r#"{{"role":"r","permissions":{{"kv":{{"read":null,"write":null}}}},"grant":{kv}}}"#
        );
        assert_request(&t, Method::PUT, "/v2/auth/roles/r", Some(&want));

        let (t, api) = roles(ok.clone());
        api.revoke_role_kv("r", &prefixes, perm).await.unwrap();
        let want = format!(
            r#"{{"role":"r","permissions":{{"kv":{{"read":null,"write":null}}}},"revoke":{kv}}}"#
        );
        assert_request(&t, Method::PUT, "/v2/auth/roles/r", Some(&want));
    }
}

#[tokio::test]
async fn grant_and_revoke_role_accept_only_200() {
    let prefixes = vec!["/a".to_string()];
    let (_, api) = roles(Reply::json(
        201,
        r#"{"role":"r","permissions":{"kv":{"read":[],"write":[]}}}"#,
    ));
    assert_eq!(
        auth_message(
            api.grant_role_kv("r", &prefixes, PermissionType::Read)
                .await
        ),
        ""
    );
    let (_, api) = roles(Reply::json(
        409,
        r#"{"message":"auth: Granting duplicate read permission /a"}"#,
    ));
    assert_eq!(
        auth_message(
            api.grant_role_kv("r", &prefixes, PermissionType::Read)
                .await
        ),
        "auth: Granting duplicate read permission /a"
    );
    let (_, api) = roles(Reply::json(
        400,
        r#"{"message":"auth: Role not updated. Use grant/revoke to update the role."}"#,
    ));
    assert_eq!(
        auth_message(
            api.revoke_role_kv("r", &prefixes, PermissionType::Write)
                .await
        ),
        "auth: Role not updated. Use grant/revoke to update the role."
    );
}

#[tokio::test]
async fn list_roles_returns_names_and_unexpected_status_on_refusal() {
    let (t, api) = roles(Reply::json(
        200,
        r#"{"roles":[{"role":"guest","permissions":{"kv":{"read":["/*"],"write":["/*"]}}},{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}]}"#,
    ));
    assert_eq!(
        api.list_roles().await.unwrap(),
        vec!["guest".to_string(), "root".to_string()]
    );
    assert_request(&t, Method::GET, "/v2/auth/roles", Some(""));
    let (_, api) = roles(Reply::json(200, r#"{"roles":null}"#));
    assert_eq!(api.list_roles().await.unwrap(), Vec::<String>::new());
    let (_, api) = roles(Reply::json(
        401,
        r#"{"message":"Insufficient credentials"}"#,
    ));
    assert!(matches!(
        api.list_roles().await,
        Err(Error::UnexpectedStatus(401))
    ));
    let (_, api) = roles(Reply::json(200, "nope"));
    assert!(matches!(
        api.list_roles().await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn names_are_escaped_by_the_client_and_empty_names_refused() {
    let (t, api) = roles(Reply::json(200, r#"{"role":"a b"}"#));
    api.get_role("a b").await.unwrap();
    assert_request(&t, Method::GET, "/v2/auth/roles/a%20b", None);
    let (t, api) = roles(Reply::status(200, ""));
    assert!(matches!(
        api.remove_role("").await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn basic_auth_credentials_are_sent() {
    let t = Arc::new(ScriptedTransport::new(|_| Reply::status(200, "")));
    let client = HttpClient::new(Config {
        endpoints: vec![EP.to_string()],
        transport: Some(t.clone()),
        username: Some("root".into()),
        password: Some("rootpw".into()),
        ..Default::default()
    })
    .unwrap();
    new_auth_api(Arc::new(client)).disable().await.unwrap();
    let r = only_request(&t);
    // base64("root:rootpw")
    assert_eq!(
        r.headers.get("authorization").unwrap(),
        "Basic cm9vdDpyb290cHc="
    );
}

/// Auth writes are at-most-once: a lost answer is reported as outcome unknown,
/// not retried into a misleading "already exists"; reads still fail over.
#[tokio::test]
async fn auth_writes_are_not_resent_but_reads_fail_over() {
    use crate::transport::{Reply, ScriptedTransport};
    let t = Arc::new(ScriptedTransport::sequence([
        Reply::broken(),
        Reply::json(201, ""),
    ]));
    let transport: Arc<dyn crate::transport::Transport> = t.clone();
    let client = crate::HttpClient::new(crate::Config {
        endpoints: vec![
            "http://192.0.2.1:2379".into(),
            "http://192.0.2.2:2379".into(),
        ],
        transport: Some(transport),
        ..Default::default()
    })
    .unwrap();
    let users = new_auth_user_api(Arc::new(client));
    let err = users.add_user("bob", "pw").await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(t.requests().len(), 1);

    let t = Arc::new(ScriptedTransport::sequence([
        Reply::broken(),
        Reply::json(200, r#"{"users":null}"#),
    ]));
    let transport: Arc<dyn crate::transport::Transport> = t.clone();
    let client = crate::HttpClient::new(crate::Config {
        endpoints: vec![
            "http://192.0.2.1:2379".into(),
            "http://192.0.2.2:2379".into(),
        ],
        transport: Some(transport),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        new_auth_user_api(Arc::new(client))
            .list_users()
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(t.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn with_timeout_keeps_the_at_most_once_classification() {
    let timeout = std::time::Duration::from_millis(100);
    let (t, c) = client(Reply::Hang);
    let users = new_auth_user_api(c.clone()).with_timeout(timeout);
    let roles = new_auth_role_api(c.clone()).with_timeout(timeout);
    let auth = new_auth_api(c).with_timeout(timeout);
    for r in [
        users.add_user("bob", "pw").await.map(|_| ()),
        roles.add_role("r").await.map(|_| ()),
        auth.enable().await,
    ] {
        match r {
            Err(Error::OutcomeUnknown { cause, .. }) => {
                assert!(matches!(*cause, Error::Timeout), "{cause:?}")
            }
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
    }
    // Reads only time out.
    assert!(users.get_user("bob").await.unwrap_err().is_timeout());
    assert!(roles.list_roles().await.unwrap_err().is_timeout());
    assert_eq!(t.requests().len(), 5);
}
