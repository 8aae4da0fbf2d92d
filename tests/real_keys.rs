//! `KeysAPI` against real etcd 3.4: every call and option, with the exact
//! indices, actions and error codes etcd answers (spec §9). The bodies are in
//! `etcd_test_support::cases::keys`, shared with the simulated cluster's run of the same checks.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::keys;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_get_update_create_with_etcds_indices() {
    let c = EtcdCluster::start(1).await;
    keys::set_get_update_create_with_etcds_indices(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_and_compare_and_delete() {
    let c = EtcdCluster::start(1).await;
    keys::compare_and_swap_and_compare_and_delete(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_listing_sorting_and_deletes() {
    let c = EtcdCluster::start(1).await;
    keys::directories_listing_sorting_and_deletes(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_in_order_makes_a_sorted_queue() {
    let c = EtcdCluster::start(1).await;
    keys::create_in_order_makes_a_sorted_queue(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_expiry_and_refresh() {
    let c = EtcdCluster::start(1).await;
    keys::ttl_expiry_and_refresh(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_history_recursive_and_live() {
    let c = EtcdCluster::start(1).await;
    keys::watch_history_recursive_and_live(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_a_cleared_index_then_recover() {
    let c = EtcdCluster::start(1).await;
    keys::watch_from_a_cleared_index_then_recover(c.client_urls()).await;
}
