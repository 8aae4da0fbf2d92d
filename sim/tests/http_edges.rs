//! HTTP edge cases, side by side: each case sends the same raw bytes over TCP to
//! etcd 3.4.23 and to the `etcd-sim` binary (both one-member clusters with
//! `--enable-v2`, started by the harness of `tests/support/etcd.rs`) and compares the
//! answers: the same status line, the same body, and for the answers Go's server
//! writes before any handler runs, the same bytes.
//!
//! Needs `/usr/bin/etcd` (`scripts/install-deps.sh`).

#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

/// How long one exchange may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `request` on a new connection and reads until the server closes it (every
/// case ends with a request that closes the connection, or with a refusal).
fn exchange(url: &str, request: &[u8]) -> Vec<u8> {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    // The server may close before reading everything (a refusal): ignore the error.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A reset after a refusal ends the answer like a close.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            // No answer and no close: the difference shows in the comparison.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                out.extend_from_slice(b"<no close>");
                break;
            }
            Err(e) => panic!(
                "reading from {addr}: {e} after {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    out
}

/// One response: status line, headers (lowercased names, sorted), body.
type Answer = (String, Vec<(String, String)>, String);

/// Each response of a raw answer: status line and body, headers that differ between
/// the two servers (dates, cluster ids, raft indices) left out, chunked bodies
/// decoded.
fn responses(raw: &[u8]) -> Vec<Answer> {
    let mut rest = raw;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            out.push((
                String::from_utf8_lossy(rest).into_owned(),
                vec![],
                String::new(),
            ));
            break;
        };
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 4..];
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        let (mut length, mut chunked) = (None, false);
        for l in lines {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            let (k, v) = (k.to_ascii_lowercase(), v.trim().to_string());
            match k.as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v == "chunked",
                _ => {}
            }
            if !matches!(
                k.as_str(),
                "date"
                    | "x-etcd-cluster-id"
                    | "x-raft-index"
                    | "x-raft-term"
                    | "content-length"
                    | "transfer-encoding"
            ) {
                headers.push((k, v));
            }
        }
        let body = if let Some(n) = length {
            let n = n.min(rest.len());
            let b = rest[..n].to_vec();
            rest = &rest[n..];
            b
        } else if chunked {
            let mut b = Vec::new();
            while let Some(nl) = rest.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16)
                    .unwrap_or(0);
                rest = &rest[nl + 2..];
                if size == 0 {
                    rest = rest.get(2..).unwrap_or(&[]);
                    break;
                }
                let n = size.min(rest.len());
                b.extend_from_slice(&rest[..n]);
                rest = rest.get(n + 2..).unwrap_or(&[]);
            }
            b
        } else {
            // Go's raw error answers: the body runs to the close.
            let b = rest.to_vec();
            rest = &[];
            b
        };
        headers.sort();
        out.push((status, headers, String::from_utf8_lossy(&body).into_owned()));
    }
    out
}

/// One case: a name, the bytes, and whether Go's raw answer must match byte for
/// byte (answers written before any handler: no Date, no cluster id).
struct Case {
    name: &'static str,
    request: Vec<u8>,
    exact: bool,
}

fn case(name: &'static str, request: impl Into<Vec<u8>>, exact: bool) -> Case {
    Case {
        name,
        request: request.into(),
        exact,
    }
}

fn cases() -> Vec<Case> {
    let many_headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let first_line = |len: usize| {
        let pad = len - "GET /v2/keys/a HTTP/1.1\r\n".len();
        format!(
            "GET /v2/keys/a{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "x".repeat(pad)
        )
    };
    let head_of = |total: usize| {
        let pre = "GET /v2/keys/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Big: ";
        format!("{pre}{}\r\n\r\n", "a".repeat(total - pre.len() - 4))
    };
    let deep: Vec<&str> = vec!["d"; 3000];
    vec![
        case(
            "no Host in HTTP/1.1",
            "GET /v2/keys/ HTTP/1.1\r\nConnection: close\r\n\r\n",
            true,
        ),
        case(
            "two Host headers",
            "GET /v2/keys/ HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            true,
        ),
        case(
            "no Host in HTTP/1.0",
            "GET /v2/keys/ HTTP/1.0\r\n\r\n",
            false,
        ),
        case(
            "malformed chunked form body",
            "PUT /v2/keys/c HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nvalue=1\r\n0\r\n\r\n",
            false,
        ),
        case(
            "malformed chunked members body",
            "POST /v2/members HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            false,
        ),
        case(
            "good chunked form body",
            "PUT /v2/keys/c HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n7\r\nvalue=1\r\n0\r\n\r\n",
            false,
        ),
        case(
            "Transfer-Encoding: gzip",
            "PUT /v2/keys/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
            true,
        ),
        case(
            "Transfer-Encoding: gzip, chunked",
            "PUT /v2/keys/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            true,
        ),
        case(
            "two chunked codings",
            "PUT /v2/keys/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            true,
        ),
        case(
            "200 headers",
            format!("GET /v2/keys/ HTTP/1.1\r\nHost: a\r\n{many_headers}Connection: close\r\n\r\n"),
            false,
        ),
        case(
            "head of 1 MiB + 4096 bytes",
            head_of((1 << 20) + 4096),
            false,
        ),
        case("head one byte longer", head_of((1 << 20) + 4097), true),
        case("first line of 4096 bytes", first_line(4096), false),
        case("first line of 4097 bytes", first_line(4097), true),
        case(
            "a long line on the second request",
            format!(
                "GET /version HTTP/1.1\r\nHost: a\r\n\r\nPUT /v2/keys/deep/{}?value=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\nGET /v2/keys/deep?recursive=true HTTP/1.1\r\nHost: a\r\n\r\nDELETE /v2/keys/deep?recursive=true HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                deep.join("/")
            ),
            false,
        ),
    ]
}

/// Indices differ between runs only by what was written before: both servers get
/// the same cases in the same order, so even `X-Etcd-Index` and the JSON indices
/// must agree.
#[test]
fn http_edge_cases_match_etcd() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let etcd = rt.block_on(EtcdCluster::start(1));
    let sim = rt.block_on(EtcdCluster::start_with(Path::new(BIN), 1));
    let (etcd_url, sim_url) = (etcd.client_urls()[0].clone(), sim.client_urls()[0].clone());
    let mut failures = Vec::new();
    for c in cases() {
        let want = exchange(&etcd_url, &c.request);
        let got = exchange(&sim_url, &c.request);
        let same = if c.exact {
            want == got
        } else {
            responses(&want) == responses(&got)
        };
        if !same {
            failures.push(format!(
                "{}:\n  etcd: {:?}\n  sim:  {:?}",
                c.name,
                String::from_utf8_lossy(&want[..want.len().min(600)]),
                String::from_utf8_lossy(&got[..got.len().min(600)])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "answers differ:\n{}",
        failures.join("\n")
    );
}
