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
