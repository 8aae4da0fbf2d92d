//! `/v2/auth/*` and the key permission check, against a single member that applies
//! commands at once. Statuses, headers and bodies are etcd 3.4's (spec §6).

use super::*;
use crate::api::v2::keys::{self, KeysCall};
use crate::server::testing::Local;
use base64::Engine;
use http_body_util::BodyExt;

/// `root:rootpw`.
const ROOT: &str = "Basic cm9vdDpyb290cHc=";
const CLUSTER_ID: &str = "cdf818194e3a8c32";

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn cluster_id(&self) -> Option<&str> {
        self.header("X-Etcd-Cluster-Id")
    }

    /// Status and body.
    fn sb(&self) -> (u16, &str) {
        (self.status, self.body.as_str())
    }
}

async fn collect(resp: Response<Body>) -> Resp {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn auth(b: &Local, method: &str, path: &str, creds: Option<&str>, body: &str) -> Resp {
    collect(handle(b, method, path, (creds, &[]), body.as_bytes()).await).await
}

async fn key(b: &Local, method: &str, path: &str, query: &str, creds: Option<&str>) -> Resp {
    let call = KeysCall {
        method,
        key_path: path,
        raw_query: Some(query),
        content_type: Some("application/x-www-form-urlencoded"),
        body: b"value=v",
        authorization: creds,
        cert_names: &[],
        body_error: None,
    };
    collect(keys::handle(b, call).await).await
}

const NO_CREDS: &str = r#"{"message":"Insufficient credentials"}"#;
const KEY_NO_AUTH: &str = "{\"errorCode\":110,\"message\":\"The request requires user authentication\",\"cause\":\"Insufficient credentials\",\"index\":0}\n";

/// Creates `root` (password `rootpw`) while auth is disabled.
async fn with_root(b: &Local) {
    let r = auth(
        b,
        "PUT",
        "/users/root",
        None,
        r#"{"user":"root","password":"rootpw"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{r:?}");
}

#[tokio::test]
async fn enable_flow_of_spec_6_3() {
    let b = Local::new();
    let r = auth(&b, "GET", "/enable", None, "").await;
    assert_eq!(r.sb(), (200, "{\"enabled\":false}\n"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(r.header("Content-Type"), Some("application/json"));

    // 1. No root user yet.
    let r = auth(&b, "PUT", "/enable", None, "").await;
    assert_eq!(
        r.sb(),
        (
            409,
            r#"{"message":"auth: No root user available, please create one"}"#
        )
    );
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(b.index(), 0, "a failed enable writes nothing");

    // 2. The root user, no credentials needed while disabled: +4 for the auth tree, +1.
    let r = auth(
        &b,
        "PUT",
        "/users/root",
        None,
        r#"{"user":"root","password":"rootpw"}"#,
    )
    .await;
    assert_eq!(r.sb(), (201, "{\"user\":\"root\",\"roles\":[\"root\"]}\n"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(b.index(), 5);
    let stored = b.peek("/2/users/root").unwrap();
    assert!(
        stored.starts_with(r#"{"user":"root","password":"$2a$10$"#)
            && stored.ends_with(r#"","roles":["root"]}"#),
        "stored hashed: {stored}"
    );

    // 3. Enable: the guest role (+1) and the flag (+1); anonymous access still works.
    let r = auth(&b, "PUT", "/enable", None, "").await;
    assert_eq!(r.sb(), (200, ""));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(b.index(), 7);
    assert_eq!(
        b.peek("/2/roles/guest").as_deref(),
        Some(r#"{"role":"guest","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}"#)
    );
    assert_eq!(b.peek("/2/enabled").as_deref(), Some("true"));
    assert_eq!(
        auth(&b, "GET", "/enable", None, "").await.body,
        "{\"enabled\":true}\n"
    );
    assert_eq!(key(&b, "PUT", "/newk", "", None).await.status, 201);
    assert_eq!(key(&b, "GET", "/newk", "", None).await.status, 200);

    // 4. Revoke the guest role's permissions.
    let revoke = r#"{"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}}}"#;
    let r = auth(&b, "PUT", "/roles/guest", Some(ROOT), revoke).await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"guest\",\"permissions\":{\"kv\":{\"read\":[],\"write\":[]}}}\n"
        )
    );
    assert_eq!(b.index(), 9);

    // 5. Anonymous access is now refused with a key error.
    let r = key(&b, "GET", "/newk", "", None).await;
    assert_eq!(r.sb(), (401, KEY_NO_AUTH));
    assert_eq!(r.header("X-Etcd-Index"), Some("0"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(key(&b, "GET", "/newk", "", Some(ROOT)).await.status, 200);

    // 6. Disable: not as bob, as root, and not twice.
    let bob = r#"{"user":"bob","password":"bobpw"}"#;
    assert_eq!(
        auth(&b, "PUT", "/users/bob", Some(ROOT), bob).await.status,
        201
    );
    assert_eq!(b.index(), 10);
    let r = auth(&b, "DELETE", "/enable", Some(&basic("bob", "bobpw")), "").await;
    assert_eq!(r.sb(), (401, NO_CREDS));
    assert_eq!(r.cluster_id(), None, "denied before the cluster id is set");
    assert_eq!(
        auth(&b, "PUT", "/enable", Some(&basic("bob", "bobpw")), "")
            .await
            .status,
        401
    );
    let r = auth(&b, "PUT", "/enable", Some(ROOT), "").await;
    assert_eq!(r.sb(), (409, r#"{"message":"auth: already enabled"}"#));
    let r = auth(&b, "DELETE", "/enable", Some(ROOT), "").await;
    assert_eq!(r.sb(), (200, ""));
    assert_eq!(b.index(), 11);
    assert_eq!(b.peek("/2/enabled").as_deref(), Some("false"));
    let r = auth(&b, "DELETE", "/enable", None, "").await;
    assert_eq!(r.sb(), (409, r#"{"message":"auth: already disabled"}"#));
    assert_eq!(
        key(&b, "GET", "/newk", "", None).await.status,
        200,
        "open again"
    );

    // Enabling again keeps the (revoked) guest role: +1 only.
    assert_eq!(auth(&b, "PUT", "/enable", None, "").await.status, 200);
    assert_eq!(b.index(), 12);
    assert_eq!(key(&b, "GET", "/newk", "", None).await.status, 401);
}

#[tokio::test]
async fn users_table() {
    let b = Local::new();
    let r = auth(&b, "GET", "/users", None, "").await;
    assert_eq!(r.sb(), (200, "{\"users\":null}\n"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));

    let r = auth(&b, "PUT", "/users/foo", None, r#"{"user":"foo"}"#).await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"auth: Cannot create user foo with an empty password"}"#
        )
    );
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    assert_eq!(b.index(), 0);
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"bar","password":"x"}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"User JSON name does not match the name in the URL"}"#
        )
    );
    for bad in ["", "{", "[]", r#"{"user":5}"#, "  x"] {
        let r = auth(&b, "PUT", "/users/foo", None, bad).await;
        assert_eq!(
            r.sb(),
            (400, r#"{"message":"Invalid JSON in request body."}"#),
            "{bad:?}"
        );
    }
    let r = auth(&b, "PUT", "/users/foo", None, "null").await;
    assert_eq!(
        r.status, 400,
        "null decodes to an empty user: a name mismatch"
    );

    // Create without roles: 201 and "roles":null; trailing data after the JSON is ignored.
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#" {"user":"foo","password":"p"} trailing"#,
    )
    .await;
    assert_eq!(r.sb(), (201, "{\"user\":\"foo\",\"roles\":null}\n"));
    assert_eq!(b.index(), 5);
    // Create with roles: 200, and only a create.
    let r = auth(
        &b,
        "PUT",
        "/users/w1",
        None,
        r#"{"user":"w1","password":"p","roles":["writer"]}"#,
    )
    .await;
    assert_eq!(r.sb(), (200, "{\"user\":\"w1\",\"roles\":[\"writer\"]}\n"));
    let r = auth(
        &b,
        "PUT",
        "/users/w1",
        None,
        r#"{"user":"w1","password":"p","roles":["x"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (409, r#"{"message":"auth: User w1 already exists."}"#)
    );
    let r = auth(
        &b,
        "PUT",
        "/users/w2",
        None,
        r#"{"user":"w2","roles":["x"]}"#,
    )
    .await;
    assert_eq!(r.status, 400, "roles do not excuse an empty password");
    assert_eq!(b.index(), 6);

    // Password change of an existing user: 200, "roles":[] once merged.
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","password":"p2"}"#,
    )
    .await;
    assert_eq!(r.sb(), (200, "{\"user\":\"foo\",\"roles\":[]}\n"));
    assert_eq!(b.index(), 7);
    // No password, no change: roles were already [] now.
    let r = auth(&b, "PUT", "/users/foo", None, r#"{"user":"foo"}"#).await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"auth: User not updated. Use grant/revoke/password to update the user."}"#
        )
    );

    // Grant and revoke.
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","roles":["a"],"grant":["b"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"User JSON contains both roles and grant/revoke"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","grant":["writer","reader"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"user\":\"foo\",\"roles\":[\"reader\",\"writer\"]}\n"
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","grant":["reader"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            409,
            r#"{"message":"auth: Granting duplicate role reader for user foo"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","revoke":["nope"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            409,
            r#"{"message":"auth: Revoking ungranted role nope for user foo"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/users/foo",
        None,
        r#"{"user":"foo","revoke":["reader"]}"#,
    )
    .await;
    assert_eq!(r.sb(), (200, "{\"user\":\"foo\",\"roles\":[\"writer\"]}\n"));
    let r = auth(
        &b,
        "PUT",
        "/users/nobody",
        None,
        r#"{"user":"nobody","grant":["a"]}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: User nobody does not exist."}"#)
    );
    assert_eq!(b.index(), 9);

    // Listing: sorted, role objects, missing roles left out; hidden names not listed.
    let r = auth(
        &b,
        "PUT",
        "/users/_hidden",
        None,
        r#"{"user":"_hidden","password":"p"}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    let role = r#"{"role":"writer","permissions":{"kv":{"read":null,"write":["/w*"]}}}"#;
    assert_eq!(
        auth(&b, "PUT", "/roles/writer", None, role).await.status,
        201
    );
    let r = auth(&b, "GET", "/users", None, "").await;
    assert_eq!(
        r.sb(),
        (
            200,
            concat!(
                r#"{"users":[{"user":"foo","roles":[{"role":"writer","permissions":{"kv":{"read":null,"write":["/w*"]}}}]},"#,
                r#"{"user":"w1","roles":[{"role":"writer","permissions":{"kv":{"read":null,"write":["/w*"]}}}]}]}"#,
                "\n"
            )
        )
    );
    let r = auth(&b, "GET", "/users/_hidden", None, "").await;
    assert_eq!(
        r.sb(),
        (200, "{\"user\":\"_hidden\"}\n"),
        "direct GET works; no roles: omitted"
    );

    // Delete.
    let r = auth(&b, "DELETE", "/users/w1", None, "").await;
    assert_eq!(r.sb(), (200, ""));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    let r = auth(&b, "DELETE", "/users/w1", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: User w1 does not exist"}"#)
    );
    let r = auth(&b, "GET", "/users/w1", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: User w1 does not exist."}"#)
    );
}

#[tokio::test]
async fn user_get_returns_role_objects_and_a_dangling_role_breaks_it() {
    let b = Local::new();
    with_root(&b).await;
    let r = auth(&b, "GET", "/users/root", None, "").await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"user\":\"root\",\"roles\":[{\"role\":\"root\",\"permissions\":{\"kv\":{\"read\":[\"/*\"],\"write\":[\"/*\"]}}}]}\n"
        )
    );
    auth(&b, "PUT", "/roles/writer", None, r#"{"role":"writer"}"#).await;
    let bob = r#"{"user":"bob","password":"b","roles":["writer"]}"#;
    assert_eq!(auth(&b, "PUT", "/users/bob", None, bob).await.status, 200);
    let r = auth(&b, "GET", "/users/bob", None, "").await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"user\":\"bob\",\"roles\":[{\"role\":\"writer\",\"permissions\":{\"kv\":{\"read\":null,\"write\":null}}}]}\n"
        )
    );
    assert_eq!(
        auth(&b, "DELETE", "/roles/writer", None, "").await.status,
        200
    );
    let r = auth(&b, "GET", "/users/bob", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: Role writer does not exist."}"#)
    );
    let r = auth(&b, "GET", "/users", None, "").await;
    assert_eq!(
        r.body,
        "{\"users\":[{\"user\":\"bob\"},{\"user\":\"root\",\"roles\":[{\"role\":\"root\",\"permissions\":{\"kv\":{\"read\":[\"/*\"],\"write\":[\"/*\"]}}}]}]}\n",
        "the listing skips the dangling role"
    );
}

#[tokio::test]
async fn roles_table() {
    let b = Local::new();
    let r = auth(&b, "GET", "/roles", None, "").await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"roles\":[{\"role\":\"root\",\"permissions\":{\"kv\":{\"read\":[\"/*\"],\"write\":[\"/*\"]}}}]}\n"
        )
    );
    let r = auth(&b, "GET", "/roles/root", None, "").await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"root\",\"permissions\":{\"kv\":{\"read\":[\"/*\"],\"write\":[\"/*\"]}}}\n"
        )
    );
    let immutable = r#"{"message":"auth: Cannot modify role root: is root role."}"#;
    for (method, body) in [
        ("PUT", r#"{"role":"root"}"#),
        ("PUT", r#"{"role":"root","grant":{"kv":{"read":["/a"]}}}"#),
        ("DELETE", ""),
    ] {
        let r = auth(&b, method, "/roles/root", None, body).await;
        assert_eq!(r.sb(), (403, immutable), "{method} {body}");
    }
    assert_eq!(b.index(), 0);

    // Create echoes the role as sent: 201, null lists kept.
    let r = auth(&b, "PUT", "/roles/r1", None, r#"{"role":"r1"}"#).await;
    assert_eq!(
        r.sb(),
        (
            201,
            "{\"role\":\"r1\",\"permissions\":{\"kv\":{\"read\":null,\"write\":null}}}\n"
        )
    );
    assert_eq!(b.index(), 5);
    let r = auth(&b, "PUT", "/roles/r1", None, r#"{"role":"r1"}"#).await;
    assert_eq!(
        r.sb(),
        (409, r#"{"message":"auth: Role r1 already exists."}"#)
    );
    let r = auth(&b, "PUT", "/roles/r1", None, r#"{"role":"r2"}"#).await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"Role JSON name does not match the name in the URL"}"#
        )
    );
    let r = auth(&b, "PUT", "/roles/r1", None, "{nope").await;
    assert_eq!(
        r.sb(),
        (400, r#"{"message":"Invalid JSON in request body."}"#)
    );
    // Empty grant/revoke objects mean "create".
    let r = auth(
        &b,
        "PUT",
        "/roles/r2",
        None,
        r#"{"role":"r2","permissions":{"kv":{"read":["/a"]}},"grant":{"kv":{"read":[]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            201,
            "{\"role\":\"r2\",\"permissions\":{\"kv\":{\"read\":[\"/a\"],\"write\":null}},\"grant\":{\"kv\":{\"read\":[],\"write\":null}}}\n"
        )
    );

    // Grant and revoke.
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","permissions":{"kv":{"read":["/x"]}},"grant":{"kv":{"read":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"Role JSON contains both permissions and grant/revoke"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","grant":{"kv":{"read":["/b*","/a"],"write":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"r1\",\"permissions\":{\"kv\":{\"read\":[\"/a\",\"/b*\"],\"write\":[\"/a\"]}}}\n"
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","grant":{"kv":{"read":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            409,
            r#"{"message":"auth: Granting duplicate read permission /a"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","grant":{"kv":{"write":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            409,
            r#"{"message":"auth: Granting duplicate write permission /a"}"#
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","revoke":{"kv":{"read":["/zz"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            400,
            r#"{"message":"auth: Role not updated. Use grant/revoke to update the role."}"#
        ),
        "revoking what is not granted is ignored"
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/r1",
        None,
        r#"{"role":"r1","revoke":{"kv":{"read":["/a","/zz"],"write":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"r1\",\"permissions\":{\"kv\":{\"read\":[\"/b*\"],\"write\":[]}}}\n"
        )
    );
    let r = auth(
        &b,
        "PUT",
        "/roles/nope",
        None,
        r#"{"role":"nope","grant":{"kv":{"read":["/a"]}}}"#,
    )
    .await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: Role nope does not exist."}"#)
    );
    assert_eq!(b.index(), 8);

    let r = auth(&b, "GET", "/roles", None, "").await;
    let names: Vec<&str> = r
        .body
        .match_indices("\"role\":\"")
        .map(|(i, _)| &r.body[i + 8..i + 10])
        .collect();
    assert_eq!(names, ["r1", "r2", "ro"], "sorted, root included");
    let r = auth(&b, "GET", "/roles/nope", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: Role nope does not exist."}"#)
    );

    let r = auth(&b, "DELETE", "/roles/r1", None, "").await;
    assert_eq!(r.sb(), (200, ""));
    let r = auth(&b, "DELETE", "/roles/r1", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: Role r1 doesn't exist."}"#)
    );
    assert_eq!(b.index(), 9);
}

#[tokio::test]
async fn routing_methods_and_paths() {
    let b = Local::new();
    for (method, path, allow) in [
        ("HEAD", "/users", "GET"),
        ("PUT", "/users", "GET"),
        ("POST", "/roles", "GET"),
        ("HEAD", "/users/", "GET"),
        ("PATCH", "/users/x", "GET,PUT,DELETE"),
        ("POST", "/roles/x", "GET,PUT,DELETE"),
        ("HEAD", "/enable", "GET,PUT,DELETE"),
    ] {
        let r = auth(&b, method, path, None, "").await;
        assert_eq!(r.sb(), (405, "Method Not Allowed\n"), "{method} {path}");
        assert_eq!(r.header("Allow"), Some(allow));
        assert_eq!(r.cluster_id(), None);
    }
    let r = auth(&b, "GET", "/users/a/b", None, "").await;
    assert_eq!(r.sb(), (400, r#"{"message":"Invalid path"}"#));
    assert_eq!(r.cluster_id(), None);
    assert_eq!(
        auth(&b, "PATCH", "/roles/a/b", None, "").await.status,
        400,
        "before the method check"
    );
    assert_eq!(
        auth(&b, "GET", "/users/", None, "").await.body,
        "{\"users\":null}\n"
    );
    assert_eq!(
        auth(&b, "GET", "/users/..", None, "").await.body,
        "{\"users\":null}\n"
    );
    assert_eq!(auth(&b, "GET", "/roles/", None, "").await.status, 200);
    for path in ["", "/", "/enable/", "/usersx", "/other"] {
        let r = auth(&b, "GET", path, None, "").await;
        assert_eq!(r.sb(), (404, "404 page not found\n"), "{path:?}");
    }
    assert_eq!(route("/users/bob/"), Route::User("bob".into()));
    assert_eq!(route("/roles/r1"), Route::Role("r1".into()));
}

#[tokio::test]
async fn root_is_required_once_enabled() {
    let b = Local::new();
    with_root(&b).await;
    auth(
        &b,
        "PUT",
        "/users/bob",
        None,
        r#"{"user":"bob","password":"bobpw"}"#,
    )
    .await;
    assert_eq!(auth(&b, "PUT", "/enable", None, "").await.status, 200);
    let bob = basic("bob", "bobpw");
    let wrong = basic("root", "nope");
    for creds in [
        None,
        Some(bob.as_str()),
        Some(wrong.as_str()),
        Some("Basic ???"),
    ] {
        for (method, path) in [
            ("GET", "/users"),
            ("GET", "/roles"),
            ("GET", "/users/bob"),
            ("DELETE", "/roles/guest"),
        ] {
            let r = auth(&b, method, path, creds, "").await;
            assert_eq!(r.sb(), (401, NO_CREDS), "{method} {path} {creds:?}");
            assert_eq!(r.cluster_id(), None);
        }
    }
    assert_eq!(
        auth(&b, "GET", "/enable", None, "").await.status,
        200,
        "anyone may GET enable"
    );
    assert_eq!(auth(&b, "GET", "/users", Some(ROOT), "").await.status, 200);
    // A user granted the root role is as good as root.
    auth(
        &b,
        "PUT",
        "/users/bob",
        Some(ROOT),
        r#"{"user":"bob","grant":["root"]}"#,
    )
    .await;
    assert_eq!(auth(&b, "GET", "/roles", Some(&bob), "").await.status, 200);
    let r = auth(&b, "DELETE", "/users/root", Some(ROOT), "").await;
    assert_eq!(
        r.sb(),
        (
            403,
            r#"{"message":"auth: Cannot delete root user while auth is enabled."}"#
        )
    );
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
}

#[tokio::test]
async fn etcdctl_and_go_client_request_shapes() {
    let b = Local::new();
    // etcdctl user add / Go AddUser.
    let r = auth(
        &b,
        "PUT",
        "/users/root",
        None,
        r#"{"user":"root","password":"rootpw","roles":null}"#,
    )
    .await;
    assert_eq!(r.sb(), (201, "{\"user\":\"root\",\"roles\":[\"root\"]}\n"));
    // etcdctl role add: GET (404 expected), then PUT with null lists.
    let r = auth(&b, "GET", "/roles/r1", None, "").await;
    assert_eq!(
        r.sb(),
        (404, r#"{"message":"auth: Role r1 does not exist."}"#)
    );
    let add = r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#;
    let r = auth(&b, "PUT", "/roles/r1", None, add).await;
    assert_eq!(r.sb(), (201, format!("{add}\n").as_str()));
    // etcdctl role grant / Go GrantRoleKV: permissions (null lists) plus grant.
    let grant = r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}},"grant":{"kv":{"read":["/foo/*"],"write":null}}}"#;
    let r = auth(&b, "PUT", "/roles/r1", None, grant).await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"r1\",\"permissions\":{\"kv\":{\"read\":[\"/foo/*\"],\"write\":[]}}}\n"
        )
    );
    let revoke = grant.replace("grant", "revoke");
    let r = auth(&b, "PUT", "/roles/r1", None, &revoke).await;
    assert_eq!(
        r.sb(),
        (
            200,
            "{\"role\":\"r1\",\"permissions\":{\"kv\":{\"read\":[],\"write\":[]}}}\n"
        )
    );
    // Go GrantUser / RevokeUser / ChangePassword.
    auth(
        &b,
        "PUT",
        "/users/u",
        None,
        r#"{"user":"u","password":"pw","roles":null}"#,
    )
    .await;
    let r = auth(
        &b,
        "PUT",
        "/users/u",
        None,
        r#"{"user":"u","roles":null,"grant":["r1"]}"#,
    )
    .await;
    assert_eq!(r.sb(), (200, "{\"user\":\"u\",\"roles\":[\"r1\"]}\n"));
    let r = auth(
        &b,
        "PUT",
        "/users/u",
        None,
        r#"{"user":"u","roles":null,"revoke":["r1"]}"#,
    )
    .await;
    assert_eq!(r.sb(), (200, "{\"user\":\"u\",\"roles\":[]}\n"));
    let r = auth(
        &b,
        "PUT",
        "/users/u",
        None,
        r#"{"user":"u","password":"new","roles":null}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    // etcdctl auth enable (PUT) and user get, then disable (DELETE) with root.
    assert_eq!(auth(&b, "PUT", "/enable", None, "").await.status, 200);
    assert_eq!(
        auth(&b, "GET", "/users/u", Some(&basic("root", "rootpw")), "")
            .await
            .sb(),
        (200, "{\"user\":\"u\"}\n")
    );
    assert_eq!(
        key(&b, "GET", "/k", "", Some(&basic("u", "pw")))
            .await
            .status,
        401,
        "old password"
    );
    assert_eq!(
        key(&b, "GET", "/k", "", Some(&basic("u", "new")))
            .await
            .status,
        401,
        "no role allows it"
    );
    assert_eq!(
        auth(&b, "DELETE", "/enable", Some(ROOT), "").await.status,
        200
    );
}

#[tokio::test]
async fn key_permissions_follow_spec_6_4() {
    let b = Local::new();
    with_root(&b).await;
    let role = r#"{"role":"w","permissions":{"kv":{"read":["/w/*","/e"],"write":["/w/*"]}}}"#;
    assert_eq!(auth(&b, "PUT", "/roles/w", None, role).await.status, 201);
    let user = r#"{"user":"bob","password":"bobpw","roles":["w","missing"]}"#;
    assert_eq!(auth(&b, "PUT", "/users/bob", None, user).await.status, 200);
    assert_eq!(auth(&b, "PUT", "/enable", None, "").await.status, 200);
    let bob = basic("bob", "bobpw");
    let bob = Some(bob.as_str());

    assert_eq!(key(&b, "PUT", "/w/x", "", bob).await.status, 201);
    assert_eq!(
        key(&b, "GET", "/w/", "", bob).await.status,
        200,
        "the raw key /w/"
    );
    let r = key(&b, "GET", "/w", "recursive=true", bob).await;
    assert_eq!(r.sb(), (401, KEY_NO_AUTH), "/w does not start with /w/");
    assert_eq!(
        key(&b, "GET", "/w/", "recursive=true", bob).await.status,
        200
    );
    assert_eq!(
        key(&b, "GET", "/e", "", bob).await.status,
        404,
        "allowed; the key is missing"
    );
    assert_eq!(
        key(&b, "GET", "/e", "recursive=true", bob).await.status,
        401,
        "exact patterns do not serve recursive requests"
    );
    assert_eq!(key(&b, "GET", "/e/x", "", bob).await.status, 401);
    assert_eq!(key(&b, "PUT", "/e", "", bob).await.status, 401, "read-only");
    assert_eq!(key(&b, "DELETE", "/w/x", "", bob).await.status, 200);

    // Parse errors come before the auth check.
    let r = key(&b, "GET", "/w/x", "recursive=maybe", None).await;
    assert_eq!(r.status, 400);

    // Guest: the default role allows everything but the empty key, non-recursively.
    assert_eq!(key(&b, "PUT", "/g/a", "", None).await.status, 201);
    assert_eq!(
        key(&b, "GET", "/g", "recursive=true", None).await.status,
        200
    );
    assert_eq!(
        key(&b, "GET", "", "", None).await.status,
        401,
        "/v2/keys alone: the empty key"
    );
    assert_eq!(key(&b, "GET", "/", "", None).await.status, 200);
    assert_eq!(
        key(&b, "GET", "/g/a", "", Some("")).await.status,
        200,
        "an empty header is no header"
    );
    // A present but wrong Authorization never falls back to guest.
    for creds in [
        "Basic nonsense",
        &basic("bob", "wrong"),
        &basic("ghost", "x"),
    ] {
        let r = key(&b, "GET", "/g/a", "", Some(creds)).await;
        assert_eq!(r.sb(), (401, KEY_NO_AUTH), "{creds}");
    }
    // An authenticated user does not get the guest role either.
    assert_eq!(key(&b, "GET", "/g/a", "", bob).await.status, 401);

    // A guest with an exact pattern: recursive requests still match non-recursively.
    assert_eq!(
        auth(&b, "DELETE", "/roles/guest", Some(ROOT), "")
            .await
            .status,
        200
    );
    assert_eq!(
        key(&b, "GET", "/g/a", "", None).await.status,
        401,
        "no guest role: deny"
    );
    let guest = r#"{"role":"guest","permissions":{"kv":{"read":["/g"],"write":null}}}"#;
    assert_eq!(
        auth(&b, "PUT", "/roles/guest", Some(ROOT), guest)
            .await
            .status,
        201
    );
    assert_eq!(
        key(&b, "GET", "/g", "recursive=true", None).await.status,
        200
    );
    assert_eq!(key(&b, "GET", "/g/a", "", None).await.status, 401);
    // Root may do anything.
    assert_eq!(
        key(&b, "DELETE", "/g", "recursive=true", Some(ROOT))
            .await
            .status,
        200
    );
    assert_eq!(key(&b, "GET", "", "", Some(ROOT)).await.status, 200);
}

#[tokio::test]
async fn internal_failures() {
    let b = Local::failing();
    let r = auth(
        &b,
        "PUT",
        "/users/root",
        None,
        r#"{"user":"root","password":"p"}"#,
    )
    .await;
    assert_eq!(r.sb(), (500, r#"{"message":"Internal Server Error"}"#));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
    let r = auth(&b, "PUT", "/enable", None, "").await;
    assert_eq!(
        r.status, 409,
        "a failed quorum read means no root user, as in etcd"
    );
    // A store error from an internal write is sent as a key error.
    let ok = Local::new();
    ok.with(|s| {
        s.create(
            "/2",
            false,
            "in the way",
            false,
            None,
            std::time::UNIX_EPOCH,
        )
        .unwrap()
    });
    let r = auth(&ok, "PUT", "/roles/r", None, r#"{"role":"r"}"#).await;
    assert_eq!(
        r.sb(),
        (
            400,
            "{\"errorCode\":104,\"message\":\"Not a directory\",\"cause\":\"/2\",\"index\":1}\n"
        )
    );
    assert_eq!(r.header("X-Etcd-Index"), Some("1"));
    assert_eq!(r.cluster_id(), Some(CLUSTER_ID));
}

#[test]
fn handler_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let b = Local::new();
    let auth_call = handle(&b, "GET", "/users", (None, &[]), b"");
    assert_send(&auth_call);
    let key_call = keys::handle(
        &b,
        KeysCall {
            method: "GET",
            key_path: "/a",
            raw_query: None,
            content_type: None,
            body: b"",
            authorization: None,
            cert_names: &[],
            body_error: None,
        },
    );
    assert_send(&key_call);
}
