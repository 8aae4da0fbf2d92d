//! Our server's v3 KV, measured with the client's case bodies that were written
//! against etcd 3.4.23 (`tests/real_v3_kv.rs` runs them there): the same bodies,
//! the same assertions (revisions, errors, headers), against the `etcd-sim`
//! binary (real sockets: gRPC beside HTTP/1.1 on one port) and, in sim builds,
//! against the simulated cluster.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::v3_kv;
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    async fn one() -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), 1).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn put_get_with_every_option() {
        v3_kv::put_get_with_every_option(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ranges_sort_limit_count_and_deletes() {
        v3_kv::ranges_sort_limit_count_and_deletes(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn txn_branches_with_each_compare_target() {
        v3_kv::txn_branches_with_each_compare_target(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compaction_and_compacted_reads() {
        v3_kv::compaction_and_compacted_reads(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_continue_with_a_member_paused() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_kv::calls_continue_with_a_member_paused(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_continue_with_a_member_killed() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_kv::calls_continue_with_a_member_killed(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deadlines_and_close_classify_what_they_cut() {
        let c = one().await;
        v3_kv::deadlines_and_close_classify_what_they_cut(&c).await;
    }

    // Ported from etcd's integration/v3_grpc_test.go (sim/tests/COVERAGE.md).

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_txn_compares_paths_and_refusals() {
        v3_kv::grpc_txn_compares_paths_and_refusals(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_put_ignore_value_ignore_lease_and_missing_lease() {
        v3_kv::grpc_put_ignore_value_ignore_lease_and_missing_lease(one().await.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_range_and_delete_range_tables() {
        v3_kv::grpc_range_and_delete_range_tables(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_max_request_bytes_bounds_puts() {
        for max in v3_kv::MAX_REQUEST_BYTES_ROWS {
            let flag = format!("--max-request-bytes={max}");
            let c = EtcdCluster::start_bin_with_flags(Path::new(BIN), 1, &[&flag]).await;
            v3_kv::grpc_max_request_bytes_bounds_puts(c.client_urls(), max).await;
        }
    }
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_kv:
    put_get_with_every_option,
    ranges_sort_limit_count_and_deletes,
    txn_branches_with_each_compare_target,
    compaction_and_compacted_reads,
    grpc_txn_compares_paths_and_refusals,
    grpc_put_ignore_value_ignore_lease_and_missing_lease,
    grpc_range_and_delete_range_tables,
);

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_kv:
    calls_continue_with_a_member_paused(3),
    calls_continue_with_a_member_killed(3),
);
