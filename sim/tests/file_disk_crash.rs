//! Crash tests of `FileDisk` with real processes (real builds): the test binary runs
//! itself again as a child that writes and syncs, the parent SIGKILLs it at a random
//! moment, and everything the child reported synced (or, for a member, acknowledged)
//! must be there after a restart on the same directory.

#![cfg(not(madsim))]

use etcd_test_support::ports;

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::{Config, HttpClient};
use etcd_sim::member::{Member, MemberConfig};
use etcd_sim::raft::{Disk, DiskOp, FileDisk, FileDiskOptions, LogState};
use raft::eraftpb::{Entry, HardState, Snapshot};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Selects the child's role: `disk` or `member`.
const CHILD_ENV: &str = "FILE_DISK_CRASH_CHILD";
/// The child's data directory.
const DIR_ENV: &str = "FILE_DISK_CRASH_DIR";
/// The member child's client and peer ports.
const PORTS_ENV: &str = "FILE_DISK_CRASH_PORTS";

/// Runs this test binary's test `name` as a child with `env`.
fn spawn_child(name: &str, env: &[(&str, String)], stdout: Stdio) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .stdout(stdout)
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

/// SIGKILL (what `Child::kill` sends on Unix), then reap.
fn sigkill(child: &mut Child) {
    child.kill().expect("kill child");
    child.wait().expect("reap child");
}

fn disk_opts(dir: &Path) -> FileDiskOptions {
    FileDiskOptions {
        // Small segments and few files, so rollover and purges happen in the run.
        segment_bytes: 64 * 1024,
        max_wal_files: 3,
        max_snapshot_files: 2,
        ..FileDiskOptions::new(dir)
    }
}

/// The payload of entry `index`: 1 KiB give or take, a function of the index alone.
fn payload(index: u64) -> Vec<u8> {
    let len = 900 + (index % 250) as usize;
    (0..len).map(|i| (index as usize * 31 + i) as u8).collect()
}

fn snapshot_data(index: u64) -> Vec<u8> {
    format!("snapshot at {index}").into_bytes()
}

/// The disk child: appends batches of entries forever, syncing after each batch and
/// printing `synced <last index>`; every 100 entries it snapshots and compacts.
fn disk_child(dir: &Path) -> ! {
    let mut disk = FileDisk::open(disk_opts(dir)).expect("child opens the disk");
    let mut batch = 1u64;
    loop {
        let last = disk.read(LogState::last_index);
        let entries: Vec<Entry> = (last + 1..=last + batch)
            .map(|index| Entry {
                index,
                term: 1,
                data: payload(index).into(),
                ..Default::default()
            })
            .collect();
        let new_last = last + batch;
        disk.write(DiskOp::Append(entries)).expect("append");
        let hs = HardState {
            term: 1,
            vote: 1,
            commit: new_last,
            ..Default::default()
        };
        disk.write(DiskOp::HardState(hs)).expect("hard state");
        if new_last / 100 > last / 100 {
            let mut snap = Snapshot::default();
            snap.mut_metadata().index = new_last;
            snap.mut_metadata().term = 1;
            snap.mut_metadata().mut_conf_state().voters = vec![1];
            snap.data = snapshot_data(new_last).into();
            disk.write(DiskOp::SaveSnapshot(snap)).expect("snapshot");
            disk.write(DiskOp::CompactTo(new_last - 30))
                .expect("compact");
        }
        disk.sync().expect("sync");
        println!("synced {new_last}");
        batch = batch % 7 + 1;
    }
}

/// Checks what a recovered disk holds: at least `synced`, every entry and the
/// snapshot exactly as written.
fn check_recovered(dir: &Path, synced: u64) -> u64 {
    let disk = FileDisk::open(disk_opts(dir)).unwrap_or_else(|e| panic!("reopen: {e}"));
    disk.read(|s| {
        assert!(
            s.last_index() >= synced,
            "synced {synced}, recovered only up to {}",
            s.last_index()
        );
        let all = s
            .entries(s.first_index(), s.last_index() + 1, None)
            .unwrap();
        for e in &all {
            assert_eq!(e.term, 1);
            assert_eq!(&e.data[..], &payload(e.index)[..], "entry {}", e.index);
        }
        assert!(s.hard_state().commit <= s.last_index());
        let meta = s.snapshot().get_metadata();
        if meta.index > 0 {
            assert_eq!(&s.snapshot().data[..], &snapshot_data(meta.index)[..]);
            assert!(s.first_index() <= meta.index + 1);
        }
        s.last_index()
    })
}

