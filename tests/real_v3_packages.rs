//! The SDK's v3 packages (namespace, ordering, mirror, yaml, snapshot,
//! naming) against real etcd 3.4. The bodies are in
//! `etcd_test_support::cases::v3_packages` and `cases::v3_naming`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::{v3_naming, v3_packages};
use std::path::Path;

const ETCDCTL: &str = "/usr/bin/etcdctl";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_isolation() {
    let c = EtcdCluster::start(1).await;
    v3_packages::namespace_isolation(c.client_urls(), Some(Path::new(ETCDCTL))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordering_with_a_stale_endpoint() {
    let current = EtcdCluster::start(1).await;
    let stale = EtcdCluster::start(1).await;
    v3_packages::ordering_with_a_stale_endpoint(current.client_urls(), stale.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_with_updates_during_sync() {
    let source = EtcdCluster::start(1).await;
    let dest = EtcdCluster::start(1).await;
    v3_packages::mirror_with_updates_during_sync(source.client_urls(), dest.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_load_then_connect() {
    let c = EtcdCluster::start(1).await;
    v3_packages::yaml_load_then_connect(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_save_and_status() {
    let c = EtcdCluster::start(1).await;
    v3_packages::snapshot_save_and_status(c.client_urls(), Some(Path::new(ETCDCTL))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_add_list_delete() {
    let c = EtcdCluster::start(1).await;
    v3_naming::naming_add_list_delete(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_watch_sees_add_delete_and_lease_expiry() {
    let c = EtcdCluster::start(1).await;
    v3_naming::naming_watch_sees_add_delete_and_lease_expiry(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_discovery_follows_the_set() {
    let c = EtcdCluster::start(1).await;
    v3_naming::naming_discovery_follows_the_set(c.client_urls()).await;
}
