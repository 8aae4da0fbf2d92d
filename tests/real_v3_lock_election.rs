//! etcd's v3 Lock and Election gRPC services against real etcd 3.4.23. The
//! bodies are in `etcd_test_support::cases::v3_lock_election`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_lock_election;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_excludes_until_unlock_or_revoke() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::lock_excludes_until_unlock_or_revoke(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_refusals() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::lock_refusals(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_sequence_and_takeover() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::election_sequence_and_takeover(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_service_and_sdk_mutex_exclude_each_other() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::lock_service_and_sdk_mutex_exclude_each_other(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_service_excludes_etcdctl_lock() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::lock_service_excludes_etcdctl_lock(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_and_campaign_as_the_caller() {
    let c = EtcdCluster::start(1).await;
    v3_lock_election::lock_and_campaign_as_the_caller(c.client_urls()).await;
}
