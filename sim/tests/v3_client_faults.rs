//! The v3 client's bodies (KV put/get/txn, watch resume, lease keepalive,
//! lock, the leasing cache) under the faults only the simulator can make: the
//! client's member partitioned away from the majority, one-way cuts
//! leader -> follower and follower -> leader, a paused (SIGSTOP) member the
//! client's streams are on, and a member isolated from its clients too.
//!
//! Each call's outcome is put in one of three classes and the class each
//! fault allows is asserted: [`Class::Ok`], [`Class::Unknown`] (a write
//! that may have been applied: `OutcomeUnknown`), [`Class::Clear`] (the
//! caller's deadline or one of etcd's own errors, e.g. "no leader"); any
//! other error fails the test. What was acknowledged is then read back after
//! the cluster heals, and what may have been applied is either there or not,
//! never half.
//!
//! Deterministic per seed; run over several seeds, and check determinism one
//! seed at a time:
//! `MADSIM_TEST_NUM=5 RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim
//! --target-dir target/sim --test v3_client_faults`, and
//! `MADSIM_TEST_SEED=<n> MADSIM_TEST_CHECK_DETERMINISM=1 ...`.
#![cfg(madsim)]

use etcd_sdk::v3::concurrency::{Context, Mutex, Session, SessionOptions};
use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, GetOptions, KV, Lease, Op, PutOptions, Result,
    WatchOptions, Watcher, leasing,
};
use etcd_sim::cluster::{SimCluster, SimClusterConfig, client_url};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(3);
/// How long a fault lasts.
const FAULT: Duration = Duration::from_secs(8);
/// How long the cluster may take to heal and a client to get through again.
const SETTLE: Duration = Duration::from_secs(60);

async fn cluster() -> SimCluster {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts")
}

/// A client over `urls`, with the keepalive that leaves a silent member
/// (emulated in sim builds: an attempt unanswered for 1.5 s is lost, well
/// within the call's deadline, so a read can still fail over) and a
/// deadline on every call.
async fn client(urls: Vec<String>) -> Client {
    Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(CALL),
        keep_alive_time: Some(Duration::from_millis(500)),
        keep_alive_timeout: Some(Duration::from_secs(1)),
        ..Config::new(urls)
    })
    .await
    .expect("client")
}

fn faults(c: &SimCluster) -> String {
    c.fault_log()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The outcome classes a faulty call may end in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Answered.
    Ok,
    /// A write that may or may not have been applied.
    Unknown,
    /// Failed with a clear error: the caller's deadline, or etcd's own
    /// refusal ("no leader", "request timed out", ...).
    Clear,
}

/// The class of `r`; panics on an error that is none of them.
fn class<T>(what: &str, r: &Result<T>) -> Class {
    match r {
        Ok(_) => Class::Ok,
        Err(e) if e.is_outcome_unknown() => Class::Unknown,
        Err(e) if e.is_timeout() || e.etcd().is_some() => Class::Clear,
        Err(e) => panic!("{what}: an unclear error: {e:?}"),
    }
}

/// Asserts `got` is one of `allowed`.
fn expect_class(what: &str, got: Class, allowed: &[Class], c: &SimCluster) {
    assert!(
        allowed.contains(&got),
        "{what}: {got:?}, expected one of {allowed:?}\nfaults:\n{}",
        faults(c)
    );
}

fn urls(members: &[usize]) -> Vec<String> {
    members.iter().map(|&i| client_url(i)).collect()
}

/// The leader and the two followers.
async fn roles(c: &SimCluster) -> (usize, usize, usize) {
    let l = c.wait_for_leader(SETTLE).await.expect("a leader");
    let f: Vec<usize> = (0..3).filter(|&i| i != l).collect();
    (l, f[0], f[1])
}

/// Keys written by a body, checked after the heal.
#[derive(Debug, Default)]
struct Written {
    /// Acknowledged: key -> (value, mod revision).
    acked: BTreeMap<String, (String, i64)>,
    /// May have been applied: key -> value.
    doubtful: BTreeMap<String, String>,
}

impl Written {
    fn put(&mut self, key: &str, value: &str, class: Class, rev: Option<i64>) {
        match (class, rev) {
            (Class::Ok, Some(rev)) => {
                self.acked.insert(key.into(), (value.into(), rev));
            }
            (Class::Unknown, _) => {
                self.doubtful.insert(key.into(), value.into());
            }
            _ => {}
        }
    }
}

