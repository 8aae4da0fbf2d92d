//! Membership changes whose outcome the caller never learned (chaos seed 1176: a
//! remove reported failed was in fact applied). The removed member's Raft node
//! stops, so while the simulation still counts it as running the cluster never
//! looks converged; `SimCluster::sync_membership` asks the member list, as an
//! operator would, and brings the simulation in line. Run over many seeds:
//! `MADSIM_TEST_NUM=20 RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim --release
//! --target-dir target/sim --test membership_uncertain`.
#![cfg(madsim)]

use etcd_sim::cluster::{NodeState, SimCluster, SimClusterConfig};
use std::time::Duration;

/// Long enough for a sent membership change to be committed and applied, and for
/// a removed member to stop (one election timeout after it applies its removal).
const SETTLE: Duration = Duration::from_secs(5);

async fn cluster() -> SimCluster {
    SimCluster::start(SimClusterConfig::default())
        .await
        .expect("cluster starts")
}

#[madsim::test]
async fn a_remove_whose_answer_was_abandoned_is_learned_from_the_member_list() {
    let cluster = cluster().await;
    // etcd's strict reconfiguration check refuses a remove, as an add, until the
    // members have been connected for a while.
    cluster.wait_members_may_add().await;
    // The request is sent at the first poll; the caller gives up before the answer
    // (the client task goes on, and the cluster applies the removal).
    let abandoned = tokio::time::timeout(Duration::from_millis(1), cluster.remove_member(2)).await;
    assert!(
        abandoned.is_err(),
        "the remove was abandoned before its answer"
    );
    tokio::time::sleep(SETTLE).await;
    assert!(cluster.membership_uncertain());
    assert_eq!(cluster.state(2), Some(NodeState::Running));
    // The mechanism of seed 1176: member 2 has stopped (removed), so "every
    // running member follows the leader" never holds.
    assert!(
        cluster.wait_converged(SETTLE).await.is_err(),
        "a removed member counted as running never follows a leader"
    );

    let learned = cluster
        .sync_membership(SETTLE)
        .await
        .expect("the member list answers");
    assert_eq!(learned.len(), 1, "one change learned: {learned:?}");
    assert!(learned[0].starts_with("remove m2"), "{learned:?}");
    assert_eq!(cluster.state(2), Some(NodeState::Removed));
    assert!(!cluster.membership_uncertain());
    cluster
        .wait_converged(SETTLE)
        .await
        .expect("the two remaining members converge");
    assert_eq!(cluster.client_urls().len(), 2);
}

#[madsim::test]
async fn an_add_whose_answer_was_abandoned_is_started_from_the_member_list() {
    let cluster = cluster().await;
    cluster.wait_members_may_add().await;
    let abandoned = tokio::time::timeout(Duration::from_millis(1), cluster.add_member()).await;
    assert!(
        abandoned.is_err(),
        "the add was abandoned before its answer"
    );
    tokio::time::sleep(SETTLE).await;
    assert!(cluster.membership_uncertain());
    assert_eq!(cluster.len(), 3, "the added member was never started");

    let learned = cluster
        .sync_membership(SETTLE)
        .await
        .expect("the member list answers");
    assert_eq!(learned.len(), 1, "one change learned: {learned:?}");
    assert!(learned[0].starts_with("add m3"), "{learned:?}");
    assert_eq!(cluster.len(), 4);
    assert!(!cluster.membership_uncertain());
    cluster
        .wait_ready(Duration::from_secs(30))
        .await
        .expect("the added member joins");
    cluster
        .wait_converged(SETTLE)
        .await
        .expect("all four members converge");
}
