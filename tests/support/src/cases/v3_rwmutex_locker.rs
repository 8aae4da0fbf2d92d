//! The readers-writer lock (`etcd_sdk::v3::concurrency::recipes::RwMutex`,
//! Go's `recipe.RWMutex`) and the `Locker` (Go's `concurrency.NewLocker`):
//! Go's key layout, readers sharing, a writer excluding readers and
//! writers, Go's queue order (a reader queued after a writer waits for it),
//! an in-process check under contention, and a locker's lock, unlock, guard
//! and contention between two sessions (each on its own client). Each body
//! takes the endpoints of a fresh single-member cluster; run against real
//! etcd by `tests/real_v3_concurrency.rs`.

use etcd_sdk::v3::concurrency::recipes::RwMutex;
use etcd_sdk::v3::concurrency::{Context, Error, Locker, Mutex, Session};
use etcd_sdk::v3::{Client, Config, GetOptions, KV};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

/// How long a waiter is given to (wrongly) get in before we say it waits.
const SETTLE: Duration = Duration::from_millis(300);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        dial_timeout: Some(Duration::from_secs(1)),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

fn bounded() -> Context {
    Context::with_timeout(STEP)
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

/// Waits until `n` keys are under `prefix` (a spawned locker has queued).
async fn wait_for_keys(c: &Client, prefix: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + STEP;
    while keys_under(c, prefix).await.len() != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{prefix}: not {n} keys within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two readers hold the lock at once; a writer queued behind them waits;
/// a reader queued after the writer waits for it (Go's order); once the
/// readers go the writer holds it alone, a second writer waits for it, and
/// the late reader gets in only after both writers. Keys are Go's:
/// `<pfx>/read/<n>` and `<pfx>/write/<n>`, on the session's lease.
pub async fn rwmutex_readers_share_writers_exclude(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s1 = Session::new(c.clone()).await.unwrap();
    let s2 = Session::new(client(&endpoints).await).await.unwrap();
    let mut r1 = RwMutex::new(&s1, "rwm");
    let mut r2 = RwMutex::new(&s2, "rwm");
    r1.read_lock(&bounded()).await.unwrap();
    r2.read_lock(&bounded()).await.unwrap();
    for r in [&r1, &r2] {
        let key = r.key().unwrap();
        let n = key.strip_prefix("rwm/read/").expect("rwm/read/<n>");
        assert!(n.parse::<u128>().is_ok(), "{key}");
        let kv = c.get(key, GetOptions::default()).await.unwrap().kvs[0].clone();
        assert_eq!(kv.create_revision, r.rev());
        assert_eq!(kv.lease, r.session().lease());
    }

    let spawn_lock = |endpoints: Vec<String>, write: bool| {
        tokio::spawn(async move {
            let s = Session::new(client(&endpoints).await).await.unwrap();
            let mut rw = RwMutex::new(&s, "rwm");
            if write {
                rw.lock(&bounded()).await.map(|()| rw)
            } else {
                rw.read_lock(&bounded()).await.map(|()| rw)
            }
        })
    };
    let w1 = spawn_lock(endpoints.clone(), true);
    wait_for_keys(&c, "rwm/write/", 1).await;
    tokio::time::sleep(SETTLE).await;
    assert!(!w1.is_finished(), "a writer got in beside readers");
    let late_reader = spawn_lock(endpoints.clone(), false);
    wait_for_keys(&c, "rwm/read/", 3).await;
    tokio::time::sleep(SETTLE).await;
    assert!(
        !late_reader.is_finished(),
        "a reader jumped a queued writer"
    );
    let w2 = spawn_lock(endpoints.clone(), true);
    wait_for_keys(&c, "rwm/write/", 2).await;

    r1.read_unlock(&bounded()).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    assert!(!w1.is_finished(), "a writer got in beside a reader");
    r2.read_unlock(&bounded()).await.unwrap();
    let mut w1 = w1.await.unwrap().unwrap();
    assert!(w1.is_writer());
    assert!(w1.key().unwrap().starts_with("rwm/write/"));
    tokio::time::sleep(SETTLE).await;
    assert!(
        !late_reader.is_finished(),
        "a reader got in beside a writer"
    );
    assert!(!w2.is_finished(), "two writers at once");
    w1.unlock(&bounded()).await.unwrap();
    // The late reader queued before the second writer, so it is not
    // blocked by it: readers only wait for older writers.
    let mut late = late_reader.await.unwrap().unwrap();
    tokio::time::sleep(SETTLE).await;
    assert!(!w2.is_finished(), "a writer got in beside a reader");
    late.read_unlock(&bounded()).await.unwrap();
    let mut w2 = w2.await.unwrap().unwrap();
    w2.unlock(&bounded()).await.unwrap();
    assert!(keys_under(&c, "rwm/").await.is_empty());
}

/// Eight tasks (each its own client and session), five readers and three
/// writers, take the lock over and over; in-process counters check that a
/// writer is always alone and that readers did overlap; a writer bounded by
/// a short deadline behind a reader fails with `DeadlineExceeded` and
/// leaves no key.
pub async fn rwmutex_under_contention(endpoints: Vec<String>) {
    let readers = Arc::new(AtomicI64::new(0));
    let writer = Arc::new(AtomicBool::new(false));
    let max_readers = Arc::new(AtomicI64::new(0));
    let writes = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let endpoints = endpoints.clone();
        let (readers, writer, max_readers, writes) = (
            readers.clone(),
            writer.clone(),
            max_readers.clone(),
            writes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let s = Session::new(client(&endpoints).await).await.unwrap();
            let mut rw = RwMutex::new(&s, "contended");
            for _ in 0..4 {
                if i < 3 {
                    rw.lock(&Context::with_timeout(Duration::from_secs(60)))
                        .await
                        .unwrap();
                    assert!(!writer.swap(true, Ordering::SeqCst), "two writers");
                    assert_eq!(readers.load(Ordering::SeqCst), 0, "a writer beside readers");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    writes.fetch_add(1, Ordering::SeqCst);
                    writer.store(false, Ordering::SeqCst);
                    rw.unlock(&bounded()).await.unwrap();
                } else {
                    rw.read_lock(&Context::with_timeout(Duration::from_secs(60)))
                        .await
                        .unwrap();
                    assert!(!writer.load(Ordering::SeqCst), "a reader beside a writer");
                    let n = readers.fetch_add(1, Ordering::SeqCst) + 1;
                    max_readers.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    readers.fetch_sub(1, Ordering::SeqCst);
                    rw.read_unlock(&bounded()).await.unwrap();
                }
            }
            s.close().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(writes.load(Ordering::SeqCst), 12);
    assert!(
        max_readers.load(Ordering::SeqCst) >= 2,
        "readers never shared the lock"
    );

    let c = client(&endpoints).await;
    let s1 = Session::new(c.clone()).await.unwrap();
    let s2 = Session::new(c.clone()).await.unwrap();
    let mut reader = RwMutex::new(&s1, "contended");
    reader.read_lock(&bounded()).await.unwrap();
    let mut w = RwMutex::new(&s2, "contended");
    let e = w
        .lock(&Context::with_timeout(Duration::from_millis(500)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
    assert_eq!(keys_under(&c, "contended/").await, [reader.key().unwrap()]);
    reader.read_unlock(&bounded()).await.unwrap();
}

/// A locker (Go's `NewLocker`) locks and unlocks with Go's mutex key; a
/// second session's locker (on another client) waits until the first
/// unlocks, and so does a `Mutex` of a third session on the same prefix;
/// a dropped guard unlocks and lets the next one in; a locker bounded by a
/// deadline fails with `DeadlineExceeded`.
pub async fn locker_lock_unlock_and_contention(endpoints: Vec<String>) {
    let c1 = client(&endpoints).await;
    let s1 = Session::new(c1.clone()).await.unwrap();
    let mut l1 = Locker::new(&s1, "locker");
    l1.lock().await.unwrap();
    assert_eq!(l1.mutex().key(), format!("locker/{:x}", s1.lease()));
    assert_eq!(
        keys_under(&c1, "locker/").await,
        [format!("locker/{:x}", s1.lease())]
    );

    let second = tokio::spawn({
        let endpoints = endpoints.clone();
        async move {
            let s2 = Session::new(client(&endpoints).await).await.unwrap();
            let mut l2 = Locker::new(&s2, "locker");
            l2.lock().await?;
            // Hold it a little, then let the guard of the next round go.
            tokio::time::sleep(Duration::from_millis(100)).await;
            l2.unlock().await
        }
    });
    let third = tokio::spawn({
        let endpoints = endpoints.clone();
        async move {
            let s3 = Session::new(client(&endpoints).await).await.unwrap();
            let mut m = Mutex::new(&s3, "locker");
            m.lock(&bounded()).await?;
            m.unlock(&bounded()).await
        }
    });
    wait_for_keys(&c1, "locker/", 3).await;
    tokio::time::sleep(SETTLE).await;
    assert!(!second.is_finished(), "two lockers held the lock");
    assert!(!third.is_finished(), "a mutex got in beside a locker");
    l1.unlock().await.unwrap();
    second.await.unwrap().unwrap();
    third.await.unwrap().unwrap();

    // A guard dropped unlocks; the next waiter gets in.
    let guard = l1.guard().await.unwrap();
    let waiter = tokio::spawn({
        let endpoints = endpoints.clone();
        async move {
            let s = Session::new(client(&endpoints).await).await.unwrap();
            Locker::new(&s, "locker")
                .with_context(bounded())
                .lock()
                .await
                .map(|()| s)
        }
    });
    wait_for_keys(&c1, "locker/", 2).await;
    tokio::time::sleep(SETTLE).await;
    assert!(!waiter.is_finished(), "a waiter got in beside a guard");
    drop(guard);
    let s4 = waiter.await.unwrap().unwrap();

    // Now s4 holds it: a bounded locker gives up and leaves no key.
    let mut bounded_locker =
        Locker::new(&s1, "locker").with_context(Context::with_timeout(Duration::from_millis(500)));
    let e = bounded_locker.lock().await.unwrap_err();
    assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
    assert_eq!(
        keys_under(&c1, "locker/").await,
        [format!("locker/{:x}", s4.lease())]
    );
    s4.close().await.unwrap();
    assert!(keys_under(&c1, "locker/").await.is_empty());
}
