//! The v3 concurrency package (`etcd_sdk::v3::concurrency`): mutual
//! exclusion among tasks (a counter incremented under the lock, each write
//! fenced by `is_owner`, never loses an update), try-lock, a lock bounded by
//! a deadline leaving no key, session expiry releasing the lock, a waiter
//! whose session expired never acquiring (etcd #11408), an election's
//! campaign / proclaim / resign / observe sequence, the STM bank-transfer
//! invariant under contention at each isolation level, barriers and queues,
//! and sessions and campaigns bounded by their deadline with a member
//! SIGSTOPped (etcd #14631, #14641). Each case expects a fresh cluster of
//! the size its doc names. Run against real etcd by
//! `tests/real_v3_concurrency.rs`.

use crate::backend::Backend;
use etcd_sdk::v3::concurrency::recipes::{Barrier, DoubleBarrier, PriorityQueue, Queue};
use etcd_sdk::v3::concurrency::{
    Context, Election, Error, Isolation, Mutex, Session, SessionOptions, StmOptions, new_stm,
};
use etcd_sdk::v3::{Client, Config, DeleteOptions, GetOptions, KV, Lease, Op, PutOptions};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
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

fn bg() -> Context {
    Context::background()
}

async fn keys_under(c: &Client, prefix: &str) -> Vec<String> {
    c.get(prefix, GetOptions::prefix())
        .await
        .unwrap()
        .kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

async fn value(c: &Client, key: &str) -> String {
    c.get(key, GetOptions::default())
        .await
        .unwrap()
        .kvs
        .first()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
        .unwrap_or_default()
}

/// Run against a fresh 1-member cluster: 5 tasks, each with its own client
/// and session, increment a counter 10 times each under the lock, each
/// write fenced by `is_owner`; no two are ever inside together, and the
/// counter ends at 50. The lock keys have Go's layout.
pub async fn mutual_exclusion_counter(endpoints: Vec<String>) {
    let inside = Arc::new(AtomicBool::new(false));
    let fenced_out = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let endpoints = endpoints.clone();
        let inside = inside.clone();
        let fenced_out = fenced_out.clone();
        tasks.push(tokio::spawn(async move {
            let c = client(&endpoints).await;
            let s = Session::new(c.clone()).await.unwrap();
            let mut m = Mutex::new(&s, "counter-lock");
            for _ in 0..10 {
                m.lock(&Context::with_timeout(Duration::from_secs(60)))
                    .await
                    .unwrap();
                assert_eq!(m.key(), format!("counter-lock/{:x}", s.lease()));
                assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                let n: i64 = value(&c, "counter").await.parse().unwrap_or(0);
                tokio::task::yield_now().await;
                let r = c
                    .txn()
                    .when([m.is_owner()])
                    .and_then([Op::put(
                        "counter",
                        (n + 1).to_string(),
                        PutOptions::default(),
                    )])
                    .commit()
                    .await
                    .unwrap();
                if !r.succeeded {
                    fenced_out.fetch_add(1, Ordering::SeqCst);
                }
                inside.store(false, Ordering::SeqCst);
                m.unlock(&bg()).await.unwrap();
            }
            s.close().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = client(&endpoints).await;
    assert_eq!(fenced_out.load(Ordering::SeqCst), 0);
    assert_eq!(value(&c, "counter").await, "50");
    assert!(keys_under(&c, "counter-lock/").await.is_empty());
}

/// Run against a fresh 1-member cluster: try-lock on a held lock fails with
/// `Locked` and leaves no key; a lock bounded by a deadline fails with
/// `DeadlineExceeded` in time and leaves no key; a cancelled one likewise;
/// after the unlock both succeed.
pub async fn try_lock_and_a_lock_bounded_by_its_deadline(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s1 = Session::new(c.clone()).await.unwrap();
    let s2 = Session::new(c.clone()).await.unwrap();
    let mut m1 = Mutex::new(&s1, "tl");
    let mut m2 = Mutex::new(&s2, "tl");
    m1.lock(&bg()).await.unwrap();
    let k1 = format!("tl/{:x}", s1.lease());
    assert!(matches!(m2.try_lock(&bg()).await, Err(Error::Locked)));
    assert_eq!(keys_under(&c, "tl/").await, vec![k1.clone()]);

    let start = Instant::now();
    let e = m2
        .lock(&Context::with_timeout(Duration::from_millis(500)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(keys_under(&c, "tl/").await, vec![k1.clone()]);

    let (ctx, cancel) = bg().with_cancel();
    let waiter = tokio::spawn({
        let s2 = s2.clone();
        async move { Mutex::new(&s2, "tl").lock(&ctx).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(keys_under(&c, "tl/").await.len(), 2, "the waiter's key");
    cancel.cancel();
    assert!(matches!(waiter.await.unwrap(), Err(Error::Canceled)));
    assert_eq!(keys_under(&c, "tl/").await, vec![k1]);

    m1.unlock(&bg()).await.unwrap();
    m2.try_lock(&bg()).await.unwrap();
    m2.unlock(&bg()).await.unwrap();
    assert!(keys_under(&c, "tl/").await.is_empty());
}

/// Run against a fresh 1-member cluster: the holder's session (TTL 2 s) is
/// orphaned (its process "dies"); the waiter gets the lock once the lease
/// expires, within a few seconds.
pub async fn session_expiry_releases_the_lock(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s1 = Session::with_options(c.clone(), SessionOptions::new().with_ttl(2))
        .await
        .unwrap();
    let s2 = Session::new(c.clone()).await.unwrap();
    let mut m1 = Mutex::new(&s1, "exp");
    m1.lock(&bg()).await.unwrap();
    let waiter = tokio::spawn({
        let s2 = s2.clone();
        async move {
            let mut m2 = Mutex::new(&s2, "exp");
            m2.lock(&Context::with_timeout(STEP)).await.map(|()| m2)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiter.is_finished(), "the waiter got a held lock");
    let orphaned = Instant::now();
    s1.orphan().await;
    let m2 = waiter.await.unwrap().unwrap();
    let took = orphaned.elapsed();
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(m2.key(), format!("exp/{:x}", s2.lease()));
    // The fence of the expired holder no longer holds; the new one's does.
    let r = c.txn().when([m1.is_owner()]).commit().await.unwrap();
    assert!(!r.succeeded);
    let r = c.txn().when([m2.is_owner()]).commit().await.unwrap();
    assert!(r.succeeded);
}

/// Run against a fresh 1-member cluster (etcd #11408, Jepsen on etcd
/// 3.4.3): a waiter whose lease is revoked while it waits (its keepalive
/// has not noticed yet) fails with `SessionExpired` when the holder
/// unlocks, and never acquires; a waiter whose session is orphaned and
/// expires likewise.
pub async fn a_waiter_whose_session_expired_does_not_acquire(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let holder = Session::new(c.clone()).await.unwrap();
    let mut m = Mutex::new(&holder, "jep");
    m.lock(&bg()).await.unwrap();

    let s2 = Session::new(c.clone()).await.unwrap();
    let waiter = tokio::spawn({
        let s2 = s2.clone();
        async move {
            Mutex::new(&s2, "jep")
                .lock(&Context::with_timeout(STEP))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.revoke(s2.lease()).await.unwrap();
    m.unlock(&bg()).await.unwrap();
    let r = waiter.await.unwrap();
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    assert!(keys_under(&c, "jep/").await.is_empty());

    m.lock(&bg()).await.unwrap();
    let s3 = Session::with_options(c.clone(), SessionOptions::new().with_ttl(2))
        .await
        .unwrap();
    let waiter = tokio::spawn({
        let s3 = s3.clone();
        async move {
            Mutex::new(&s3, "jep")
                .lock(&Context::with_timeout(STEP))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s3.orphan().await;
    let r = waiter.await.unwrap();
    assert!(matches!(r, Err(Error::SessionExpired)), "{r:?}");
    // Only the holder's key remains (the waiter's went with it or its lease).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        keys_under(&c, "jep/").await,
        vec![format!("jep/{:x}", holder.lease())]
    );
}

/// The next leader value an observer yields.
async fn next_value<S>(seen: &mut S) -> String
where
    S: futures_util::Stream<Item = etcd_sdk::v3::concurrency::Result<etcd_sdk::v3::GetResponse>>
        + Unpin,
{
    let r = tokio::time::timeout(STEP, seen.next())
        .await
        .expect("observe timed out")
        .expect("observe ended")
        .expect("observe failed");
    String::from_utf8(r.kvs[0].value.clone()).unwrap()
}

/// Run against a fresh 1-member cluster: no leader; a campaign wins at
/// once; an observer sees the value, the proclamation, and the next leader
/// after a resignation; a second campaign waits; a proclaim after resigning
/// fails with `ElectionNotLeader`; the keys have Go's layout.
pub async fn election_campaign_proclaim_resign_observe(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s1 = Session::new(c.clone()).await.unwrap();
    let s2 = Session::new(c.clone()).await.unwrap();
    let obs = Election::new(&s2, "elect");
    assert!(matches!(
        obs.leader(&bg()).await,
        Err(Error::ElectionNoLeader)
    ));
    let mut seen = Box::pin(obs.observe(&bg()));

    let mut e1 = Election::new(&s1, "elect");
    e1.campaign(&bg(), "one").await.unwrap();
    assert_eq!(e1.key(), format!("elect/{:x}", s1.lease()));
    let l = obs.leader(&bg()).await.unwrap();
    assert_eq!(l.kvs[0].key, e1.key().as_bytes());
    assert_eq!(l.kvs[0].create_revision, e1.rev());
    assert_eq!(next_value(&mut seen).await, "one");
    e1.proclaim(&bg(), "two").await.unwrap();
    assert_eq!(next_value(&mut seen).await, "two");

    let mut e2 = Election::new(&s2, "elect");
    let campaign = tokio::spawn(async move {
        e2.campaign(&Context::with_timeout(STEP), "three")
            .await
            .map(|()| e2)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!campaign.is_finished(), "a second leader");
    e1.resign(&bg()).await.unwrap();
    let mut e2 = campaign.await.unwrap().unwrap();
    assert_eq!(next_value(&mut seen).await, "three");
    assert!(matches!(
        e1.proclaim(&bg(), "x").await,
        Err(Error::ElectionNotLeader)
    ));
    assert_eq!(
        String::from_utf8(obs.leader(&bg()).await.unwrap().kvs[0].value.clone()).unwrap(),
        "three"
    );
    e2.resign(&bg()).await.unwrap();
    assert!(matches!(
        obs.leader(&bg()).await,
        Err(Error::ElectionNoLeader)
    ));
}

/// Run against a fresh 1-member cluster: 4 tasks make 15 transfers each
/// among 4 accounts of 100 through [`new_stm`] at `isolation`; the total
/// stays 400 and no balance goes negative. Read-committed does not detect
/// conflicts, so its transfers are serialized by a [`Mutex`] (the way to
/// use it safely).
pub async fn stm_bank_transfers_keep_the_total(endpoints: Vec<String>, isolation: Isolation) {
    let accounts = 4usize;
    let c = client(&endpoints).await;
    let prefix = format!("bank-{isolation:?}/");
    for i in 0..accounts {
        c.put(format!("{prefix}{i}"), "100", PutOptions::default())
            .await
            .unwrap();
    }
    let serialize = isolation == Isolation::ReadCommitted;
    let mut tasks = Vec::new();
    for t in 0..4usize {
        let endpoints = endpoints.clone();
        let prefix = prefix.clone();
        tasks.push(tokio::spawn(async move {
            let c = client(&endpoints).await;
            let s = Session::new(c.clone()).await.unwrap();
            let mut lock = Mutex::new(&s, format!("{prefix}lock"));
            for n in 0..15usize {
                let from = format!("{prefix}{}", (t + n) % accounts);
                let to = format!("{prefix}{}", (t + 2 * n + 1) % accounts);
                if from == to {
                    continue;
                }
                let amount = ((t * 7 + n * 3) % 20 + 1) as i64;
                if serialize {
                    lock.lock(&bg()).await.unwrap();
                }
                new_stm(&c, StmOptions::new().with_isolation(isolation), |stm| {
                    let (from, to) = (from.clone(), to.clone());
                    Box::pin(async move {
                        let a: i64 = stm.get(&from).await?.parse().unwrap_or(0);
                        let b: i64 = stm.get(&to).await?.parse().unwrap_or(0);
                        let moved = amount.min(a);
                        stm.put(from, (a - moved).to_string(), PutOptions::default());
                        stm.put(to, (b + moved).to_string(), PutOptions::default());
                        Ok(())
                    })
                })
                .await
                .unwrap();
                if serialize {
                    lock.unlock(&bg()).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut total = 0;
    for i in 0..accounts {
        let v: i64 = value(&c, &format!("{prefix}{i}")).await.parse().unwrap();
        assert!(v >= 0, "account {i} at {v}");
        total += v;
    }
    assert_eq!(total, 400, "{isolation:?}");
}

/// Run against a fresh 1-member cluster: a barrier held by one client
/// blocks another's wait until released; a double barrier of 3 sessions
/// lets nobody in before all 3 arrive; a queue is FIFO across clients and a
/// dequeue waits for the next enqueue; a priority queue serves the lowest
/// priority first, FIFO within one.
pub async fn barriers_and_queues(endpoints: Vec<String>) {
    let c1 = client(&endpoints).await;
    let c2 = client(&endpoints).await;
    let b1 = Barrier::new(c1.clone(), "barrier");
    let b2 = Barrier::new(c2.clone(), "barrier");
    b2.wait().await.unwrap();
    b1.hold().await.unwrap();
    let w = tokio::spawn(async move { b2.wait().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!w.is_finished(), "the barrier let a waiter through");
    b1.release().await.unwrap();
    tokio::time::timeout(STEP, w)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let arrived = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let endpoints = endpoints.clone();
        let arrived = arrived.clone();
        tasks.push(tokio::spawn(async move {
            let c = client(&endpoints).await;
            let s = Session::new(c).await.unwrap();
            let mut b = DoubleBarrier::new(&s, "double", 3);
            arrived.fetch_add(1, Ordering::SeqCst);
            b.enter().await.unwrap();
            assert_eq!(arrived.load(Ordering::SeqCst), 3, "entered early");
            b.leave().await.unwrap();
        }));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for t in tasks {
        tokio::time::timeout(STEP, t).await.unwrap().unwrap();
    }
    assert!(keys_under(&c1, "double/").await.is_empty());

    let q1 = Queue::new(c1.clone(), "queue");
    let q2 = Queue::new(c2.clone(), "queue");
    for v in ["a", "b", "c"] {
        q1.enqueue(v).await.unwrap();
    }
    for v in ["a", "b", "c"] {
        assert_eq!(q2.dequeue().await.unwrap(), v);
    }
    let waiting = tokio::spawn(async move { q2.dequeue().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished());
    q1.enqueue("late").await.unwrap();
    assert_eq!(
        tokio::time::timeout(STEP, waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap(),
        "late"
    );

    let pq = PriorityQueue::new(c1.clone(), "pq");
    for (v, p) in [("p5-a", 5), ("p1", 1), ("p5-b", 5), ("p3", 3)] {
        pq.enqueue(v, p).await.unwrap();
    }
    let pq2 = PriorityQueue::new(c2.clone(), "pq");
    for v in ["p1", "p3", "p5-a", "p5-b"] {
        assert_eq!(pq2.dequeue().await.unwrap(), v);
    }
    c1.delete("pq", DeleteOptions::prefix()).await.unwrap();
}

/// Run against a fresh 3-member cluster (etcd #14631, #14641): with one
/// member SIGSTOPped, new sessions and campaigns through a client of all
/// three endpoints return (or fail) within their deadlines, and keep
/// succeeding once the client leaves the stopped member.
pub async fn sessions_and_campaigns_with_a_member_paused(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let cl = client(&c.client_urls()).await;
    for i in 0..6 {
        cl.put(format!("warm{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
    let stopped = (leader + 1) % 3;
    c.pause(stopped);
    let deadline = Duration::from_secs(8);
    let mut ok = 0;
    let mut last_ok = false;
    for i in 0..6 {
        let t = Instant::now();
        let session = Session::with_options(
            cl.clone(),
            SessionOptions::new()
                .with_ttl(10)
                .with_context(Context::with_timeout(deadline)),
        )
        .await;
        assert!(
            t.elapsed() < deadline + Duration::from_secs(1),
            "new session {i} took {:?}",
            t.elapsed()
        );
        let Ok(session) = session else {
            last_ok = false;
            continue;
        };
        let t = Instant::now();
        let mut e = Election::new(&session, "paused-elect");
        let r = e
            .campaign(&Context::with_timeout(deadline), format!("v{i}"))
            .await;
        assert!(
            t.elapsed() < deadline + Duration::from_secs(1),
            "campaign {i} took {:?}",
            t.elapsed()
        );
        last_ok = r.is_ok();
        if last_ok {
            ok += 1;
            let _ = e.resign(&Context::with_timeout(deadline)).await;
        }
        let _ = tokio::time::timeout(deadline, session.close()).await;
    }
    c.resume(stopped);
    assert!(ok >= 4 && last_ok, "{ok} of 6 campaigns succeeded");
}
