//! etcd's `--force-new-cluster` on the simulated cluster: a 3-member cluster
//! takes v2 and v3 writes, two members are lost for good, the third restarts
//! from its disk with the flag and comes up alone: it keeps every v2 and v3
//! key, serves reads and writes, lists one member, and a member added
//! afterwards catches up on everything. Deterministic per seed:
//! `MADSIM_TEST_SEED=1 MADSIM_TEST_CHECK_DETERMINISM=1 RUSTFLAGS="--cfg madsim"
//! cargo test -p etcd-sim --target-dir target/sim --test force_new_cluster`.
#![cfg(madsim)]

use etcd_sdk::keys::{GetOptions as V2Get, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::members::{MembersAPI, new_members_api};
use etcd_sdk::v3::{Client, Cluster, Config, GetOptions, KV, KeyRange, PutOptions};
use etcd_sim::cluster::{NodeState, SimCluster, SimClusterConfig, client_url, member_name};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(5);
/// How long anything may take to settle (virtual time).
const SETTLE: Duration = Duration::from_secs(60);
/// Keys written per API.
const KEYS: usize = 10;

/// A v3 client of `url` (built on a client node).
async fn v3(url: String) -> Client {
    Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(CALL),
        ..Config::new([url])
    })
    .await
    .expect("client")
}

/// A v2 client of `url` (built on a client node).
fn v2(url: String) -> Arc<etcd_sdk::HttpClient> {
    Arc::new(
        etcd_sdk::HttpClient::new(etcd_sdk::Config {
            endpoints: vec![url],
            header_timeout_per_request: Some(Duration::from_secs(1)),
            ..Default::default()
        })
        .expect("client"),
    )
}