/// Reads every key under `prefix` through `urls` (retrying until the cluster
/// answers) and checks it against `w`: acknowledged keys are there with
/// their revision, doubtful ones are there with their value or absent, and
/// nothing else was written.
async fn check_written(c: &SimCluster, members: Vec<usize>, prefix: &'static str, w: Written) {
    let found: BTreeMap<String, (String, i64)> = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&members)).await;
            let deadline = Instant::now() + SETTLE;
            loop {
                match cl.get(prefix, GetOptions::prefix()).await {
                    Ok(r) => {
                        break r
                            .kvs
                            .iter()
                            .map(|kv| {
                                (
                                    String::from_utf8_lossy(&kv.key).into_owned(),
                                    (
                                        String::from_utf8_lossy(&kv.value).into_owned(),
                                        kv.mod_revision,
                                    ),
                                )
                            })
                            .collect();
                    }
                    Err(e) => {
                        assert!(Instant::now() < deadline, "read back: {e:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
        .await;
    for (k, want) in &w.acked {
        assert_eq!(
            found.get(k),
            Some(want),
            "acknowledged {k} lost or changed\nfaults:\n{}",
            faults(c)
        );
    }
    for (k, (v, _)) in &found {
        match (w.acked.get(k), w.doubtful.get(k)) {
            (Some(_), _) => {}
            (None, Some(d)) => assert_eq!(v, d, "doubtful {k} has another value"),
            (None, None) => panic!("{k}={v} was never written\nfaults:\n{}", faults(c)),
        }
    }
}

/// The KV body: puts, linearizable gets, serializable gets of `base` (put
/// before the fault) and a txn through `members`, each classed; `allowed` gives the classes each kind of call
/// may end in under the fault. Returns what was written.
async fn kv_body(
    c: &SimCluster,
    members: Vec<usize>,
    base: &'static str,
    prefix: &'static str,
    n: usize,
    allowed: Allowed,
) -> Written {
    let results = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&members)).await;
            let mut out = Vec::new();
            for i in 0..n {
                let key = format!("{prefix}{i}");
                let put = cl.put(key.clone(), "p", PutOptions::default()).await;
                let rev = put
                    .as_ref()
                    .ok()
                    .and_then(|r| r.header.as_ref())
                    .map(|h| h.revision);
                out.push(("put", key.clone(), "p", class("put", &put), rev));
                let lin = cl.get(key.clone(), GetOptions::default()).await;
                out.push(("get", key.clone(), "", class("get", &lin), None));
                let ser = cl
                    .get(
                        base,
                        GetOptions {
                            serializable: true,
                            ..GetOptions::default()
                        },
                    )
                    .await;
                if let Ok(r) = &ser {
                    assert_eq!(r.kvs.len(), 1, "the serializable read lost {base}");
                }
                out.push((
                    "serializable",
                    key.clone(),
                    "",
                    class("serializable", &ser),
                    None,
                ));
                let tkey = format!("{prefix}t{i}");
                let txn = cl
                    .txn()
                    .when([Compare::version(tkey.clone(), CompareOp::Equal, 0)])
                    .and_then([Op::put(tkey.clone(), "t", PutOptions::default())])
                    .commit()
                    .await;
                if let Ok(r) = &txn {
                    assert!(r.succeeded, "{tkey} existed before its only txn");
                }
                let rev = txn
                    .as_ref()
                    .ok()
                    .and_then(|r| r.header.as_ref())
                    .map(|h| h.revision);
                out.push(("txn", tkey, "t", class("txn", &txn), rev));
            }
            out
        })
        .await;
    let mut w = Written::default();
    for (what, key, value, got, rev) in results {
        let ok = match what {
            "put" | "txn" => &allowed.write,
            "get" => &allowed.linearizable,
            _ => &allowed.serializable,
        };
        expect_class(&format!("{what} {key}"), got, ok, c);
        if !value.is_empty() {
            w.put(&key, value, got, rev);
        }
    }
    w
}

/// The classes each kind of call may end in.
struct Allowed {
    write: Vec<Class>,
    linearizable: Vec<Class>,
    serializable: Vec<Class>,
}

const OK: Class = Class::Ok;
const UNKNOWN: Class = Class::Unknown;
const CLEAR: Class = Class::Clear;

