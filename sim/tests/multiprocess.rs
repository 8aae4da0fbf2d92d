//! Three `etcd-sim` processes on loopback, started with etcd's own flags by the
//! harness that runs real etcd for the SDK's tests: they form a cluster, keep
//! serving when any one is killed, a restarted member catches up from its data
//! dir, and a fourth joins after `member add` with `--initial-cluster-state
//! existing`.
#![cfg(not(madsim))]

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::members::{MembersAPI, new_members_api};
use etcd_sdk::{Config, HttpClient};
use etcd_test_support::{EtcdCluster, ports};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

fn client(endpoints: Vec<String>) -> Arc<HttpClient> {
    Arc::new(
        HttpClient::new(Config {
            endpoints,
            header_timeout_per_request: Some(Duration::from_secs(1)),
            request_timeout: Some(Duration::from_secs(15)),
            ..Default::default()
        })
        .expect("valid endpoints"),
    )
}

fn local() -> GetOptions {
    GetOptions::default()
}

/// Waits until a local (non-quorum) read of `key` on `url` returns `want`.
async fn until_value(url: &str, key: &str, want: &str, within: Duration) {
    let kapi = new_keys_api(client(vec![url.to_string()]));
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = kapi.get(key, local()).await
            && r.node.and_then(|n| n.value).as_deref() == Some(want)
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} never showed {key}={want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes `n` keys through the cluster; each write is retried (a plain set is
/// idempotent) until acknowledged, for at most 20 s: right after a leader is lost,
/// writes fail until the others elect one, as they do on etcd.
async fn write_all(endpoints: Vec<String>, prefix: &str, n: usize) {
    let kapi = new_keys_api(client(endpoints));
    for i in 0..n {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match kapi
                .set(
                    &format!("/{prefix}/{i}"),
                    &format!("v{i}"),
                    SetOptions::default(),
                )
                .await
            {
                Ok(_) => break,
                Err(e) => assert!(Instant::now() < deadline, "write {prefix}/{i}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The value of `--<flag>=` in a member's arguments.
fn flag<'a>(args: &'a [String], flag: &str) -> &'a str {
    let prefix = format!("--{flag}=");
    args.iter()
        .find_map(|a| a.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no --{flag} in {args:?}"))
}

/// Kills the child on drop.
struct Joined(Child);

impl Drop for Joined {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_survive_a_kill_catch_up_and_take_a_fourth() {
    let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
    let urls = c.client_urls();
    write_all(urls.clone(), "before", 10).await;

    // Killing any one (here the leader, the hardest case) leaves two that serve.
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    c.member(leader).kill();
    let others: Vec<String> = (0..3)
        .filter(|i| *i != leader)
        .map(|i| urls[i].clone())
        .collect();
    write_all(others.clone(), "during", 10).await;
    let new_leader = c
        .wait_for_leader(Some(leader), Duration::from_secs(20))
        .await;
    assert_ne!(new_leader, leader);

    // Restarted from its data dir, it has what it acknowledged before and catches
    // up on what it missed.
    let restarted_at = Instant::now();
    c.member(leader).restart().await;
    c.member(leader).wait_healthy(Duration::from_secs(20)).await;
    until_value(&urls[leader], "/before/9", "v9", Duration::from_secs(20)).await;
    until_value(&urls[leader], "/during/9", "v9", Duration::from_secs(20)).await;

    // A fourth member: `member add`, then started with the new cluster and
    // `--initial-cluster-state existing`. etcd refuses membership changes until
    // the member asked has been connected to every peer for 5 s, and every peer
    // reconnected to the restarted one only after it came back: wait that long
    // from the restart, then retry while the cluster still says it is unhealthy
    // (a loaded machine can delay the reconnection), as an operator would.
    tokio::time::sleep_until((restarted_at + Duration::from_secs(6)).into()).await;
    let ports = ports::free_ports(2);
    let client_url = format!("http://127.0.0.1:{}", ports[0]);
    let peer_url = format!("http://127.0.0.1:{}", ports[1]);
    let members = new_members_api(client(urls.clone()));
    let add_deadline = Instant::now() + Duration::from_secs(20);
    let mut retried = false;
    let added = loop {
        match members.add(&peer_url).await {
            Ok(added) => break added,
            // Every member answered 500 (Go's client, and ours, report that as
            // "has no leader"): the check refused it.
            Err(e @ etcd_sdk::Error::Cluster(_)) => {
                assert!(Instant::now() < add_deadline, "member add: {e}");
                retried = true;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            // A refused attempt may still have been a slow success.
            Err(e) if retried && e.to_string().contains("exists") => {
                let list = members.list().await.expect("member list");
                break list
                    .into_iter()
                    .find(|m| m.peer_urls == vec![peer_url.clone()])
                    .unwrap_or_else(|| panic!("member add: {e}, yet no member has {peer_url}"));
            }
            Err(e) => panic!("member add: {e}"),
        }
    };
    assert_eq!(added.name, "");
    let args0 = c.member(0).args();
    let initial = format!("{},m3={peer_url}", flag(args0, "initial-cluster"));
    let data_dir = c.dir().join("m3.etcd");
    let log = std::fs::File::create(c.dir().join("m3.log")).expect("log file");
    let child = Command::new(BIN)
        .args([
            "--name=m3".to_string(),
            format!("--data-dir={}", data_dir.display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster={initial}"),
            format!(
                "--initial-cluster-token={}",
                flag(args0, "initial-cluster-token")
            ),
            "--initial-cluster-state=existing".to_string(),
            "--enable-v2=true".to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn the fourth member");
    let _fourth = Joined(child);
    until_value(&client_url, "/during/9", "v9", Duration::from_secs(30)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = members.list().await.expect("member list");
        if list.len() == 4
            && list
                .iter()
                .any(|m| m.name == "m3" && m.client_urls == vec![client_url.clone()])
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the fourth member never published itself: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Writes through the new member reach everyone.
    write_all(vec![client_url.clone()], "via-fourth", 3).await;
    for url in &urls {
        until_value(url, "/via-fourth/2", "v2", Duration::from_secs(20)).await;
    }
}
