//! Fault scenarios on a simulated 5-member cluster, driven through the SDK: a
//! paused minority, then a 2|3 partition with the leader on the small side, then
//! a heal and the convergence of all five. Run over many seeds:
//! `MADSIM_TEST_NUM=20 RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim
//! --target-dir target/sim --test cluster_scenarios_5`.
#![cfg(madsim)]

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::{Config, HttpClient};
use etcd_sim::cluster::{SimCluster, SimClusterConfig, client_url};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const MEMBERS: usize = 5;
/// Writes per phase.
const WRITES: usize = 10;

fn keys_over(members: &[usize]) -> impl KeysAPI + use<> {
    let client = HttpClient::new(Config {
        endpoints: members.iter().map(|&i| client_url(i)).collect(),
        header_timeout_per_request: Some(Duration::from_secs(1)),
        ..Default::default()
    })
    .expect("valid endpoints");
    new_keys_api(Arc::new(client))
}

fn quorum() -> GetOptions {
    GetOptions {
        quorum: true,
        ..Default::default()
    }
}

fn key(phase: &str, i: usize) -> (String, String) {
    (format!("/{phase}/k{i}"), format!("{phase}-v{i}"))
}

/// Writes `/<phase>/k<i>` through a client over `writers` and, after each
/// acknowledgement, reads it back with a quorum read from one of `readers` in
/// turn: one writer, so a linearizable read right after the ack sees exactly it.
async fn write_then_read_back(
    cluster: &SimCluster,
    phase: &'static str,
    writers: Vec<usize>,
    readers: Vec<usize>,
) {
    cluster
        .run_on_client_node(move || async move {
            let writer = keys_over(&writers);
            let readers: Vec<_> = readers.iter().map(|&r| (r, keys_over(&[r]))).collect();
            for i in 0..WRITES {
                let (k, v) = key(phase, i);
                writer
                    .set(&k, &v, SetOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("write {k} was not acknowledged: {e}"));
                let (r, reader) = &readers[i % readers.len()];
                let got = reader
                    .get(&k, quorum())
                    .await
                    .unwrap_or_else(|e| panic!("quorum read of {k} on m{r} failed: {e}"));
                assert_eq!(
                    got.node.and_then(|n| n.value).as_deref(),
                    Some(v.as_str()),
                    "quorum read of {k} on m{r} right after its write"
                );
            }
        })
        .await;
}

async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[madsim::test]
async fn five_members_survive_a_paused_minority_and_a_partition_with_the_leader_outside() {
    let cluster = Arc::new(
        SimCluster::start(SimClusterConfig {
            nodes: MEMBERS,
            ..Default::default()
        })
        .await
        .expect("cluster starts"),
    );
    let all: Vec<usize> = (0..MEMBERS).collect();
    let leader = cluster.leader().expect("leader");

    // Phase 1: two followers paused (a minority of five). Writes through all five
    // endpoints keep being acknowledged (the client leaves a paused member behind
    // after its header timeout), and quorum reads on the three running members see
    // each write as soon as it is acknowledged.
    let paused = [(leader + 1) % MEMBERS, (leader + 2) % MEMBERS];
    for &p in &paused {
        cluster.pause(p).unwrap();
    }
    let running: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| !paused.contains(i))
        .collect();
    write_then_read_back(&cluster, "paused", all.clone(), running).await;
    assert_eq!(
        cluster.leader(),
        Some(leader),
        "a paused minority of followers does not cost the leader its lead"
    );
    for &p in &paused {
        cluster.resume(p).unwrap();
    }
    let target = cluster.commit_index(leader).expect("leader runs");
    wait_until(
        "the resumed members catch up",
        Duration::from_secs(10),
        || {
            paused
                .iter()
                .all(|&p| cluster.status(p).is_some_and(|s| s.applied_index >= target))
        },
    )
    .await;

    // Phase 2: a 2|3 partition with the leader on the 2 side. CheckQuorum demotes
    // it; the 3 side elects a leader of its own and takes writes.
    let minority = vec![leader, (leader + 1) % MEMBERS];
    let majority: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| !minority.contains(i))
        .collect();
    cluster
        .partition(&[minority.clone(), majority.clone()])
        .unwrap();
    wait_until(
        "the minority leader steps down",
        Duration::from_secs(5),
        || cluster.status(leader).is_some_and(|s| !s.is_leader()),
    )
    .await;
    wait_until(
        "the majority elects a leader",
        Duration::from_secs(10),
        || cluster.leader().is_some_and(|l| majority.contains(&l)),
    )
    .await;
    let new_leader = cluster.leader().expect("majority leader");
    assert!(
        minority
            .iter()
            .all(|&m| cluster.status(m).is_some_and(|s| !s.is_leader())),
        "no leader on the minority side"
    );
    write_then_read_back(&cluster, "split", majority.clone(), majority.clone()).await;
    // A quorum read on the minority side cannot be served: it fails rather than
    // answer without the majority's writes.
    let (k, _) = key("split", WRITES - 1);
    let minority_reads = cluster
        .run_on_client_node({
            let minority = minority.clone();
            move || async move {
                let mut stale = Vec::new();
                for m in minority {
                    match keys_over(&[m]).get(&k, quorum()).await {
                        Ok(r) => stale.push(format!("m{m} answered {r:?}")),
                        Err(e) if e.is_key_not_found() => {
                            stale.push(format!("m{m} missed an acknowledged write: {e}"))
                        }
                        Err(_) => {}
                    }
                }
                stale
            }
        })
        .await;
    assert!(
        minority_reads.is_empty(),
        "quorum reads on the minority side: {minority_reads:?}"
    );

    // Heal: every member converges on the majority's log, and a quorum read from
    // each of the five returns every acknowledged value.
    cluster.heal();
    let new_term = cluster.term(new_leader).expect("new leader runs");
    wait_until(
        "the old leader follows the new term",
        Duration::from_secs(10),
        || {
            cluster
                .status(leader)
                .is_some_and(|s| !s.is_leader() && s.term >= new_term)
        },
    )
    .await;
    let target = cluster.commit_index(new_leader).expect("new leader runs");
    wait_until("all five apply the log", Duration::from_secs(10), || {
        all.iter()
            .all(|&i| cluster.status(i).is_some_and(|s| s.applied_index >= target))
    })
    .await;
    let diverging = cluster
        .run_on_client_node(move || async move {
            let mut diverging = Vec::new();
            for i in all {
                let kapi = keys_over(&[i]);
                for phase in ["paused", "split"] {
                    for w in 0..WRITES {
                        let (k, v) = key(phase, w);
                        match kapi.get(&k, quorum()).await {
                            Ok(r)
                                if r.node.as_ref().and_then(|n| n.value.as_deref()) == Some(&v) => {
                            }
                            other => diverging.push(format!("m{i} {k}: {other:?}")),
                        }
                    }
                }
            }
            diverging
        })
        .await;
    assert!(diverging.is_empty(), "members disagree: {diverging:?}");
}
