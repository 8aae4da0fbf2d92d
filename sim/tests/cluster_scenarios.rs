//! Fault scenarios on a simulated 3-member cluster, driven through the SDK.
//! Run over many seeds: `MADSIM_TEST_NUM=20 RUSTFLAGS="--cfg madsim" cargo test
//! -p etcd-sim --target-dir target/sim --test cluster_scenarios`.
#![cfg(madsim)]

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, WatcherOptions, new_keys_api};
use etcd_sdk::wire::Action;
use etcd_sdk::{Config, HttpClient};
use etcd_sim::cluster::{SimCluster, SimClusterConfig, client_url};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn cluster() -> SimCluster {
    SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts")
}

fn quorum() -> GetOptions {
    GetOptions {
        quorum: true,
        ..Default::default()
    }
}

/// Writes `n` keys `/<prefix><i>` = `v<i>` and returns how many were acknowledged.
async fn write_keys(cluster: &SimCluster, prefix: &'static str, n: usize) -> usize {
    cluster
        .run_client(move |c| async move {
            let kapi = new_keys_api(Arc::new(c));
            let mut acked = 0;
            for i in 0..n {
                if kapi
                    .set(
                        &format!("/{prefix}{i}"),
                        &format!("v{i}"),
                        SetOptions::default(),
                    )
                    .await
                    .is_ok()
                {
                    acked += 1;
                }
            }
            acked
        })
        .await
}

