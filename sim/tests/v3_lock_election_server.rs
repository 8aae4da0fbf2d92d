//! Our server's Lock and Election gRPC services, measured with the case bodies
//! that run against etcd 3.4.23 (`tests/real_v3_lock_election.rs`): the same
//! bodies against the `etcd-sim` binary and, in sim builds, the simulated
//! cluster (there without the `etcdctl` case).

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::v3_lock_election;
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    async fn one() -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), 1).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_excludes_until_unlock_or_revoke() {
        v3_lock_election::lock_excludes_until_unlock_or_revoke(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_refusals() {
        v3_lock_election::lock_refusals(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_sequence_and_takeover() {
        v3_lock_election::election_sequence_and_takeover(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_service_and_sdk_mutex_exclude_each_other() {
        v3_lock_election::lock_service_and_sdk_mutex_exclude_each_other(one().await.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_service_excludes_etcdctl_lock() {
        v3_lock_election::lock_service_excludes_etcdctl_lock(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_and_campaign_as_the_caller() {
        v3_lock_election::lock_and_campaign_as_the_caller(one().await.client_urls()).await;
    }
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_lock_election:
    lock_excludes_until_unlock_or_revoke,
    lock_refusals,
    election_sequence_and_takeover,
    lock_service_and_sdk_mutex_exclude_each_other,
    lock_and_campaign_as_the_caller,
);
