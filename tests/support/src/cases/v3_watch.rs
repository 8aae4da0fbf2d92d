//! The v3 Watcher client (`etcd_sdk::v3::Watcher`): events of one key, a
//! prefix and every key, previous values, filters, a txn's events in one
//! response, history replay and compaction, refusals, progress
//! notifications and requests, many watchers on one stream, cancel by drop,
//! fragments, and exact resumption when the member serving the stream is
//! killed or stopped while writes go on. Each case expects a fresh cluster
//! (revision 1) of the size its doc names. Run against real etcd by
//! `tests/real_v3_watch.rs`; the bodies that find the serving member read
//! its `/metrics` ([`crate::metrics`]).

use crate::backend::Backend;
use crate::metrics::Metrics;
use etcd_sdk::v3::{
    Client, CompactOptions, Config, DeleteOptions, Error, Event, EventType, GetOptions, KV,
    KeyRange, Op, PutOptions, WatchOptions, WatchResponse, WatchStream, Watcher,
};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

/// A client that notices a stopped member within about 1.5 s.
async fn watchful_client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        dial_timeout: Some(Duration::from_secs(1)),
        keep_alive_time: Some(Duration::from_millis(500)),
        keep_alive_timeout: Some(Duration::from_millis(1000)),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

/// The next response, which must come within [`STEP`] and not be an error.
async fn next(w: &mut WatchStream) -> WatchResponse {
    match tokio::time::timeout(STEP, w.next()).await {
        Ok(Some(Ok(r))) => r,
        Ok(Some(Err(e))) => panic!("watch failed: {e:?}"),
        Ok(None) => panic!("watch ended"),
        Err(_) => panic!("no watch response within {STEP:?}"),
    }
}

/// The next `n` events (from as many responses as they take).
async fn events(w: &mut WatchStream, n: usize) -> Vec<Event> {
    let mut got = Vec::new();
    while got.len() < n {
        let r = next(w).await;
        assert!(!r.is_progress_notify(), "unexpected progress: {r:?}");
        got.extend(r.events);
    }
    assert_eq!(got.len(), n, "more events than expected: {got:?}");
    got
}

/// Asserts nothing arrives for `d`.
async fn quiet(w: &mut WatchStream, d: Duration) {
    if let Ok(r) = tokio::time::timeout(d, w.next()).await {
        panic!("expected nothing, got {r:?}");
    }
}

/// `(type, key, value, revision)` of an event.
fn brief(e: &Event) -> (EventType, String, String, i64) {
    (
        e.kind,
        String::from_utf8_lossy(&e.kv.key).into_owned(),
        String::from_utf8_lossy(&e.kv.value).into_owned(),
        e.kv.mod_revision,
    )
}

fn put(key: &str, value: &str, rev: i64) -> (EventType, String, String, i64) {
    (EventType::Put, key.into(), value.into(), rev)
}

fn del(key: &str, rev: i64) -> (EventType, String, String, i64) {
    (EventType::Delete, key.into(), String::new(), rev)
}

fn briefs(evs: &[Event]) -> Vec<(EventType, String, String, i64)> {
    evs.iter().map(brief).collect()
}

fn value(kv: &Option<etcd_sdk::v3::KeyValue>) -> Option<String> {
    kv.as_ref()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
}

