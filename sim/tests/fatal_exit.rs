//! What a member does when its Raft task fails (real builds): like etcd on an
//! invariant failure or a fatal disk error, it logs what failed and exits non-zero so
//! that a supervisor restarts it, instead of staying up without consensus. Through
//! the embed API the failure reaches `Etcd::err()` and the member stops serving.
//!
//! The panic is the test-only failpoint `ETCD_SIM_FAILPOINT_RAFT_PANIC_AT_INDEX`
//! (`etcd_sim::raft::panic_scope`); the disk error is the data directory removed
//! under a running member, so that its next snapshot file cannot be created.

#![cfg(not(madsim))]

use etcd_sdk::keys::{KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::{Config as ClientConfig, HttpClient};
use etcd_sim::embed::{self, Config};
use etcd_sim::raft::panic_scope::FAILPOINT_PANIC_AT_INDEX;
use etcd_test_support::ports;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

/// A single-member `etcd-sim` process, killed if the test ends early.
struct Server {
    child: Child,
    client: String,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let [c, p] = ports::free_ports(2)[..] else {
        panic!("two free ports");
    };
    let client = format!("http://127.0.0.1:{c}");
    let peer = format!("http://127.0.0.1:{p}");
    let log = dir.join("server.log");
    let mut cmd = Command::new(BIN);
    cmd.args([
        "--name=solo".to_string(),
        format!("--data-dir={}", dir.join("solo.etcd").display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=solo={peer}"),
        "--enable-v2=true".to_string(),
    ])
    .args(extra)
    .env("RUST_BACKTRACE", "0")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).expect("log file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn etcd-sim");
    Server { child, client, log }
}

/// One `PUT /v2/keys/<key>` over a fresh connection: the status code, or `None`
/// when the server does not answer (refused, reset, or silent for 3 s).
fn put(client: &str, key: &str, value: &str) -> Option<u16> {
    let addr = client.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let body = format!("value={value}");
    let req = format!(
        "PUT /v2/keys/{key} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until the server answers a write.
fn until_serving(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while put(&server.client, "warmup", "x") != Some(201)
        && put(&server.client, "warmup", "x") != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            log_of(server)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_of(server: &Server) -> String {
    std::fs::read_to_string(&server.log).unwrap_or_default()
}

/// Writes until the process exits; returns its exit status (panics after `within`).
fn write_until_exit(server: &mut Server, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    for i in 0.. {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running after {within:?}:\n{}",
            log_of(server)
        );
        let _ = put(&server.client, &format!("k{i}"), "v");
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!()
}

#[test]
fn a_panic_of_the_raft_task_ends_the_process_with_the_member_and_the_message() {
    let dir = tempfile::tempdir().unwrap();
    // Entries 1-3 are the bootstrap membership, the leader's empty entry and the
    // member's publication; the warm-up write is 4, the next ones follow.
    let mut server = spawn(dir.path(), &[], &[(FAILPOINT_PANIC_AT_INDEX, "8")]);
    until_serving(&server);
    let status = write_until_exit(&mut server, Duration::from_secs(20));
    let log = log_of(&server);
    assert_eq!(status.code(), Some(1), "exit status {status:?}:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains("the member's Raft task panicked"))
        .unwrap_or_else(|| panic!("no log line names the panic:\n{log}"));
    // capnslog, etcd 3.4's default format: level letter E.
    assert!(line.contains(" E | "), "{line}");
    assert!(line.contains("member="), "{line}");
    assert!(
        line.contains("failpoint ETCD_SIM_FAILPOINT_RAFT_PANIC_AT_INDEX: applying entry 8"),
        "{line}"
    );
    // The reason the server gives on the way out carries the panic's message.
    assert!(
        log.contains("stopped: the Raft task panicked: failpoint"),
        "{log}"
    );
    // Nothing listens any more: a client gets an error at once, not a hang.
    let t = Instant::now();
    assert_eq!(put(&server.client, "after", "x"), None);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_fatal_disk_error_ends_the_process_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn(dir.path(), &["--snapshot-count=5"], &[]);
    until_serving(&server);
    // The data directory goes away under the running member: its WAL file stays
    // open, but the next snapshot file cannot be created.
    std::fs::remove_dir_all(dir.path().join("solo.etcd")).expect("remove the data dir");
    let status = write_until_exit(&mut server, Duration::from_secs(20));
    let log = log_of(&server);
    assert_eq!(status.code(), Some(1), "exit status {status:?}:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains("raft: stopping after a fatal error"))
        .unwrap_or_else(|| panic!("no log line names the disk error:\n{log}"));
    assert!(
        line.contains(" E | ") && line.contains("I/O error"),
        "{line}"
    );
    assert!(
        log.contains("server stopped: member: stopped: disk: I/O error"),
        "{log}"
    );
    assert_eq!(put(&server.client, "after", "x"), None);
}

#[tokio::test]
async fn through_the_embed_api_the_failure_reaches_err_and_the_member_stops_serving() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        name: "embedded".into(),
        data_dir: Some(dir.path().join("embedded.etcd")),
        enable_v2: true,
        listen_client_urls: vec!["http://127.0.0.1:0".into()],
        advertise_client_urls: vec!["http://127.0.0.1:0".into()],
        listen_peer_urls: vec!["http://127.0.0.1:0".into()],
        initial_advertise_peer_urls: vec!["http://127.0.0.1:0".into()],
        heartbeat_ms: 10,
        election_ms: 100,
        snapshot_count: 5,
        ..Config::default()
    };
    let etcd = embed::start(config).await.expect("starts");
    tokio::time::timeout(Duration::from_secs(10), etcd.ready())
        .await
        .expect("ready in time")
        .expect("ready");
    let url = etcd.client_urls()[0].clone();
    let client = HttpClient::new(ClientConfig {
        endpoints: vec![url.clone()],
        request_timeout: Some(Duration::from_secs(2)),
        ..Default::default()
    })
    .unwrap();
    let keys = new_keys_api(Arc::new(client));
    keys.set("/before", "1", SetOptions::default())
        .await
        .expect("a write before the failure");
    let mut errors = etcd.err();
    std::fs::remove_dir_all(dir.path().join("embedded.etcd")).expect("remove the data dir");
    let failure = async {
        for i in 0.. {
            let _ = keys
                .set(&format!("/k{i}"), "v", SetOptions::default())
                .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let err = tokio::select! {
        biased;
        e = errors.recv() => e.expect("a fatal error, not a closed stream"),
        () = failure => unreachable!(),
        () = tokio::time::sleep(Duration::from_secs(20)) => panic!("no error on Etcd::err()"),
    };
    assert!(err.to_string().contains("I/O error"), "{err}");
    // The member stopped serving: a client gets an error at once, not a hang.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = Instant::now();
        if put(&url, "after", "x").is_none() {
            assert!(t.elapsed() < Duration::from_secs(2));
            break;
        }
        assert!(Instant::now() < deadline, "still serving after the failure");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    etcd.close().await;
}
