//! Drop-in at the log level: harnesses that start `etcd` wait for its milestone
//! lines on stderr. A fresh one-member etcd 3.4.23 and a fresh `etcd-sim` are
//! started with the same flags, in each logger mode (capnslog, etcd 3.4's
//! default, and zap); the milestones each prints are extracted, normalised (times,
//! ids, ports) and compared: the same lines, each once, in etcd's order where
//! etcd's order is fixed (its cluster-version lines race its publish lines, and
//! its readiness line races its publish line).
#![cfg(not(madsim))]

use etcd_test_support::ports::free_ports;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SIM: &str = env!("CARGO_BIN_EXE_etcd-sim");
const ETCD: &str = "/usr/bin/etcd";
/// The line after which both servers have printed every milestone.
const LAST: &str = "enabled capabilities for version";

/// One milestone: its normalised text, and its level letter (capnslog) or its
/// field names (zap).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Milestone {
    text: String,
    detail: String,
}

/// Starts `bin` as a fresh one-member cluster with `logger`, reads its stderr
/// until the last milestone (or 20 s), kills it, returns the lines.
fn run(bin: &str, logger: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = free_ports(2);
    let client = format!("http://127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let mut child = Command::new(bin)
        .args([
            "--name=m0".to_string(),
            format!("--data-dir={}", dir.path().join("m0.etcd").display()),
            format!("--listen-client-urls={client}"),
            format!("--advertise-client-urls={client}"),
            format!("--listen-peer-urls={peer}"),
            format!("--initial-advertise-peer-urls={peer}"),
            format!("--initial-cluster=m0={peer}"),
            "--enable-v2=true".to_string(),
            format!("--logger={logger}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(LAST);
                lines.push(line);
                if done {
                    // Let the lines printed right after it arrive too.
                    std::thread::sleep(Duration::from_millis(300));
                    lines.extend(rx.try_iter());
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    lines
}

/// Replaces what differs between two runs: ports and hex ids.
fn normalise(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..at]);
        out.push_str("127.0.0.1:PORT");
        rest = rest[at + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out.split(' ')
        .map(|w| {
            let core = w.trim_end_matches([',', ']', '}']);
            if core.len() >= 12 && core.bytes().all(|b| b.is_ascii_hexdigit()) {
                w.replacen(core, "ID", 1)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The capnslog milestones of `lines`: `<date> <time> <L> | <message>`.
fn capnslog_milestones(lines: &[String]) -> Vec<Milestone> {
    const WORDS: &[&str] = &[
        "etcdserver: published {Name:",
        "embed: ready to serve client requests",
        "etcdserver: setting up the initial cluster version to",
        "etcdserver/membership: set the initial cluster version to",
        "etcdserver/api: enabled capabilities for version",
        "embed: serving insecure client requests on",
    ];
    lines
        .iter()
        .filter_map(|l| {
            let (head, message) = l.split_once(" | ")?;
            let letter = head.rsplit(' ').next()?.to_string();
            WORDS
                .iter()
                .any(|w| message.starts_with(w))
                .then(|| Milestone {
                    text: normalise(message),
                    detail: letter,
                })
        })
        .collect()
}

/// The zap milestones of `lines`: JSON objects; the message and field names.
fn zap_milestones(lines: &[String]) -> Vec<Milestone> {
    const MSGS: &[&str] = &[
        "published local member to cluster through raft",
        "setting up initial cluster version",
        "set initial cluster version",
        "enabled capabilities for version",
        "serving client traffic insecurely; this is strongly discouraged!",
    ];
    lines
        .iter()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let msg = v["msg"].as_str()?;
            if !MSGS.contains(&msg) {
                return None;
            }
            let obj = v.as_object()?;
            let mut keys: Vec<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| !matches!(*k, "level" | "ts" | "caller" | "msg"))
                .collect();
            keys.sort_unstable();
            let attrs = obj
                .get("local-member-attributes")
                .and_then(|a| a.as_str())
                .map(normalise)
                .unwrap_or_default();
            Some(Milestone {
                text: format!("{msg} {attrs}").trim_end().to_string(),
                detail: keys.join(","),
            })
        })
        .collect()
}

fn position(ms: &[Milestone], starts: &str) -> usize {
    ms.iter()
        .position(|m| m.text.starts_with(starts))
        .unwrap_or_else(|| panic!("no milestone {starts:?} in {ms:#?}"))
}

/// Both servers print the same milestones, each once; `order` lists pairs
/// (earlier, later) that must hold in both.
fn compare(etcd: &[Milestone], sim: &[Milestone], order: &[(&str, &str)]) {
    let sorted = |ms: &[Milestone]| {
        let mut v: Vec<(String, String)> = ms
            .iter()
            .map(|m| (m.text.clone(), m.detail.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(sim),
        sorted(etcd),
        "milestones differ:\n etcd: {etcd:#?}\n sim: {sim:#?}"
    );
    for (a, b) in order {
        for (who, ms) in [("etcd", etcd), ("etcd-sim", sim)] {
            assert!(
                position(ms, a) < position(ms, b),
                "{who}: {a:?} should come before {b:?}: {ms:#?}"
            );
        }
    }
}

#[test]
fn capnslog_milestones_match_etcd() {
    let etcd = capnslog_milestones(&run(ETCD, "capnslog"));
    let sim = capnslog_milestones(&run(SIM, "capnslog"));
    assert_eq!(etcd.len(), 6, "etcd's own milestones: {etcd:#?}");
    compare(
        &etcd,
        &sim,
        // etcd marks itself ready, then logs the publication in one goroutine
        // while another logs readiness and insecure serving: the publication line
        // races both (each order comes out of etcd), so it has no fixed place.
        &[
            ("embed: ready to serve", "embed: serving insecure"),
            (
                "etcdserver: setting up the initial",
                "etcdserver/membership: set the initial",
            ),
            (
                "etcdserver/membership: set the initial",
                "etcdserver/api: enabled capabilities",
            ),
        ],
    );
}

#[test]
fn zap_milestones_match_etcd() {
    let etcd = zap_milestones(&run(ETCD, "zap"));
    let sim = zap_milestones(&run(SIM, "zap"));
    assert_eq!(etcd.len(), 5, "etcd's own milestones: {etcd:#?}");
    compare(
        &etcd,
        &sim,
        &[
            (
                "setting up initial cluster version",
                "set initial cluster version",
            ),
            (
                "set initial cluster version",
                "enabled capabilities for version",
            ),
        ],
    );
}

#[test]
fn normalising_hides_ports_and_ids() {
    assert_eq!(
        normalise(
            "published {Name:m0 ClientURLs:[http://127.0.0.1:23791]} to cluster d1cfaf999eb97a2a"
        ),
        "published {Name:m0 ClientURLs:[http://127.0.0.1:PORT]} to cluster ID"
    );
}
