//! Ports of the v3 auth tests of etcd 3.4.23's `integration/v3_auth_test.go`
//! that no other body covered (see `sim/tests/COVERAGE.md`), written in our
//! own words against any server's endpoints:
//!
//! - [`auth_token_with_disable`]: puts with a token race an AuthDisable;
//! - [`auth_revision`]: auth changes answer with the KV revision and do not
//!   move it;
//! - [`lease_revoke_with_root`]: a lease granted by root expires with auth on;
//! - [`watch_error_and_watch_id0`]: a refused watch create on the stream of an
//!   allowed watcher with ID 0 leaves that watcher alone.
//!
//! Each expects a fresh cluster whose first endpoint it talks to.

use etcd_sdk::v3::pb::etcdserverpb::kv_client::KvClient;
use etcd_sdk::v3::pb::etcdserverpb::lease_client::LeaseClient;
use etcd_sdk::v3::pb::etcdserverpb::watch_client::WatchClient;
use etcd_sdk::v3::pb::etcdserverpb::{
    LeaseTimeToLiveRequest, PutRequest, WatchCreateRequest, WatchRequest, WatchResponse,
    watch_request::RequestUnion,
};
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use etcd_sdk::v3::tonic::{Request, Streaming};
use etcd_sdk::v3::{
    Auth, Client, Config, GetOptions, KV, KeyRange, Lease, Permission, PermissionType, PutOptions,
    UserAddOptions,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(10);

fn config(endpoints: &[String], creds: Option<(&str, &str)>) -> Config {
    Config {
        username: creds.map(|c| c.0.to_string()),
        password: creds.map(|c| c.1.to_string()),
        request_timeout: Some(CALL),
        ..Config::new(endpoints.iter().cloned())
    }
}

async fn client(endpoints: &[String], creds: Option<(&str, &str)>) -> Client {
    Client::new(config(endpoints, creds))
        .await
        .unwrap_or_else(|e| panic!("client as {creds:?}: {e:?}"))
}

async fn channel(endpoints: &[String]) -> Channel {
    Endpoint::from_shared(endpoints[0].clone())
        .expect("endpoint")
        .connect_timeout(CALL)
        .connect()
        .await
        .expect("connect")
}

/// etcd's `authSetupRoot`: user root (password "123") with role root, then
/// auth enabled.
async fn set_up_root(admin: &Client) {
    admin
        .user_add("root", "123", UserAddOptions::default())
        .await
        .unwrap();
    admin.role_add("root").await.unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin.auth_enable().await.unwrap();
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("token", token.parse().expect("token as metadata"));
    r
}

/// Run against a fresh cluster (etcd's `TestV3AuthTokenWithDisable`): a task
/// puts with root's token in a loop while auth is disabled under it. etcd
/// asserts only that nothing hangs; here also: the loop's puts all end (each
/// within its deadline), some succeed, the server answers afterwards, and a
/// client without credentials writes once auth is off.
pub async fn auth_token_with_disable(endpoints: Vec<String>) {
    let admin = client(&endpoints, None).await;
    set_up_root(&admin).await;
    let root = client(&endpoints, Some(("root", "123"))).await;

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let putter = {
        let (root, stop, done) = (root.clone(), stop.clone(), done.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let r = tokio::time::timeout(CALL, root.put("abc", "def", PutOptions::default()))
                    .await
                    .expect("a put hung across the auth disable");
                if r.is_ok() {
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let before = done.load(Ordering::SeqCst);
    root.auth_disable().await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    // Let the putter run a little longer after the disable.
    let t = tokio::time::Instant::now();
    while done.load(Ordering::SeqCst) <= before + 3 {
        assert!(t.elapsed() < CALL, "the puts stopped succeeding");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    putter.await.unwrap();

    // Auth is off: no credentials needed; the token-carrying client goes on.
    let anon = client(&endpoints, None).await;
    anon.put("abc", "anon", PutOptions::default())
        .await
        .unwrap();
    root.put("abc", "root", PutOptions::default())
        .await
        .unwrap();
    let got = anon.get("abc", GetOptions::default()).await.unwrap();
    assert_eq!(got.kvs[0].value, b"root");
    assert!(got.kvs[0].version > 3, "{got:?}");
}

/// Run against a fresh cluster (etcd's `TestV3AuthRevision`): after a put at
/// revision R, UserAdd answers with header revision R; so do the other
/// auth changes, auth enable included; the next put is at R + 1.
pub async fn auth_revision(endpoints: Vec<String>) {
    let c = client(&endpoints, None).await;
    let rev = c
        .put("foo", "bar", PutOptions::default())
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    let header_rev = |r: etcd_sdk::v3::AuthResponse| r.header.expect("a header").revision;
    assert_eq!(
        header_rev(
            c.user_add("root", "123", UserAddOptions::default())
                .await
                .unwrap()
        ),
        rev
    );
    assert_eq!(header_rev(c.role_add("root").await.unwrap()), rev);
    assert_eq!(header_rev(c.role_add("r").await.unwrap()), rev);
    assert_eq!(
        header_rev(
            c.role_grant_permission("r", Permission::key(PermissionType::Read, "foo"))
                .await
                .unwrap()
        ),
        rev
    );
    assert_eq!(
        header_rev(c.user_grant_role("root", "root").await.unwrap()),
        rev
    );
    assert_eq!(header_rev(c.auth_enable().await.unwrap()), rev);
    let root = client(&endpoints, Some(("root", "123"))).await;
    assert_eq!(header_rev(root.auth_disable().await.unwrap()), rev);
    let next = c
        .put("foo", "baz", PutOptions::default())
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    assert_eq!(next, rev + 1);
}

/// Run against a fresh cluster (etcd's `TestV3AuthWithLeaseRevokeWithRoot`,
/// and its JWT twin when the cluster runs `--auth-token=jwt,...`): a 2 s lease
/// granted by root, with a key, expires under auth; a TimeToLive asked
/// without a token then finds it gone (TTL -1, granted TTL 0, no keys), and
/// so is the key.
pub async fn lease_revoke_with_root(endpoints: Vec<String>) {
    let admin = client(&endpoints, None).await;
    set_up_root(&admin).await;
    let root = client(&endpoints, Some(("root", "123"))).await;
    let id = root.grant(2).await.unwrap().id;
    root.put(
        "foo",
        "bar",
        PutOptions {
            lease: id,
            ..PutOptions::default()
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut lease = LeaseClient::new(channel(&endpoints).await);
    let t = lease
        .lease_time_to_live(LeaseTimeToLiveRequest { id, keys: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((t.ttl, t.granted_ttl, t.keys.len()), (-1, 0, 0), "{t:?}");
    let got = root.get("foo", GetOptions::default()).await.unwrap();
    assert!(got.kvs.is_empty(), "{got:?}");
}

async fn next(stream: &mut Streaming<WatchResponse>) -> WatchResponse {
    tokio::time::timeout(CALL, stream.message())
        .await
        .expect("a watch response in time")
        .expect("the watch stream failed")
        .expect("the watch stream ended")
}

fn create(key: &str, start_revision: i64) -> WatchRequest {
    WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: key.as_bytes().to_vec(),
            start_revision,
            ..Default::default()
        })),
    }
}

/// Run against a fresh cluster (etcd's `TestV3AuthWatchErrorAndWatchId0`):
/// user1 may read and write `[k1, k2)`. On one stream with user1's token, a
/// watch of k1 from revision 1 is created with ID 0; a watch of a key user1
/// may not read is refused (created and canceled at once, watch ID -1,
/// etcd's text); a put on k1 then reaches watcher 0 exactly once, and a
/// next allowed watch gets ID 1.
pub async fn watch_error_and_watch_id0(endpoints: Vec<String>) {
    let admin = client(&endpoints, None).await;
    admin
        .user_add("user1", "user1-123", UserAddOptions::default())
        .await
        .unwrap();
    admin.role_add("role1").await.unwrap();
    admin
        .role_grant_permission(
            "role1",
            Permission::range(
                PermissionType::Readwrite,
                "k1",
                KeyRange::End(b"k2".to_vec()),
            ),
        )
        .await
        .unwrap();
    admin.user_grant_role("user1", "role1").await.unwrap();
    set_up_root(&admin).await;
    let token = admin
        .authenticate("user1", "user1-123")
        .await
        .unwrap()
        .token;

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    // The first create goes before the stream opens: the open waits for an
    // answer to something.
    tx.send(create("k1", 1)).unwrap();
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut watch = WatchClient::new(channel(&endpoints).await);
    let mut stream = tokio::time::timeout(CALL, watch.watch(with_token(requests, &token)))
        .await
        .expect("the watch stream opens in time")
        .unwrap()
        .into_inner();
    let r = next(&mut stream).await;
    assert!(r.created && !r.canceled, "{r:?}");
    assert_eq!(r.watch_id, 0, "{r:?}");

    tx.send(create("non-allowed-key", 1)).unwrap();
    let r = next(&mut stream).await;
    assert!(r.created && r.canceled, "{r:?}");
    assert_eq!(r.watch_id, -1, "{r:?}");
    assert_eq!(
        r.cancel_reason, "rpc error: code = PermissionDenied desc = etcdserver: permission denied",
        "{r:?}"
    );

    let mut kv = KvClient::new(channel(&endpoints).await);
    let put = kv
        .put(with_token(
            PutRequest {
                key: b"k1".to_vec(),
                value: b"val".to_vec(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let put_rev = put.header.unwrap().revision;
    let r = next(&mut stream).await;
    assert_eq!(r.watch_id, 0, "{r:?}");
    assert_eq!(r.events.len(), 1, "{r:?}");
    let kv0 = r.events[0].kv.as_ref().unwrap();
    assert_eq!(
        (kv0.key.as_slice(), kv0.value.as_slice(), kv0.mod_revision),
        (&b"k1"[..], &b"val"[..], put_rev)
    );

    tx.send(create("k1", 0)).unwrap();
    let r = next(&mut stream).await;
    assert!(r.created && !r.canceled, "{r:?}");
    assert_eq!(r.watch_id, 1, "{r:?}");
    // Nothing more arrives for watcher 0 (one event per put).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), stream.message())
            .await
            .is_err(),
        "an unexpected watch response"
    );
}