/// Puts the base key every body's serializable read looks for.
async fn put_base(c: &SimCluster, prefix: &'static str) -> Written {
    let r = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&[0, 1, 2])).await;
            cl.put(format!("{prefix}base"), "b", PutOptions::default())
                .await
                .expect("base put")
        })
        .await;
    let mut w = Written::default();
    w.acked.insert(
        format!("{prefix}base"),
        ("b".into(), r.header.expect("a header").revision),
    );
    w
}

fn merge(mut a: Written, b: Written) -> Written {
    a.acked.extend(b.acked);
    a.doubtful.extend(b.doubtful);
    a
}

/// A watcher on its own node over `members`, `require_leader` as given,
/// collecting (key, mod revision) of every put under `prefix` until it sees
/// `prefix + "done"`; started (created on the server) when this returns.
async fn start_watcher(
    name: &str,
    ip: &str,
    members: Vec<usize>,
    prefix: &'static str,
    require_leader: bool,
) -> madsim::task::JoinHandle<Vec<(String, i64)>> {
    let node = madsim::runtime::Handle::current()
        .create_node()
        .name(name)
        .ip(ip.parse().expect("an ip"))
        .build();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let h = node.spawn(async move {
        let cl = client(urls(&members)).await;
        let mut events = cl
            .watch(
                prefix,
                WatchOptions {
                    require_leader,
                    created_notify: true,
                    ..WatchOptions::prefix()
                },
            )
            .await
            .expect("watch");
        let created = events.next().await.expect("created").expect("created");
        assert!(created.created);
        let _ = ready_tx.send(());
        let mut seen = Vec::new();
        loop {
            let r = tokio::time::timeout(SETTLE, events.next()).await;
            let resp = match r {
                Ok(Some(Ok(resp))) => resp,
                other => panic!("the watcher stopped: {other:?} after {seen:?}"),
            };
            for ev in resp.events {
                let key = String::from_utf8_lossy(&ev.kv.key).into_owned();
                let done = key.ends_with("done");
                seen.push((key, ev.kv.mod_revision));
                if done {
                    return seen;
                }
            }
        }
    });
    ready_rx.await.expect("watcher created");
    h
}