#[madsim::test]
async fn a_paused_leader_is_replaced_and_serves_no_stale_quorum_read_on_resume() {
    let cluster = cluster().await;
    let old = cluster.leader().expect("leader");
    assert_eq!(write_keys(&cluster, "before", 3).await, 3);
    cluster.pause(old).unwrap();
    let new = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .expect("a new leader");
    assert_ne!(new, old);
    // Writes continue through the other members (the SDK leaves the paused one
    // behind by its header timeout).
    assert_eq!(write_keys(&cluster, "during", 5).await, 5);
    cluster.resume(old).unwrap();
    // A quorum read on the old leader, right after it resumes, never returns the
    // value it had before the pause: it either fails or is up to date.
    let url = client_url(old);
    let stale = cluster
        .run_on_client_node(move || async move {
            let c = HttpClient::new(Config {
                endpoints: vec![url],
                request_timeout: Some(Duration::from_secs(10)),
                ..Default::default()
            })
            .unwrap();
            let kapi = new_keys_api(Arc::new(c));
            match kapi.get("/during4", quorum()).await {
                Ok(r) => r.node.and_then(|n| n.value) != Some("v4".into()),
                Err(e) => {
                    assert!(
                        !e.is_key_not_found(),
                        "a quorum read must not miss an acknowledged write: {e}"
                    );
                    false
                }
            }
        })
        .await;
    assert!(!stale, "the resumed old leader served a stale quorum read");
    // It steps down: eventually it follows the new term.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = cluster.status(old).expect("running");
        if !s.is_leader() && s.term >= cluster.term(new).unwrap_or(0) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "old leader did not step down: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[madsim::test]
async fn a_minority_leader_is_demoted_and_the_cluster_converges_after_heal() {
    let cluster = cluster().await;
    let old = cluster.leader().expect("leader");
    let others: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    cluster.partition(&[vec![old], others.clone()]).unwrap();
    // CheckQuorum: the isolated leader steps down within about an election timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while cluster.status(old).is_some_and(|s| s.is_leader()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the minority leader kept leading"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let new = cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .expect("majority leader");
    assert!(others.contains(&new));
    assert_eq!(write_keys(&cluster, "p", 5).await, 5);
    cluster.heal();
    // After the heal every member converges on the same data.
    let target = cluster.commit_index(new).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while cluster.status(old).is_none_or(|s| s.applied_index < target) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "old leader did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = client_url(old);
    let value = cluster
        .run_on_client_node(move || async move {
            let kapi = new_keys_api(Arc::new(HttpClient::new(Config::new([url])).unwrap()));
            kapi.get("/p4", GetOptions::default())
                .await
                .unwrap()
                .node
                .and_then(|n| n.value)
        })
        .await;
    assert_eq!(value.as_deref(), Some("v4"));
}

#[madsim::test]
async fn killing_and_restarting_every_member_loses_no_acknowledged_write() {
    let cluster = Arc::new(cluster().await);
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    // A writer keeps going while every member is killed (power loss) and restarted.
    let writer = {
        let (cfg, acked) = (cluster.client_config(), acked.clone());
        let cluster = cluster.clone();
        tokio::spawn(async move {
            cluster
                .run_on_client_node(move || async move {
                    let kapi = new_keys_api(Arc::new(HttpClient::new(cfg).unwrap()));
                    for i in 0..60 {
                        let (k, v) = (format!("/w{i}"), format!("v{i}"));
                        if kapi.set(&k, &v, SetOptions::default()).await.is_ok() {
                            acked.lock().unwrap().insert(k, v);
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    for i in 0..3 {
        cluster.kill(i).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..3 {
        cluster.restart(i).unwrap();
    }
    writer.await.unwrap();
    cluster
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("ready again");
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 10,
        "some writes were acknowledged: {}",
        acked.len()
    );
    let missing = cluster
        .run_client(move |c| async move {
            let kapi = new_keys_api(Arc::new(c));
            let mut missing = Vec::new();
            for (k, v) in &acked {
                match kapi.get(k, quorum()).await {
                    Ok(r)
                        if r.node.as_ref().and_then(|n| n.value.as_deref()) == Some(v.as_str()) => {
                    }
                    other => missing.push(format!("{k}: {other:?}")),
                }
            }
            missing
        })
        .await;
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
}

#[madsim::test]
async fn a_member_is_added_and_removed_under_load() {
    let cluster = Arc::new(cluster().await);
    // Members accept an add only once connected to all peers for 5 s: wait for that
    // first, so that the add and the removal happen while the writer runs.
    cluster.wait_members_may_add().await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let writer = {
        let (cfg, acked, cluster) = (cluster.client_config(), acked.clone(), cluster.clone());
        tokio::spawn(async move {
            cluster
                .run_on_client_node(move || async move {
                    let kapi = new_keys_api(Arc::new(HttpClient::new(cfg).unwrap()));
                    for i in 0..80 {
                        let k = format!("/load{i}");
                        if kapi.set(&k, "x", SetOptions::default()).await.is_ok() {
                            acked.lock().unwrap().push(k);
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let added = cluster.add_member().await.expect("member added");
    assert_eq!(added, 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.remove_member(added).await.expect("member removed");
    writer.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 40, "writes continued: {}", acked.len());
    let missing = cluster
        .run_client(move |c| async move {
            let kapi = new_keys_api(Arc::new(c));
            let mut missing = Vec::new();
            for k in &acked {
                if kapi.get(k, quorum()).await.is_err() {
                    missing.push(k.clone());
                }
            }
            missing
        })
        .await;
    assert!(missing.is_empty(), "acknowledged writes lost: {missing:?}");
}

#[madsim::test]
async fn ttl_keys_expire_exactly_once_across_leader_changes() {
    let cluster = cluster().await;
    let start_index = cluster
        .run_client(|c| async move {
            let kapi = new_keys_api(Arc::new(c));
            let mut index = 0;
            for i in 0..5 {
                let opts = SetOptions {
                    ttl: Some(Duration::from_secs(2)),
                    ..Default::default()
                };
                index = kapi
                    .set(&format!("/ttl/k{i}"), "v", opts)
                    .await
                    .unwrap()
                    .index;
            }
            index
        })
        .await;
    // Lose the leader around the expiry time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let old = cluster.kill_leader().expect("leader");
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .await
        .expect("new leader");
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart(old).unwrap();
    cluster
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("ready");
    let expired = cluster
        .run_client(move |c| async move {
            let kapi = new_keys_api(Arc::new(c));
            let mut w = kapi.watcher(
                "/ttl",
                WatcherOptions {
                    after_index: start_index,
                    recursive: true,
                },
            );
            let mut expired: BTreeMap<String, usize> = BTreeMap::new();
            // Every event after the sets: all are expiries, one per key.
            loop {
                match tokio::time::timeout(Duration::from_secs(2), w.next()).await {
                    Ok(Ok(ev)) => {
                        assert_eq!(ev.action, Action::Expire, "{ev:?}");
                        *expired.entry(ev.node.unwrap().key).or_default() += 1;
                    }
                    Ok(Err(e)) => panic!("watch failed: {e}"),
                    Err(_) => break,
                }
            }
            for i in 0..5 {
                assert!(
                    kapi.get(&format!("/ttl/k{i}"), quorum())
                        .await
                        .unwrap_err()
                        .is_key_not_found()
                );
            }
            expired
        })
        .await;
    assert_eq!(expired.len(), 5, "{expired:?}");
    assert!(
        expired.values().all(|&n| n == 1),
        "each key expires exactly once: {expired:?}"
    );
}
