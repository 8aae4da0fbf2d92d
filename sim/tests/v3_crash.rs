//! Crash tests of the v3 keyspace with real processes (real builds), in the style
//! of `file_disk_crash.rs`: the test binary runs itself again as a member on a
//! `FileDisk` (snapshots every 25 entries), the parent writes through the v3
//! client (puts, txns, deletes, lease grants) and SIGKILLs the child at a random
//! moment; after a restart on the same directory everything acknowledged is
//! there, and the history up to a revision read before the kill reads back the
//! same at that revision.

#![cfg(not(madsim))]

use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, DeleteOptions, GetOptions, KV, KeyValue, Lease, Op,
    PutOptions,
};
use etcd_sim::member::{Member, MemberConfig};
use etcd_sim::raft::{FileDisk, FileDiskOptions};
use etcd_test_support::ports;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Selects the child's role.
const CHILD_ENV: &str = "V3_CRASH_CHILD";
/// The child's data directory.
const DIR_ENV: &str = "V3_CRASH_DIR";
/// The child's client and peer ports.
const PORTS_ENV: &str = "V3_CRASH_PORTS";

fn spawn_child(name: &str, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

fn sigkill(child: &mut Child) {
    child.kill().expect("kill child");
    child.wait().expect("reap child");
}

fn disk_opts(dir: &Path) -> FileDiskOptions {
    FileDiskOptions {
        segment_bytes: 64 * 1024,
        max_wal_files: 3,
        max_snapshot_files: 2,
        ..FileDiskOptions::new(dir)
    }
}

async fn member_child(dir: PathBuf, ports: &str) -> ! {
    let (client, peer) = ports.split_once(',').expect("two ports");
    let cfg = MemberConfig {
        name: "crash".into(),
        client_url: format!("http://127.0.0.1:{client}"),
        peer_url: format!("http://127.0.0.1:{peer}"),
        tick: Duration::from_millis(10),
        snapshot_count: 25,
        ..MemberConfig::default()
    };
    let disk = FileDisk::open(disk_opts(&dir)).expect("child opens the disk");
    let _member = Member::start(cfg, disk).await.expect("member starts");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// What was acknowledged so far.
#[derive(Clone, Debug, Default)]
struct Acked {
    /// Key -> (value, mod revision).
    present: BTreeMap<String, (String, i64)>,
    deleted: Vec<String>,
    /// Acknowledged keys whose delete was sent but not acknowledged: there or
    /// not (the delete may have been committed), and if there, as acknowledged.
    doubtful: BTreeMap<String, (String, i64)>,
    leases: Vec<i64>,
    /// A revision read with nothing in flight, and every `c/` key at it.
    checkpoint: Option<(i64, Vec<KeyValue>)>,
}

fn rev(h: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    h.as_ref().map(|h| h.revision).expect("a header")
}

/// One write of the workload (`i` picks which); records it once acknowledged.
async fn write(cl: &Client, i: u64, acked: &Mutex<Acked>) -> Result<(), etcd_sdk::v3::Error> {
    let key = format!("c/{i:05}");
    match i % 4 {
        0 | 1 => {
            let r = cl
                .put(key.clone(), format!("v{i}"), PutOptions::default())
                .await?;
            let mut a = acked.lock().unwrap();
            a.present.insert(key, (format!("v{i}"), rev(&r.header)));
        }
        2 => {
            let r = cl
                .txn()
                .when([Compare::version(key.clone(), CompareOp::Equal, 0)])
                .and_then([Op::put(key.clone(), format!("t{i}"), PutOptions::default())])
                .commit()
                .await?;
            assert!(r.succeeded, "{key} existed before its txn");
            let mut a = acked.lock().unwrap();
            a.present.insert(key, (format!("t{i}"), rev(&r.header)));
        }
        _ => {
            let g = cl.grant(3600).await?;
            acked.lock().unwrap().leases.push(g.id);
            let opts = PutOptions {
                lease: g.id,
                ..Default::default()
            };
            let r = cl.put(key.clone(), format!("l{i}"), opts).await?;
            acked
                .lock()
                .unwrap()
                .present
                .insert(key, (format!("l{i}"), rev(&r.header)));
            let old = format!("c/{:05}", i - 3);
            {
                let mut a = acked.lock().unwrap();
                if let Some(v) = a.present.remove(&old) {
                    a.doubtful.insert(old.clone(), v);
                }
            }
            cl.delete(old.clone(), DeleteOptions::default()).await?;
            let mut a = acked.lock().unwrap();
            a.doubtful.remove(&old);
            a.deleted.push(old);
        }
    }
    Ok(())
}

/// Checks a restarted member against everything acknowledged.
async fn check(cl: &Client, acked: &Acked, round: usize) {
    let all = cl.get("c/", GetOptions::prefix()).await.expect("read back");
    let found: BTreeMap<String, (String, i64)> = all
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                (
                    String::from_utf8_lossy(&kv.value).into_owned(),
                    kv.mod_revision,
                ),
            )
        })
        .collect();
    for (k, want) in &acked.present {
        assert_eq!(found.get(k), Some(want), "round {round}: acknowledged {k}");
    }
    for k in &acked.deleted {
        assert!(
            !found.contains_key(k),
            "round {round}: delete of {k} undone"
        );
    }
    let max_acked = acked.present.values().map(|v| v.1).max().unwrap_or(0);
    assert!(
        rev(&all.header) >= max_acked,
        "round {round}: revision went back"
    );
    let leases = cl.leases().await.expect("leases");
    let ids: Vec<i64> = leases.leases.iter().map(|l| l.id).collect();
    for id in &acked.leases {
        assert!(ids.contains(id), "round {round}: lease {id:x} lost");
    }
    if let Some((at, kvs)) = &acked.checkpoint {
        let then = cl
            .get(
                "c/",
                GetOptions {
                    revision: *at,
                    ..GetOptions::prefix()
                },
            )
            .await
            .expect("read at the checkpoint");
        assert_eq!(&then.kvs, kvs, "round {round}: history at revision {at}");
        assert_eq!(then.count as usize, kvs.len());
    }
}

