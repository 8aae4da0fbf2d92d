//! etcd's `jwt` token provider (`--auth-token=jwt,...`) against a 1-member
//! cluster of any binary that takes etcd's flags: keys made with the
//! `openssl` CLI (RSA, EC P-256, an HS256 secret), a token's shape and claims,
//! its use, refusal once the auth store moved on ("revision of auth store is
//! old") and once it expired ("invalid auth token"), and (RS256) its use after
//! the member restarts.

use crate::EtcdCluster;
use base64::Engine as _;
use etcd_sdk::v3::pb::etcdserverpb::kv_client::KvClient;
use etcd_sdk::v3::pb::etcdserverpb::{PutRequest, RangeRequest};
use etcd_sdk::v3::tonic::{Code, Request, Status};
use etcd_sdk::v3::{Auth, Client, Config, EtcdError, Permission, PermissionType, UserAddOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Runs `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl {args:?}: {e} (is the openssl CLI installed?)"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test keys: `rsa.pem`/`rsa.pub`, `ec.pem`/`ec.pub` (P-256),
/// `ec521.pem`/`ec521.pub` (P-521), `hs.key` (random).
pub fn make_keys(dir: &Path) {
    openssl(dir, &["genrsa", "-out", "rsa.pem", "2048"]);
    openssl(
        dir,
        &["rsa", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub"],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ec.pem",
        ],
    );
    openssl(dir, &["ec", "-in", "ec.pem", "-pubout", "-out", "ec.pub"]);
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "secp521r1",
            "-genkey",
            "-noout",
            "-out",
            "ec521.pem",
        ],
    );
    openssl(
        dir,
        &["ec", "-in", "ec521.pem", "-pubout", "-out", "ec521.pub"],
    );
    openssl(dir, &["rand", "-out", "hs.key", "32"]);
}

/// The `--auth-token` flag for JWTs signed by `method` with the keys of
/// [`make_keys`] in `dir`, tokens valid for `ttl` (Go duration text).
pub fn flag(dir: &Path, method: &str, ttl: &str) -> String {
    let p = |f: &str| dir.join(f).display().to_string();
    match method {
        "RS256" => format!(
            "--auth-token=jwt,pub-key={},priv-key={},sign-method=RS256,ttl={ttl}",
            p("rsa.pub"),
            p("rsa.pem")
        ),
        "ES256" => format!(
            "--auth-token=jwt,pub-key={},priv-key={},sign-method=ES256,ttl={ttl}",
            p("ec.pub"),
            p("ec.pem")
        ),
        "ES512" => format!(
            "--auth-token=jwt,pub-key={},priv-key={},sign-method=ES512,ttl={ttl}",
            p("ec521.pub"),
            p("ec521.pem")
        ),
        _ => format!(
            "--auth-token=jwt,priv-key={},sign-method={method},ttl={ttl}",
            p("hs.key")
        ),
    }
}

/// The claims of `token`, after checking its three base64url parts.
fn claims(token: &str) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert!(header["alg"].as_str().is_some(), "{header}");
    b64.decode(parts[2]).expect("the signature is base64url");
    serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap()
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("token", token.parse().expect("a token is ASCII"));
    r
}

async fn kv(url: &str) -> KvClient<etcd_sdk::v3::tonic::transport::Channel> {
    let channel = etcd_sdk::v3::tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    KvClient::new(channel)
}

async fn put(url: &str, token: &str, key: &str) -> Result<(), Status> {
    let req = PutRequest {
        key: key.as_bytes().to_vec(),
        value: b"v".to_vec(),
        ..Default::default()
    };
    kv(url).await.put(with_token(req, token)).await.map(|_| ())
}

async fn get(url: &str, token: &str, key: &str) -> Result<Vec<u8>, Status> {
    let req = RangeRequest {
        key: key.as_bytes().to_vec(),
        ..Default::default()
    };
    let r = kv(url).await.range(with_token(req, token)).await?;
    Ok(r.into_inner()
        .kvs
        .first()
        .map(|kv| kv.value.clone())
        .unwrap_or_default())
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: Result<T, Status>, want: EtcdError) {
    match r {
        Err(s) => assert_eq!(
            (s.code(), s.message()),
            (want.code(), want.message()),
            "{s:?}"
        ),
        Ok(v) => panic!("expected {want:?}, got {v:?}"),
    }
}

/// Root, then user `u` with role `r` (read-write on `k`), then auth on; a
/// client as root.
async fn set_up(url: &str) -> Client {
    let admin = Client::connect(vec![url.to_string()]).await.unwrap();
    admin
        .user_add("root", "pw", UserAddOptions::default())
        .await
        .unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin
        .user_add("u", "upw", UserAddOptions::default())
        .await
        .unwrap();
    admin.role_add("r").await.unwrap();
    admin
        .role_grant_permission("r", Permission::key(PermissionType::Readwrite, "k"))
        .await
        .unwrap();
    admin.user_grant_role("u", "r").await.unwrap();
    admin.auth_enable().await.unwrap();
    Client::new(Config {
        username: Some("root".into()),
        password: Some("pw".into()),
        ..Config::new(vec![url.to_string()])
    })
    .await
    .unwrap()
}

async fn token(admin: &Client, user: &str, pw: &str) -> String {
    admin.authenticate(user, pw).await.unwrap().token
}

/// Starts `bin` with JWTs signed by `method` and checks them; `restart`: also
/// kill and restart the member and use the token again.
pub async fn jwt_tokens(bin: &Path, keys: &Path, method: &str, ttl_secs: u64, restart: bool) {
    let flag = flag(keys, method, &format!("{ttl_secs}s"));
    let c = EtcdCluster::start_bin_with_flags(bin, 1, &[flag.as_str()]).await;
    let url = c.client_urls()[0].clone();
    let admin = set_up(&url).await;

    let root_token = token(&admin, "root", "pw").await;
    let t = token(&admin, "u", "upw").await;
    let c0 = claims(&t);
    assert_eq!(c0["username"], "u", "{c0}");
    let rev = c0["revision"].as_u64().unwrap_or_else(|| panic!("{c0}"));
    assert!(rev > 0, "{c0}");
    let exp = c0["exp"].as_i64().unwrap_or_else(|| panic!("{c0}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - 2..=now + 2).contains(&(exp - ttl_secs as i64)),
        "{c0}"
    );
    assert_eq!(claims(&root_token)["revision"], c0["revision"]);

    put(&url, &t, "k").await.unwrap();
    assert_eq!(get(&url, &t, "k").await.unwrap(), b"v");
    assert_refused(put(&url, &t, "other").await, EtcdError::PermissionDenied);
    assert_refused(get(&url, "a.b.c", "k").await, EtcdError::InvalidAuthToken);

    if restart {
        c.member(0).kill();
        c.member(0).restart().await;
        // Not registered anywhere: the restarted member verifies it with the key.
        put(&url, &t, "k").await.unwrap();
        assert_eq!(get(&url, &t, "k").await.unwrap(), b"v");
    }

    // A role change bumps the auth revision: the token is too old.
    admin
        .role_grant_permission("r", Permission::key(PermissionType::Read, "k2"))
        .await
        .unwrap();
    assert_refused(put(&url, &t, "k").await, EtcdError::AuthOldRevision);
    assert_refused(get(&url, &t, "k").await, EtcdError::AuthOldRevision);
    let fresh = token(&admin, "u", "upw").await;
    assert!(claims(&fresh)["revision"].as_u64().unwrap() > rev);
    put(&url, &fresh, "k").await.unwrap();

    // After its exp second has passed, the token is invalid.
    tokio::time::sleep(Duration::from_secs(ttl_secs + 2)).await;
    assert_refused(put(&url, &fresh, "k").await, EtcdError::InvalidAuthToken);
    assert_refused(get(&url, &fresh, "k").await, EtcdError::InvalidAuthToken);
    let again = token(&admin, "u", "upw").await;
    assert_eq!(get(&url, &again, "k").await.unwrap(), b"v");
    assert_eq!(EtcdError::InvalidAuthToken.code(), Code::Unauthenticated);
}

/// The three method families against `bin`: RS256 (with a restart), ES256,
/// ES512 (etcd-sim signs it without the JWT crate) and HS256,
/// keys made in a temp dir.
pub async fn jwt_method_families(bin: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let keys: PathBuf = dir.path().to_path_buf();
    make_keys(&keys);
    jwt_tokens(bin, &keys, "RS256", 8, true).await;
    jwt_tokens(bin, &keys, "ES256", 2, false).await;
    jwt_tokens(bin, &keys, "ES512", 2, false).await;
    jwt_tokens(bin, &keys, "HS256", 2, false).await;
}
