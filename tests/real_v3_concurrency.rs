//! The v3 concurrency package (`etcd_sdk::v3::concurrency`) against real
//! etcd 3.4.23: locks, elections, STM and recipes (bodies in
//! `etcd_test_support::cases::v3_concurrency`; the readers-writer lock and
//! the locker in `cases::v3_rwmutex_locker`), and interoperability with
//! `etcdctl lock` / `etcdctl elect` (which use Go's client-side package):
//! each side waits for the other's lock, and each sees the other's leader.
#![cfg(not(madsim))]

use etcd_sdk::v3::concurrency::{Context, Election, Error, Isolation, Mutex, Session};
use etcd_sdk::v3::{Client, Config, GetOptions, KV};
use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::{v3_concurrency, v3_rwmutex_locker};
use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_exclusion_counter() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::mutual_exclusion_counter(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwmutex_readers_share_writers_exclude() {
    let c = EtcdCluster::start(1).await;
    v3_rwmutex_locker::rwmutex_readers_share_writers_exclude(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwmutex_under_contention() {
    let c = EtcdCluster::start(1).await;
    v3_rwmutex_locker::rwmutex_under_contention(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locker_lock_unlock_and_contention() {
    let c = EtcdCluster::start(1).await;
    v3_rwmutex_locker::locker_lock_unlock_and_contention(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_lock_and_a_lock_bounded_by_its_deadline() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::try_lock_and_a_lock_bounded_by_its_deadline(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_releases_the_lock() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::session_expiry_releases_the_lock(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_whose_session_expired_does_not_acquire() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::a_waiter_whose_session_expired_does_not_acquire(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_campaign_proclaim_resign_observe() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::election_campaign_proclaim_resign_observe(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stm_serializable_snapshot_keeps_the_total() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::stm_bank_transfers_keep_the_total(
        c.client_urls(),
        Isolation::SerializableSnapshot,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stm_serializable_keeps_the_total() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::stm_bank_transfers_keep_the_total(c.client_urls(), Isolation::Serializable)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stm_repeatable_reads_keeps_the_total() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::stm_bank_transfers_keep_the_total(c.client_urls(), Isolation::RepeatableReads)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stm_read_committed_under_a_lock_keeps_the_total() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::stm_bank_transfers_keep_the_total(c.client_urls(), Isolation::ReadCommitted)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barriers_and_queues() {
    let c = EtcdCluster::start(1).await;
    v3_concurrency::barriers_and_queues(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_campaigns_with_a_member_paused() {
    let c = EtcdCluster::start(3).await;
    v3_concurrency::sessions_and_campaigns_with_a_member_paused(&c).await;
}

// ---- etcdctl interop -------------------------------------------------------

const ETCDCTL: &str = "/usr/bin/etcdctl";
const STEP: Duration = Duration::from_secs(10);

/// A running etcdctl whose stdout lines arrive on a channel; killed on drop.
struct Etcdctl {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Etcdctl {
    fn spawn(endpoint: &str, args: &[&str]) -> Etcdctl {
        let mut child = Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn etcdctl");
        let stdout = child.stdout.take().expect("etcdctl stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::task::spawn_blocking(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Etcdctl { child, lines }
    }

    /// The next line printed within `within`, if any.
    async fn line_within(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    async fn line(&mut self) -> String {
        self.line_within(STEP)
            .await
            .expect("etcdctl printed nothing in time")
    }

    /// SIGTERM: etcdctl unlocks / resigns and exits.
    async fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()));
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("etcdctl did not exit after SIGTERM");
    }
}

impl Drop for Etcdctl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn client(url: &str) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        ..Config::new([url.to_string()])
    })
    .await
    .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcdctl_lock_holds_and_our_mutex_waits() {
    let c = EtcdCluster::start(1).await;
    let url = &c.client_urls()[0];
    let cl = client(url).await;
    let mut ctl = Etcdctl::spawn(url, &["lock", "shared-lock"]);
    let ctl_key = ctl.line().await;
    assert!(ctl_key.starts_with("shared-lock/"), "{ctl_key}");

    let s = Session::new(cl.clone()).await.unwrap();
    let mut m = Mutex::new(&s, "shared-lock");
    let e = m
        .lock(&Context::with_timeout(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
    assert!(matches!(
        m.try_lock(&Context::background()).await,
        Err(Error::Locked)
    ));

    let waiter =
        tokio::spawn(async move { m.lock(&Context::with_timeout(STEP)).await.map(|()| m) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiter.is_finished(),
        "our mutex got the lock etcdctl holds"
    );
    ctl.terminate().await;
    let m = waiter.await.unwrap().unwrap();
    assert_eq!(m.key(), format!("shared-lock/{:x}", s.lease()));
    let keys = cl.get("shared-lock/", GetOptions::prefix()).await.unwrap();
    assert_eq!(keys.kvs.len(), 1, "etcdctl's key is gone, ours is there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_mutex_holds_and_etcdctl_lock_waits() {
    let c = EtcdCluster::start(1).await;
    let url = &c.client_urls()[0];
    let cl = client(url).await;
    let s = Session::new(cl.clone()).await.unwrap();
    let mut m = Mutex::new(&s, "shared-lock");
    m.lock(&Context::background()).await.unwrap();

    let mut ctl = Etcdctl::spawn(url, &["lock", "shared-lock"]);
    // etcdctl prints its key only once it holds the lock.
    assert_eq!(ctl.line_within(Duration::from_secs(2)).await, None);
    let keys = cl.get("shared-lock/", GetOptions::prefix()).await.unwrap();
    assert_eq!(keys.kvs.len(), 2, "etcdctl's waiting key");
    m.unlock(&Context::background()).await.unwrap();
    let ctl_key = ctl.line().await;
    assert!(ctl_key.starts_with("shared-lock/"), "{ctl_key}");
    assert_ne!(ctl_key, format!("shared-lock/{:x}", s.lease()));
    ctl.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcdctl_elect_listen_observes_our_leader() {
    let c = EtcdCluster::start(1).await;
    let url = &c.client_urls()[0];
    let cl = client(url).await;
    let s = Session::new(cl.clone()).await.unwrap();
    let mut e = Election::new(&s, "shared-elect");
    e.campaign(&Context::background(), "ours-1").await.unwrap();

    let mut ctl = Etcdctl::spawn(url, &["elect", "-l", "shared-elect"]);
    assert_eq!(ctl.line().await, format!("shared-elect/{:x}", s.lease()));
    assert_eq!(ctl.line().await, "ours-1");
    e.proclaim(&Context::background(), "ours-2").await.unwrap();
    assert_eq!(ctl.line().await, format!("shared-elect/{:x}", s.lease()));
    assert_eq!(ctl.line().await, "ours-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_observe_sees_etcdctl_elect() {
    let c = EtcdCluster::start(1).await;
    let url = &c.client_urls()[0];
    let cl = client(url).await;
    let s = Session::new(cl.clone()).await.unwrap();
    let obs = Election::new(&s, "shared-elect");
    let mut seen = Box::pin(obs.observe(&Context::background()));

    let mut ctl = Etcdctl::spawn(url, &["elect", "shared-elect", "theirs"]);
    let ctl_key = ctl.line().await;
    assert!(ctl_key.starts_with("shared-elect/"), "{ctl_key}");
    assert_eq!(ctl.line().await, "theirs");
    let r = tokio::time::timeout(STEP, seen.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r.kvs[0].key, ctl_key.as_bytes());
    assert_eq!(r.kvs[0].value, b"theirs");
    let l = obs.leader(&Context::background()).await.unwrap();
    assert_eq!(l.kvs[0].value, b"theirs");

    // Our campaign waits behind etcdctl's, and leads once it resigns.
    let mut ours = Election::new(&s, "shared-elect");
    let campaign = tokio::spawn(async move {
        ours.campaign(&Context::with_timeout(STEP), "ours")
            .await
            .map(|()| ours)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!campaign.is_finished(), "two leaders");
    ctl.terminate().await;
    campaign.await.unwrap().unwrap();
    let r = tokio::time::timeout(STEP, seen.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(r.kvs[0].value, b"ours");
}
