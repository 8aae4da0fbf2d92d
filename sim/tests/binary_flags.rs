//! The `etcd-sim` binary with etcd's command line: started the way a tool starts
//! `etcd` (mixed `--flag value`, `-flag=value` forms and an `ETCD_*` variable), it
//! announces readiness, logs where `--log-outputs` says, serves the SDK, and on
//! SIGTERM closes and ends by the signal as etcd does; bad flags exit as etcd's do.

#![cfg(not(madsim))]

use etcd_test_support::ports;

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::{Config as ClientConfig, HttpClient};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

/// A loopback port free for both UDP and TCP (the peer transport uses both).
fn free_port() -> u16 {
    ports::free_ports(1)[0]
}

/// Runs the binary to completion with `args` and extra environment variables.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running server whose stderr lines are collected.
struct Server {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    ready: mpsc::Receiver<()>,
}

impl Server {
    fn start(args: &[String], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, ready) = mpsc::channel();
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("ready to serve client requests") {
                        let _ = tx.send(());
                    }
                    lines.lock().unwrap().push(line);
                }
            });
        }
        Server {
            child,
            lines,
            ready,
        }
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits (up to 5 s) until a stderr line contains `needle`.
    fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_exit(&mut self, bound: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit in {bound:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn runs_with_etcds_argv_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (cp, pp) = (free_port(), free_port());
    let client = format!("http://127.0.0.1:{cp}");
    let peer = format!("http://127.0.0.1:{pp}");
    let data_dir = dir.path().join("m1.etcd");
    let log_file = dir.path().join("m1.log");
    let log_outputs = format!("--log-outputs=stderr,{}", log_file.display());
    let args: Vec<String> = [
        "--logger=zap",
        &log_outputs,
        "--name",
        "m1",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--listen-client-urls",
        &client,
        &format!("-advertise-client-urls={client}"),
        "-listen-peer-urls",
        &peer,
        &format!("--initial-advertise-peer-urls={peer}"),
        "--initial-cluster",
        &format!("m1={peer}"),
        "--initial-cluster-state=new",
        "--initial-cluster-token",
        "t1",
        "--heartbeat-interval=10",
        "--election-timeout",
        "100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut server = Server::start(&args, &[("ETCD_ENABLE_V2", "true")]);
    if server.ready.recv_timeout(Duration::from_secs(20)).is_err() {
        panic!("no readiness line:\n{}", server.log());
    }
    server.wait_log("recognized and used environment variable ETCD_ENABLE_V2=true");
    // zap's words for it, as etcd 3.4 logs them with --logger=zap.
    server.wait_log(&format!(
        "\"msg\":\"serving client traffic insecurely; this is strongly discouraged!\",\"address\":\"127.0.0.1:{cp}\""
    ));
    assert!(data_dir.join("member").is_dir());

    let http = Arc::new(HttpClient::new(ClientConfig::new([client.clone()])).unwrap());
    let kapi = new_keys_api(http);
    kapi.set("/bin/k", "v", SetOptions::default())
        .await
        .unwrap();
    let got = kapi.get("/bin/k", GetOptions::default()).await.unwrap();
    assert_eq!(got.node.unwrap().value_str(), "v");

    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.wait_exit(Duration::from_secs(15));
    // As etcd: once closed, it ends by the signal (a shell sees 143).
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "exit {status:?}:\n{}",
        server.log()
    );
    server.wait_log("shutting down");
    assert!(kapi.get("/bin/k", GetOptions::default()).await.is_err());

    // The log went to the file as well as to stderr, up to the last line.
    let logged = std::fs::read_to_string(&log_file).unwrap();
    for line in ["ready to serve client requests", "shutting down"] {
        assert!(
            logged.contains(line),
            "no {line:?} in the log file:\n{logged}"
        );
    }
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a file:\n{logged}"
    );
}

#[test]
fn log_outputs_are_checked_like_etcd() {
    let out = run(&["--enable-v2", "--log-outputs=/tmp/x.log"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "unknown log-output \"/tmp/x.log\" (only supports \"default\", \"stderr\", \"stdout\")"
        ),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["--enable-v2", "--log-outputs=stdout,stderr"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(
        "--logger=capnslog supports only 1 value in '--log-outputs', got [\"stderr\" \"stdout\"]"
    ));
    let out = run(
        &[
            "--enable-v2",
            "--logger=zap",
            "--log-outputs=default,stderr",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("multi logoutput for \"default\" is not supported yet"));
    let out = run(
        &[
            "--enable-v2",
            "--logger=zap",
            "--log-outputs=/nonexistent/dir/x.log",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "open sink \"/nonexistent/dir/x.log\": open /nonexistent/dir/x.log: no such file or directory"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_flags_exit_like_etcd() {
    let out = run(&["--foo"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("flag provided but not defined: -foo\nUsage:"),
        "{err}"
    );

    let out = run(&["-snapshot-count=abc"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid value \"abc\" for flag -snapshot-count: parse error")
    );

    let out = run(&["--name", "a", "extra"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("'extra' is not a valid flag"));

    let out = run(&["--name", "a"], &[("ETCD_NAME", "b")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("conflicting environment variable \"ETCD_NAME\""));

    let out = run(&["--enable-v2", "--heartbeat-interval", "300"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(
        "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]"
    ));

    // Peer TLS is not implemented (client TLS is: tests/tls_server.rs).
    let out = run(&["--enable-v2", "--peer-cert-file", "/c.pem"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--peer-cert-file"));

    let out = run(&["chaos"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("scripts/chaos.sh"));
}

#[test]
fn version_and_help() {
    let out = run(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("etcd Version: 3.4.23\n"));

    let out = run(&["-h"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("Usage:"));
    assert!(text(&out.stdout).contains("--listen-client-urls 'http://localhost:2379'"));
}

#[test]
fn a_config_file_replaces_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("etcd.conf.yml");
    std::fs::write(&path, "name: from-file\nheartbeat-interval: 300\n").unwrap();
    // The file's settings are validated; the flag that would fix them is ignored.
    let out = run(
        &[
            "--config-file",
            path.to_str().unwrap(),
            "--heartbeat-interval=10",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--election-timeout[1000ms] should be at least as 5 times"),
        "{err}"
    );
}
