//! A learner joins a simulated 3-member cluster under faults, through the v3
//! Cluster API: added while a follower is paused, started, the leader killed
//! while it catches up, promoted once the cluster has healed. It never leads
//! or campaigns while a learner, every member ends with the same v3 state, and
//! the promoted member votes (it is among the voters of every member's Raft
//! configuration). Deterministic per seed; run over many seeds:
//! `MADSIM_TEST_NUM=20 RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim
//! --target-dir target/sim --test v3_learner_faults`.
#![cfg(madsim)]

use etcd_sdk::v3::{Client, Cluster, Config, EtcdError, GetOptions, KV, PutOptions};
use etcd_sim::cluster::{NodeState, SimCluster, SimClusterConfig, client_url};
use etcd_sim::member::V3Digest;
use etcd_sim::raft::Role;
use std::time::Duration;
use tokio::time::Instant;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(5);
/// How long the learner may take to catch up, and the cluster to heal.
const SETTLE: Duration = Duration::from_secs(60);

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

fn faults(c: &SimCluster) -> String {
    c.fault_log()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Puts `n` keys `prefix<i>` through `urls`, retrying each until it is
/// acknowledged (a put that timed out may have been applied: it is put again,
/// with the same value).
async fn put_keys(c: &SimCluster, urls: Vec<String>, prefix: &'static str, n: usize) {
    c.run_on_client_node(move || async move {
        let cl = client(urls).await;
        for i in 0..n {
            let deadline = Instant::now() + SETTLE;
            while let Err(e) = cl
                .put(format!("{prefix}{i}"), "v", PutOptions::default())
                .await
            {
                assert!(Instant::now() < deadline, "put {prefix}{i}: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
    .await;
}

/// Asserts member `i` has never led nor campaigned since the last check, as
/// its Raft status shows now.
fn assert_not_voting(c: &SimCluster, i: usize) {
    if let Some(s) = c.status(i) {
        assert_eq!(
            s.role,
            Role::Follower,
            "the learner m{i} left the follower role: {s:?}\nfaults:\n{}",
            faults(c)
        );
    }
}

/// Waits (virtual time) until every running member has the same v3 digest.
async fn converged(c: &SimCluster) -> V3Digest {
    let deadline = Instant::now() + SETTLE;
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
            "members' v3 state differs: {digests:?}\nfaults:\n{}",
            faults(c)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[madsim::test]
async fn a_learner_joins_under_faults_and_is_promoted_after_heal() {
    let c = SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts");
    c.wait_members_may_add().await;
    let voters = c.client_urls();
    put_keys(&c, voters.clone(), "before/", 20).await;

    // Added while a follower is paused (the leader and the other follower
    // commit the change).
    let leader = c.wait_for_leader(SETTLE).await.expect("a leader");
    let paused = (0..3).find(|&i| i != leader).expect("a follower");
    c.pause(paused).unwrap();
    let leader_url = client_url(leader);
    let added = c
        .run_on_client_node(move || async move {
            client(vec![leader_url])
                .await
                .member_add_as_learner(vec![etcd_sim::cluster::peer_url(3)])
                .await
        })
        .await
        .expect("the learner is added");
    let id = added.member.expect("the added member").id;
    assert!(added.members.iter().any(|m| m.id == id && m.is_learner));
    let learner = c.start_accepted_member(id);
    assert_eq!(learner, 3);
    assert_eq!(c.member_id(learner), id);

    // The leader is killed while the learner catches up; the paused follower
    // comes back, and the two voters left elect a leader (the learner cannot
    // help: it does not vote).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_not_voting(&c, learner);
    c.kill(leader).unwrap();
    c.resume(paused).unwrap();
    let new_leader = c.wait_for_leader(SETTLE).await.expect("a new leader");
    assert_ne!(new_leader, learner, "a learner never leads");
    assert_not_voting(&c, learner);
    let survivors: Vec<String> = (0..3).filter(|&i| i != leader).map(client_url).collect();
    put_keys(&c, survivors.clone(), "during/", 20).await;
    assert_not_voting(&c, learner);

    // Its own store catches up (serializable reads), and it refuses writes.
    let learner_url = client_url(learner);
    c.run_on_client_node(move || async move {
        let cl = client(vec![learner_url]).await;
        let deadline = Instant::now() + SETTLE;
        loop {
            let seen = cl
                .get(
                    "during/19",
                    GetOptions {
                        serializable: true,
                        ..GetOptions::default()
                    },
                )
                .await
                .is_ok_and(|g| g.kvs.len() == 1);
            if seen {
                break;
            }
            assert!(Instant::now() < deadline, "the learner never caught up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let refused = cl.put("k", "v", PutOptions::default()).await.unwrap_err();
        assert_eq!(refused.etcd(), Some(EtcdError::NotSupportedForLearner));
    })
    .await;

    // Healed: the old leader restarts; the learner is promoted once in sync.
    c.restart(leader).unwrap();
    c.wait_ready(SETTLE).await.expect("healed");
    assert_not_voting(&c, learner);
    let promoted = c
        .run_on_client_node(move || async move {
            let cl = client(survivors).await;
            let deadline = Instant::now() + SETTLE;
            loop {
                match cl.member_promote(id).await {
                    Ok(r) => break r,
                    Err(e) => {
                        assert!(Instant::now() < deadline, "promote: {e:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
        .await;
    assert!(promoted.members.iter().all(|m| !m.is_learner));
    assert_eq!(promoted.members.len(), 4);

    // Every member's Raft configuration has it among the voters, and the
    // member serves writes.
    let deadline = Instant::now() + SETTLE;
    while !(0..4).all(|i| c.status(i).is_some_and(|s| s.voters.contains(&id))) {
        assert!(
            Instant::now() < deadline,
            "the promotion never reached every member\nfaults:\n{}",
            faults(&c)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    put_keys(&c, vec![client_url(learner)], "after/", 5).await;
    let digest = converged(&c).await;
    assert!(digest.revision >= 46, "{digest:?}");
}