#[test]
fn synced_appends_survive_sigkill() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("disk") {
        disk_child(Path::new(&std::env::var(DIR_ENV).expect("child dir")));
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let started = Instant::now();
    let mut synced = 0;
    for round in 0..30 {
        let env = [
            (CHILD_ENV, "disk".into()),
            (DIR_ENV, dir.display().to_string()),
        ];
        let mut child = spawn_child("synced_appends_survive_sigkill", &env, Stdio::piped());
        let out = BufReader::new(child.stdout.take().expect("child stdout"));
        let wanted = 1 + rand::random_range(0..25u32);
        let mut seen = 0;
        for line in out.lines() {
            let line = line.expect("child output");
            let Some(n) = line.strip_prefix("synced ") else {
                continue;
            };
            synced = n.parse().expect("synced index");
            seen += 1;
            if seen == wanted {
                break;
            }
        }
        // Land the kill anywhere in the child's next writes and syncs.
        std::thread::sleep(Duration::from_micros(rand::random_range(0..3000)));
        sigkill(&mut child);
        let recovered = check_recovered(&dir, synced);
        eprintln!("round {round}: synced {synced}, recovered {recovered}");
    }
    assert!(synced > 30, "the child made progress: {synced}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A loopback port free for both UDP and TCP (the peer transport uses both).
fn free_port() -> u16 {
    ports::free_ports(1)[0]
}

fn member_cfg(client: u16, peer: u16) -> MemberConfig {
    MemberConfig {
        name: "crash".into(),
        client_url: format!("http://127.0.0.1:{client}"),
        peer_url: format!("http://127.0.0.1:{peer}"),
        tick: Duration::from_millis(10),
        // Snapshots (and their files) during the run.
        snapshot_count: 25,
        ..MemberConfig::default()
    }
}

/// The member child: serves on a `FileDisk` until killed.
async fn member_child(dir: PathBuf, ports: &str) -> ! {
    let (client, peer) = ports.split_once(',').expect("two ports");
    let cfg = member_cfg(client.parse().unwrap(), peer.parse().unwrap());
    let disk = FileDisk::open(disk_opts(&dir)).expect("child opens the disk");
    let _member = Member::start(cfg, disk).await.expect("member starts");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// Waits until the member at `url` takes writes.
async fn wait_writable(keys: &impl KeysAPI) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while keys
        .set("/probe", "x", SetOptions::default())
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "member never became writable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acknowledged_member_writes_survive_sigkill() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("member") {
        let dir = std::env::var(DIR_ENV).expect("child dir");
        let ports = std::env::var(PORTS_ENV).expect("child ports");
        member_child(PathBuf::from(dir), &ports).await;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let (client_port, peer_port) = (free_port(), free_port());
    let env = [
        (CHILD_ENV, "member".to_string()),
        (DIR_ENV, dir.display().to_string()),
        (PORTS_ENV, format!("{client_port},{peer_port}")),
    ];
    let url = format!("http://127.0.0.1:{client_port}");
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut next = 0u64;
    for round in 0..4 {
        let mut child = spawn_child(
            "acknowledged_member_writes_survive_sigkill",
            &env,
            Stdio::null(),
        );
        let client = Arc::new(HttpClient::new(Config::new([url.clone()])).unwrap());
        let keys = new_keys_api(client.clone());
        wait_writable(&keys).await;
        // Everything acknowledged before this incarnation is still there.
        let so_far = acked.lock().unwrap().clone();
        for i in so_far {
            let got = keys
                .get(&format!("/crash/{i}"), GetOptions::default())
                .await;
            let value = got
                .unwrap_or_else(|e| panic!("round {round}: acknowledged key {i} lost: {e}"))
                .node
                .and_then(|n| n.value);
            assert_eq!(value, Some(format!("v{i}")), "round {round}, key {i}");
        }
        let writer = {
            let (keys, acked, start) = (keys.clone(), acked.clone(), next);
            tokio::spawn(async move {
                for i in start.. {
                    let key = format!("/crash/{i}");
                    match keys
                        .set(&key, &format!("v{i}"), SetOptions::default())
                        .await
                    {
                        Ok(_) => acked.lock().unwrap().push(i),
                        Err(_) => return,
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(rand::random_range(100..400))).await;
        sigkill(&mut child);
        writer.abort();
        let _ = writer.await;
        let n = acked.lock().unwrap().len();
        next = acked.lock().unwrap().last().map_or(next, |l| l + 1);
        eprintln!("round {round}: {n} writes acknowledged so far");
    }
    assert!(next > 20, "the member acknowledged writes: {next}");
}