/// Writes `prefix0..n` through `members` once each (no retries, so every key
/// has at most one revision), then `prefix + "done"` until acknowledged.
async fn write_for_watcher(c: &SimCluster, members: Vec<usize>, prefix: &'static str, n: usize) {
    c.run_on_client_node(move || async move {
        let cl = client(urls(&members)).await;
        for i in 0..n {
            let _ = cl
                .put(format!("{prefix}{i}"), "v", PutOptions::default())
                .await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let deadline = Instant::now() + SETTLE;
        while let Err(e) = cl
            .put(format!("{prefix}done"), "v", PutOptions::default())
            .await
        {
            assert!(Instant::now() < deadline, "done: {e:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
}

/// Asserts the watcher saw exactly the store's puts under `prefix`, in
/// revision order: no gap, no duplicate.
async fn check_watched(c: &SimCluster, prefix: &'static str, seen: Vec<(String, i64)>) {
    let store: Vec<(String, i64)> = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&[0, 1, 2])).await;
            let r = cl
                .get(prefix, GetOptions::prefix())
                .await
                .expect("read back");
            let mut kvs: Vec<(String, i64)> = r
                .kvs
                .iter()
                .map(|kv| {
                    (
                        String::from_utf8_lossy(&kv.key).into_owned(),
                        kv.mod_revision,
                    )
                })
                .collect();
            kvs.sort_by_key(|(_, rev)| *rev);
            kvs
        })
        .await;
    assert_eq!(
        seen,
        store,
        "the watcher's events vs the store\nfaults:\n{}",
        faults(c)
    );
}

/// The client's only member is cut off from the majority (the client still
/// reaches it): its linearizable calls fail clearly, serializable reads are
/// still served from its store, and a client over every member fails over.
/// A require-leader watch opened on it moves to a member with a leader and
/// misses nothing.
#[madsim::test]
async fn a_partitioned_member_fails_clearly_and_clients_fail_over() {
    let c = cluster().await;
    let base = put_base(&c, "part/").await;
    let (_l, p, _) = roles(&c).await;
    let majority: Vec<usize> = (0..3).filter(|&i| i != p).collect();
    // The watcher's first endpoint is the member to be cut off: its stream
    // starts there (round robin from the first).
    let mut watch_members = vec![p];
    watch_members.extend(&majority);
    let watcher = start_watcher("watcher", "10.0.3.1", watch_members, "pw/", true).await;

    c.partition(&[vec![p], majority.clone()]).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // p's leader is gone
    let alone = kv_body(
        &c,
        vec![p],
        "part/base",
        "part/alone/",
        3,
        Allowed {
            write: vec![UNKNOWN, CLEAR],
            linearizable: vec![CLEAR],
            serializable: vec![OK],
        },
    )
    .await;
    let all = kv_body(
        &c,
        vec![p, majority[0], majority[1]],
        "part/base",
        "part/all/",
        3,
        Allowed {
            // A write on the cut-off member may be refused ("no leader").
            write: vec![OK, UNKNOWN, CLEAR],
            linearizable: vec![OK],
            serializable: vec![OK],
        },
    )
    .await;
    // Written during the partition through the majority: the require-leader
    // watch must get it before the heal.
    write_for_watcher(&c, majority.clone(), "pw/", 10).await;
    let seen = watcher.await.expect("watcher");
    c.heal();
    c.wait_converged(SETTLE).await.expect("converged");
    check_watched(&c, "pw/", seen).await;
    check_written(&c, majority, "part/", merge(merge(base, alone), all)).await;
}

/// Which one-way cut.
#[derive(Clone, Copy, Debug)]
enum Cut {
    LeaderToFollower,
    FollowerToLeader,
}

/// A one-way cut between the leader and the follower the client uses: the
/// follower's own calls are classed (a write through it may have been
/// applied even when it cannot tell), a client over every member gets
/// through, a require-leader watch over every member misses nothing while
/// the cut lasts, a plain one nothing once it heals, and nothing
/// acknowledged is lost.
async fn one_way_cut(cut: Cut) {
    let c = cluster().await;
    let prefix = "cut/";
    let base = put_base(&c, prefix).await;
    let (l, f, other) = roles(&c).await;
    // Both watchers' streams start on f. The require-leader one must leave
    // f once f has lost its leader; the other may stay on f (etcd's
    // semantics: without `hasleader` a member serves its watches, leader or
    // not) and must catch up, with no gap, once the cut heals.
    let moving = start_watcher("watcher", "10.0.3.1", vec![f, l, other], "cw/", true).await;
    let staying = start_watcher("watcher2", "10.0.3.5", vec![f, l, other], "cw/", false).await;
    match cut {
        Cut::LeaderToFollower => c.cut_link(l, f).unwrap(),
        Cut::FollowerToLeader => c.cut_link(f, l).unwrap(),
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Through the cut follower alone: anything but an unclear error (with
    // pre-vote the follower may or may not get a leader back, and a write
    // committed by the others may never reach its state).
    let alone = kv_body(
        &c,
        vec![f],
        "cut/base",
        "cut/alone/",
        3,
        Allowed {
            write: vec![OK, UNKNOWN, CLEAR],
            linearizable: vec![OK, CLEAR],
            serializable: vec![OK],
        },
    )
    .await;
    let all = kv_body(
        &c,
        vec![f, l, other],
        "cut/base",
        "cut/all/",
        3,
        Allowed {
            // A write on the cut-off member may be refused ("no leader").
            write: vec![OK, UNKNOWN, CLEAR],
            linearizable: vec![OK],
            serializable: vec![OK],
        },
    )
    .await;
    write_for_watcher(&c, vec![l, other], "cw/", 10).await;
    let seen = moving.await.expect("watcher");
    c.heal();
    c.wait_converged(SETTLE).await.expect("converged");
    check_watched(&c, "cw/", seen).await;
    let seen = staying.await.expect("watcher2");
    check_watched(&c, "cw/", seen).await;
    check_written(&c, vec![0, 1, 2], prefix, merge(merge(base, alone), all)).await;
}

#[madsim::test]
async fn a_one_way_cut_leader_to_follower_loses_nothing_acknowledged() {
    one_way_cut(Cut::LeaderToFollower).await;
}

#[madsim::test]
async fn a_one_way_cut_follower_to_leader_loses_nothing_acknowledged() {
    one_way_cut(Cut::FollowerToLeader).await;
}

/// The member the client's streams are on is paused (SIGSTOP: its
/// connections stay open, nothing answers): puts get through on the others
/// within a bounded time, the watch resumes elsewhere with no gap, and a
/// kept-alive lease outlives the pause.
#[madsim::test]
async fn a_paused_member_under_the_clients_streams() {
    let c = cluster().await;
    let (l, f, other) = roles(&c).await;
    let order = vec![f, l, other]; // streams start on f
    let watcher = start_watcher("watcher", "10.0.3.1", order.clone(), "sw/", false).await;
    // The grant goes to the first endpoint, the keepalive stream to the next: f.
    let keeper_urls = urls(&[l, f, other]);
    let (granted_tx, granted_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let keeper = madsim::runtime::Handle::current()
        .create_node()
        .name("keeper")
        .ip("10.0.3.2".parse().unwrap())
        .build()
        .spawn(async move {
            let cl = client(keeper_urls).await;
            let g = cl.grant(10).await.expect("grant");
            let mut alive = cl.keep_alive(g.id).await.expect("keep alive");
            alive.next().await.expect("renewed").expect("renewed");
            let _ = granted_tx.send(g.id);
            let mut stop = std::pin::pin!(stop_rx);
            let mut renewals = 0u32;
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stop => return renewals,
                    r = alive.next() => match r {
                        Some(Ok(_)) => renewals += 1,
                        other => panic!("keepalive ended: {other:?}"),
                    },
                }
            }
        });
    let lease = granted_rx.await.expect("granted");

    c.pause(f).unwrap();
    // Puts through every member: each one acknowledged or, when it was on
    // the paused member, outcome-unknown within the keepalive bound.
    let puts = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&order)).await;
            let mut out = Vec::new();
            for i in 0..10 {
                let t = Instant::now();
                let r = cl.put(format!("sp/{i}"), "v", PutOptions::default()).await;
                out.push((class("put", &r), t.elapsed()));
            }
            out
        })
        .await;
    for (i, (got, took)) in puts.iter().enumerate() {
        expect_class(&format!("put sp/{i}"), *got, &[OK, UNKNOWN], &c);
        // An attempt on the paused member is cut at the keepalive bound (1.5 s).
        assert!(*took <= Duration::from_secs(2), "put sp/{i} took {took:?}");
    }
    let acked = puts.iter().filter(|(g, _)| *g == OK).count();
    assert!(acked >= 8, "only {acked} of 10 puts acknowledged: {puts:?}");
    write_for_watcher(&c, vec![l, other], "sw/", 10).await;
    let seen = watcher.await.expect("watcher");
    tokio::time::sleep(FAULT).await; // longer than the lease's TTL
    c.resume(f).unwrap();
    check_watched(&c, "sw/", seen).await;
    let ttl = c
        .run_on_client_node(move || async move {
            client(urls(&[l, other]))
                .await
                .time_to_live(lease, Default::default())
                .await
                .expect("time to live")
                .ttl
        })
        .await;
    assert!(
        ttl > 0,
        "the kept-alive lease expired\nfaults:\n{}",
        faults(&c)
    );
    let _ = stop_tx.send(());
    let renewals = keeper.await.expect("keeper");
    assert!(renewals >= 3, "renewals: {renewals}");
}

