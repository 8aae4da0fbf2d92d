//! One request with a very deep key must not take a member down, now or at its
//! next start. Before the fix a recursive DELETE of a 20,000-level key overflowed a
//! worker's stack ("thread 'tokio-rt-worker' has overflowed its stack") and every
//! restart overflowed again replaying the WAL; a recursive GET overflowed from about
//! 3,500 levels, a snapshot from about 10,000.
//!
//! Runs the real `etcd-sim` binary (`--enable-v2 --snapshot-count 10`). Like etcd,
//! it takes a long request line only after the first request of a connection (the
//! first must fit in 4096 bytes), so the deep PUT is the second request.

#![cfg(not(madsim))]

use etcd_test_support::ports::free_ports;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

/// Levels of the key deleted recursively (and held by the snapshot).
const DELETE_DEPTH: usize = 20_000;

/// Levels of the key read recursively (its answer is quadratic in the depth).
const GET_DEPTH: usize = 5_000;

/// How long one exchange, or a start, may take (debug build, busy machine).
const TIMEOUT: Duration = Duration::from_secs(120);

struct Member {
    child: Child,
    args: Vec<String>,
    url: String,
}

impl Member {
    fn start(args: Vec<String>, url: String) -> Member {
        let child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start etcd-sim");
        let m = Member { child, args, url };
        m.wait_healthy();
        m
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let addr = self.url.trim_start_matches("http://");
            if let Ok(mut s) = TcpStream::connect(addr) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ =
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.contains("\"health\":\"true\"") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the member did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn restart(&mut self) {
        self.kill();
        *self = Member::start(self.args.clone(), self.url.clone());
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends requests on one connection (the last one closes it) and returns the
    /// status codes of the answers.
    fn statuses(&self, requests: &[String]) -> Vec<u16> {
        let addr = self.url.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
        let mut all = requests.join("");
        all.push_str("GET /version HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        s.write_all(all.as_bytes()).expect("send");
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        let text = String::from_utf8_lossy(&out);
        let mut codes: Vec<u16> = text
            .match_indices("HTTP/1.1 ")
            .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
            .collect();
        assert_eq!(
            codes.pop(),
            Some(200),
            "the closing request answered: {}",
            &text[..text.len().min(300)]
        );
        codes
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

fn req(method: &str, target: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
}

fn deep(prefix: &str, depth: usize) -> String {
    let mut key = format!("/v2/keys/{prefix}");
    for _ in 0..depth {
        key.push_str("/d");
    }
    key
}

#[test]
fn a_member_survives_deep_keys_and_restarts_after_them() {
    let ports = free_ports(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("http://127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    let args = vec![
        "--name=m0".to_string(),
        format!("--data-dir={}", dir.path().join("m0.etcd").display()),
        format!("--listen-client-urls={url}"),
        format!("--advertise-client-urls={url}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=m0={peer}"),
        "--enable-v2=true".to_string(),
        "--snapshot-count=10".to_string(),
    ];
    let mut m = Member::start(args, url);
    let first = req("GET", "/version");
    let put = |key: String| req("PUT", &format!("{key}?value=1"));
    assert_eq!(
        m.statuses(&[
            first.clone(),
            put(deep("del", DELETE_DEPTH)),
            put(deep("get", GET_DEPTH))
        ]),
        [200, 201, 201]
    );
    assert_eq!(
        m.statuses(&[req("GET", "/v2/keys/get?recursive=true")]),
        [200]
    );
    // A dozen small writes: snapshots of the tree with the 20,000-level key.
    let small: Vec<String> = (0..12).map(|i| put(format!("/v2/keys/small{i}"))).collect();
    assert_eq!(m.statuses(&small), [201; 12]);
    assert_eq!(
        m.statuses(&[req("DELETE", "/v2/keys/del?recursive=true")]),
        [200]
    );
    assert!(m.alive(), "the member survived the requests");
    // The restart recovers the snapshot and replays the deep writes after it.
    m.restart();
    assert_eq!(
        m.statuses(&[req("GET", "/v2/keys/del"), req("GET", "/v2/keys/small11")]),
        [404, 200]
    );
    assert_eq!(
        m.statuses(&[req("DELETE", "/v2/keys/get?recursive=true")]),
        [200]
    );
    assert!(m.alive());
}
