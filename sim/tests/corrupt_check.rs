//! etcd's corruption checks on the simulated cluster, with one member's v3
//! history damaged in place by the `corrupt-kv` unsafe hook (a stored value
//! flipped at boot, no Raft, no new revision):
//!
//! - `--experimental-corrupt-check-time`: the leader's periodic HashKV
//!   comparison raises the CORRUPT alarm (member id 0, as etcd 3.4.23 raises
//!   it), the alarm list shows it, and writes are refused with etcd's
//!   `etcdserver: corrupt cluster` (gRPC DataLoss);
//! - `--experimental-initial-corrupt-check`: a restarted member whose data
//!   differs from its peers' refuses to start with etcd's text, while the same
//!   member restarted with undamaged data starts.
//!
//! Deterministic per seed (time is the simulator's):
//! `MADSIM_TEST_SEED=1 MADSIM_TEST_CHECK_DETERMINISM=1 RUSTFLAGS="--cfg madsim"
//! cargo test -p etcd-sim --target-dir target/sim --test corrupt_check`.
#![cfg(madsim)]

use etcd_sdk::v3::{
    AlarmMember, AlarmType, Client, Config, EtcdError, GetOptions, KV, Maintenance, PutOptions,
};
use etcd_sim::cluster::{NodeState, SimCluster, SimClusterConfig};
use etcd_sim::member::UnsafeMode;
use std::time::Duration;
use tokio::time::Instant;

/// Every call's deadline.
const CALL: Duration = Duration::from_secs(5);
/// How long anything may take to settle (virtual time).
const SETTLE: Duration = Duration::from_secs(60);
/// The periodic check's interval.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// A v3 client of `urls` (built on a client node).
async fn v3(urls: Vec<String>) -> Client {
    Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(CALL),
        ..Config::new(urls)
    })
    .await
    .expect("client")
}

/// Puts `n` keys `<prefix><i>` through every member, retrying each until it
/// is acknowledged.
async fn put_keys(c: &SimCluster, prefix: &'static str, n: usize) {
    let urls = c.client_urls();
    c.run_on_client_node(move || async move {
        let kv = v3(urls).await;
        for i in 0..n {
            let deadline = Instant::now() + SETTLE;
            while let Err(e) = kv
                .put(format!("{prefix}{i}"), "value", PutOptions::default())
                .await
            {
                assert!(Instant::now() < deadline, "put {prefix}{i}: {e:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
    .await;
}

/// Waits until every running member has applied the same v3 state.
async fn converged(c: &SimCluster) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let digests: Vec<_> = (0..c.len())
            .filter(|&i| c.state(i) == Some(NodeState::Running))
            .filter_map(|i| c.member(i))
            .map(|m| m.v3_digest())
            .collect();
        if digests.len() == c.len() && digests.windows(2).all(|w| w[0] == w[1]) {
            return;
        }
        assert!(Instant::now() < deadline, "never converged: {digests:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A follower of the current leader.
async fn a_follower(c: &SimCluster) -> usize {
    let leader = c.wait_for_leader(SETTLE).await.expect("a leader");
    (0..c.len()).find(|&i| i != leader).expect("a follower")
}

#[madsim::test]
async fn the_leaders_periodic_check_raises_corrupt_and_writes_are_refused() {
    let c = SimCluster::start(SimClusterConfig {
        corrupt_check_time: Some(CHECK_EVERY),
        ..SimClusterConfig::default()
    })
    .await
    .expect("cluster starts");
    put_keys(&c, "k", 10).await;
    converged(&c).await;

    // Several periods pass on healthy data: no alarm.
    tokio::time::sleep(CHECK_EVERY * 3).await;
    let urls = c.client_urls();
    let alarms = c
        .run_on_client_node(move || async move { v3(urls).await.alarm_list().await })
        .await
        .expect("alarm list");
    assert!(alarms.alarms.is_empty(), "{alarms:?}");

    // A follower comes back with one stored value damaged.
    let f = a_follower(&c).await;
    c.restart_with(f, |m| m.unsafe_mode = Some(UnsafeMode::CorruptKv))
        .unwrap();
    c.wait_ready(SETTLE)
        .await
        .expect("the damaged member starts");

    let urls = c.client_urls();
    let corrupt = AlarmMember {
        member_id: 0,
        alarm: AlarmType::Corrupt as i32,
    };
    let (alarms, put) = c
        .run_on_client_node(move || async move {
            let cl = v3(urls).await;
            let deadline = Instant::now() + SETTLE;
            let alarms = loop {
                let a = cl.alarm_list().await.expect("alarm list");
                if !a.alarms.is_empty() {
                    break a.alarms;
                }
                assert!(Instant::now() < deadline, "no alarm raised");
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            let put = cl.put("after", "v", PutOptions::default()).await;
            // Reads are still served (etcd's corrupt applier gates only what
            // goes through the log).
            let read = cl
                .get(
                    "k0",
                    GetOptions {
                        serializable: true,
                        ..Default::default()
                    },
                )
                .await
                .expect("a serializable read");
            assert_eq!(read.kvs.len(), 1);
            (alarms, put)
        })
        .await;
    assert_eq!(alarms, vec![corrupt]);
    let err = put.expect_err("a write under CORRUPT");
    assert_eq!(err.etcd(), Some(EtcdError::Corrupt), "{err:?}");
    assert_eq!(err.to_string(), "etcdserver: corrupt cluster");
}

#[madsim::test]
async fn the_initial_check_refuses_a_member_whose_data_differs() {
    let c = SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts");
    put_keys(&c, "k", 10).await;
    converged(&c).await;
    let f = a_follower(&c).await;

    // Undamaged, the check passes and the member serves.
    c.restart_with(f, |m| m.initial_corrupt_check = true)
        .unwrap();
    c.wait_ready(SETTLE).await.expect("a clean member starts");
    assert!(c.member(f).is_some_and(|m| m.is_ready()));
    assert_eq!(c.last_error(f), None);
    converged(&c).await;

    // Damaged, it refuses to start, with etcd's words.
    c.restart_with(f, |m| m.unsafe_mode = Some(UnsafeMode::CorruptKv))
        .unwrap();
    let deadline = Instant::now() + SETTLE;
    let error = loop {
        if let Some(e) = c.last_error(f) {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "the damaged member was not refused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        error,
        format!("{:x} found data inconsistency with peers", c.member_id(f))
    );
    assert!(c.member(f).is_none(), "it never started serving");
    // The others are unaffected and still take writes (no alarm: the initial
    // check only refuses the member).
    put_keys(&c, "more", 3).await;
}