/// A lock holder whose member is partitioned away loses its session (its
/// keepalives get no answer), and another client over the majority then gets
/// the lock within the TTL and a bounded delay.
#[madsim::test]
async fn a_lock_passes_on_when_the_holders_member_is_cut_off() {
    let c = cluster().await;
    let (_l, p, _) = roles(&c).await;
    let majority: Vec<usize> = (0..3).filter(|&i| i != p).collect();
    let ttl = 5;
    let (held_tx, held_rx) = tokio::sync::oneshot::channel();
    let holder = madsim::runtime::Handle::current()
        .create_node()
        .name("holder")
        .ip("10.0.3.3".parse().unwrap())
        .build()
        .spawn(async move {
            let cl = client(urls(&[p])).await;
            let s = Session::with_options(cl, SessionOptions::new().with_ttl(ttl))
                .await
                .expect("session");
            let mut m = Mutex::new(&s, "lk/");
            m.lock(&Context::with_timeout(CALL)).await.expect("lock");
            let _ = held_tx.send(m.key().to_string());
            // The session ends: its keepalives go unanswered.
            tokio::time::timeout(SETTLE, s.done())
                .await
                .expect("the holder learns its session ended");
            Instant::now()
        });
    let held_key = held_rx.await.expect("held");
    let cut_at = Instant::now();
    c.partition(&[vec![p], majority.clone()]).unwrap();
    let (got_at, key) = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&majority)).await;
            let s = Session::with_options(cl, SessionOptions::new().with_ttl(ttl))
                .await
                .expect("session");
            let mut m = Mutex::new(&s, "lk/");
            m.lock(&Context::with_timeout(SETTLE)).await.expect("lock");
            (Instant::now(), m.key().to_string())
        })
        .await;
    assert_ne!(key, held_key);
    let waited = got_at - cut_at;
    assert!(
        waited <= Duration::from_secs(ttl as u64) + Duration::from_secs(10),
        "the lock passed on after {waited:?}\nfaults:\n{}",
        faults(&c)
    );
    let lost_at = holder.await.expect("holder");
    assert!(
        lost_at <= got_at + Duration::from_secs(ttl as u64),
        "the holder learned of its loss too late"
    );
    c.heal();
}

