//! The cluster client (`HttpClient`) against real etcd 3.4: version, sync,
//! endpoint validation, failover past dead, paused and killed members, and
//! at-most-once delivery. The bodies are in `etcd_test_support::cases::client`, shared with
//! the simulated cluster's run of the same checks (`sim/tests/sim_client.rs`).
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_version_reports_etcd_3_4() {
    let c = EtcdCluster::start(1).await;
    client::get_version_reports_etcd_3_4(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_collects_every_members_client_urls() {
    let c = EtcdCluster::start(3).await;
    client::sync_collects_every_members_client_urls(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_endpoints_validates_and_keeps_the_old_list_on_error() {
    let c = EtcdCluster::start(1).await;
    client::set_endpoints_validates_and_keeps_the_old_list_on_error(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_first_does_not_stop_calls() {
    let c = EtcdCluster::start(1).await;
    client::a_dead_endpoint_first_does_not_stop_calls(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_timeout_moves_past_a_paused_member() {
    let c = EtcdCluster::start(3).await;
    client::header_timeout_moves_past_a_paused_member(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_bypassed_once_the_others_elect() {
    let c = EtcdCluster::start(3).await;
    client::a_paused_leader_is_bypassed_once_the_others_elect(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_keep_working_when_members_are_killed() {
    let c = EtcdCluster::start(3).await;
    client::calls_keep_working_when_members_are_killed(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_once_writes_to_a_paused_member_are_not_resent() {
    let c = EtcdCluster::start(3).await;
    client::at_most_once_writes_to_a_paused_member_are_not_resent(&c).await;
}
