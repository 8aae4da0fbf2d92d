//! Our server's v3 Maintenance service, measured with the client's case bodies
//! that were written against etcd 3.4.23 (`tests/real_v3_maintenance.rs`): the
//! same bodies against the `etcd-sim` binary and, in sim builds, the simulated
//! cluster.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::v3_maintenance;
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_hash_defragment_alarms_snapshot() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_maintenance::status_hash_defragment_alarms_snapshot(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn move_leader_to_a_follower() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_maintenance::move_leader_to_a_follower(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nospace_alarm_until_compacted_defragmented_and_disarmed() {
        let quota = format!(
            "--quota-backend-bytes={}",
            v3_maintenance::SMALL_QUOTA_BYTES
        );
        let c = EtcdCluster::start_bin_with_flags(Path::new(BIN), 1, &[&quota]).await;
        v3_maintenance::nospace_alarm_until_compacted_defragmented_and_disarmed(c.client_urls())
            .await;
    }
}

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_maintenance:
    status_hash_defragment_alarms_snapshot(3),
    move_leader_to_a_follower(3),
);