/// How the leasing client loses its member.
#[derive(Clone, Copy, Debug)]
enum Loss {
    /// Its member is paused past the session's TTL: the session expires.
    Pause,
    /// Its member is isolated from everyone, clients included.
    Disconnect,
}

/// Two leasing clients on one prefix: A caches a key through member p only,
/// p is lost to A, B writes the key through the others and is acknowledged;
/// from then on A never reads an older value from its cache (during the
/// fault and after it heals).
async fn leasing_never_stale(loss: Loss) {
    let c = cluster().await;
    let (_l, p, _) = roles(&c).await;
    let others: Vec<usize> = (0..3).filter(|&i| i != p).collect();
    let opts = || SessionOptions::new().with_ttl(4);
    let (acked_tx, acked_rx) = tokio::sync::oneshot::channel::<i64>();
    let (cached_tx, cached_rx) = tokio::sync::oneshot::channel();
    let reader = madsim::runtime::Handle::current()
        .create_node()
        .name("reader")
        .ip("10.0.3.4".parse().unwrap())
        .build()
        .spawn(async move {
            let cl = client(urls(&[p])).await;
            let (kv, _closer) = leasing::new_kv(cl, "lz/", opts())
                .await
                .expect("leasing kv");
            kv.put("k", "old", PutOptions::default())
                .await
                .expect("put old");
            let g = kv.get("k", GetOptions::default()).await.expect("get");
            assert_eq!(g.kvs[0].value, b"old");
            assert!(kv.is_cached("k"));
            let _ = cached_tx.send(());
            let acked = acked_rx.await.expect("the write's revision");
            // From B's acknowledgement on: never the old value.
            let mut served = 0;
            let end = Instant::now() + SETTLE;
            while Instant::now() < end {
                if let Ok(g) = kv.get("k", GetOptions::default()).await {
                    let kv0 = &g.kvs[0];
                    assert!(
                        kv0.mod_revision >= acked && kv0.value == b"new",
                        "stale read from the leasing cache: {kv0:?} after the write at {acked}"
                    );
                    served += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            served
        });
    cached_rx.await.expect("cached");
    match loss {
        Loss::Pause => c.pause(p).unwrap(),
        Loss::Disconnect => c.isolate(p).unwrap(),
    }
    let others2 = others.clone();
    let rev = c
        .run_on_client_node(move || async move {
            let cl = client(urls(&others2)).await;
            let (kv, _closer) = leasing::new_kv(cl, "lz/", opts())
                .await
                .expect("leasing kv");
            let deadline = Instant::now() + SETTLE;
            loop {
                match kv.put("k", "new", PutOptions::default()).await {
                    Ok(r) => break r.header.expect("a header").revision,
                    Err(e) => {
                        assert!(Instant::now() < deadline, "B's put: {e:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
        .await;
    // A reads while the fault lasts, then after it heals.
    let _ = acked_tx.send(rev);
    tokio::time::sleep(FAULT).await;
    match loss {
        Loss::Pause => c.resume(p).unwrap(),
        Loss::Disconnect => c.heal(),
    }
    let served = reader.await.expect("reader");
    assert!(served > 0, "the reader never got an answer after the heal");
}

#[madsim::test]
async fn a_leasing_cache_is_never_stale_after_its_member_is_paused() {
    leasing_never_stale(Loss::Pause).await;
}

#[madsim::test]
async fn a_leasing_cache_is_never_stale_after_a_disconnect() {
    leasing_never_stale(Loss::Disconnect).await;
}
