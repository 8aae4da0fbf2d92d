//! Ports of etcd 3.4.23's `integration/v3_election_test.go` and
//! `v3_lock_test.go` tests that no other body covered (see
//! `sim/tests/COVERAGE.md`), through the SDK's concurrency package
//! (`etcd_sdk::v3::concurrency`), in our own words:
//!
//! - [`mutex_session_relock`]: locking twice with one session succeeds at once;
//! - [`election_failover`]: the leader's session ends, an observer on another
//!   member sees the waiting candidate lead;
//! - [`election_session_recampaign`]: campaigning twice on one session
//!   proclaims instead of deadlocking;
//! - [`election_on_prefix_of_existing_key`]: etcd #6278;
//! - [`election_on_session_restart`]: a new session on the same lease keeps
//!   the leadership from a waiter;
//! - [`election_observe_compacted`]: observing a leader whose key is older
//!   than the compacted revision.

use crate::backend::Backend;
use etcd_sdk::v3::concurrency::{Context, Election, Error, Mutex, Session, SessionOptions};
use etcd_sdk::v3::{Client, CompactOptions, Config, GetResponse, KV, PutOptions};
use futures_util::{Stream, StreamExt};
use std::time::Duration;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        dial_timeout: Some(Duration::from_secs(1)),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

fn bg() -> Context {
    Context::background()
}

/// The value of the next leader an observer reports.
async fn next_value(
    stream: &mut (impl Stream<Item = etcd_sdk::v3::concurrency::Result<GetResponse>> + Unpin),
) -> String {
    let r = tokio::time::timeout(STEP, stream.next())
        .await
        .expect("an observation in time")
        .expect("the observation ended")
        .expect("the observation failed");
    assert_eq!(r.kvs.len(), 1, "{r:?}");
    String::from_utf8_lossy(&r.kvs[0].value).into_owned()
}

/// Run against a fresh cluster (etcd's `TestMutexSessionRelock`, there on 3
/// members): a second mutex on the same session and name locks at once, and
/// both hold the one key.
pub async fn mutex_session_relock(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s = Session::new(c.clone()).await.unwrap();
    let mut m = Mutex::new(&s, "test-mutex");
    m.lock(&Context::with_timeout(STEP)).await.unwrap();
    let mut m2 = Mutex::new(&s, "test-mutex");
    m2.lock(&Context::with_timeout(Duration::from_secs(2)))
        .await
        .expect("relocking on the same session");
    assert_eq!(m.key(), m2.key());
    assert_eq!(m.rev(), m2.rev());
    m2.unlock(&bg()).await.unwrap();
    s.close().await.unwrap();
}

/// Run against a fresh 3-member cluster (etcd's `TestElectionFailover`): one
/// session per member; the first campaigns and leads ("foo"), a second
/// campaigns and waits ("bar"); the first session closes; an observer
/// through the third member sees "bar", and the second campaign returns.
pub async fn election_failover(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    c.wait_for_leader(None, STEP).await;
    let endpoints = c.client_urls();
    let mut sessions = Vec::new();
    for url in &endpoints {
        let c = client(std::slice::from_ref(url)).await;
        sessions.push(Session::new(c).await.unwrap());
    }
    let mut e = Election::new(&sessions[0], "test-election");
    e.campaign(&bg(), "foo").await.unwrap();
    let mut first = Box::pin(e.observe(&bg()));
    assert_eq!(next_value(&mut first).await, "foo");
    drop(first);

    let mut ee = Election::new(&sessions[1], "test-election");
    let elected = tokio::spawn(async move {
        ee.campaign(&Context::with_timeout(STEP), "bar")
            .await
            .map(|()| ee)
    });
    sessions[0].close().await.unwrap();

    let observer = Election::new(&sessions[2], "test-election");
    let mut seen = Box::pin(observer.observe(&bg()));
    assert_eq!(next_value(&mut seen).await, "bar");
    let ee = tokio::time::timeout(STEP, elected)
        .await
        .expect("the second campaign returns")
        .unwrap()
        .expect("the second campaign wins");
    assert_eq!(ee.key(), format!("test-election/{:x}", sessions[1].lease()));
    for s in &sessions[1..] {
        s.close().await.unwrap();
    }
}

