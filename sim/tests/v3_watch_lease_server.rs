//! Our server's v3 Watch and Lease, measured with the client's case bodies that
//! were written against etcd 3.4.23 (`tests/real_v3_watch.rs`,
//! `tests/real_v3_lease.rs`): the same bodies against the `etcd-sim` binary and,
//! in sim builds, the simulated cluster. (The cases that find the serving member
//! through etcd's `/metrics` wait for our server's metrics.)

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::v3_watch::Fault;
    use etcd_test_support::cases::{v3_lease, v3_watch};
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    async fn one() -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), 1).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_prefix_prev_kv_and_filters() {
        v3_watch::events_prefix_prev_kv_and_filters(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_compaction_and_refusals() {
        v3_watch::history_compaction_and_refusals(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn progress_notify_and_request() {
        let c = EtcdCluster::start_bin_with_flags(
            Path::new(BIN),
            1,
            &["--experimental-watch-progress-notify-interval=1s"],
        )
        .await;
        v3_watch::progress_notify_and_request(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_watchers_share_a_stream_and_drops_cancel() {
        v3_watch::many_watchers_share_a_stream_and_drops_cancel(&one().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watch_resumes_exactly_when_its_member_is_killed() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_watch::watch_resumes_exactly_when_its_member_fails(&c, Fault::KillAndRestart).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keep_alive_survives_the_kill_of_its_member() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_lease::keep_alive_survives_the_loss_of_its_member(&c, Fault::KillAndRestart).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fragments_are_joined() {
        v3_watch::fragments_are_joined(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grant_ttl_keys_list_and_revoke() {
        v3_lease::grant_ttl_keys_list_and_revoke(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keep_alive_keeps_a_short_lease_alive() {
        v3_lease::keep_alive_keeps_a_short_lease_alive(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keep_alive_halts_after_revoke() {
        v3_lease::keep_alive_halts_after_revoke(one().await.client_urls()).await;
    }

    // Ported from etcd's integration/v3_watch_test.go, v3_lease_test.go and
    // v3_grpc_test.go (sim/tests/COVERAGE.md).

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_watch_streams_ids_and_batches() {
        v3_watch::grpc_watch_streams_ids_and_batches(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_require_leader_refusals() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_watch::grpc_require_leader_refusals(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_lease_ids_list_and_switch() {
        v3_lease::grpc_lease_ids_list_and_switch(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_leases_and_their_keys_survive_a_restart() {
        let c = one().await;
        v3_lease::grpc_leases_and_their_keys_survive_a_restart(&c).await;
    }
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_watch:
    events_prefix_prev_kv_and_filters,
    history_compaction_and_refusals,
    fragments_are_joined,
    grpc_watch_streams_ids_and_batches,
);

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_watch:
    grpc_require_leader_refusals(3),
);

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_lease:
    grant_ttl_keys_list_and_revoke,
    keep_alive_keeps_a_short_lease_alive,
    keep_alive_halts_after_revoke,
    grpc_lease_ids_list_and_switch,
);

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_lease:
    grpc_leases_and_their_keys_survive_a_restart(1),
);
