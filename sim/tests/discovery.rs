//! Bootstrapping clusters by `--discovery` (etcd's v2 discovery protocol), side
//! by side: etcd 3.4.23 and `etcd-sim` members, against a discovery service that
//! is a one-member etcd 3.4.23 or a one-member etcd-sim (both with the v2 API).
//!
//! Each case writes `_config/size` under a fresh token, starts three members with
//! `--discovery <service>/v2/keys/discovery/<token>`, waits until all serve, checks
//! `etcdctl member list` (names and URLs), then starts a fourth member, which
//! must exit with etcd's "cluster is full" text. Error texts for a bad size, a
//! missing token and a repeated registration are compared with etcd's; a member
//! restarted on its data dir ignores discovery; `--discovery-proxy` goes through
//! a small forward proxy run by the test. SRV records come from a DNS server the
//! test runs on loopback UDP. The `*_discovery_io_*` cases put Debian's
//! `etcd-discovery` service (`/usr/bin/discovery.etcd.io`, the server behind
//! discovery.etcd.io) in front of an etcd 3.4.23 or an etcd-sim store: a token
//! from its `/new?size=3`, members of either kind bootstrapping through it.
//! Real processes: not in sim builds.
#![cfg(not(madsim))]

use etcd_test_support::etcd::{ETCD_BIN, EtcdCluster};
use etcd_test_support::ports::free_ports;
use etcd_test_support::raw_http;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const SIM_BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");
const ETCDCTL: &str = "/usr/bin/etcdctl";
const SERVE_TIMEOUT: Duration = Duration::from_secs(40);
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// One server process started by a test; killed on drop.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    client_url: String,
    peer_url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(25).collect();
            eprintln!("--- {} log tail ---", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

impl Proc {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process exits; its status code.
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

/// Starts `bin` as member `name` with fresh ports (or `ports`) in `dir`, with
/// `extra` flags.
fn spawn_member(
    bin: &str,
    dir: &Path,
    name: &str,
    ports: Option<(u16, u16)>,
    extra: &[String],
) -> Proc {
    let (cp, pp) = ports.unwrap_or_else(|| {
        let p = free_ports(2);
        (p[0], p[1])
    });
    let client_url = format!("http://127.0.0.1:{cp}");
    let peer_url = format!("http://127.0.0.1:{pp}");
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bin)
        .args([
            format!("--name={name}"),
            format!("--data-dir={}", dir.join(format!("{name}.etcd")).display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            "--enable-v2=true".into(),
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Proc {
        name: name.to_string(),
        child,
        log,
        client_url,
        peer_url,
    }
}

/// Writes `size` as the token's `_config/size` on the service at `service`.
async fn set_size(service: &str, token: &str, size: &str) {
    let body = format!("value={size}");
    let r = raw_http::request(
        service,
        "PUT",
        &format!("/v2/keys/discovery/{token}/_config/size"),
        Some(("application/x-www-form-urlencoded", body.as_bytes())),
        Duration::from_secs(5),
    )
    .await
    .expect("set size");
    assert!(r.status == 200 || r.status == 201, "size: {}", r.text());
}

/// Waits until `GET /health` on the member answers `"health":"true"`.
async fn wait_serving(p: &Proc) {
    let start = Instant::now();
    loop {
        if let Ok(r) = raw_http::get(&p.client_url, "/health", Duration::from_secs(2)).await
            && r.text().contains("true")
        {
            return;
        }
        assert!(
            start.elapsed() < SERVE_TIMEOUT,
            "{} did not serve within {SERVE_TIMEOUT:?}",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `etcdctl member list` (v3) against `endpoint`: (name, peer URL, client URL)
/// of each member, sorted.
fn member_list(endpoint: &str) -> Vec<(String, String, String)> {
    let out = Command::new(ETCDCTL)
        .env("ETCDCTL_API", "3")
        .args(["--endpoints", endpoint, "member", "list"])
        .output()
        .expect("etcdctl");
    assert!(out.status.success(), "etcdctl: {:?}", out);
    let mut rows: Vec<(String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(", ").collect();
            assert!(f.len() >= 5, "member list line {l:?}");
            (f[2].to_string(), f[3].to_string(), f[4].to_string())
        })
        .collect();
    rows.sort();
    rows
}

/// A fresh token name.
fn token(tag: &str) -> String {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The discovery service: a one-member cluster of `bin` (v2 on).
async fn service(bin: &str) -> EtcdCluster {
    EtcdCluster::start_bin_with_flags(Path::new(bin), 1, &["--enable-v2=true"]).await
}

/// Three `member_bin` members discover each other through `service_bin`'s
/// service; a fourth finds the cluster full.
async fn three_members_and_a_fourth(service_bin: &str, member_bin: &str) {
    let svc = service(service_bin).await;
    let base = svc.client_urls()[0].clone();
    let tok = token("three");
    set_size(&base, &tok, "3").await;
    let durl = format!("{base}/v2/keys/discovery/{tok}");
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = vec![format!("--discovery={durl}")];
    let members: Vec<Proc> = (0..3)
        .map(|i| spawn_member(member_bin, dir.path(), &format!("m{i}"), None, &flags))
        .collect();
    for m in &members {
        wait_serving(m).await;
    }
    let want: Vec<(String, String, String)> = members
        .iter()
        .map(|m| (m.name.clone(), m.peer_url.clone(), m.client_url.clone()))
        .collect();
    for m in &members {
        assert_eq!(
            member_list(&m.client_url),
            want,
            "member list on {}",
            m.name
        );
    }
    // The registrations: three keys under the token (`_config` is hidden).
    let r = raw_http::get(
        &base,
        &format!("/v2/keys/discovery/{tok}"),
        Duration::from_secs(5),
    )
    .await
    .expect("token dir");
    let nodes = r.json()["node"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(nodes.len(), 3, "{}", r.text());

    let mut fourth = spawn_member(
        member_bin,
        dir.path(),
        "m3",
        None,
        &[
            format!("--discovery={durl}"),
            "--discovery-fallback=exit".into(),
        ],
    );
    assert_eq!(fourth.wait_exit(EXIT_TIMEOUT), Some(1), "{}", fourth.log());
    assert!(
        fourth
            .log()
            .contains("failed to join discovery cluster (discovery: cluster is full)"),
        "{}",
        fourth.log()
    );
    if member_bin == SIM_BIN {
        // etcd starts a v2 proxy for the default fallback; etcd-sim has none and
        // says so.
        let mut fifth = spawn_member(
            member_bin,
            dir.path(),
            "m4",
            None,
            &[format!("--discovery={durl}")],
        );
        assert_eq!(fifth.wait_exit(EXIT_TIMEOUT), Some(1), "{}", fifth.log());
        assert!(
            fifth.log().contains("etcd-sim has no proxy mode"),
            "{}",
            fifth.log()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_members_through_an_etcd_service() {
    three_members_and_a_fourth(ETCD_BIN, ETCD_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_members_through_a_sim_service() {
    three_members_and_a_fourth(SIM_BIN, SIM_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_members_through_an_etcd_service() {
    three_members_and_a_fourth(ETCD_BIN, SIM_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_members_through_a_sim_service() {
    three_members_and_a_fourth(SIM_BIN, ETCD_BIN).await;
}

/// etcd's failure text in `log`: from "failed to join discovery cluster (" to
/// its closing parenthesis (ours goes on with etcd's advice on the same line).
fn failure_line(log: &str) -> String {
    let Some(start) = log.find("failed to join discovery cluster (") else {
        return String::new();
    };
    let s = &log[start..];
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return s[..=i].to_string();
                }
            }
            '\n' => break,
            _ => {}
        }
    }
    s.lines().next().unwrap_or("").to_string()
}

/// Runs one member of `bin` against `durl` and returns its exit status and
/// failure line.
async fn failing_member(
    bin: &str,
    name: &str,
    ports: Option<(u16, u16)>,
    flags: &[String],
) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = spawn_member(bin, dir.path(), name, ports, flags);
    let code = p.wait_exit(EXIT_TIMEOUT);
    let line = failure_line(&p.log());
    (code, line)
}

/// Bad size, missing token, a repeated registration: exit status 1 and etcd's
/// words, for both servers against the same (etcd) service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_failures_read_as_etcds() {
    let svc = service(ETCD_BIN).await;
    let base = svc.client_urls()[0].clone();
    let bad = token("bad");
    set_size(&base, &bad, "abc").await;
    // The id is derived from the peer URL and the discovery URL: registering the
    // same peer URL twice under one token is a duplicate id.
    let dup = token("dup");
    set_size(&base, &dup, "2").await;
    let dup_url = format!("{base}/v2/keys/discovery/{dup}");
    let dup_ports = {
        let p = free_ports(2);
        (p[0], p[1])
    };
    let pre = raw_http::request(
        &base,
        "PUT",
        &format!(
            "/v2/keys/discovery/{dup}/{:x}?prevExist=false",
            etcd_sim::member::member_id(&format!("http://127.0.0.1:{}", dup_ports.1), &dup_url)
        ),
        Some((
            "application/x-www-form-urlencoded",
            b"value=x=http://127.0.0.1:1",
        )),
        Duration::from_secs(5),
    )
    .await
    .expect("pre-register");
    assert_eq!(pre.status, 201, "{}", pre.text());

    for bin in [ETCD_BIN, SIM_BIN] {
        let durl = |t: &str| format!("--discovery={base}/v2/keys/discovery/{t}");
        let (code, line) = failing_member(bin, "b", None, &[durl(&bad)]).await;
        assert_eq!(
            (code, line.as_str()),
            (
                Some(1),
                "failed to join discovery cluster (discovery: size key is bad)"
            ),
            "{bin}"
        );
        let missing = token("missing");
        let (code, line) = failing_member(bin, "n", None, &[durl(&missing)]).await;
        assert_eq!(code, Some(1), "{bin}");
        assert!(
            line.starts_with(&format!(
                "failed to join discovery cluster (100: Key not found (/discovery/{missing}) ["
            )),
            "{bin}: {line}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = spawn_member(bin, dir.path(), "d", Some(dup_ports), &[durl(&dup)]);
        assert_eq!(p.wait_exit(EXIT_TIMEOUT), Some(1), "{bin}");
        let want = format!(
            "member \"d\" has previously registered with discovery service token ({dup_url})."
        );
        assert!(p.log().contains(&want), "{bin}: {}", p.log());
    }
}

/// A member restarted on its data dir does not register again (etcd ignores the
/// discovery URL once a log exists), and a one-member cluster still serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_member_ignores_discovery() {
    let svc = service(SIM_BIN).await;
    let base = svc.client_urls()[0].clone();
    let tok = token("restart");
    set_size(&base, &tok, "1").await;
    let durl = format!("{base}/v2/keys/discovery/{tok}");
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = vec![format!("--discovery={durl}")];
    let first = spawn_member(SIM_BIN, dir.path(), "solo", None, &flags);
    wait_serving(&first).await;
    let ports = (port_of(&first.client_url), port_of(&first.peer_url));
    drop(first);
    let again = spawn_member(SIM_BIN, dir.path(), "solo", Some(ports), &flags);
    wait_serving(&again).await;
    assert!(
        again.log().contains("discovery token ignored"),
        "{}",
        again.log()
    );
    assert_eq!(member_list(&again.client_url).len(), 1);
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// A forward HTTP proxy on loopback that counts the requests it forwarded
/// (absolute-form `GET http://host:port/path`, one request per connection).
async fn forward_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("addr").to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let _ = proxy_one(conn, seen).await;
            });
        }
    });
    (addr, count)
}

async fn proxy_one(conn: TcpStream, seen: Arc<AtomicUsize>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut parts = request_line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    let Some(rest) = target.strip_prefix("http://") else {
        let mut conn = reader.into_inner();
        conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    seen.fetch_add(1, Ordering::SeqCst);
    let mut head = format!("{method} {path} {version}\r\n");
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("proxy-connection:") || lower.starts_with("connection:") {
            continue;
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body).await?;
    let mut upstream = TcpStream::connect(host).await?;
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&body).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    let mut conn = reader.into_inner();
    conn.write_all(&answer).await?;
    conn.shutdown().await?;
    Ok(())
}

/// `--discovery-proxy`: the discovery requests of both servers go through the
/// proxy, and their one-member clusters form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_through_a_proxy() {
    let svc = service(ETCD_BIN).await;
    let base = svc.client_urls()[0].clone();
    let (proxy, count) = forward_proxy().await;
    for (bin, proxy_flag) in [
        (ETCD_BIN, proxy.clone()),
        (SIM_BIN, format!("http://{proxy}")),
    ] {
        let tok = token("proxy");
        set_size(&base, &tok, "1").await;
        let before = count.load(Ordering::SeqCst);
        let dir = tempfile::tempdir().expect("tempdir");
        let m = spawn_member(
            bin,
            dir.path(),
            "p0",
            None,
            &[
                format!("--discovery={base}/v2/keys/discovery/{tok}"),
                format!("--discovery-proxy={proxy_flag}"),
            ],
        );
        wait_serving(&m).await;
        assert_eq!(member_list(&m.client_url).len(), 1, "{bin}");
        let through = count.load(Ordering::SeqCst) - before;
        // size, token dir, create, the create's watch, size and dir again: 6.
        assert!(through >= 6, "{bin}: {through} requests through the proxy");
    }
}

/// A tiny authoritative DNS server on loopback UDP: SRV and A records, NXDOMAIN
/// for other names, empty answers for other types of known names.
struct DnsRecords {
    srv: Vec<(String, Vec<(String, u16)>)>,
    a: Vec<(String, [u8; 4])>,
}

async fn dns_server(records: DnsRecords) -> String {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind dns");
    let addr = sock.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if let Some(reply) = dns_answer(&records, &buf[..n]) {
                let _ = sock.send_to(&reply, from).await;
            }
        }
    });
    addr
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn dns_answer(records: &DnsRecords, q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    // The question name, type, class.
    let mut i = 12;
    let mut labels = Vec::new();
    while *q.get(i)? != 0 {
        let len = usize::from(q[i]);
        labels.push(String::from_utf8_lossy(q.get(i + 1..i + 1 + len)?).to_ascii_lowercase());
        i += 1 + len;
    }
    let qtype = u16::from_be_bytes([*q.get(i + 1)?, *q.get(i + 2)?]);
    let question_end = i + 5;
    let name = labels.join(".");
    let mut answers: Vec<(u16, Vec<u8>)> = Vec::new();
    let srv = records
        .srv
        .iter()
        .find(|(n, _)| n.trim_end_matches('.') == name);
    let a = records
        .a
        .iter()
        .find(|(n, _)| n.trim_end_matches('.') == name);
    if qtype == 33 {
        for (target, port) in srv.map(|(_, v)| v.as_slice()).unwrap_or_default() {
            let mut rdata = vec![0, 10, 0, 10];
            rdata.extend_from_slice(&port.to_be_bytes());
            encode_name(target, &mut rdata);
            answers.push((33, rdata));
        }
    }
    if qtype == 1
        && let Some((_, ip)) = a
    {
        answers.push((1, ip.to_vec()));
    }
    let known = srv.is_some() || a.is_some();
    let mut out = Vec::new();
    out.extend_from_slice(&q[0..2]);
    let rd = q[2] & 0x01;
    out.push(0x84 | rd); // QR, AA, RD as asked
    out.push(if known { 0x00 } else { 0x03 }); // NOERROR or NXDOMAIN
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(q.get(12..question_end)?);
    for (kind, rdata) in answers {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

/// Starts `bin` like [`spawn_member`], with the DNS test server in its
/// environment.
fn spawn_with_dns(
    bin: &str,
    dir: &Path,
    name: &str,
    ports: (u16, u16),
    extra: &[String],
    dns: &str,
) -> Proc {
    let mut p = spawn_member_env(
        bin,
        dir,
        name,
        ports,
        extra,
        &[("ETCDSIM_TEST_DNS_SERVER", dns)],
    );
    p.name = name.to_string();
    p
}

fn spawn_member_env(
    bin: &str,
    dir: &Path,
    name: &str,
    (cp, pp): (u16, u16),
    extra: &[String],
    env: &[(&str, &str)],
) -> Proc {
    let client_url = format!("http://127.0.0.1:{cp}");
    let peer_url = format!("http://127.0.0.1:{pp}");
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(bin)
        .args([
            format!("--name={name}"),
            format!("--data-dir={}", dir.join(format!("{name}.etcd")).display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
        ])
        .args(extra)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Proc {
        name: name.to_string(),
        child,
        log,
        client_url,
        peer_url,
    }
}

/// `--discovery-srv`: three etcd-sim members find each other through
/// `_etcd-server-x._tcp.etcd.test` records served by the test's DNS server; a
/// member missing from the records fails with etcd's text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_members_through_dns_srv() {
    let ports = free_ports(6);
    let peers: Vec<(String, u16)> = (0..3)
        .map(|i| (format!("m{i}.etcd.test."), ports[2 * i + 1]))
        .collect();
    let dns = dns_server(DnsRecords {
        srv: vec![("_etcd-server-x._tcp.etcd.test".into(), peers.clone())],
        a: peers
            .iter()
            .map(|(n, _)| (n.clone(), [127, 0, 0, 1]))
            .collect(),
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = vec![
        "--discovery-srv=etcd.test".to_string(),
        "--discovery-srv-name=x".to_string(),
    ];
    let members: Vec<Proc> = (0..3)
        .map(|i| {
            spawn_with_dns(
                SIM_BIN,
                dir.path(),
                &format!("m{i}"),
                (ports[2 * i], ports[2 * i + 1]),
                &flags,
                &dns,
            )
        })
        .collect();
    for m in &members {
        wait_serving(m).await;
    }
    let want: Vec<(String, String, String)> = members
        .iter()
        .map(|m| (m.name.clone(), m.peer_url.clone(), m.client_url.clone()))
        .collect();
    assert_eq!(member_list(&members[0].client_url), want);

    let stray = free_ports(2);
    let mut p = spawn_with_dns(
        SIM_BIN,
        dir.path(),
        "m9",
        (stray[0], stray[1]),
        &flags,
        &dns,
    );
    assert_eq!(p.wait_exit(EXIT_TIMEOUT), Some(1), "{}", p.log());
    assert!(
        p.log().contains(
            "error setting up initial cluster: cannot find local etcd member \"m9\" in SRV records"
        ),
        "{}",
        p.log()
    );
}

/// Debian's `etcd-discovery` package: the discovery.etcd.io service
/// (`/usr/bin/discovery.etcd.io`), which mints tokens at `/new?size=N` and
/// proxies `/<token>/...` to its own etcd's v2 keys under `/_etcd/registry`.
const DISCOVERY_IO_BIN: &str = "/usr/bin/discovery.etcd.io";

/// A running discovery.etcd.io, killed on drop.
struct DiscoveryIo {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for DiscoveryIo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- discovery.etcd.io log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// Starts discovery.etcd.io on a free loopback port over the etcd at
/// `store` and waits until `/health` answers 200.
async fn discovery_io(store: &str, dir: &Path) -> DiscoveryIo {
    assert!(
        Path::new(DISCOVERY_IO_BIN).is_file(),
        "{DISCOVERY_IO_BIN} is missing: apt-get install etcd-discovery"
    );
    let port = free_ports(1)[0];
    let url = format!("http://127.0.0.1:{port}");
    let log = dir.join("discovery-io.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(DISCOVERY_IO_BIN)
        .args([
            format!("--addr=127.0.0.1:{port}"),
            format!("--etcd={store}"),
            format!("--host={url}"),
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {DISCOVERY_IO_BIN}: {e}"));
    let d = DiscoveryIo { child, url, log };
    let start = Instant::now();
    loop {
        if let Ok(r) = raw_http::get(&d.url, "/health", Duration::from_secs(2)).await
            && r.status == 200
        {
            return d;
        }
        assert!(
            start.elapsed() < SERVE_TIMEOUT,
            "discovery.etcd.io did not serve"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Three `member_bin` members bootstrap through discovery.etcd.io backed by a
/// one-member `store_bin` cluster: a token from `/new?size=3`, the members
/// find each other, the registrations are in the store under
/// `/_etcd/registry/<token>`, and a fourth member finds the cluster full.
async fn through_discovery_io(store_bin: &str, member_bin: &str) {
    let store = service(store_bin).await;
    let store_url = store.client_urls()[0].clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let disc = discovery_io(&store_url, dir.path()).await;
    let r = raw_http::get(&disc.url, "/new?size=3", Duration::from_secs(5))
        .await
        .expect("/new");
    assert_eq!(r.status, 200, "/new: {}", r.text());
    let durl = r.text().trim().to_string();
    let token = durl
        .strip_prefix(&format!("{}/", disc.url))
        .unwrap_or_else(|| panic!("a token URL of the service: {durl}"))
        .to_string();
    assert_eq!(token.len(), 32, "{durl}");
    let size = raw_http::get(
        &store_url,
        &format!("/v2/keys/_etcd/registry/{token}/_config/size"),
        Duration::from_secs(5),
    )
    .await
    .expect("size");
    assert_eq!(size.json()["node"]["value"], "3", "{}", size.text());

    let flags = vec![format!("--discovery={durl}")];
    let members: Vec<Proc> = (0..3)
        .map(|i| spawn_member(member_bin, dir.path(), &format!("m{i}"), None, &flags))
        .collect();
    for m in &members {
        wait_serving(m).await;
    }
    let want: Vec<(String, String, String)> = members
        .iter()
        .map(|m| (m.name.clone(), m.peer_url.clone(), m.client_url.clone()))
        .collect();
    for m in &members {
        assert_eq!(
            member_list(&m.client_url),
            want,
            "member list on {}",
            m.name
        );
    }
    // Through the service as through the store: three registrations.
    for (base, path) in [
        (disc.url.as_str(), format!("/{token}")),
        (
            store_url.as_str(),
            format!("/v2/keys/_etcd/registry/{token}"),
        ),
    ] {
        let r = raw_http::get(base, &path, Duration::from_secs(5))
            .await
            .expect("token dir");
        let nodes = r.json()["node"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(nodes.len(), 3, "{base}{path}: {}", r.text());
    }
    let mut fourth = spawn_member(
        member_bin,
        dir.path(),
        "m3",
        None,
        &[
            format!("--discovery={durl}"),
            "--discovery-fallback=exit".into(),
        ],
    );
    assert_eq!(fourth.wait_exit(EXIT_TIMEOUT), Some(1), "{}", fourth.log());
    assert!(
        fourth
            .log()
            .contains("failed to join discovery cluster (discovery: cluster is full)"),
        "{}",
        fourth.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_members_through_discovery_io_on_etcd() {
    through_discovery_io(ETCD_BIN, ETCD_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_members_through_discovery_io_on_etcd() {
    through_discovery_io(ETCD_BIN, SIM_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_members_through_discovery_io_on_sim() {
    through_discovery_io(SIM_BIN, ETCD_BIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_members_through_discovery_io_on_sim() {
    through_discovery_io(SIM_BIN, SIM_BIN).await;
}
