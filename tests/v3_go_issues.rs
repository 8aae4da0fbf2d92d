//! The failures users of Go's clientv3 (and of the `etcd-client` crate)
//! report, each reproduced against real etcd 3.4.23 and shown absent here.
//! One test per issue; the issue numbers are in the test names, and each
//! doc comment says what Go does and what we assert.
//!
//! Faults: SIGSTOP/SIGCONT and SIGKILL + restart of members
//! ([`etcd_test_support::EtcdCluster`]), and a black-holed endpoint (a
//! listening socket nobody accepts on: the kernel completes the TCP
//! handshake, and nothing ever answers, as with a member whose network is
//! gone).
#![cfg(not(madsim))]

use etcd_sdk::v3::pb::etcdserverpb::{RangeRequest, kv_client::KvClient};
use etcd_sdk::v3::{
    Auth, Client, Config, Event, EventType, GetOptions, KV, Lease, PutOptions, UserAddOptions,
    WatchOptions, WatchStream, Watcher,
};
use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_watch::{self, Fault};
use etcd_test_support::metrics::Metrics;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;

/// The client's keepalive: a ping after this much silence...
const KEEPALIVE_TIME: Duration = Duration::from_millis(500);
/// ...that must be answered within this.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(1);
/// The bound on any step a test waits for.
const STEP: Duration = Duration::from_secs(20);

/// A client that notices a silent member within keepalive time + timeout.
async fn watchful(endpoints: &[String]) -> Client {
    Client::new(watchful_config(endpoints))
        .await
        .expect("client")
}

fn watchful_config(endpoints: &[String]) -> Config {
    Config {
        dial_timeout: Some(Duration::from_secs(1)),
        keep_alive_time: Some(KEEPALIVE_TIME),
        keep_alive_timeout: Some(KEEPALIVE_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    }
}

/// A listening socket whose connections are never accepted: connects
/// succeed (the kernel's backlog), nothing is ever answered.
fn black_hole() -> (std::net::TcpListener, String) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", l.local_addr().expect("local address"));
    (l, url)
}

