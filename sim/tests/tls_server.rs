//! TLS on the client port, etcd 3.4.23 and the `etcd-sim` binary side by side:
//! the same certificates (made by the test, [`TestPki`]), the same flags, the
//! same commands (`etcdctl` v3 and v2, `curl`, `openssl s_client`), and the
//! same expectations for both. Failures are compared by class (the command
//! fails, or the server refuses with "permission denied"), not by Go's text.

#![cfg(not(madsim))]

use etcd_test_support::etcd_bin::check_binary;
use etcd_test_support::ports::free_ports;
use etcd_test_support::tls::TestPki;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SIM: &str = env!("CARGO_BIN_EXE_etcd-sim");
const ETCD: &str = "/usr/bin/etcd";

/// Both servers, etcd first. etcd missing: the test says so and stops.
fn servers() -> Vec<&'static str> {
    if let Err(e) = check_binary(Path::new(ETCD)) {
        panic!("{e}");
    }
    vec![ETCD, SIM]
}

/// A server process on a free loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    bin: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `bin` with its client URL of `scheme` and `flags`.
    fn start(bin: &'static str, dir: &Path, scheme: &str, flags: &[String]) -> Server {
        let ports = free_ports(2);
        let (client, peer) = (
            format!("{scheme}://127.0.0.1:{}", ports[0]),
            format!("http://127.0.0.1:{}", ports[1]),
        );
        let name = if bin == ETCD { "etcd" } else { "sim" };
        let log = dir.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin)
            .arg(format!("--name={name}"))
            .arg(format!(
                "--data-dir={}",
                dir.join(format!("{name}.etcd")).display()
            ))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster={name}={peer}"))
            .arg("--enable-v2=true")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .args(flags)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("{bin}: {e}"));
        Server {
            child,
            port: ports[0],
            log,
            bin,
        }
    }

    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ctl` (the client's TLS) finds the endpoint healthy.
    fn wait_ready(&mut self, ctl: &Ctl) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if ctl.v3(self, &["endpoint", "health"]).status.success() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.bin, self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready:\n{}",
                self.bin,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Whether the process is still running.
    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// How a client speaks to the server: its CA and certificate, or none.
#[derive(Clone, Debug, Default)]
struct Ctl {
    scheme: &'static str,
    ca: Option<PathBuf>,
    cert: Option<(PathBuf, PathBuf)>,
    insecure: bool,
    user: Option<String>,
}

impl Ctl {
    fn tls(pki: &TestPki) -> Ctl {
        Ctl {
            scheme: "https",
            ca: Some(pki.ca.clone()),
            cert: Some((pki.client_cert.clone(), pki.client_key.clone())),
            ..Ctl::default()
        }
    }

    fn plain() -> Ctl {
        Ctl {
            scheme: "http",
            ..Ctl::default()
        }
    }

    fn without_cert(&self) -> Ctl {
        Ctl {
            cert: None,
            ..self.clone()
        }
    }

    fn with_cert(&self, cert: &Path, key: &Path) -> Ctl {
        Ctl {
            cert: Some((cert.to_path_buf(), key.to_path_buf())),
            ..self.clone()
        }
    }

    fn as_user(&self, user: &str) -> Ctl {
        Ctl {
            user: Some(user.to_string()),
            ..self.clone()
        }
    }

    /// `ETCDCTL_API=3 etcdctl` with this TLS.
    fn v3(&self, s: &Server, args: &[&str]) -> Output {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", s.url(self.scheme)))
            .arg("--dial-timeout=2s")
            .arg("--command-timeout=5s");
        if let Some(ca) = &self.ca {
            cmd.arg(format!("--cacert={}", ca.display()));
        }
        if let Some((c, k)) = &self.cert {
            cmd.arg(format!("--cert={}", c.display()))
                .arg(format!("--key={}", k.display()));
        }
        if self.insecure {
            // Without TLS files etcdctl dials plaintext unless told otherwise.
            cmd.arg("--insecure-skip-tls-verify")
                .arg("--insecure-transport=false");
        }
        if let Some(u) = &self.user {
            cmd.arg(format!("--user={u}"));
        }
        cmd.args(args).output().expect("etcdctl")
    }

    /// `ETCDCTL_API=2 etcdctl` with this TLS.
    fn v2(&self, s: &Server, args: &[&str]) -> Output {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "2")
            .arg(format!("--endpoints={}", s.url(self.scheme)))
            .arg("--timeout=3s")
            .arg("--total-timeout=6s");
        if let Some(ca) = &self.ca {
            cmd.arg(format!("--ca-file={}", ca.display()));
        }
        if let Some((c, k)) = &self.cert {
            cmd.arg(format!("--cert-file={}", c.display()))
                .arg(format!("--key-file={}", k.display()));
        }
        cmd.args(args).output().expect("etcdctl")
    }

    /// `curl` of `path` with this TLS (`extra`: method, data).
    fn curl(&self, s: &Server, path: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "5"]);
        if let Some(ca) = &self.ca {
            cmd.arg("--cacert").arg(ca);
        }
        if let Some((c, k)) = &self.cert {
            cmd.arg("--cert").arg(c).arg("--key").arg(k);
        }
        if self.insecure {
            cmd.arg("-k");
        }
        cmd.args(extra)
            .arg(format!("{}{path}", s.url(self.scheme)))
            .output()
            .expect("curl")
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {}; stdout {:?}; stderr {:?}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `o` succeeded.
#[track_caller]
fn ok(bin: &str, what: &str, o: &Output) -> String {
    assert!(o.status.success(), "{bin}: {what}: {}", text(o));
    stdout(o)
}

/// `o` failed.
#[track_caller]
fn fails(bin: &str, what: &str, o: &Output) {
    assert!(
        !o.status.success(),
        "{bin}: {what} should fail: {}",
        text(o)
    );
}

/// `o` failed with etcd's "permission denied".
#[track_caller]
fn denied(bin: &str, what: &str, o: &Output) {
    fails(bin, what, o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("permission denied"),
        "{bin}: {what}: {}",
        text(o)
    );
}

fn tls_flags(pki: &TestPki, client_cert_auth: bool) -> Vec<String> {
    let mut f = vec![
        format!("--cert-file={}", pki.server_cert.display()),
        format!("--key-file={}", pki.server_key.display()),
        format!("--trusted-ca-file={}", pki.ca.display()),
    ];
    if client_cert_auth {
        f.push("--client-cert-auth".into());
    }
    f
}

#[test]
fn client_certificates_are_required_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "https", &tls_flags(&pki, true));
        let ctl = Ctl::tls(&pki);
        s.wait_ready(&ctl);
        // v3 with the client certificate.
        assert_eq!(ok(bin, "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
        assert_eq!(ok(bin, "get", &ctl.v3(&s, &["get", "k"])), "k\nv\n");
        let health = ctl.v3(&s, &["endpoint", "health"]);
        ok(bin, "health", &health);
        // etcdctl 3.4 prints the health line on stderr.
        assert!(
            text(&health).contains("is healthy"),
            "{bin}: {}",
            text(&health)
        );
        // Lock (etcd-sim runs it through an in-process client of its own API).
        let locked = ok(bin, "lock", &ctl.v3(&s, &["lock", "l1", "echo", "locked"]));
        assert!(locked.contains("locked"), "{bin}: {locked}");
        // v2 with it.
        assert_eq!(ok(bin, "v2 set", &ctl.v2(&s, &["set", "/d/a", "1"])), "1\n");
        assert_eq!(ok(bin, "v2 get", &ctl.v2(&s, &["get", "/d/a"])), "1\n");
        // curl: /health over HTTP/2 (ALPN), /v2/keys over HTTP/1.1 and HTTP/2.
        let h = ok(bin, "curl health", &ctl.curl(&s, "/health", &[]));
        assert!(h.contains(r#""health":"true""#), "{bin}: {h}");
        let put = ok(
            bin,
            "curl v2 put",
            &ctl.curl(&s, "/v2/keys/c", &["--http1.1", "-XPUT", "-d", "value=x"]),
        );
        assert!(put.contains(r#""value":"x""#), "{bin}: {put}");
        let get = ok(bin, "curl v2 get", &ctl.curl(&s, "/v2/keys/c", &[]));
        assert!(get.contains(r#""action":"get""#), "{bin}: {get}");
        // No certificate, or one of another CA: refused by both APIs and curl.
        for (what, c) in [
            ("no cert", ctl.without_cert()),
            (
                "other CA",
                ctl.with_cert(&pki.other_client_cert, &pki.other_client_key),
            ),
        ] {
            fails(bin, &format!("{what}: v3 get"), &c.v3(&s, &["get", "k"]));
            fails(bin, &format!("{what}: v2 get"), &c.v2(&s, &["get", "/d/a"]));
            fails(bin, &format!("{what}: curl"), &c.curl(&s, "/health", &[]));
        }
        // A plaintext client gets an error; the server goes on serving.
        fails(
            bin,
            "plaintext curl",
            &Ctl::plain().curl(&s, "/health", &[]),
        );
        fails(
            bin,
            "plaintext etcdctl",
            &Ctl::plain().v3(&s, &["get", "k"]),
        );
        assert_eq!(ok(bin, "get after", &ctl.v3(&s, &["get", "k"])), "k\nv\n");
        assert!(s.running(), "{bin} stopped");
    }
}

#[test]
fn a_trusted_ca_alone_requires_a_certificate_but_names_no_user() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "https", &tls_flags(&pki, false));
        let ctl = Ctl::tls(&pki);
        s.wait_ready(&ctl);
        assert_eq!(ok(bin, "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
        fails(bin, "no cert", &ctl.without_cert().v3(&s, &["get", "k"]));
    }
}

#[test]
fn auto_tls_serves_a_self_signed_certificate() {
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "https", &["--auto-tls".to_string()]);
        let ctl = Ctl {
            scheme: "https",
            insecure: true,
            ..Ctl::default()
        };
        s.wait_ready(&ctl);
        assert_eq!(ok(bin, "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
        assert_eq!(ok(bin, "get", &ctl.v3(&s, &["get", "k"])), "k\nv\n");
        let h = ok(bin, "curl -k", &ctl.curl(&s, "/health", &[]));
        assert!(h.contains(r#""health":"true""#), "{bin}: {h}");
        // Verified against no CA, the self-signed certificate is refused.
        let strict = Ctl {
            insecure: false,
            ..ctl.clone()
        };
        fails(bin, "verified", &strict.curl(&s, "/health", &[]));
        let fixtures = run
            .path()
            .join(if bin == ETCD { "etcd.etcd" } else { "sim.etcd" });
        assert!(
            fixtures.join("fixtures/client/cert.pem").is_file(),
            "{bin}: no fixtures/client/cert.pem"
        );
    }
}

#[test]
fn the_certificate_common_name_is_the_v3_user() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    let (nobody_cert, nobody_key) = pki.client_with_cn(dir.path(), "nobody");
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "https", &tls_flags(&pki, true));
        let ctl = Ctl::tls(&pki);
        s.wait_ready(&ctl);
        for args in [
            &["user", "add", "root", "--new-user-password=rootpw"][..],
            &["role", "add", "app"],
            &[
                "role",
                "grant-permission",
                "--prefix=true",
                "app",
                "readwrite",
                "app/",
            ],
            &["user", "add", "client", "--new-user-password=clientpw"],
            &["user", "grant-role", "client", "app"],
            &["auth", "enable"],
        ] {
            ok(bin, &args.join(" "), &ctl.v3(&s, args));
        }
        // The certificate (CN "client"), no token: the user client.
        assert_eq!(
            ok(bin, "put in range", &ctl.v3(&s, &["put", "app/a", "1"])),
            "OK\n"
        );
        assert_eq!(
            ok(bin, "get in range", &ctl.v3(&s, &["get", "app/a"])),
            "app/a\n1\n"
        );
        denied(bin, "put outside", &ctl.v3(&s, &["put", "other", "1"]));
        denied(bin, "get outside", &ctl.v3(&s, &["get", "other"]));
        // A token wins over the certificate: root may write anywhere.
        let root = ctl.as_user("root:rootpw");
        assert_eq!(
            ok(bin, "root put", &root.v3(&s, &["put", "other", "2"])),
            "OK\n"
        );
        // A certificate whose CN is no user.
        let nobody = ctl.with_cert(&nobody_cert, &nobody_key);
        denied(bin, "unknown CN", &nobody.v3(&s, &["put", "app/b", "1"]));
        // Admin RPCs as the certificate's user: not root.
        fails(bin, "user list as client", &ctl.v3(&s, &["user", "list"]));
        ok(bin, "user list as root", &root.v3(&s, &["user", "list"]));
    }
}

#[test]
fn a_tls_client_to_a_plaintext_port_fails_and_the_port_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "http", &[]);
        let plain = Ctl::plain();
        s.wait_ready(&plain);
        let tls = Ctl::tls(&pki);
        fails(bin, "https etcdctl", &tls.v3(&s, &["put", "k", "v"]));
        fails(bin, "https curl", &tls.curl(&s, "/health", &[]));
        assert_eq!(
            ok(bin, "plain put", &plain.v3(&s, &["put", "k", "v"])),
            "OK\n"
        );
        assert!(s.running(), "{bin} stopped");
    }
}

/// `openssl s_client` with TLS 1.2 and one OpenSSL cipher name: whether the
/// handshake succeeded.
fn tls12_handshake(s: &Server, pki: &TestPki, cipher: &str) -> bool {
    let o = Command::new("openssl")
        .args(["s_client", "-tls1_2", "-cipher", cipher])
        .arg("-connect")
        .arg(format!("127.0.0.1:{}", s.port))
        .arg("-CAfile")
        .arg(&pki.ca)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    let out = String::from_utf8_lossy(&o.stdout);
    o.status.success() && out.contains(&format!("Cipher is {cipher}"))
}

#[test]
fn cipher_suites_restrict_tls_1_2() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut flags = tls_flags(&pki, false);
        flags.retain(|f| !f.starts_with("--trusted-ca-file"));
        flags.push("--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into());
        let mut s = Server::start(bin, run.path(), "https", &flags);
        let ctl = Ctl::tls(&pki).without_cert();
        s.wait_ready(&ctl);
        assert!(
            tls12_handshake(&s, &pki, "ECDHE-ECDSA-AES128-GCM-SHA256"),
            "{bin}"
        );
        assert!(
            !tls12_handshake(&s, &pki, "ECDHE-ECDSA-AES256-GCM-SHA384"),
            "{bin}"
        );
        // TLS 1.3 is not restricted (as in Go).
        assert_eq!(ok(bin, "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
    }
    // An unknown name stops both at start.
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut flags = tls_flags(&pki, false);
        flags.push("--cipher-suites=TLS_NOT_A_SUITE".into());
        let mut s = Server::start(bin, run.path(), "https", &flags);
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.running() {
            assert!(Instant::now() < deadline, "{bin} did not exit");
            std::thread::sleep(Duration::from_millis(100));
        }
        // (etcd's zap log escapes the quotes.)
        let log = s.log().replace('\\', "");
        assert!(
            log.contains("unexpected TLS cipher suite \"TLS_NOT_A_SUITE\""),
            "{bin}: {log}"
        );
    }
}

#[test]
fn https_without_a_certificate_is_refused_at_start() {
    for bin in servers() {
        let run = tempfile::tempdir().unwrap();
        let mut s = Server::start(bin, run.path(), "https", &[]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while s.running() {
            assert!(Instant::now() < deadline, "{bin} did not exit");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            s.log()
                .contains("TLS key/cert (--cert-file, --key-file) must be provided for client url"),
            "{bin}: {}",
            s.log()
        );
    }
}

/// etcd-sim only (etcd waits minutes): a client that opens a connection to a
/// TLS port and never starts a handshake is dropped after the handshake
/// timeout, and others are served meanwhile.
#[test]
fn a_stalled_handshake_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    let run = tempfile::tempdir().unwrap();
    let mut s = Server::start(SIM, run.path(), "https", &tls_flags(&pki, true));
    let ctl = Ctl::tls(&pki);
    s.wait_ready(&ctl);
    let mut stalled = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(ok("sim", "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = stalled.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server closed it without a word");
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(25),
        "closed after {waited:?} (handshake timeout: 10 s)"
    );
}

/// `--client-cert-allowed-hostname` (etcd's `TLSInfo.AllowedHostname`): a
/// client certificate signed by the trusted CA is accepted only when it is
/// valid for that name (its DNS or IP subject alternative names, wildcards
/// allowed; never its common name), by every API on the port.
#[test]
fn client_cert_allowed_hostname_checks_the_certificate_names() {
    use std::net::{IpAddr, Ipv4Addr};
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    let d = dir.path();
    let named = pki.client_with_names(d, "client", &["client.example.com"], &[]);
    let upper = pki.client_with_names(d, "client", &["CLIENT.Example.com"], &[]);
    let wildcard = pki.client_with_names(d, "client", &["*.example.com"], &[]);
    let other = pki.client_with_names(d, "client", &["other.example.org"], &[]);
    let cn_only = pki.client_with_cn(d, "client.example.com");
    let ip = pki.client_with_names(d, "client", &[], &[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    for bin in servers() {
        // A DNS name.
        let run = tempfile::tempdir().unwrap();
        let mut flags = tls_flags(&pki, true);
        flags.push("--client-cert-allowed-hostname=client.example.com".into());
        let mut s = Server::start(bin, run.path(), "https", &flags);
        let base = Ctl::tls(&pki);
        let ctl = base.with_cert(&named.0, &named.1);
        s.wait_ready(&ctl);
        assert_eq!(ok(bin, "put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
        for (what, (c, k)) in [("upper case", &upper), ("wildcard", &wildcard)] {
            let o = base.with_cert(c, k).v3(&s, &["get", "k"]);
            assert_eq!(ok(bin, what, &o), "k\nv\n");
        }
        assert_eq!(ok(bin, "v2 set", &ctl.v2(&s, &["set", "/d/a", "1"])), "1\n");
        let h = ok(bin, "curl", &ctl.curl(&s, "/health", &[]));
        assert!(h.contains(r#""health":"true""#), "{bin}: {h}");
        for (what, c) in [
            ("no names", base.clone()),
            ("another name", base.with_cert(&other.0, &other.1)),
            (
                "the name as CN only",
                base.with_cert(&cn_only.0, &cn_only.1),
            ),
            ("an IP name", base.with_cert(&ip.0, &ip.1)),
            ("no cert", base.without_cert()),
        ] {
            fails(bin, &format!("{what}: v3 get"), &c.v3(&s, &["get", "k"]));
            fails(bin, &format!("{what}: v2 get"), &c.v2(&s, &["get", "/d/a"]));
            fails(bin, &format!("{what}: curl"), &c.curl(&s, "/health", &[]));
        }
        assert!(s.running(), "{bin} stopped");
        drop(s);

        // An IP address: only an IP name matches.
        let run = tempfile::tempdir().unwrap();
        let mut flags = tls_flags(&pki, true);
        flags.push("--client-cert-allowed-hostname=127.0.0.1".into());
        let mut s = Server::start(bin, run.path(), "https", &flags);
        let ctl = base.with_cert(&ip.0, &ip.1);
        s.wait_ready(&ctl);
        assert_eq!(ok(bin, "ip put", &ctl.v3(&s, &["put", "k", "v"])), "OK\n");
        fails(
            bin,
            "a DNS name for an IP",
            &base.with_cert(&named.0, &named.1).v3(&s, &["get", "k"]),
        );
    }
}

/// The HTTP status of `curl` through `ctl` (`extra`: method, data, basic auth).
fn http_status(ctl: &Ctl, s: &Server, path: &str, extra: &[&str]) -> String {
    let mut args = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    args.extend_from_slice(extra);
    let o = ctl.curl(s, path, &args);
    stdout(&o)
}

/// v2 auth under `--client-cert-auth` (etcd 3.4's v2http
/// `userFromClientCertificate`): a request without an `Authorization` header
/// is made by the first common name of its verified chain (the client's
/// certificate, then the CA's) that names a v2 user; with none, the guest.
/// A header wins over the certificate. Without `--client-cert-auth` the
/// certificate names nobody.
#[test]
fn the_certificate_common_name_is_the_v2_user() {
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new(&dir.path().join("pki"));
    let root_cert = pki.client_with_cn(dir.path(), "root");
    let nobody = pki.client_with_cn(dir.path(), "nobody");
    let json = ["-H", "Content-Type: application/json", "-XPUT", "-d"];
    let put = |body: &'static str| {
        let mut a = json.to_vec();
        a.push(body);
        a
    };
    for client_cert_auth in [true, false] {
        for bin in servers() {
            let run = tempfile::tempdir().unwrap();
            let mut s = Server::start(bin, run.path(), "https", &tls_flags(&pki, client_cert_auth));
            let ctl = Ctl::tls(&pki);
            s.wait_ready(&ctl);
            let as_root = ["-u", "root:rootpw"];
            // (etcd answers a user created with roles 200, not 201.)
            for (path, body, want) in [
                (
                    "/v2/auth/users/root",
                    r#"{"user":"root","password":"rootpw"}"#,
                    "201",
                ),
                (
                    "/v2/auth/roles/app",
                    r#"{"role":"app","permissions":{"kv":{"read":["/app/*"],"write":["/app/*"]}}}"#,
                    "201",
                ),
                (
                    "/v2/auth/roles/ca",
                    r#"{"role":"ca","permissions":{"kv":{"read":["/ca/*"],"write":["/ca/*"]}}}"#,
                    "201",
                ),
                (
                    "/v2/auth/users/client",
                    r#"{"user":"client","password":"clientpw","roles":["app"]}"#,
                    "200",
                ),
                (
                    "/v2/auth/users/etcd-sdk%20test%20CA",
                    r#"{"user":"etcd-sdk test CA","password":"capw","roles":["ca"]}"#,
                    "200",
                ),
            ] {
                let code = http_status(&ctl, &s, path, &put(body));
                assert_eq!(code, want, "{bin}: {path}");
            }
            assert_eq!(
                http_status(&ctl, &s, "/v2/auth/enable", &["-XPUT"]),
                "200",
                "{bin}"
            );
            let key_put = |c: &Ctl, key: &str, extra: &[&str]| {
                let mut a = vec!["-XPUT", "-d", "value=1"];
                a.extend_from_slice(extra);
                http_status(c, &s, &format!("/v2/keys{key}"), &a)
            };
            let nobody_ctl = ctl.with_cert(&nobody.0, &nobody.1);
            let root_ctl = ctl.with_cert(&root_cert.0, &root_cert.1);
            let what = format!("{bin} client-cert-auth={client_cert_auth}");
            if client_cert_auth {
                // CN "client": its role's keys only, not the guest's.
                assert_eq!(key_put(&ctl, "/app/a", &[]), "201", "{what}");
                assert_eq!(key_put(&ctl, "/other", &[]), "401", "{what}");
                assert_eq!(
                    http_status(&ctl, &s, "/v2/auth/users", &[]),
                    "401",
                    "{what}"
                );
                // CN "root": root.
                assert_eq!(
                    http_status(&root_ctl, &s, "/v2/auth/users", &[]),
                    "200",
                    "{what}"
                );
                assert_eq!(key_put(&root_ctl, "/other", &[]), "201", "{what}");
                // CN "nobody" is no user; the CA's CN is: that user.
                assert_eq!(key_put(&nobody_ctl, "/ca/a", &[]), "201", "{what}");
                assert_eq!(key_put(&nobody_ctl, "/other", &[]), "401", "{what}");
                // A header wins over the certificate.
                assert_eq!(key_put(&ctl, "/by-header", &as_root), "201", "{what}");
                assert_eq!(
                    key_put(&root_ctl, "/by-header", &["-u", "client:clientpw"]),
                    "401",
                    "{what}"
                );
                // Without its user the CA's name falls to the guest (who may
                // write anything by default).
                assert_eq!(
                    http_status(
                        &ctl,
                        &s,
                        "/v2/auth/users/etcd-sdk%20test%20CA",
                        &["-XDELETE", "-u", "root:rootpw"]
                    ),
                    "200",
                    "{what}"
                );
                assert_eq!(key_put(&nobody_ctl, "/by-guest", &[]), "201", "{what}");
            } else {
                // Every certificate is the guest's.
                assert_eq!(key_put(&ctl, "/other", &[]), "201", "{what}");
                assert_eq!(
                    http_status(&root_ctl, &s, "/v2/auth/users", &[]),
                    "401",
                    "{what}"
                );
                assert_eq!(
                    http_status(&root_ctl, &s, "/v2/auth/users", &as_root),
                    "200",
                    "{what}"
                );
            }
        }
    }
}