/// Run against a fresh cluster (etcd's `TestElectionSessionRecampaign`): a
/// second election object on the same session and name campaigns with a
/// new value and returns at once; the observer sees the new value.
pub async fn election_session_recampaign(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s = Session::new(c).await.unwrap();
    let mut e = Election::new(&s, "test-elect");
    e.campaign(&bg(), "abc").await.unwrap();
    let mut e2 = Election::new(&s, "test-elect");
    e2.campaign(&Context::with_timeout(Duration::from_secs(2)), "def")
        .await
        .expect("recampaigning on the same session");
    let mut seen = Box::pin(e.observe(&bg()));
    assert_eq!(next_value(&mut seen).await, "def");
    let l = e.leader(&bg()).await.unwrap();
    assert_eq!(l.kvs.len(), 1);
    assert_eq!(l.kvs[0].key, e2.key().as_bytes());
    s.close().await.unwrap();
}

/// Run against a fresh cluster (etcd's `TestElectionOnPrefixOfExistingKey`,
/// etcd #6278): with "testa" in the store, a lone candidate of election
/// "test" wins within 5 s.
pub async fn election_on_prefix_of_existing_key(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    c.put("testa", "value", PutOptions::default())
        .await
        .unwrap();
    let s = Session::new(c).await.unwrap();
    let mut e = Election::new(&s, "test");
    e.campaign(&Context::with_timeout(Duration::from_secs(5)), "abc")
        .await
        .expect("a lone candidate wins");
    assert_eq!(
        String::from_utf8_lossy(&e.leader(&bg()).await.unwrap().kvs[0].value),
        "abc"
    );
    s.close().await.unwrap();
}

/// Run against a fresh cluster (etcd's `TestElectionOnSessionRestart`): the
/// leader ("abc") "restarts" as a new session on its lease while another
/// session waits to campaign; the new session campaigns ("def") and wins at
/// once, the observer sees "def", and the waiter never leads (its campaign
/// runs out of time).
pub async fn election_on_session_restart(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s = Session::new(c.clone()).await.unwrap();
    let mut e = Election::new(&s, "test-elect");
    e.campaign(&bg(), "abc").await.unwrap();

    let waiting = Session::new(c.clone()).await.unwrap();
    let mut we = Election::new(&waiting, "test-elect");
    let waiter = tokio::spawn(async move {
        we.campaign(&Context::with_timeout(Duration::from_secs(3)), "123")
            .await
    });

    let restarted = Session::with_options(c.clone(), SessionOptions::new().with_lease(s.lease()))
        .await
        .unwrap();
    let mut ne = Election::new(&restarted, "test-elect");
    ne.campaign(&Context::with_timeout(Duration::from_secs(2)), "def")
        .await
        .expect("the restarted session keeps its leadership");
    let mut seen = Box::pin(ne.observe(&Context::with_timeout(Duration::from_secs(5))));
    assert_eq!(next_value(&mut seen).await, "def");

    let r = tokio::time::timeout(STEP, waiter)
        .await
        .expect("the waiter's campaign ends")
        .unwrap();
    assert!(r.is_err(), "the waiter led: {r:?}");
    let l = ne.leader(&bg()).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&l.kvs[0].value), "def");
    waiting.close().await.unwrap();
    restarted.close().await.unwrap();
    s.orphan().await;
    assert!(matches!(
        e.leader(&bg()).await,
        Err(Error::ElectionNoLeader)
    ));
}

/// Run against a fresh cluster (etcd's `TestElectionObserveCompacted`): a
/// leader ("abc") whose key is older than the compacted revision is still
/// observed.
pub async fn election_observe_compacted(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let s = Session::new(c.clone()).await.unwrap();
    let mut e = Election::new(&s, "test-elect");
    e.campaign(&bg(), "abc").await.unwrap();
    let rev = c
        .put("foo", "bar", PutOptions::default())
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    assert!(rev > e.rev());
    c.compact(rev, CompactOptions::default()).await.unwrap();
    let mut seen = Box::pin(e.observe(&bg()));
    assert_eq!(next_value(&mut seen).await, "abc");
    s.close().await.unwrap();
}