/// Writes `KEYS` v2 keys `/v2/<prefix><i>` and v3 keys `v3/<prefix><i>`
/// through `url`, retrying each until acknowledged.
async fn write_both(c: &SimCluster, url: String, prefix: &'static str) {
    c.run_on_client_node(move || async move {
        let kapi = new_keys_api(v2(url.clone()));
        let kv = v3(url).await;
        for i in 0..KEYS {
            let deadline = Instant::now() + SETTLE;
            loop {
                let v2 = kapi
                    .set(&format!("/v2/{prefix}{i}"), "v", SetOptions::default())
                    .await;
                let v3 = kv
                    .put(format!("v3/{prefix}{i}"), "v", PutOptions::default())
                    .await;
                match (v2, v3) {
                    (Ok(_), Ok(_)) => break,
                    (a, b) => assert!(
                        Instant::now() < deadline,
                        "write {prefix}{i}: {:?} {:?}",
                        a.err(),
                        b.err()
                    ),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
    .await;
}

/// Writes `/fence` through `url` and waits until that member has applied it.
async fn fence(c: &SimCluster, url: String) {
    c.run_on_client_node(move || async move {
        let kapi = new_keys_api(v2(url));
        let deadline = Instant::now() + SETTLE;
        while kapi
            .set("/fence", "f", SetOptions::default())
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "fence write");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        while kapi.get("/fence", V2Get::default()).await.is_err() {
            assert!(Instant::now() < deadline, "fence never applied");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// The v2 keys under `/v2` and the v3 keys under `v3/` that member `url`
/// holds (local reads: a restarted member serves what it has).
async fn keys_on(c: &SimCluster, url: String) -> (Vec<String>, Vec<String>) {
    c.run_on_client_node(move || async move {
        let kapi = new_keys_api(v2(url.clone()));
        let v2_keys: Vec<String> = match kapi
            .get(
                "/v2",
                V2Get {
                    recursive: true,
                    sort: true,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(r) => r
                .node
                .map(|n| n.nodes.into_iter().map(|n| n.key).collect())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let kv = v3(url).await;
        let v3_keys = match kv
            .get(
                "v3/",
                GetOptions {
                    range: KeyRange::Prefix,
                    serializable: true,
                    ..Default::default()
                },
            )
            .await
        {
            Ok(r) => r
                .kvs
                .into_iter()
                .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        (v2_keys, v3_keys)
    })
    .await
}

/// Waits until member `url` holds exactly the expected keys of both APIs.
async fn until_keys(c: &SimCluster, url: &str, prefixes: &[&str]) {
    let mut want_v2: Vec<String> = Vec::new();
    let mut want_v3: Vec<String> = Vec::new();
    for p in prefixes {
        for i in 0..KEYS {
            want_v2.push(format!("/v2/{p}{i}"));
            want_v3.push(format!("v3/{p}{i}"));
        }
    }
    want_v2.sort();
    want_v3.sort();
    let deadline = Instant::now() + SETTLE;
    loop {
        let (v2_keys, v3_keys) = keys_on(c, url.to_string()).await;
        if v2_keys == want_v2 && v3_keys == want_v3 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url}: v2 {v2_keys:?}, v3 {v3_keys:?}; wanted {want_v2:?} and {want_v3:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The members listed by member `url`: (v2 names, v3 names), each sorted.
async fn members_of(c: &SimCluster, url: String) -> (Vec<String>, Vec<String>) {
    c.run_on_client_node(move || async move {
        let mut v2_names: Vec<String> = new_members_api(v2(url.clone()))
            .list()
            .await
            .expect("v2 member list")
            .into_iter()
            .map(|m| m.name)
            .collect();
        let mut v3_names: Vec<String> = v3(url)
            .await
            .member_list()
            .await
            .expect("v3 member list")
            .members
            .into_iter()
            .map(|m| m.name)
            .collect();
        v2_names.sort();
        v3_names.sort();
        (v2_names, v3_names)
    })
    .await
}

#[madsim::test]
async fn a_survivor_forced_into_a_new_cluster_keeps_its_data_and_takes_a_new_member() {
    let c = SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts");
    write_both(&c, client_url(0), "before").await;
    // The survivor has applied every acknowledged write before the others go.
    until_keys(&c, &client_url(0), &["before"]).await;
    // A restart here is a power loss: a follower's commit index is written
    // unsynced (as etcd writes it), and force-new-cluster drops whatever lies
    // past the commit index on disk, as etcd does. One more write, applied on
    // the survivor, makes the commit index of the writes above durable there
    // (it rides with the synced append of this one).
    fence(&c, client_url(0)).await;

    c.kill(1).unwrap();
    c.kill(2).unwrap();
    c.restart_force_new_cluster(0).unwrap();
    assert_eq!(c.state(1), Some(NodeState::Removed));
    assert_eq!(c.state(2), Some(NodeState::Removed));
    c.wait_ready(SETTLE)
        .await
        .expect("the survivor leads alone");
    assert_eq!(c.leader(), Some(0));
    let status = c.status(0).expect("running");
    assert_eq!(status.voters, vec![c.member_id(0)], "{status:?}");

    // Everything kept, both APIs; reads and writes served.
    until_keys(&c, &client_url(0), &["before"]).await;
    write_both(&c, client_url(0), "after").await;
    until_keys(&c, &client_url(0), &["before", "after"]).await;
    let alone = vec![member_name(0)];
    assert_eq!(members_of(&c, client_url(0)).await, (alone.clone(), alone));

    // A member added afterwards catches up on all of it.
    let added = c.add_member().await.expect("a member is added");
    assert_eq!(added, 3);
    until_keys(&c, &client_url(3), &["before", "after"]).await;
    let two = vec![member_name(0), member_name(3)];
    assert_eq!(members_of(&c, client_url(3)).await, (two.clone(), two));
    let m0 = c.member(0).expect("m0 runs").v3_digest();
    let deadline = Instant::now() + SETTLE;
    while c.member(3).expect("m3 runs").v3_digest() != m0 {
        assert!(Instant::now() < deadline, "m3 never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
