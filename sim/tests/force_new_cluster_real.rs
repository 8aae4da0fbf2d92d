//! `--force-new-cluster` side by side: etcd 3.4.23 and `etcd-sim`, 3 processes
//! each, started by the same harness with the same flags. v2 and v3 keys are
//! written, two members are killed for good, the third is killed and started
//! again from its data dir with `--force-new-cluster`; then `etcdctl member
//! list` must show the same shape (one started member, its name, not a
//! learner) and `etcdctl get` the same keys and values on both servers, and
//! both must take a write.
#![cfg(not(madsim))]

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::{Config, HttpClient};
use etcd_test_support::etcd_bin::{ETCD_BIN, require_binary};
use etcd_test_support::{EtcdCluster, raw_http};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SIM_BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");
const ETCDCTL: &str = "/usr/bin/etcdctl";
const KEYS: usize = 5;

fn v2(url: &str) -> Arc<HttpClient> {
    Arc::new(
        HttpClient::new(Config {
            endpoints: vec![url.to_string()],
            header_timeout_per_request: Some(Duration::from_secs(1)),
            request_timeout: Some(Duration::from_secs(15)),
            ..Default::default()
        })
        .expect("valid endpoint"),
    )
}

/// Runs `etcdctl` (v3) against `url`; its stdout, or a panic with stderr.
fn etcdctl(url: &str, args: &[&str]) -> String {
    let out = Command::new(ETCDCTL)
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={url}"))
        .arg("--command-timeout=10s")
        .args(args)
        .output()
        .expect("etcdctl runs");
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills the child on drop.
struct Forced(Child);

impl Drop for Forced {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a client sees of the forced member.
#[derive(Debug, PartialEq)]
struct Seen {
    /// `member list`, one line per member: (started, name, isLearner).
    members: Vec<(String, String, String)>,
    /// `get --prefix v3/` before the new write.
    v3_before: String,
    /// The v2 keys under `/v2`.
    v2_keys: Vec<String>,
    /// `get --prefix v3/` after one more put.
    v3_after: String,
}

async fn scenario(bin: &Path) -> Seen {
    let c = EtcdCluster::start_with(bin, 3).await;
    let urls = c.client_urls();
    let kapi = new_keys_api(v2(&urls[0]));
    for i in 0..KEYS {
        kapi.set(
            &format!("/v2/k{i}"),
            &format!("v{i}"),
            SetOptions::default(),
        )
        .await
        .expect("v2 set");
        etcdctl(&urls[0], &["put", &format!("v3/k{i}"), &format!("v{i}")]);
    }
    // The survivor has applied every write (a serializable read on it).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = etcdctl(
            &urls[0],
            &["get", "--prefix", "v3/", "--consistency=s", "--keys-only"],
        );
        if got.lines().filter(|l| !l.is_empty()).count() == KEYS {
            break;
        }
        assert!(Instant::now() < deadline, "m0 never applied the writes");
        std::thread::sleep(Duration::from_millis(100));
    }

    // etcd drops what lies past the commit index its WAL holds (seen here: a
    // survivor SIGKILLed right after the last put lost it). One more write,
    // applied on the survivor, carries that commit index into its WAL; the
    // pause covers etcd's backend commit interval (100 ms).
    let fence = new_keys_api(v2(&urls[0]));
    fence
        .set("/fence", "f", SetOptions::default())
        .await
        .expect("fence write");
    let deadline = Instant::now() + Duration::from_secs(20);
    while fence.get("/fence", GetOptions::default()).await.is_err() {
        assert!(Instant::now() < deadline, "m0 never applied the fence");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    c.member(1).kill();
    c.member(2).kill();
    c.member(0).kill();
    let survivor = c.member(0);
    let log = std::fs::File::create(c.dir().join("forced.log")).expect("log file");
    let child = Command::new(bin)
        .args(survivor.args())
        .arg("--force-new-cluster")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup"))
        .stderr(log)
        .spawn()
        .expect("spawn the forced member");
    let _forced = Forced(child);
    let url = survivor.client_url().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = raw_http::get(&url, "/health", Duration::from_secs(1)).await
            && r.status == 200
            && r.text().contains("true")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} never became healthy after --force-new-cluster:\n{}",
            bin.display(),
            std::fs::read_to_string(c.dir().join("forced.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let members = etcdctl(&url, &["member", "list"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(", ").collect();
            assert_eq!(f.len(), 6, "{l}");
            (f[1].to_string(), f[2].to_string(), f[5].to_string())
        })
        .collect();
    let v3_before = etcdctl(&url, &["get", "--prefix", "v3/"]);
    let kapi = new_keys_api(v2(&url));
    let v2_keys = match kapi
        .get(
            "/v2",
            GetOptions {
                recursive: true,
                sort: true,
                ..Default::default()
            },
        )
        .await
    {
        Ok(r) => r
            .node
            .map(|n| {
                n.nodes
                    .into_iter()
                    .map(|n| format!("{}={}", n.key, n.value.unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => vec![format!("error: {e}")],
    };
    etcdctl(&url, &["put", "v3/after", "a"]);
    let v3_after = etcdctl(&url, &["get", "--prefix", "v3/"]);
    Seen {
        members,
        v3_before,
        v2_keys,
        v3_after,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_new_cluster_matches_etcd() {
    require_binary(Path::new(ETCD_BIN));
    let etcd = scenario(Path::new(ETCD_BIN)).await;
    // etcd's own result, as the reference says it should be.
    assert_eq!(
        etcd.members,
        vec![("started".into(), "m0".into(), "false".into())]
    );
    assert_eq!(etcd.v2_keys.len(), KEYS);
    assert_eq!(etcd.v3_before.lines().count(), 2 * KEYS);
    let sim = scenario(Path::new(SIM_BIN)).await;
    assert_eq!(sim, etcd);
}