/// Run against a fresh 1-member cluster: one key, a prefix with previous
/// values, each filter, every key, and a txn's two events in one response.
pub async fn events_prefix_prev_kv_and_filters(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let mut single = c
        .watch(
            "foo",
            WatchOptions {
                created_notify: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let created = next(&mut single).await;
    assert!(created.created && created.events.is_empty(), "{created:?}");
    assert_eq!(created.revision(), 1);
    let mut prefix = c
        .watch(
            "foo",
            WatchOptions {
                prev_kv: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let mut no_put = c
        .watch(
            "foo",
            WatchOptions {
                filter_put: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let mut no_delete = c
        .watch(
            "foo",
            WatchOptions {
                filter_delete: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let mut every = c.watch("", WatchOptions::prefix()).await.unwrap();

    let none = PutOptions::default();
    c.put("foo", "bar", none.clone()).await.unwrap();
    c.put("foo", "baz", none.clone()).await.unwrap();
    c.delete("foo", DeleteOptions::default()).await.unwrap();
    c.put("foo2", "x", none.clone()).await.unwrap();
    c.put("other", "y", none.clone()).await.unwrap();
    let t = c
        .txn()
        .and_then([
            Op::put("foo/a", "1", none.clone()),
            Op::put("foo/b", "2", none.clone()),
        ])
        .commit()
        .await
        .unwrap();
    assert!(t.succeeded);

    let got = events(&mut single, 3).await;
    assert_eq!(
        briefs(&got),
        vec![put("foo", "bar", 2), put("foo", "baz", 3), del("foo", 4)]
    );
    assert!(got[0].is_create() && got[1].is_modify());
    let deleted = &got[2].kv;
    assert_eq!(
        (deleted.create_revision, deleted.version, deleted.lease),
        (0, 0, 0),
        "a delete carries only key and mod_revision"
    );
    quiet(&mut single, Duration::from_millis(300)).await;

    let got = events(&mut prefix, 4).await;
    assert_eq!(
        briefs(&got),
        vec![
            put("foo", "bar", 2),
            put("foo", "baz", 3),
            del("foo", 4),
            put("foo2", "x", 5)
        ]
    );
    let prevs: Vec<_> = got.iter().map(|e| value(&e.prev_kv)).collect();
    assert_eq!(
        prevs,
        vec![None, Some("bar".into()), Some("baz".into()), None],
        "creates have no previous value"
    );
    let txn = next(&mut prefix).await;
    assert_eq!(
        briefs(&txn.events),
        vec![put("foo/a", "1", 7), put("foo/b", "2", 7)],
        "a txn's events come in one response"
    );
    assert_eq!(txn.revision(), 7);

    assert_eq!(briefs(&events(&mut no_put, 1).await), vec![del("foo", 4)]);
    let got = events(&mut no_delete, 5).await;
    let revs: Vec<i64> = got.iter().map(|e| e.kv.mod_revision).collect();
    assert_eq!(revs, vec![2, 3, 5, 7, 7]);
    let got = events(&mut every, 7).await;
    let revs: Vec<i64> = got.iter().map(|e| e.kv.mod_revision).collect();
    assert_eq!(revs, vec![2, 3, 4, 5, 6, 7, 7]);
}

/// Run against a fresh 1-member cluster: a start revision in the past
/// replays history; a compacted one ends the watch with a typed error; the
/// compact revision itself still works; an empty range is refused.
pub async fn history_compaction_and_refusals(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    for i in 1..=5 {
        c.put("k", format!("v{i}"), PutOptions::default())
            .await
            .unwrap();
    }
    let mut past = c
        .watch(
            "k",
            WatchOptions {
                revision: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        briefs(&events(&mut past, 4).await),
        vec![
            put("k", "v2", 3),
            put("k", "v3", 4),
            put("k", "v4", 5),
            put("k", "v5", 6)
        ]
    );

    c.compact(5, CompactOptions::default()).await.unwrap();
    let mut compacted = c
        .watch(
            "k",
            WatchOptions {
                revision: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    match tokio::time::timeout(STEP, compacted.next()).await {
        Ok(Some(Err(e))) => {
            assert!(e.is_compacted(), "{e:?}");
            assert!(
                matches!(
                    e,
                    Error::WatchCompacted {
                        compact_revision: 5
                    }
                ),
                "{e:?}"
            );
        }
        other => panic!("expected the compaction error, got {other:?}"),
    }
    assert!(compacted.next().await.is_none(), "the watch ends after it");

    let mut at_compaction = c
        .watch(
            "k",
            WatchOptions {
                revision: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        briefs(&events(&mut at_compaction, 2).await),
        vec![put("k", "v4", 5), put("k", "v5", 6)]
    );

    let empty = c
        .watch(
            "b",
            WatchOptions {
                range: KeyRange::End(b"a".to_vec()),
                ..Default::default()
            },
        )
        .await;
    match empty {
        Err(Error::WatchCanceled { reason }) => {
            assert_eq!(reason, "mvcc: watcher range is empty")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The stream goes on for the others.
    c.put("k", "v6", PutOptions::default()).await.unwrap();
    assert_eq!(
        briefs(&events(&mut at_compaction, 1).await),
        vec![put("k", "v6", 7)]
    );
    assert_eq!(briefs(&events(&mut past, 1).await), vec![put("k", "v6", 7)]);
}

/// Run against a fresh 1-member cluster started with
/// `--experimental-watch-progress-notify-interval=1s`: a watcher with
/// progress notifications gets one while idle; a requested progress reaches
/// a watcher without them; both carry the current revision.
pub async fn progress_notify_and_request(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    c.put("a", "1", PutOptions::default()).await.unwrap();
    let mut notified = c
        .watch(
            "a",
            WatchOptions {
                progress_notify: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut plain = c.watch("b", WatchOptions::default()).await.unwrap();
    let start = Instant::now();
    let p = next(&mut notified).await;
    assert!(p.is_progress_notify(), "{p:?}");
    assert_eq!(p.revision(), 2);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the 1 s notification took {:?}",
        start.elapsed()
    );
    quiet(&mut plain, Duration::from_millis(300)).await;

    c.request_progress().await.unwrap();
    let p = next(&mut plain).await;
    assert!(p.is_progress_notify(), "{p:?}");
    assert_eq!(p.revision(), 2);

    c.put("b", "2", PutOptions::default()).await.unwrap();
    assert_eq!(briefs(&events(&mut plain, 1).await), vec![put("b", "2", 3)]);
}

/// Waits until member `url`'s metrics satisfy `ok`.
async fn wait_metrics(url: &str, what: &str, ok: impl Fn(&Metrics) -> bool) {
    let deadline = Instant::now() + STEP;
    loop {
        let m = Metrics::scrape(url, Duration::from_secs(2)).await;
        if let Ok(m) = &m {
            if ok(m) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url}: {what} not reached within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Run against a fresh 1-member cluster (it reads the member's
/// `/metrics`): 40 watchers share one stream and each gets its own events;
/// dropping half cancels them on the server; `require_leader` watchers get
/// a second stream; dropping every watcher closes the streams.
pub async fn many_watchers_share_a_stream_and_drops_cancel(c: &dyn Backend) {
    let url = c.client_urls()[0].clone();
    let cl = client(&c.client_urls()).await;
    let mut watchers = Vec::new();
    for i in 0..40 {
        watchers.push(
            cl.watch(format!("m/{i:02}"), WatchOptions::default())
                .await
                .unwrap(),
        );
    }
    wait_metrics(&url, "1 stream with 40 watchers", |m| {
        m.watch_streams() == 1 && m.watchers() == 40
    })
    .await;
    for i in 0..40 {
        cl.put(format!("m/{i:02}"), "1", PutOptions::default())
            .await
            .unwrap();
    }
    for (i, w) in watchers.iter_mut().enumerate() {
        let got = events(w, 1).await;
        assert_eq!(brief(&got[0]), put(&format!("m/{i:02}"), "1", 2 + i as i64));
    }

    let kept: Vec<WatchStream> = watchers.drain(..).skip(20).collect();
    wait_metrics(&url, "20 watchers after dropping 20", |m| {
        m.watch_streams() == 1 && m.watchers() == 20
    })
    .await;
    let mut kept = kept;
    for i in 0..40 {
        cl.put(format!("m/{i:02}"), "2", PutOptions::default())
            .await
            .unwrap();
    }
    for (j, w) in kept.iter_mut().enumerate() {
        let i = j + 20;
        let got = events(w, 1).await;
        assert_eq!(
            brief(&got[0]),
            put(&format!("m/{i:02}"), "2", 42 + i as i64)
        );
    }

    let leader_bound = cl
        .watch(
            "m/",
            WatchOptions {
                require_leader: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    wait_metrics(&url, "a second stream for require_leader", |m| {
        m.watch_streams() == 2 && m.watchers() == 21
    })
    .await;
    drop(kept);
    drop(leader_bound);
    wait_metrics(&url, "no stream once every watcher is dropped", |m| {
        m.watch_streams() == 0 && m.watchers() == 0
    })
    .await;
    // A new watcher after that opens a new stream.
    let mut again = cl.watch("m/00", WatchOptions::default()).await.unwrap();
    cl.put("m/00", "3", PutOptions::default()).await.unwrap();
    assert_eq!(
        briefs(&events(&mut again, 1).await),
        vec![put("m/00", "3", 82)]
    );
}

/// Run against a fresh 1-member cluster: three 1 MB values deleted at once
/// with previous values make a ~3 MB response, which etcd splits for a
/// watcher with `fragment`; the client joins it into one response.
pub async fn fragments_are_joined(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let big = vec![b'x'; 1_000_000];
    for k in ["frag/a", "frag/b", "frag/c"] {
        c.put(k, big.clone(), PutOptions::default()).await.unwrap();
    }
    let mut w = c
        .watch(
            "frag/",
            WatchOptions {
                prev_kv: true,
                fragment: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let d = c.delete("frag/", DeleteOptions::prefix()).await.unwrap();
    assert_eq!(d.deleted, 3);
    let r = next(&mut w).await;
    let got: Vec<_> = r
        .events
        .iter()
        .map(|e| {
            (
                e.kind,
                e.kv.mod_revision,
                e.prev_kv.as_ref().map_or(0, |p| p.value.len()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (EventType::Delete, 5, 1_000_000),
            (EventType::Delete, 5, 1_000_000),
            (EventType::Delete, 5, 1_000_000)
        ]
    );
    quiet(&mut w, Duration::from_millis(300)).await;
}

/// How the member serving the watch stream is taken away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, then restart.
    KillAndRestart,
    /// SIGSTOP, then SIGCONT.
    Pause,
}

/// The index of the member with an open watch stream.
async fn member_serving_watch(c: &dyn Backend) -> usize {
    let deadline = Instant::now() + STEP;
    loop {
        for (i, url) in c.client_urls().iter().enumerate() {
            if let Ok(m) = Metrics::scrape(url, Duration::from_secs(2)).await {
                if m.watch_streams() > 0 {
                    return i;
                }
            }
        }
        assert!(Instant::now() < deadline, "no member serves the watch");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Puts `r/<i>` = `v<i>` for each `i`, again after a failure (the leader
/// may be the member taken away; a put applied and then re-sent is one more
/// event in the history, which the checks allow); the first and last
/// revisions.
async fn put_keys(writer: &Client, range: std::ops::Range<usize>) -> (i64, i64) {
    let mut revs = (0, 0);
    for i in range {
        let deadline = Instant::now() + Duration::from_secs(20);
        let r = loop {
            match writer
                .put(format!("r/{i:03}"), format!("v{i}"), PutOptions::default())
                .await
            {
                Ok(r) => break r,
                Err(e) if Instant::now() < deadline => {
                    println!("put r/{i:03} again after {e}");
                }
                Err(e) => panic!("put r/{i:03}: {e:?}"),
            }
        };
        let rev = r.header.map(|h| h.revision).unwrap_or_default();
        if revs.0 == 0 {
            revs.0 = rev;
        }
        revs.1 = rev;
    }
    revs
}

/// Reads `w` into `got` until the event at `rev` is in.
async fn read_through(
    w: &mut WatchStream,
    got: &mut Vec<Event>,
    rev: i64,
    fault: Fault,
    serving: usize,
) {
    while got.last().map(|e| e.kv.mod_revision) != Some(rev) {
        let r = match tokio::time::timeout(STEP, w.next()).await {
            Ok(Some(Ok(r))) => r,
            other => panic!(
                "watch after {fault:?} of member {serving}: {other:?} with {} events, last {:?}, waiting for revision {rev}",
                got.len(),
                got.last().map(brief)
            ),
        };
        got.extend(r.events);
    }
}

/// Run against a fresh 3-member cluster: a prefix watcher on a client of
/// all members; the member serving its stream is killed and restarted (or
/// stopped and continued) while 60 puts go on through the other two. The
/// events written while the member is away arrive before it comes back (the
/// watcher moved), and every event arrives exactly once, in order: the list
/// equals what a fresh watch from the first revision replays.
pub async fn watch_resumes_exactly_when_its_member_fails(c: &dyn Backend, fault: Fault) {
    assert_eq!(c.size(), 3);
    c.wait_for_leader(None, Duration::from_secs(20)).await;
    let urls = c.client_urls();
    let watching = watchful_client(&urls).await;
    let mut w = watching.watch("r/", WatchOptions::prefix()).await.unwrap();
    let serving = member_serving_watch(c).await;
    let others: Vec<String> = (0..3)
        .filter(|&i| i != serving)
        .map(|i| urls[i].clone())
        .collect();
    let writer = client(&others).await;
    let start = Instant::now();

    put_keys(&writer, 0..20).await;
    match fault {
        Fault::KillAndRestart => c.kill(serving),
        Fault::Pause => c.pause(serving),
    }
    let faulted = Instant::now();
    let (_, last_rev) = put_keys(&writer, 20..50).await;
    // Every event so far must arrive while the member is still away: the
    // watcher moved to another member.
    let mut got = Vec::new();
    read_through(&mut w, &mut got, last_rev, fault, serving).await;
    let moved = faulted.elapsed();
    match fault {
        Fault::KillAndRestart => c.restart(serving).await,
        Fault::Pause => c.resume(serving),
    }
    let (_, last_rev) = put_keys(&writer, 50..60).await;
    read_through(&mut w, &mut got, last_rev, fault, serving).await;
    let took = start.elapsed();

    // The history of the prefix from the revision before the first event.
    let reference = client(&others).await;
    let mut replay = reference
        .watch(
            "r/",
            WatchOptions {
                revision: 2,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let want = events(&mut replay, got.len()).await;
    assert_eq!(
        briefs(&got),
        briefs(&want),
        "the resumed watcher's events differ from the history"
    );
    assert!(got.len() >= 60, "one event per put at least");
    let revs: Vec<i64> = got.iter().map(|e| e.kv.mod_revision).collect();
    assert!(revs.windows(2).all(|p| p[0] < p[1]), "in order: {revs:?}");
    println!(
        "v3 watch: {fault:?} of member {serving}: caught up on another member {moved:?} after the fault; {} events exactly once in {took:?}",
        got.len()
    );
    assert!(
        took < Duration::from_secs(30),
        "{fault:?}: the watch took {took:?}"
    );
    // The restarted member is reachable again through the watch client.
    let g = watching
        .get("r/", GetOptions::prefix())
        .await
        .expect("a get after the member came back");
    assert_eq!(g.count, 60);
}

/// Run against a fresh 1-member cluster: with auth on, a watch without a
/// token is refused with the typed "user name is empty"; after auth is
/// turned off and on (every token invalid), a new watch on the same stream
/// is refused with "invalid auth token", and the client fetches a new
/// token, opens a new stream, resumes the first watcher and creates the
/// second: both see their events, once.
pub async fn auth_token_refreshed_for_a_refused_create(endpoints: Vec<String>) {
    use etcd_sdk::v3::EtcdError;
    use etcd_sdk::v3::pb::etcdserverpb::{
        AuthDisableRequest, AuthEnableRequest, AuthUserAddRequest, AuthUserGrantRoleRequest,
        AuthenticateRequest, auth_client::AuthClient,
    };
    let mut admin = AuthClient::connect(endpoints[0].clone()).await.unwrap();
    admin
        .user_add(AuthUserAddRequest {
            name: "root".into(),
            password: "pw".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .user_grant_role(AuthUserGrantRoleRequest {
            user: "root".into(),
            role: "root".into(),
        })
        .await
        .unwrap();
    admin.auth_enable(AuthEnableRequest {}).await.unwrap();
    let root = Client::new(Config {
        username: Some("root".into()),
        password: Some("pw".into()),
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .unwrap();

    let anonymous = client(&endpoints).await;
    match anonymous.watch("a", WatchOptions::default()).await {
        Err(e) => assert_eq!(e.etcd(), Some(EtcdError::UserEmpty), "{e:?}"),
        Ok(w) => panic!("a watch without a token was created: {w:?}"),
    }

    let mut first = root.watch("a", WatchOptions::default()).await.unwrap();
    let token = admin
        .authenticate(AuthenticateRequest {
            name: "root".into(),
            password: "pw".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .token;
    let mut disable = etcd_sdk::v3::tonic::Request::new(AuthDisableRequest {});
    disable
        .metadata_mut()
        .insert("token", token.parse().expect("an ascii token"));
    admin.auth_disable(disable).await.unwrap();
    admin.auth_enable(AuthEnableRequest {}).await.unwrap();

    let mut second = root.watch("b", WatchOptions::default()).await.unwrap();
    root.put("a", "1", PutOptions::default()).await.unwrap();
    root.put("b", "2", PutOptions::default()).await.unwrap();
    assert_eq!(briefs(&events(&mut first, 1).await), vec![put("a", "1", 2)]);
    assert_eq!(
        briefs(&events(&mut second, 1).await),
        vec![put("b", "2", 3)]
    );
    quiet(&mut first, Duration::from_millis(300)).await;
}

// ---------------------------------------------------------------------------
// Ported from etcd 3.4.23's `integration/v3_watch_test.go` (rewritten): raw
// Watch streams through the generated client, as etcd's tests open them, so
// watch IDs, created/canceled flags and response boundaries are visible.
// ---------------------------------------------------------------------------

use etcd_sdk::v3::pb::etcdserverpb as pb;
use etcd_sdk::v3::pb::mvccpb;
use etcd_sdk::v3::tonic::Streaming;
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use pb::kv_client::KvClient;
use pb::watch_client::WatchClient;
use std::collections::{BTreeMap, BTreeSet};

/// How long a stream must stay silent to count as having nothing more.
const SILENT: Duration = Duration::from_millis(500);

async fn grpc_channel(endpoints: &[String]) -> Channel {
    Endpoint::from_shared(endpoints[0].clone())
        .expect("endpoint")
        .connect_timeout(STEP)
        .connect()
        .await
        .expect("connect")
}

/// One Watch stream: requests in, responses out.
struct RawWatch {
    tx: tokio::sync::mpsc::UnboundedSender<pb::WatchRequest>,
    rx: Streaming<pb::WatchResponse>,
}

impl RawWatch {
    /// Opens a stream on `ch` with the create request `first` already in it
    /// (grpc-go sends a stream's response headers only with its first
    /// message, so the open waits for an answer to something), with
    /// `hasleader: true` if `require_leader`.
    async fn open(
        ch: &Channel,
        require_leader: bool,
        first: pb::WatchCreateRequest,
    ) -> Result<RawWatch, etcd_sdk::v3::tonic::Status> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::WatchRequest>();
        tx.send(pb::WatchRequest {
            request_union: Some(pb::watch_request::RequestUnion::CreateRequest(first)),
        })
        .expect("a fresh channel");
        let requests =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
            );
        let mut req = etcd_sdk::v3::tonic::Request::new(requests);
        if require_leader {
            req.metadata_mut()
                .insert("hasleader", "true".parse().expect("ascii"));
        }
        let rx = match tokio::time::timeout(STEP, WatchClient::new(ch.clone()).watch(req)).await {
            Ok(r) => r?.into_inner(),
            Err(_) => panic!("a watch stream did not open within {STEP:?}"),
        };
        Ok(RawWatch { tx, rx })
    }

    fn send(&self, r: pb::watch_request::RequestUnion) {
        self.tx
            .send(pb::WatchRequest {
                request_union: Some(r),
            })
            .expect("the stream's sender");
    }

    fn create(&self, c: pb::WatchCreateRequest) {
        self.send(pb::watch_request::RequestUnion::CreateRequest(c));
    }

    fn cancel(&self, watch_id: i64) {
        self.send(pb::watch_request::RequestUnion::CancelRequest(
            pb::WatchCancelRequest { watch_id },
        ));
    }

    /// The next response or the stream's error, within [`STEP`].
    async fn recv(&mut self) -> Result<pb::WatchResponse, etcd_sdk::v3::tonic::Status> {
        match tokio::time::timeout(STEP, self.rx.message()).await {
            Ok(Ok(Some(r))) => Ok(r),
            Ok(Ok(None)) => panic!("the watch stream ended"),
            Ok(Err(s)) => Err(s),
            Err(_) => panic!("no watch response within {STEP:?}"),
        }
    }

    async fn next(&mut self) -> pb::WatchResponse {
        self.recv().await.expect("a watch response")
    }

    /// The response to a create, which must have succeeded.
    async fn created(&mut self) -> pb::WatchResponse {
        let r = self.next().await;
        assert!(
            r.created && !r.canceled,
            "expected a created watcher: {r:?}"
        );
        r
    }

    async fn quiet(&mut self, d: Duration) {
        if let Ok(r) = tokio::time::timeout(d, self.rx.message()).await {
            panic!("expected nothing more, got {r:?}");
        }
    }
}

fn watch_on(key: &str, end: &str, start_revision: i64) -> pb::WatchCreateRequest {
    pb::WatchCreateRequest {
        key: key.into(),
        range_end: end.into(),
        start_revision,
        ..Default::default()
    }
}

fn put_event(key: &str, value: &str, create: i64, modr: i64, version: i64) -> mvccpb::Event {
    mvccpb::Event {
        r#type: mvccpb::event::EventType::Put as i32,
        kv: Some(mvccpb::KeyValue {
            key: key.into(),
            value: value.into(),
            create_revision: create,
            mod_revision: modr,
            version,
            lease: 0,
        }),
        prev_kv: None,
    }
}

fn hrev(h: &Option<pb::ResponseHeader>) -> i64 {
    h.as_ref().map(|h| h.revision).expect("a header")
}

async fn put_bar(kv: &mut KvClient<Channel>, key: &str) -> i64 {
    let p = kv
        .put(pb::PutRequest {
            key: key.into(),
            value: b"bar".to_vec(),
            ..Default::default()
        })
        .await
        .expect("put")
        .into_inner();
    hrev(&p.header)
}

/// Deletes every key, then puts `~marker`: the marker's revision, at which
/// no other key exists. A watcher starting there is unsynced (its start is
/// not in the future) but has nothing to replay: etcd's tests watch from
/// revision 1 of a fresh cluster for the same purpose.
async fn fresh_marker(kv: &mut KvClient<Channel>) -> i64 {
    kv.delete_range(pb::DeleteRangeRequest {
        key: vec![0],
        range_end: vec![0],
        prev_kv: false,
    })
    .await
    .expect("delete everything");
    put_bar(kv, "~marker").await
}

/// Run against a fresh 1-member cluster. etcd's
/// `TestV3WatchFromCurrentRevision` (7 rows: a key, a prefix and every key,
/// matching or not, one put or three; every response's header revision,
/// watch ID and events exact, one response per revision, nothing after),
/// `TestV3WatchFutureRevision`, `TestV3WatchWrongRange` (3 rows),
/// `TestV3WatchCancelSynced`/`Unsynced`, `TestV3WatchEmptyKey`,
/// `TestV3WatchMultipleWatchersSynced`/`Unsynced`,
/// `TestV3WatchMultipleEventsTxnSynced`/`Unsynced`,
/// `TestV3WatchMultipleEventsPutUnsynced`,
/// `TestV3WatchMultipleStreamsSynced`/`Unsynced` and
/// `TestV3WatchCurrentPutOverlap`. "Unsynced" watchers start at a past
/// revision with nothing to replay ([`fresh_marker`]).
pub async fn grpc_watch_streams_ids_and_batches(endpoints: Vec<String>) {
    let ch = grpc_channel(&endpoints).await;
    let mut kv = KvClient::new(ch.clone());

    // TestV3WatchFromCurrentRevision.
    let rows: Vec<(&str, Vec<&str>, &str, &str, bool)> = vec![
        ("the key, matching", vec!["foo"], "foo", "", true),
        (
            "the key, not matching",
            vec!["foo"],
            "helloworld",
            "",
            false,
        ),
        ("a prefix, matching", vec!["fooLong"], "foo", "fop", true),
        (
            "a prefix, not matching",
            vec!["foo"],
            "helloworld",
            "helloworle",
            false,
        ),
        ("every key", vec!["fooLong"], "", "\0", true),
        (
            "three puts, the key",
            vec!["foo", "foo", "foo"],
            "foo",
            "",
            true,
        ),
        (
            "three puts, a prefix",
            vec!["foo", "foo", "foo"],
            "foo",
            "fop",
            true,
        ),
    ];
    for (what, puts, key, end, matches) in rows {
        let base = fresh_marker(&mut kv).await;
        let mut w = RawWatch::open(&ch, false, watch_on(key, end, 0))
            .await
            .expect("open");
        let c = w.created().await;
        assert_eq!(
            hrev(&c.header),
            base,
            "{what}: created at the current revision"
        );
        for k in &puts {
            put_bar(&mut kv, k).await;
        }
        if matches {
            for (j, k) in puts.iter().enumerate() {
                let r = w.next().await;
                let j = j as i64;
                assert_eq!(
                    (hrev(&r.header), r.created, r.watch_id),
                    (base + 1 + j, false, c.watch_id),
                    "{what} #{j}"
                );
                assert_eq!(
                    r.events,
                    vec![put_event(k, "bar", base + 1, base + 1 + j, j + 1)],
                    "{what} #{j}"
                );
            }
        }
        w.quiet(SILENT).await;
    }

    // TestV3WatchFutureRevision: nine revisions ahead.
    let base = fresh_marker(&mut kv).await;
    let target = base + 9;
    let mut w = RawWatch::open(&ch, false, watch_on("foo", "", target))
        .await
        .expect("open");
    w.created().await;
    while put_bar(&mut kv, "foo").await < target {}
    let r = w.next().await;
    assert_eq!(hrev(&r.header), target, "{r:?}");
    assert_eq!(r.events.len(), 1, "{r:?}");
    assert_eq!(
        r.events[0].kv.as_ref().map(|kv| kv.mod_revision),
        Some(target)
    );

    // TestV3WatchWrongRange, on one stream.
    let base = fresh_marker(&mut kv).await;
    let mut w = RawWatch::open(&ch, false, watch_on("a", "a", base))
        .await
        .expect("open");
    for (i, (key, end)) in [("a", "a"), ("b", "a")].into_iter().enumerate() {
        if i > 0 {
            w.create(watch_on(key, end, base));
        }
        let r = w.next().await;
        assert_eq!(
            (r.created, r.canceled, r.watch_id, r.cancel_reason.as_str()),
            (true, true, -1, "mvcc: watcher range is empty"),
            "[{key}, {end}): {r:?}"
        );
    }
    w.create(watch_on("foo", "\0", base));
    let r = w.created().await;
    assert!(r.watch_id >= 0, "{r:?}");

    // TestV3WatchCancelSynced / Unsynced.
    for (what, synced) in [("synced", true), ("unsynced", false)] {
        let base = fresh_marker(&mut kv).await;
        let mut w = RawWatch::open(
            &ch,
            false,
            watch_on("foo", "", if synced { 0 } else { base }),
        )
        .await
        .expect("open");
        let id = w.created().await.watch_id;
        w.cancel(id);
        let r = w.next().await;
        assert!(
            r.canceled && r.watch_id == id && r.events.is_empty(),
            "{what}: {r:?}"
        );
        put_bar(&mut kv, "foo").await;
        w.quiet(SILENT).await;
    }

    // TestV3WatchEmptyKey: a put without a value is a put event.
    let base = fresh_marker(&mut kv).await;
    let mut w = RawWatch::open(&ch, false, watch_on("foo", "", 0))
        .await
        .expect("open");
    w.created().await;
    kv.put(pb::PutRequest {
        key: b"foo".to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = w.next().await;
    assert_eq!(r.events, vec![put_event("foo", "", base + 1, base + 1, 1)]);

    // TestV3WatchMultipleWatchersSynced / Unsynced: four watchers of "foo"
    // and one of [fo, fp) on one stream.
    for (what, synced) in [("synced", true), ("unsynced", false)] {
        let base = fresh_marker(&mut kv).await;
        let start = if synced { 0 } else { base };
        let mut w = RawWatch::open(&ch, false, watch_on("foo", "", start))
            .await
            .expect("open");
        for _ in 0..3 {
            w.create(watch_on("foo", "", start));
        }
        w.create(watch_on("fo", "fp", start));
        let mut ids = BTreeSet::new();
        for _ in 0..5 {
            ids.insert(w.created().await.watch_id);
        }
        assert_eq!(ids.len(), 5, "{what}: distinct IDs {ids:?}");
        put_bar(&mut kv, "foo").await;
        let mut seen = BTreeSet::new();
        for _ in 0..5 {
            let r = w.next().await;
            assert_eq!(
                r.events,
                vec![put_event("foo", "bar", base + 1, base + 1, 1)],
                "{what}"
            );
            assert!(
                ids.contains(&r.watch_id),
                "{what}: unknown ID {}",
                r.watch_id
            );
            seen.insert(r.watch_id);
        }
        assert_eq!(seen, ids, "{what}: one response per watcher");
        put_bar(&mut kv, "fo").await;
        let r = w.next().await;
        assert_eq!(
            r.events,
            vec![put_event("fo", "bar", base + 2, base + 2, 1)],
            "{what}: only the range watcher"
        );
        w.quiet(SILENT).await;
    }

    // TestV3WatchMultipleEventsTxnSynced / Unsynced.
    for (what, synced) in [("synced", true), ("unsynced", false)] {
        let base = fresh_marker(&mut kv).await;
        let mut w = RawWatch::open(
            &ch,
            false,
            watch_on("foo", "fop", if synced { 0 } else { base }),
        )
        .await
        .expect("open");
        w.created().await;
        let puts = (0..3)
            .map(|i| pb::RequestOp {
                request: Some(pb::request_op::Request::RequestPut(pb::PutRequest {
                    key: format!("foo{i}").into_bytes(),
                    value: b"bar".to_vec(),
                    ..Default::default()
                })),
            })
            .collect();
        let t = kv
            .txn(pb::TxnRequest {
                success: puts,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(t.succeeded);
        let mut got = Vec::new();
        while got.len() < 3 {
            got.extend(w.next().await.events);
        }
        got.sort_by(|a, b| {
            a.kv.as_ref()
                .map(|k| &k.key)
                .cmp(&b.kv.as_ref().map(|k| &k.key))
        });
        let want: Vec<_> = (0..3)
            .map(|i| put_event(&format!("foo{i}"), "bar", base + 1, base + 1, 1))
            .collect();
        assert_eq!(got, want, "{what}");
        w.quiet(SILENT).await;
    }

    // TestV3WatchMultipleEventsPutUnsynced: two puts before the watch (from
    // before them), two after.
    let base = fresh_marker(&mut kv).await;
    put_bar(&mut kv, "foo0").await;
    put_bar(&mut kv, "foo1").await;
    let mut w = RawWatch::open(&ch, false, watch_on("foo", "fop", base))
        .await
        .expect("open");
    put_bar(&mut kv, "foo0").await;
    put_bar(&mut kv, "foo1").await;
    let mut got = Vec::new();
    while got.len() < 4 {
        let r = w.next().await;
        if !r.created {
            got.extend(r.events);
        }
    }
    assert_eq!(
        got,
        vec![
            put_event("foo0", "bar", base + 1, base + 1, 1),
            put_event("foo1", "bar", base + 2, base + 2, 1),
            put_event("foo0", "bar", base + 1, base + 3, 2),
            put_event("foo1", "bar", base + 2, base + 4, 2),
        ]
    );
    w.quiet(SILENT).await;

    // TestV3WatchMultipleStreamsSynced / Unsynced: each of five streams
    // numbers its first watcher 0.
    for (what, synced) in [("synced", true), ("unsynced", false)] {
        let base = fresh_marker(&mut kv).await;
        let mut streams = Vec::new();
        for _ in 0..5 {
            let w = RawWatch::open(
                &ch,
                false,
                watch_on("foo", "", if synced { 0 } else { base }),
            )
            .await
            .expect("open");
            streams.push(w);
        }
        for w in &mut streams {
            w.created().await;
        }
        put_bar(&mut kv, "foo").await;
        for w in &mut streams {
            let r = w.next().await;
            assert_eq!(r.watch_id, 0, "{what}");
            assert_eq!(
                r.events,
                vec![put_event("foo", "bar", base + 1, base + 1, 1)],
                "{what}"
            );
        }
        for w in &mut streams {
            w.quiet(SILENT).await;
        }
    }

    // TestV3WatchCurrentPutOverlap: 31 concurrent puts while watchers of
    // [foo, fop) are created one after another; each watcher's first event
    // is the revision after its creation, and its events are contiguous.
    let base = fresh_marker(&mut kv).await;
    let last = base + 31;
    let puts: Vec<_> = (0..31)
        .map(|_| {
            let mut kv = kv.clone();
            tokio::spawn(async move { put_bar(&mut kv, "foo").await })
        })
        .collect();
    let create = || watch_on("foo", "fop", 0);
    let mut w = RawWatch::open(&ch, false, create()).await.expect("open");
    // Watch ID -> the next revision it must report; -1: a create pending.
    let mut progress: BTreeMap<i64, i64> = BTreeMap::from([(-1, 0)]);
    while progress.values().any(|&next| next <= last) {
        let r = w.next().await;
        if r.created {
            progress.insert(r.watch_id, hrev(&r.header) + 1);
            if hrev(&r.header) == last {
                progress.insert(-1, last + 1);
            } else {
                w.create(create());
            }
            continue;
        }
        let (first, end) = match (r.events.first(), r.events.last()) {
            (Some(f), Some(l)) => (
                f.kv.as_ref().map_or(0, |kv| kv.mod_revision),
                l.kv.as_ref().map_or(0, |kv| kv.mod_revision),
            ),
            _ => panic!("a response without events: {r:?}"),
        };
        let want = progress
            .get(&r.watch_id)
            .copied()
            .unwrap_or_else(|| panic!("events for an unknown watcher: {r:?}"));
        assert_eq!(first, want, "watcher {}: {r:?}", r.watch_id);
        let revs: Vec<i64> = r
            .events
            .iter()
            .map(|e| e.kv.as_ref().map_or(0, |kv| kv.mod_revision))
            .collect();
        assert!(
            revs.windows(2).all(|p| p[1] == p[0] + 1),
            "contiguous: {revs:?}"
        );
        progress.insert(r.watch_id, end + 1);
    }
    w.quiet(SILENT).await;
    for p in puts {
        p.await.expect("a put task");
    }
}

const NO_LEADER: &str = "etcdserver: no leader";

#[track_caller]
fn assert_no_leader(s: &etcd_sdk::v3::tonic::Status, what: &str) {
    assert_eq!(
        (s.code(), s.message()),
        (etcd_sdk::v3::tonic::Code::Unavailable, NO_LEADER),
        "{what}: {s:?}"
    );
}

/// A require-leader Watch stream opened now and its first answer to a
/// create of `foo`: the created response, or the stream's refusal (which
/// tonic may report at the open, grpc-go at the first receive).
async fn require_leader_watch(
    ch: &Channel,
) -> Result<pb::WatchResponse, etcd_sdk::v3::tonic::Status> {
    let mut w = RawWatch::open(ch, true, watch_on("foo", "", 0)).await?;
    w.recv().await
}

/// Run against a fresh 3-member cluster. etcd's `TestGRPCRequireLeader`,
/// `TestGRPCStreamRequireLeader` and `TestV3LeaseRequireLeader`, with the
/// `hasleader: true` metadata on member 0's calls: once members 1 and 2 are
/// gone (killed; etcd's tests stop the embedded members), a Watch stream
/// opened before is ended with Unavailable "etcdserver: no leader", and a new
/// Watch stream, a Put and a LeaseKeepAlive stream are refused the same way;
/// once they are back and a leader is elected, a new require-leader Watch
/// stream creates its watcher.
pub async fn grpc_require_leader_refusals(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    c.wait_for_leader(None, Duration::from_secs(20)).await;
    let urls = c.client_urls();
    let ch = grpc_channel(&urls[..1]).await;
    let mut before = RawWatch::open(&ch, true, watch_on("foo", "", 0))
        .await
        .expect("open");
    before.created().await;

    c.kill(1);
    c.kill(2);
    // etcd cancels require-leader streams after about three election
    // timeouts without a leader.
    let lost = Instant::now();
    match before.recv().await {
        Err(s) => assert_no_leader(&s, "the open watch stream"),
        Ok(r) => panic!("the open watch stream answered {r:?}"),
    }
    println!(
        "v3: require-leader watch stream ended {:?} after the quorum went",
        lost.elapsed()
    );

    match require_leader_watch(&ch).await {
        Err(s) => assert_no_leader(&s, "a new watch stream"),
        Ok(r) => panic!("a new watch stream answered {r:?}"),
    }

    let mut put = etcd_sdk::v3::tonic::Request::new(pb::PutRequest {
        key: b"foo".to_vec(),
        value: b"bar".to_vec(),
        ..Default::default()
    });
    put.metadata_mut()
        .insert("hasleader", "true".parse().expect("ascii"));
    match KvClient::new(ch.clone()).put(put).await {
        Err(s) => assert_no_leader(&s, "a put"),
        Ok(r) => panic!("a put without a leader answered {r:?}"),
    }

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::LeaseKeepAliveRequest>();
    tx.send(pb::LeaseKeepAliveRequest { id: 1 })
        .expect("a fresh channel");
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut ka = etcd_sdk::v3::tonic::Request::new(requests);
    ka.metadata_mut()
        .insert("hasleader", "true".parse().expect("ascii"));
    let opened = tokio::time::timeout(
        STEP,
        pb::lease_client::LeaseClient::new(ch.clone()).lease_keep_alive(ka),
    )
    .await
    .expect("a keepalive stream answers within STEP");
    let refused = match opened {
        Err(s) => s,
        Ok(stream) => {
            let mut stream = stream.into_inner();
            match tokio::time::timeout(Duration::from_secs(5), stream.message()).await {
                Ok(Err(s)) => s,
                other => panic!("a keepalive stream without a leader: {other:?}"),
            }
        }
    };
    assert_no_leader(&refused, "a keepalive stream");
    drop(tx);

    c.restart(1).await;
    c.restart(2).await;
    c.wait_for_leader(None, Duration::from_secs(20)).await;
    let back = Instant::now();
    loop {
        match require_leader_watch(&ch).await {
            Ok(r) if r.created && !r.canceled => break,
            other => assert!(
                back.elapsed() < STEP,
                "no require-leader watch once a leader is back: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
