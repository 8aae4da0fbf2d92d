//! Fault scenarios on a simulated 3-member cluster with the v3 keyspace, driven
//! through the v3 client (`etcd_sdk::v3`): linearizable reads around a paused
//! leader, acknowledged writes across kills and restarts (with snapshots), a
//! lease that expires exactly once across a leader change, and a watcher that
//! resumes on another member. Run over many seeds: `MADSIM_TEST_NUM=20
//! RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim --target-dir target/sim
//! --test v3_scenarios`.
#![cfg(madsim)]

use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, DeleteOptions, EventType, GetOptions, KV, Lease, Op,
    PutOptions, WatchOptions, Watcher,
};
use etcd_sim::cluster::{NodeState, SimCluster, SimClusterConfig, client_url};
use etcd_sim::member::V3Digest;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(5);

async fn cluster(snapshot_count: u64) -> SimCluster {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    SimCluster::start(SimClusterConfig {
        snapshot_count,
        ..Default::default()
    })
    .await
    .expect("cluster starts")
}

/// A v3 client over `urls` (built on a client node).
async fn client(urls: Vec<String>) -> Client {
    Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(CALL),
        ..Config::new(urls)
    })
    .await
    .expect("client")
}

fn revision(h: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    h.as_ref().map(|h| h.revision).expect("a header")
}

