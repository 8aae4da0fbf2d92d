//! The v3 Cluster API and the client's endpoint management against real
//! etcd 3.4. The bodies are in `etcd_test_support::cases::v3_cluster`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_and_refusals() {
    let c = EtcdCluster::start(3).await;
    v3_cluster::membership_changes_and_refusals(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_sync_and_set() {
    let c = EtcdCluster::start(3).await;
    v3_cluster::endpoints_sync_and_set(&c).await;
}
