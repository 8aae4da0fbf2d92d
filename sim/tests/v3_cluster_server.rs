//! Our server's v3 Cluster service and learners, measured with the client's
//! case bodies written against etcd 3.4.23 (`tests/real_v3_cluster.rs`): the
//! same bodies against 3 `etcd-sim` processes and, in sim builds, the
//! simulated cluster.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::{v3_cluster, v3_learner};
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    async fn three() -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), 3).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn membership_changes_and_refusals() {
        v3_cluster::membership_changes_and_refusals(&three().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn endpoints_sync_and_set() {
        v3_cluster::endpoints_sync_and_set(&three().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn learner_joins_catches_up_and_is_promoted() {
        v3_learner::learner_joins_catches_up_and_is_promoted(&three().await).await;
    }
}

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_cluster:
    membership_changes_and_refusals(3),
    endpoints_sync_and_set(3),
);