async fn wait_writable(cl: &Client) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cl.put("probe", "x", PutOptions::default()).await.is_err() {
        assert!(Instant::now() < deadline, "member never became writable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acknowledged_v3_writes_and_leases_survive_sigkill() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("member") {
        let dir = std::env::var(DIR_ENV).expect("child dir");
        let ports = std::env::var(PORTS_ENV).expect("child ports");
        member_child(PathBuf::from(dir), &ports).await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let p = ports::free_ports(2);
    let env = [
        (CHILD_ENV, "member".to_string()),
        (DIR_ENV, dir.display().to_string()),
        (PORTS_ENV, format!("{},{}", p[0], p[1])),
    ];
    let url = format!("http://127.0.0.1:{}", p[0]);
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let mut next = 0u64;
    for round in 0..4 {
        let mut child = spawn_child("acknowledged_v3_writes_and_leases_survive_sigkill", &env);
        let cl = Client::new(Config {
            dial_timeout: Some(Duration::from_secs(1)),
            request_timeout: Some(Duration::from_secs(5)),
            ..Config::new([url.clone()])
        })
        .await
        .expect("client");
        wait_writable(&cl).await;
        let so_far = acked.lock().unwrap().clone();
        check(&cl, &so_far, round).await;
        // Quiet writes, then a checkpoint with nothing in flight.
        for _ in 0..12 {
            write(&cl, next, &acked)
                .await
                .expect("a write with no fault");
            next += 1;
        }
        let at = cl
            .get("c/", GetOptions::prefix())
            .await
            .expect("checkpoint");
        acked.lock().unwrap().checkpoint = Some((rev(&at.header), at.kvs));
        // Then writes the kill lands among.
        let attempted = Arc::new(AtomicU64::new(next));
        let writer = {
            let (cl, acked, attempted) = (cl.clone(), acked.clone(), attempted.clone());
            tokio::spawn(async move {
                loop {
                    let i = attempted.fetch_add(1, Ordering::SeqCst);
                    if write(&cl, i, &acked).await.is_err() {
                        return;
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(rand::random_range(100..400))).await;
        sigkill(&mut child);
        writer.abort();
        let _ = writer.await;
        cl.close();
        // Keys may have been written by a write cut short: never reuse them
        // (and start the next round on a plain put).
        next = attempted.load(Ordering::SeqCst).next_multiple_of(4) + 4;
        eprintln!(
            "round {round}: {} keys acknowledged",
            acked.lock().unwrap().present.len()
        );
    }
    assert!(acked.lock().unwrap().present.len() > 40);
    // A last restart, checked.
    let mut child = spawn_child("acknowledged_v3_writes_and_leases_survive_sigkill", &env);
    let cl = Client::new(Config::new([url.clone()]))
        .await
        .expect("client");
    wait_writable(&cl).await;
    let so_far = acked.lock().unwrap().clone();
    check(&cl, &so_far, 4).await;
    sigkill(&mut child);
}