/// Puts `key` until it succeeds (a put cut by a fault is outcome-unknown;
/// re-sending it can at most add one more event to the history, which the
/// checks read from the server).
async fn put_until_ok(c: &Client, key: &str, value: &str) -> i64 {
    let deadline = Instant::now() + STEP;
    loop {
        match c.put(key, value, PutOptions::default()).await {
            Ok(r) => return r.header.map(|h| h.revision).unwrap_or_default(),
            Err(e) if Instant::now() < deadline => {
                println!("put {key} again after {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("put {key}: {e:?}"),
        }
    }
}

/// Reads `w` into `got` until the event at `rev` is in (each response within
/// [`STEP`]).
async fn read_through(w: &mut WatchStream, got: &mut Vec<Event>, rev: i64) {
    while got.last().map(|e| e.kv.mod_revision) < Some(rev) {
        match tokio::time::timeout(STEP, w.next()).await {
            Ok(Some(Ok(r))) => got.extend(r.events),
            other => panic!(
                "watch: {other:?} with {} events, waiting for revision {rev}",
                got.len()
            ),
        }
    }
}

/// `(type, key, value, revision)` of each event.
fn briefs(evs: &[Event]) -> Vec<(EventType, String, String, i64)> {
    evs.iter()
        .map(|e| {
            (
                e.kind,
                String::from_utf8_lossy(&e.kv.key).into_owned(),
                String::from_utf8_lossy(&e.kv.value).into_owned(),
                e.kv.mod_revision,
            )
        })
        .collect()
}

/// The history of `prefix` from revision `from`, `n` events, replayed by a
/// fresh watch of a fresh client.
async fn history(endpoints: &[String], prefix: &str, from: i64, n: usize) -> Vec<Event> {
    let c = Client::connect(endpoints.iter().cloned()).await.unwrap();
    let mut w = c
        .watch(
            prefix,
            WatchOptions {
                revision: from,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(STEP, w.next()).await {
            Ok(Some(Ok(r))) => got.extend(r.events),
            other => panic!("history replay: {other:?}"),
        }
    }
    got
}

/// The index of the member serving the (one) watch stream.
async fn member_serving_watch(c: &EtcdCluster) -> usize {
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

/// etcd #7321 and #7941: with one member's network gone, Go's requests hang
/// for minutes (the balancer keeps a connection that no longer answers, and
/// a call without a deadline waits on it until TCP gives up).
///
/// We assert, with a black-holed endpoint first in a client over a healthy
/// 3-member cluster: (a) calls with a 2 s deadline each return within it
/// (plus scheduling slack), and (b) calls without any user deadline each
/// complete, through another endpoint, within 10× the keepalive timeout
/// (the first in about keepalive time + timeout, the rest at once: the
/// black hole's breaker is open).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_7321_7941_calls_do_not_hang_on_a_black_holed_member() {
    let c = EtcdCluster::start(3).await;
    c.wait_for_leader(None, STEP).await;
    let (_hole, hole_url) = black_hole();
    let mut endpoints = vec![hole_url.clone()];
    endpoints.extend(c.client_urls());

    // (a) With a deadline: every call returns within it.
    let deadline = Duration::from_secs(2);
    let bounded = watchful(&endpoints).await.with_timeout(deadline);
    let mut ok = 0;
    for i in 0..8 {
        let t = Instant::now();
        let r = bounded.get(format!("a{i}"), GetOptions::default()).await;
        let took = t.elapsed();
        println!(
            "#7321 (a) get {i}: {:?} in {took:?}",
            r.as_ref().map(|_| ())
        );
        assert!(
            took < deadline + Duration::from_millis(300),
            "a call with a {deadline:?} deadline took {took:?}"
        );
        ok += usize::from(r.is_ok());
    }
    assert!(ok >= 7, "reads go on through the live members: {ok}/8");

    // (b) Without a deadline: every call completes via another endpoint.
    let unbounded = watchful(&endpoints).await;
    let bound = KEEPALIVE_TIMEOUT * 10;
    let start = Instant::now();
    for i in 0..8 {
        let t = Instant::now();
        let r = unbounded.get(format!("b{i}"), GetOptions::default());
        let r = tokio::time::timeout(bound, r)
            .await
            .unwrap_or_else(|_| panic!("get {i} without a deadline hung for {bound:?}"));
        let took = t.elapsed();
        println!("#7321 (b) get {i}: ok={} in {took:?}", r.is_ok());
        r.unwrap_or_else(|e| panic!("get {i}: {e:?}"));
        assert!(took < bound, "get {i} took {took:?}");
    }
    let total = start.elapsed();
    assert!(
        total < bound,
        "8 calls without a deadline took {total:?} in all"
    );
    assert!(
        !unbounded.usable_endpoints().contains(&hole_url),
        "the black hole left the rotation"
    );
}

/// etcd #10816: Go's balancer flaps over a SIGSTOPped member: it keeps
/// picking its (still connected) subchannel, and call after call waits out
/// its timeout there.
///
/// We assert, with a follower SIGSTOPped in a 3-member cluster, that 30
/// sequential reads (each with a 3 s deadline, over all three endpoints)
/// all succeed and cost at most about one keepalive timeout in total:
/// at most one call is slow, and the sum stays under keepalive time +
/// timeout + 1.5 s (the breaker keeps every later call off the member).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_10816_a_stopped_member_costs_one_timeout_not_one_per_call() {
    let c = EtcdCluster::start(3).await;
    let leader = c.wait_for_leader(None, STEP).await;
    let stopped = (leader + 1) % 3;
    let client = watchful(&c.client_urls()).await;
    // Warm every connection so the stopped member is in rotation.
    for i in 0..3 {
        client
            .get(format!("warm{i}"), GetOptions::default())
            .await
            .unwrap();
    }
    c.member(stopped).pause();
    let calls = client.with_timeout(Duration::from_secs(3));
    let start = Instant::now();
    let mut slow = 0;
    for i in 0..30 {
        let t = Instant::now();
        calls
            .get(format!("k{i}"), GetOptions::default())
            .await
            .unwrap_or_else(|e| panic!("get {i} with member {stopped} stopped: {e:?}"));
        if t.elapsed() >= Duration::from_millis(400) {
            slow += 1;
            println!("#10816 get {i} was slow: {:?}", t.elapsed());
        }
    }
    let total = start.elapsed();
    println!("#10816: 30 gets with member {stopped} stopped took {total:?}, {slow} slow");
    let usable = client.usable_endpoints();
    c.member(stopped).resume();
    assert!(slow <= 1, "{slow} calls paid for the stopped member");
    let budget = KEEPALIVE_TIME + KEEPALIVE_TIMEOUT + Duration::from_millis(1500);
    assert!(total < budget, "30 gets took {total:?} (budget {budget:?})");
    assert!(
        !usable.contains(&c.member(stopped).client_url().to_string()),
        "the stopped member left the rotation: {usable:?}"
    );
}

/// etcd #8980, #12534, #17611: a Go watch whose stream is on a member that
/// is stopped or partitioned blocks forever, even with `WithRequireLeader`
/// (the member cannot say "no leader" when it cannot say anything).
///
/// We assert, with a `require_leader` prefix watch on a 3-member cluster:
/// the member serving its stream is SIGSTOPped while puts go on through the
/// other two; every event written while it is stopped arrives before it is
/// continued, within 10× the keepalive timeout of the stop; the failed
/// stream alone (the client makes no unary call) took the member out of the
/// client's rotation; and after it is continued and more puts, the
/// watcher's events equal the history replayed from the first revision:
/// each exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8980_12534_17611_a_require_leader_watch_leaves_a_stopped_member() {
    let c = EtcdCluster::start(3).await;
    c.wait_for_leader(None, STEP).await;
    let urls = c.client_urls();
    let watching = watchful(&urls).await;
    let mut w = watching
        .watch(
            "r/",
            WatchOptions {
                require_leader: true,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let serving = member_serving_watch(&c).await;
    let others: Vec<String> = (0..3)
        .filter(|&i| i != serving)
        .map(|i| urls[i].clone())
        .collect();
    let writer = watchful(&others).await;

    let first = put_until_ok(&writer, "r/000", "v0").await;
    for i in 1..10 {
        put_until_ok(&writer, &format!("r/{i:03}"), &format!("v{i}")).await;
    }
    c.member(serving).pause();
    let stopped = Instant::now();
    let mut last = 0;
    for i in 10..30 {
        last = put_until_ok(&writer, &format!("r/{i:03}"), &format!("v{i}")).await;
    }
    let mut got = Vec::new();
    read_through(&mut w, &mut got, last).await;
    let moved = stopped.elapsed();
    println!("#8980: caught up on another member {moved:?} after the stop");
    assert!(
        moved < KEEPALIVE_TIMEOUT * 10,
        "the watch took {moved:?} to leave the stopped member"
    );
    // This client made no unary call: its watch stream's failure alone
    // took the member out of its rotation.
    let usable = watching.usable_endpoints();
    assert!(
        !usable.contains(&urls[serving]),
        "the failed stream opened the member's breaker: {usable:?}"
    );
    c.member(serving).resume();
    for i in 30..40 {
        last = put_until_ok(&writer, &format!("r/{i:03}"), &format!("v{i}")).await;
    }
    read_through(&mut w, &mut got, last).await;
    let want = history(&others, "r/", first, got.len()).await;
    assert_eq!(briefs(&got), briefs(&want), "exactly once, in order");
    assert!(got.len() >= 40);
}

/// etcd #8980 without `require_leader` (moved here from
/// `real_v3_watch.rs`): the shared case body SIGSTOPs the member serving a
/// plain prefix watch while 60 puts go on, and asserts the events written
/// while it is stopped arrive before it is continued and that every event
/// arrives exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_8980_a_watch_leaves_a_stopped_member() {
    let c = EtcdCluster::start(3).await;
    v3_watch::watch_resumes_exactly_when_its_member_fails(&c, Fault::Pause).await;
}

/// etcd #13413: Go's client never renews an expired auth token (simple
/// tokens expire after `--auth-token-ttl` of disuse), so every call after
/// the expiry fails with "invalid auth token" until the client is rebuilt.
///
/// We assert, against a member started with `--auth-token-ttl=2`: after the
/// token expired, a put, a get, a lease grant and a new watch all succeed
/// (the client fetches a new token and retries once), and a watch created
/// before the expiry still delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13413_an_expired_auth_token_is_renewed() {
    let c = EtcdCluster::start_with_flags(1, &["--auth-token-ttl=2"]).await;
    let urls = c.client_urls();
    let admin = Client::connect(urls.clone()).await.unwrap();
    admin
        .user_add("root", "pw", UserAddOptions::default())
        .await
        .unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin.auth_enable().await.unwrap();

    let client = Client::new(Config {
        username: Some("root".into()),
        password: Some("pw".into()),
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(urls.clone())
    })
    .await
    .unwrap();
    client
        .put("t/0", "before", PutOptions::default())
        .await
        .unwrap();
    let mut early = client.watch("t/", WatchOptions::prefix()).await.unwrap();

    // A token of our own, to show that etcd does expire them.
    let stale = admin.authenticate("root", "pw").await.unwrap().token;

    // Let the tokens expire (etcd drops simple tokens idle for the TTL,
    // checking every second).
    tokio::time::sleep(Duration::from_secs(4)).await;

    // What Go's client keeps sending: refused.
    let mut raw = KvClient::connect(urls[0].clone()).await.unwrap();
    let mut req = tonic::Request::new(RangeRequest {
        key: b"t/0".to_vec(),
        ..Default::default()
    });
    req.metadata_mut().insert("token", stale.parse().unwrap());
    let refused = raw.range(req).await.unwrap_err();
    assert_eq!(
        refused.message(),
        "etcdserver: invalid auth token",
        "the token expired"
    );

    let rev = client
        .put("t/1", "after", PutOptions::default())
        .await
        .unwrap_or_else(|e| panic!("put after the token expired: {e:?}"))
        .header
        .map(|h| h.revision)
        .unwrap_or_default();
    let g = client.get("t/1", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"after");

    tokio::time::sleep(Duration::from_secs(4)).await;
    let lease = client
        .grant(30)
        .await
        .unwrap_or_else(|e| panic!("grant after the token expired: {e:?}"));
    assert!(lease.id != 0);

    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut late = client
        .watch(
            "t/",
            WatchOptions {
                revision: rev,
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("watch after the token expired: {e:?}"));
    let mut from_late = Vec::new();
    read_through(&mut late, &mut from_late, rev).await;
    assert_eq!(briefs(&from_late)[0].1, "t/1");
    let mut from_early = Vec::new();
    read_through(&mut early, &mut from_early, rev).await;
    assert_eq!(
        briefs(&from_early)
            .iter()
            .map(|e| e.1.clone())
            .collect::<Vec<_>>(),
        ["t/1"]
    );
}

/// `etcd-client` (Rust crate) #17 and #48: a watch or a lease keepalive
/// dies with its connection when the member restarts, and never resumes
/// (the caller sees the stream end, or nothing at all).
///
/// We assert, on a 1-member cluster whose only member is SIGKILLed and
/// restarted on the same URL: the watch delivers the put made after the
/// restart (and nothing twice), and the keepalive stream goes on with
/// answers after the restart, keeping the lease alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_client_17_48_watch_and_keepalive_resume_after_the_only_member_restarts() {
    let c = EtcdCluster::start(1).await;
    let urls = c.client_urls();
    let client = watchful(&urls).await;
    let lease = client.grant(10).await.unwrap();
    let mut keepalive = client.keep_alive(lease.id).await.unwrap();
    let term_before = match tokio::time::timeout(STEP, keepalive.next()).await {
        Ok(Some(Ok(a))) => a.header.map(|h| h.raft_term).unwrap_or_default(),
        other => panic!("first keepalive answer: {other:?}"),
    };
    let mut w = client.watch("k/", WatchOptions::prefix()).await.unwrap();
    let rev1 = put_until_ok(&client, "k/1", "before").await;
    let mut got = Vec::new();
    read_through(&mut w, &mut got, rev1).await;

    c.member(0).kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    c.member(0).restart().await;
    let restarted = Instant::now();

    let rev2 = put_until_ok(&client, "k/2", "after").await;
    read_through(&mut w, &mut got, rev2).await;
    assert_eq!(
        briefs(&got)
            .iter()
            .map(|e| (e.1.clone(), e.2.clone()))
            .collect::<Vec<_>>(),
        [
            ("k/1".to_string(), "before".to_string()),
            ("k/2".to_string(), "after".to_string())
        ],
        "each event once"
    );

    // Keepalive answers come again from the restarted member (its Raft
    // term moved on with its new election).
    let mut answers_after = 0;
    while answers_after < 2 {
        match tokio::time::timeout(STEP, keepalive.next()).await {
            Ok(Some(Ok(a))) => {
                assert_eq!(a.ttl, 10);
                let term = a.header.map(|h| h.raft_term).unwrap_or_default();
                if term > term_before {
                    answers_after += 1;
                }
            }
            other => panic!(
                "keepalive {:?} after the restart: {other:?}",
                restarted.elapsed()
            ),
        }
    }
    let ttl = client
        .time_to_live(lease.id, Default::default())
        .await
        .unwrap();
    assert!(ttl.ttl > 0, "the lease is alive: {ttl:?}");
}
