//! The v3 Lease client (`etcd_sdk::v3::Lease`) against real etcd 3.4:
//! grants, time-to-live, list, revoke, keepalives (kept alive, dropped,
//! halted, closed) and a keepalive surviving the kill or stop of its member. The
//! bodies are in `etcd_test_support::cases::v3_lease`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_lease;
use etcd_test_support::cases::v3_watch::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_ttl_keys_list_and_revoke() {
    let c = EtcdCluster::start(1).await;
    v3_lease::grant_ttl_keys_list_and_revoke(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_keeps_a_short_lease_alive() {
    let c = EtcdCluster::start(1).await;
    v3_lease::keep_alive_keeps_a_short_lease_alive(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_halts_after_revoke() {
    let c = EtcdCluster::start(1).await;
    v3_lease::keep_alive_halts_after_revoke(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_survives_the_kill_of_its_member() {
    let c = EtcdCluster::start(3).await;
    v3_lease::keep_alive_survives_the_loss_of_its_member(&c, Fault::KillAndRestart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_survives_the_stop_of_its_member() {
    let c = EtcdCluster::start(3).await;
    v3_lease::keep_alive_survives_the_loss_of_its_member(&c, Fault::Pause).await;
}

// Ported from etcd's integration/v3_lease_test.go (sim/tests/COVERAGE.md).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_lease_ids_list_and_switch() {
    let c = EtcdCluster::start(1).await;
    v3_lease::grpc_lease_ids_list_and_switch(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_leases_and_their_keys_survive_a_restart() {
    let c = EtcdCluster::start(1).await;
    v3_lease::grpc_leases_and_their_keys_survive_a_restart(&c).await;
}
