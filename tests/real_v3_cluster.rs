//! The v3 Cluster API and the client's endpoint management against real
//! etcd 3.4. The bodies are in `etcd_test_support::cases::v3_cluster`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::{v3_cluster, v3_learner};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_and_refusals() {
    let c = EtcdCluster::start(3).await;
    v3_cluster::membership_changes_and_refusals(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_sync_and_set() {
    let c = EtcdCluster::start(3).await;
    v3_cluster::endpoints_sync_and_set(&c).await;
}

/// A learner's life: added, refused promotion and a second learner, started,
/// caught up, refusing calls, not voting, restarted, promoted through a
/// follower (the body etcd-sim runs in `sim/tests/v3_cluster_server.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_joins_catches_up_and_is_promoted() {
    let c = EtcdCluster::start(3).await;
    v3_learner::learner_joins_catches_up_and_is_promoted(&c).await;
}

/// A learner that is started catches up and can then be promoted (real
/// etcd only: the learner is a fourth `/usr/bin/etcd` process joining with
/// `--initial-cluster-state=existing`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_learner_is_promoted() {
    use etcd_sdk::v3::{Client, Cluster, Config, EtcdError, GetOptions, KV, PutOptions};
    use std::process::{Command, Stdio};
    use std::time::Duration;
    use tokio::time::Instant;

    /// Kills the learner's process however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let c = EtcdCluster::start(3).await;
    let urls = c.client_urls();
    let cl = Client::new(Config {
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(urls.iter().cloned())
    })
    .await
    .unwrap();
    cl.put("before", "1", PutOptions::default()).await.unwrap();
    c.settle_for(Duration::from_secs(6)).await;

    let ports = etcd_test_support::ports::free_ports(2);
    let client_url = format!("http://127.0.0.1:{}", ports[0]);
    let peer_url = format!("http://127.0.0.1:{}", ports[1]);
    let added = cl
        .member_add_as_learner(vec![peer_url.clone()])
        .await
        .unwrap();
    let id = added.member.expect("the added member").id;
    let initial_cluster = (0..3)
        .map(|i| format!("{}={}", c.member(i).name(), c.member(i).peer_url()))
        .chain([format!("m3={peer_url}")])
        .collect::<Vec<_>>()
        .join(",");
    let data_dir = c.dir().join("m3.etcd");
    let log = std::fs::File::create(c.dir().join("m3.log")).unwrap();
    let _learner = Kill(
        Command::new(etcd_test_support::etcd::ETCD_BIN)
            .args([
                "--name=m3".to_string(),
                format!("--data-dir={}", data_dir.display()),
                format!("--listen-client-urls={client_url}"),
                format!("--advertise-client-urls={client_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster={initial_cluster}"),
                "--initial-cluster-state=existing".to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    // Refused until it has caught up; then promoted.
    let start = Instant::now();
    let promoted = loop {
        match cl.member_promote(id).await {
            Ok(r) => break r,
            Err(e) if e.etcd() == Some(EtcdError::LearnerNotReady) => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "the learner never caught up"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("promote: {e:?}"),
        }
    };
    let m = promoted
        .members
        .iter()
        .find(|m| m.id == id)
        .expect("the promoted member");
    assert!(!m.is_learner);
    assert_eq!(promoted.members.len(), 4);
    assert_eq!(
        cl.member_promote(id).await.unwrap_err().etcd(),
        Some(EtcdError::MemberNotLearner)
    );

    // The new voter serves reads, and sync adds it to the endpoints.
    let direct = Client::connect([client_url.clone()]).await.unwrap();
    let g = direct.get("before", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"1");
    let start = Instant::now();
    loop {
        cl.sync().await.unwrap();
        if cl.endpoints().contains(&client_url) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "sync never found the new member: {:?}",
            cl.endpoints()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(cl.endpoints().len(), 4);
}
