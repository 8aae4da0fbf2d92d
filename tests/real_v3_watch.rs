//! The v3 Watcher client (`etcd_sdk::v3::Watcher`) against real etcd 3.4:
//! events, options, history, compaction, progress, many watchers on one
//! stream, fragments, and exact resumption when the serving member is
//! killed or stopped. The bodies are in `etcd_test_support::cases::v3_watch`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_watch::{self, Fault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_prefix_prev_kv_and_filters() {
    let c = EtcdCluster::start(1).await;
    v3_watch::events_prefix_prev_kv_and_filters(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_compaction_and_refusals() {
    let c = EtcdCluster::start(1).await;
    v3_watch::history_compaction_and_refusals(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_notify_and_request() {
    let c = EtcdCluster::start_with_flags(1, &["--experimental-watch-progress-notify-interval=1s"])
        .await;
    v3_watch::progress_notify_and_request(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_share_a_stream_and_drops_cancel() {
    let c = EtcdCluster::start(1).await;
    v3_watch::many_watchers_share_a_stream_and_drops_cancel(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragments_are_joined() {
    let c = EtcdCluster::start(1).await;
    v3_watch::fragments_are_joined(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumes_exactly_when_its_member_is_killed() {
    let c = EtcdCluster::start(3).await;
    v3_watch::watch_resumes_exactly_when_its_member_fails(&c, Fault::KillAndRestart).await;
}

// The SIGSTOP variant is `issue_8980_a_watch_leaves_a_stopped_member` in
// `tests/v3_go_issues.rs`.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_refreshed_for_a_refused_create() {
    let c = EtcdCluster::start(1).await;
    v3_watch::auth_token_refreshed_for_a_refused_create(c.client_urls()).await;
}

// Ported from etcd's integration/v3_watch_test.go and v3_grpc_test.go
// (sim/tests/COVERAGE.md).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_watch_streams_ids_and_batches() {
    let c = EtcdCluster::start(1).await;
    v3_watch::grpc_watch_streams_ids_and_batches(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_require_leader_refusals() {
    let c = EtcdCluster::start(3).await;
    v3_watch::grpc_require_leader_refusals(&c).await;
}
