//! The v3 Maintenance API against real etcd 3.4. The bodies are in
//! `etcd_test_support::cases::v3_maintenance`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_maintenance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_hash_defragment_alarms_snapshot() {
    let c = EtcdCluster::start(3).await;
    v3_maintenance::status_hash_defragment_alarms_snapshot(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_leader_to_a_follower() {
    let c = EtcdCluster::start(3).await;
    v3_maintenance::move_leader_to_a_follower(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nospace_alarm_until_compacted_defragmented_and_disarmed() {
    let quota = format!(
        "--quota-backend-bytes={}",
        v3_maintenance::SMALL_QUOTA_BYTES
    );
    let c = EtcdCluster::start_with_flags(1, &[&quota]).await;
    v3_maintenance::nospace_alarm_until_compacted_defragmented_and_disarmed(c.client_urls()).await;
}

// Ported from etcd's integration/v3_grpc_test.go and v3_alarm_test.go
// (sim/tests/COVERAGE.md).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_hashes_and_a_hand_raised_alarm() {
    let c = EtcdCluster::start(1).await;
    v3_maintenance::grpc_hashes_and_a_hand_raised_alarm(&c).await;
}