fn faults(c: &SimCluster) -> String {
    c.fault_log()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A digest in one line (lease keys as text).
fn brief(d: &V3Digest) -> String {
    let leases: Vec<String> = d
        .leases
        .iter()
        .map(|(id, ttl, keys)| {
            let keys: Vec<String> = keys
                .iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            format!("{id:x}/{ttl}{keys:?}")
        })
        .collect();
    format!(
        "rev {} compact {} hash {:08x} leases {leases:?}",
        d.revision, d.compact_revision, d.hash
    )
}

/// Waits (virtual time) until every running member has the same v3 digest, and
/// returns it.
async fn converged_digest(c: &SimCluster, timeout: Duration) -> V3Digest {
    let deadline = Instant::now() + timeout;
    loop {
        let digests: Vec<V3Digest> = (0..c.len())
            .filter(|&i| c.state(i) == Some(NodeState::Running))
            .filter_map(|i| c.member(i))
            .map(|m| m.v3_digest())
            .collect();
        if digests.len() == c.len() && digests.windows(2).all(|w| w[0] == w[1]) {
            return digests[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "members' v3 state differs:\n{}\nfaults:\n{}",
            digests.iter().map(brief).collect::<Vec<_>>().join("\n"),
            faults(c)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[madsim::test]
async fn a_paused_leader_serves_no_stale_linearizable_range() {
    let c = cluster(10_000).await;
    let old = c.leader().expect("leader");
    let (a, b) = {
        let others: Vec<usize> = (0..3).filter(|&i| i != old).collect();
        (others[0], others[1])
    };
    let all = c.client_urls();
    let first = c
        .run_on_client_node(move || async move {
            let cl = client(all).await;
            let r = cl.put("k", "before", PutOptions::default()).await.unwrap();
            revision(&r.header)
        })
        .await;
    c.pause(old).unwrap();
    let new = c.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    assert_ne!(new, old);
    // A write acknowledged through member a ...
    let url_a = client_url(a);
    let acked = c
        .run_on_client_node(move || async move {
            let cl = client(vec![url_a]).await;
            let r = cl.put("k", "after", PutOptions::default()).await.unwrap();
            revision(&r.header)
        })
        .await;
    assert!(acked > first);
    // ... is seen by a linearizable read through member b,
    let url_b = client_url(b);
    let seen = c
        .run_on_client_node(move || async move {
            let cl = client(vec![url_b]).await;
            cl.get("k", GetOptions::default()).await.unwrap()
        })
        .await;
    assert_eq!(seen.kvs[0].value, b"after");
    assert_eq!(seen.kvs[0].mod_revision, acked);
    assert!(revision(&seen.header) >= acked);
    // ... and by the old leader right after it resumes (or it refuses): it never
    // answers from its stale state.
    c.resume(old).unwrap();
    let url_old = client_url(old);
    let on_old = c
        .run_on_client_node(move || async move {
            let cl = client(vec![url_old]).await;
            cl.with_timeout(Duration::from_secs(10))
                .get("k", GetOptions::default())
                .await
        })
        .await;
    match on_old {
        Ok(r) => {
            assert_eq!(r.kvs[0].value, b"after", "stale read on the resumed leader");
            assert_eq!(r.kvs[0].mod_revision, acked);
        }
        Err(e) => assert!(e.etcd().is_some() || e.is_timeout(), "{e:?}"),
    }
    c.wait_converged(Duration::from_secs(10)).await.unwrap();
    let d = converged_digest(&c, Duration::from_secs(10)).await;
    assert!(d.revision >= acked);
}

/// What a workload got acknowledged.
#[derive(Debug, Default)]
struct Acked {
    /// Key -> (value, mod revision) of acknowledged puts and txn puts.
    present: BTreeMap<String, (String, i64)>,
    /// Keys whose delete was acknowledged.
    deleted: Vec<String>,
    /// Acknowledged keys whose delete failed: it may still have been committed.
    doubtful: BTreeMap<String, (String, i64)>,
    /// Leases whose grant was acknowledged.
    leases: Vec<i64>,
}

/// Puts, txns, deletes and lease grants against every member, `n` rounds; each
/// call may fail (a member is down) and is then forgotten.
async fn workload(cl: &Client, tag: &str, n: usize, acked: &mut Acked) {
    for i in 0..n {
        let key = format!("w/{tag}/{i}");
        match i % 4 {
            0 | 1 => {
                if let Ok(r) = cl.put(key.clone(), "v", PutOptions::default()).await {
                    acked.present.insert(key, ("v".into(), revision(&r.header)));
                }
            }
            2 => {
                let txn = cl
                    .txn()
                    .when([Compare::version(key.clone(), CompareOp::Equal, 0)])
                    .and_then([Op::put(key.clone(), "t", PutOptions::default())])
                    .commit()
                    .await;
                if let Ok(r) = txn {
                    assert!(r.succeeded, "{key} existed");
                    acked.present.insert(key, ("t".into(), revision(&r.header)));
                }
            }
            _ => {
                let Ok(g) = cl.grant(600).await else { continue };
                acked.leases.push(g.id);
                let opts = PutOptions {
                    lease: g.id,
                    ..Default::default()
                };
                if let Ok(r) = cl.put(key.clone(), "l", opts).await {
                    acked
                        .present
                        .insert(key.clone(), ("l".into(), revision(&r.header)));
                }
                // Delete an earlier plain key.
                let old = format!("w/{tag}/{}", i - 3);
                if cl
                    .delete(old.clone(), DeleteOptions::default())
                    .await
                    .is_ok()
                {
                    acked.present.remove(&old);
                    acked.deleted.push(old);
                }
            }
        }
    }
}

/// Checks that everything acknowledged is there, through a linearizable read.
async fn check_acked(cl: &Client, acked: &Acked) {
    let all = cl.get("w/", GetOptions::prefix()).await.expect("read back");
    let found: BTreeMap<String, (String, i64)> = all
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
    for (k, want) in &acked.present {
        assert_eq!(found.get(k), Some(want), "acknowledged {k} lost or changed");
    }
    for k in &acked.deleted {
        assert!(!found.contains_key(k), "acknowledged delete of {k} undone");
    }
    for (k, want) in &acked.doubtful {
        if let Some(got) = found.get(k) {
            assert_eq!(got, want, "{k} (its delete failed)");
        }
    }
    let leases = cl.leases().await.expect("leases");
    let ids: Vec<i64> = leases.leases.iter().map(|l| l.id).collect();
    for id in &acked.leases {
        assert!(ids.contains(id), "acknowledged lease {id:x} lost: {ids:x?}");
    }
}

#[madsim::test]
async fn killed_and_restarted_members_lose_no_acknowledged_write() {
    // Snapshots every 8 entries: restarts recover from a snapshot and the WAL.
    let c = cluster(8).await;
    let urls = c.client_urls();
    let mut acked = Acked::default();
    for round in 0..4 {
        // Kill a member (the leader every other round), write, restart it.
        let victim = if round % 2 == 0 {
            c.leader().expect("leader")
        } else {
            (c.leader().expect("leader") + 1) % 3
        };
        c.kill(victim).unwrap();
        let urls2 = urls.clone();
        let tag = format!("r{round}");
        let got = c
            .run_on_client_node(move || async move {
                let cl = client(urls2).await;
                let mut a = Acked::default();
                workload(&cl, &tag, 12, &mut a).await;
                a
            })
            .await;
        assert!(
            !got.present.is_empty(),
            "round {round}: nothing acknowledged with one member down\nfaults:\n{}",
            faults(&c)
        );
        acked.present.extend(got.present);
        acked.deleted.extend(got.deleted);
        acked.doubtful.extend(got.doubtful);
        acked.leases.extend(got.leases);
        c.restart(victim).unwrap();
        c.wait_ready(Duration::from_secs(30)).await.unwrap();
    }
    c.wait_converged(Duration::from_secs(20)).await.unwrap();
    let acked = std::sync::Arc::new(acked);
    for i in 0..3 {
        // Through each member alone.
        let (url, acked) = (client_url(i), acked.clone());
        c.run_on_client_node(move || async move {
            check_acked(&client(vec![url]).await, &acked).await;
        })
        .await;
    }
    let before = converged_digest(&c, Duration::from_secs(20)).await;
    assert!(
        before.leases.len() >= acked.leases.len(),
        "{before:?} {acked:?}"
    );
    // A power loss of the whole cluster: everything comes back from the disks,
    // every member to the same state (revisions, HashKV, leases and their keys).
    for i in 0..3 {
        c.kill(i).unwrap();
    }
    for i in 0..3 {
        c.restart(i).unwrap();
    }
    c.wait_ready(Duration::from_secs(30)).await.unwrap();
    let after = converged_digest(&c, Duration::from_secs(20)).await;
    assert_eq!(after, before, "faults:\n{}", faults(&c));
    let all = c.client_urls();
    c.run_on_client_node(move || async move {
        check_acked(&client(all).await, &acked).await;
    })
    .await;
}

#[madsim::test]
async fn a_lease_expires_exactly_once_across_a_leader_change() {
    lease_expires_once(LeaderFault::Kill).await;
}

#[madsim::test]
async fn a_lease_expires_exactly_once_around_a_paused_leader() {
    lease_expires_once(LeaderFault::Pause).await;
}

/// What happens to the leader that granted the lease.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LeaderFault {
    /// Killed, restarted later.
    Kill,
    /// Paused past the lease's expiry, resumed later: it still believes it is the
    /// primary lessor and finds the lease expired by its own clock.
    Pause,
}

/// Grants a 5 s lease with two keys, then the leader fails: a new leader extends
/// the lease and expires it; the old one comes back. One DELETE per key, at one
/// revision, no earlier than the TTL, and nothing written after.
async fn lease_expires_once(fault: LeaderFault) {
    let c = cluster(10_000).await;
    let old = c.leader().expect("leader");
    let others: Vec<String> = (0..3).filter(|&i| i != old).map(client_url).collect();
    let all = c.client_urls();
    // A watcher on the followers, from the start.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watch_urls = others.clone();
    let watcher = madsim::runtime::Handle::current()
        .create_node()
        .name("watcher")
        .ip("10.0.3.1".parse().unwrap())
        .build();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    watcher.spawn(async move {
        let cl = client(watch_urls).await;
        let mut events = cl
            .watch("lease/", WatchOptions::prefix())
            .await
            .expect("watch");
        let _ = ready_tx.send(());
        while let Some(resp) = events.next().await {
            let Ok(resp) = resp else { return };
            for ev in resp.events {
                let _ = tx.send((
                    ev.kind,
                    ev.kv.key.clone(),
                    ev.kv.mod_revision,
                    Instant::now(),
                ));
            }
        }
    });
    ready_rx.await.expect("watcher created");
    let (lease, granted_at) = c
        .run_on_client_node(move || async move {
            let cl = client(all).await;
            let g = cl.grant(5).await.unwrap();
            let at = Instant::now();
            for k in ["lease/a", "lease/b"] {
                let opts = PutOptions {
                    lease: g.id,
                    ..Default::default()
                };
                cl.put(k, "v", opts).await.unwrap();
            }
            (g.id, at)
        })
        .await;
    // The leader fails with the lease: a new leader extends it, then expires it.
    match fault {
        LeaderFault::Kill => c.kill(old).unwrap(),
        LeaderFault::Pause => c.pause(old).unwrap(),
    }
    c.wait_for_leader(Duration::from_secs(10)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    match fault {
        LeaderFault::Kill => c.restart(old).unwrap(),
        LeaderFault::Pause => c.resume(old).unwrap(),
    }
    c.wait_ready(Duration::from_secs(30)).await.unwrap();
    // Long enough for any second revoke (the restarted member, a later leader).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let mut deletes = Vec::new();
    while let Ok((kind, key, rev, at)) = rx.try_recv() {
        if kind == EventType::Delete {
            deletes.push((key, rev, at));
        }
    }
    assert_eq!(
        deletes.len(),
        2,
        "one DELETE per key: {deletes:?}\nfaults:\n{}",
        faults(&c)
    );
    assert_ne!(deletes[0].0, deletes[1].0);
    assert_eq!(deletes[0].1, deletes[1].1, "both keys at one revision");
    assert!(
        deletes[0].2 >= granted_at + Duration::from_secs(5),
        "expired before its TTL: granted {granted_at:?}, deleted {:?}",
        deletes[0].2
    );
    let d = converged_digest(&c, Duration::from_secs(20)).await;
    assert!(d.leases.iter().all(|l| l.0 != lease), "{d:?}");
    assert_eq!(d.revision, deletes[0].1, "nothing written after the revoke");
}

#[madsim::test]
async fn a_watcher_resumes_on_another_member_with_no_gap_and_no_duplicate() {
    let c = cluster(10_000).await;
    let all = c.client_urls();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = madsim::runtime::Handle::current()
        .create_node()
        .name("watcher")
        .ip("10.0.3.1".parse().unwrap())
        .build();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let watch_urls = all.clone();
    watcher.spawn(async move {
        let cl = client(watch_urls).await;
        let mut events = cl.watch("w/", WatchOptions::prefix()).await.expect("watch");
        let _ = ready_tx.send(());
        while let Some(resp) = events.next().await {
            match resp {
                Ok(resp) => {
                    for ev in resp.events {
                        let key = String::from_utf8_lossy(&ev.kv.key).into_owned();
                        let _ = tx.send(Ok((key, ev.kv.mod_revision)));
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(format!("{e:?}")));
                    return;
                }
            }
        }
    });
    ready_rx.await.expect("watcher created");
    // Every member is killed once while a writer runs: the watcher's member
    // among them.
    let writer_urls = all.clone();
    let writer = c.run_on_client_node(move || async move {
        let cl = client(writer_urls).await;
        let mut acked = Vec::new();
        for i in 0..60 {
            let key = format!("w/{i:03}");
            if let Ok(r) = cl.put(key.clone(), "v", PutOptions::default()).await {
                acked.push((key, revision(&r.header)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let done = cl.put("w/done", "", PutOptions::default()).await.unwrap();
        (acked, revision(&done.header))
    });
    let faults_run = async {
        for i in 0..3 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            c.kill(i).unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
            c.restart(i).unwrap();
            c.wait_ready(Duration::from_secs(30)).await.unwrap();
        }
    };
    let ((acked, done), ()) = tokio::join!(writer, faults_run);
    assert!(acked.len() >= 40, "writes acknowledged: {}", acked.len());
    let mut seen: Vec<(String, i64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.last().is_none_or(|(k, _)| k != "w/done") {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(Ok(ev))) => seen.push(ev),
            Ok(Some(Err(e))) => panic!("the watcher failed: {e}"),
            Ok(None) | Err(_) => panic!(
                "the watcher stopped short of w/done (rev {done}): {:?}\nfaults:\n{}",
                seen.last(),
                faults(&c)
            ),
        }
    }
    // No duplicate, in order.
    assert!(
        seen.windows(2).all(|w| w[0].1 < w[1].1),
        "revisions not strictly increasing: {seen:?}"
    );
    // No gap: exactly the puts the store holds (acknowledged or not).
    let url = client_url(0);
    let stored = c
        .run_on_client_node(move || async move {
            client(vec![url])
                .await
                .get("w/", GetOptions::prefix())
                .await
                .unwrap()
        })
        .await;
    let stored: Vec<(String, i64)> = stored
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                kv.mod_revision,
            )
        })
        .collect();
    let mut by_rev = stored.clone();
    by_rev.sort_by_key(|(_, r)| *r);
    assert_eq!(seen, by_rev, "the watcher's events vs the store");
    for a in &acked {
        assert!(seen.contains(a), "acknowledged {a:?} never delivered");
    }
}

#[madsim::test]
async fn a_kept_alive_lease_outlives_a_paused_leader() {
    let c = cluster(10_000).await;
    let old = c.leader().expect("leader");
    let others: Vec<String> = (0..3).filter(|&i| i != old).map(client_url).collect();
    // A client of the other members keeps a lease alive all along (its TTL long
    // enough for a keepalive forwarded to the paused leader to time out, 7 s, and
    // be retried on the new one, as etcd's would).
    let (granted_tx, granted_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let keeper = madsim::runtime::Handle::current()
        .create_node()
        .name("keeper")
        .ip("10.0.3.2".parse().unwrap())
        .build();
    let keeper_urls = others.clone();
    let kept = keeper.spawn(async move {
        let cl = client(keeper_urls).await;
        let g = cl.grant(15).await.unwrap();
        let opts = PutOptions {
            lease: g.id,
            ..Default::default()
        };
        cl.put("ka/k", "v", opts).await.unwrap();
        let mut alive = cl.keep_alive(g.id).await.unwrap();
        let _ = granted_tx.send(g.id);
        let mut stop = std::pin::pin!(stop_rx);
        let mut renewals = 0;
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return renewals,
                r = alive.next() => match r {
                    Some(Ok(_)) => renewals += 1,
                    Some(Err(e)) => panic!("keepalive failed: {e:?}"),
                    None => panic!("keepalive ended"),
                },
            }
        }
    });
    let lease = granted_rx.await.expect("granted");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The leader stops for longer than the TTL: its lessor, still primary when it
    // resumes, sees the lease expired by its own clock.
    c.pause(old).unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    c.resume(old).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let check_urls = others.clone();
    let (ttl, key) = c
        .run_on_client_node(move || async move {
            let cl = client(check_urls).await;
            let ttl = cl
                .time_to_live(lease, Default::default())
                .await
                .unwrap()
                .ttl;
            let key = cl.get("ka/k", GetOptions::default()).await.unwrap();
            (ttl, key.kvs.len())
        })
        .await;
    assert!(
        ttl > 0 && key == 1,
        "a lease kept alive was revoked (ttl {ttl}, keys {key})\nfaults:\n{}",
        faults(&c)
    );
    let _ = stop_tx.send(());
    let renewals = kept.await.expect("keeper");
    assert!(renewals > 4, "renewals: {renewals}");
}
