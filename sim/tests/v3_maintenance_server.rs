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

    // Ported from etcd's integration/v3_grpc_test.go and v3_alarm_test.go
    // (sim/tests/COVERAGE.md).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grpc_hashes_and_a_hand_raised_alarm() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        v3_maintenance::grpc_hashes_and_a_hand_raised_alarm(&c).await;
    }
}

/// `etcd-sim snapshot restore` of a snapshot saved from etcd-sim: a new member
/// started on the restored data dir serves the snapshot's keys; a file whose
/// trailer does not match is refused with etcdctl's words.
#[cfg(not(madsim))]
mod restore {
    use etcd_sdk::v3::{Client, GetOptions, KV, Maintenance, PutOptions};
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::ports::free_ports;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    /// Kills the member on drop.
    struct Running(Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_saved_snapshot_restores_into_a_new_cluster() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        let cl = Client::connect(c.client_urls()).await.unwrap();
        for i in 0..20 {
            cl.put(format!("r{i}"), format!("v{i}"), PutOptions::default())
                .await
                .unwrap();
        }
        let saved = cl.snapshot().await.unwrap().read_all().await.unwrap();
        drop(c);

        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("snap.db");
        std::fs::write(&file, &saved).unwrap();
        let ports = free_ports(2);
        let peer = format!("http://127.0.0.1:{}", ports[1]);
        let client = format!("http://127.0.0.1:{}", ports[0]);
        let data_dir = tmp.path().join("r0.etcd");
        let cluster = format!("r0={peer}");
        let out = Command::new(BIN)
            .args(["snapshot", "restore", file.to_str().unwrap()])
            .args(["--name", "r0", "--initial-cluster", &cluster])
            .args(["--initial-cluster-token", "restored"])
            .args(["--initial-advertise-peer-urls", &peer])
            .arg(format!("--data-dir={}", data_dir.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");

        let _member = Running(
            Command::new(BIN)
                .args(["--name", "r0", "--initial-cluster", &cluster])
                .args(["--initial-cluster-token", "restored"])
                .args(["--initial-advertise-peer-urls", &peer])
                .args(["--listen-peer-urls", &peer])
                .args(["--listen-client-urls", &client])
                .args(["--advertise-client-urls", &client])
                .arg(format!("--data-dir={}", data_dir.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let cl = Client::connect([client.clone()]).await.unwrap();
        let mut tries = 0;
        let got = loop {
            match cl.get("r", GetOptions::prefix()).await {
                Ok(g) => break g,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 100, "restored member not serving: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert_eq!(got.kvs.len(), 20);
        assert_eq!(got.header.unwrap().revision, 21, "the snapshot's revision");
        cl.put("after", "restore", PutOptions::default())
            .await
            .unwrap();

        // A file with a bad trailer is refused, and no data dir is written.
        let mut bad = saved.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&file, &bad).unwrap();
        let other = tmp.path().join("bad.etcd");
        let out = Command::new(BIN)
            .args(["snapshot", "restore", file.to_str().unwrap()])
            .arg(format!("--data-dir={}", other.display()))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("Error: expected sha256 ["), "{err}");
        assert!(!other.exists());
    }
}

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_maintenance:
    status_hash_defragment_alarms_snapshot(3),
    move_leader_to_a_follower(3),
    grpc_hashes_and_a_hand_raised_alarm(1),
);
