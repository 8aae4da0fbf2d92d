//! The v3 KV client (`etcd_sdk::v3::Client`) against real etcd 3.4: every
//! option with the exact revisions etcd returns, txn compares, compaction,
//! a stopped member and a killed one. The bodies are in `etcd_test_support::cases::v3_kv`,
//! written to run against the simulated cluster too once it serves v3.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_kv;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_with_every_option() {
    let c = EtcdCluster::start(1).await;
    v3_kv::put_get_with_every_option(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_sort_limit_count_and_deletes() {
    let c = EtcdCluster::start(1).await;
    v3_kv::ranges_sort_limit_count_and_deletes(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_branches_with_each_compare_target() {
    let c = EtcdCluster::start(1).await;
    v3_kv::txn_branches_with_each_compare_target(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_and_compacted_reads() {
    let c = EtcdCluster::start(1).await;
    v3_kv::compaction_and_compacted_reads(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_continue_with_a_member_paused() {
    let c = EtcdCluster::start(3).await;
    v3_kv::calls_continue_with_a_member_paused(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_continue_with_a_member_killed() {
    let c = EtcdCluster::start(3).await;
    v3_kv::calls_continue_with_a_member_killed(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_and_close_classify_what_they_cut() {
    let c = EtcdCluster::start(1).await;
    v3_kv::deadlines_and_close_classify_what_they_cut(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_fetched_at_connect_and_sent() {
    let c = EtcdCluster::start(1).await;
    v3_kv::auth_token_fetched_at_connect_and_sent(c.client_urls()).await;
}

// Ported from etcd's integration/v3_grpc_test.go (sim/tests/COVERAGE.md).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_txn_compares_paths_and_refusals() {
    let c = EtcdCluster::start(1).await;
    v3_kv::grpc_txn_compares_paths_and_refusals(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_put_ignore_value_ignore_lease_and_missing_lease() {
    let c = EtcdCluster::start(1).await;
    v3_kv::grpc_put_ignore_value_ignore_lease_and_missing_lease(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_range_and_delete_range_tables() {
    let c = EtcdCluster::start(1).await;
    v3_kv::grpc_range_and_delete_range_tables(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_max_request_bytes_bounds_puts() {
    for max in v3_kv::MAX_REQUEST_BYTES_ROWS {
        let flag = format!("--max-request-bytes={max}");
        let c = EtcdCluster::start_with_flags(1, &[&flag]).await;
        v3_kv::grpc_max_request_bytes_bounds_puts(c.client_urls(), max).await;
    }
}
