//! TLS against real etcd 3.4.23: a member serving https on loopback with
//! `--cert-file --key-file --trusted-ca-file --client-cert-auth`, and the
//! SDK's v3 client and v2 client (both transports) with certificates the
//! test makes ([`TestPki`]): what works, and how each refusal reads.
#![cfg(not(madsim))]

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::tls::{TlsConfig, TlsFailure};
use etcd_sdk::transport::HyperTransport;
use etcd_sdk::v3::{self, KV, Watcher};
use etcd_test_support::etcd_bin::require_binary;
use etcd_test_support::ports::free_ports;
use etcd_test_support::tls::TestPki;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const ETCD: &str = "/usr/bin/etcd";
/// How long a member may take to serve.
const START: Duration = Duration::from_secs(20);
/// Bounds each call.
const CALL: Duration = Duration::from_secs(5);

/// One etcd member serving https on a loopback port (killed on drop).
struct TlsEtcd {
    child: Child,
    /// `https://127.0.0.1:<port>`.
    url: String,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for TlsEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsEtcd {
    /// A member with this server certificate, trusting `ca` for clients
    /// (client certificates required), ready when a client with `ready_tls`
    /// can read from it.
    async fn start(cert: &Path, key: &Path, ca: &Path, ready_tls: TlsConfig) -> TlsEtcd {
        require_binary(Path::new(ETCD));
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = free_ports(2);
        let url = format!("https://127.0.0.1:{}", ports[0]);
        let peer = format!("http://127.0.0.1:{}", ports[1]);
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("log file");
        let child = Command::new(ETCD)
            .args([
                "--name=m0".to_string(),
                format!("--data-dir={}", dir.path().join("m0.etcd").display()),
                format!("--listen-client-urls={url}"),
                format!("--advertise-client-urls={url}"),
                format!("--listen-peer-urls={peer}"),
                format!("--initial-advertise-peer-urls={peer}"),
                format!("--initial-cluster=m0={peer}"),
                "--initial-cluster-state=new".to_string(),
                "--enable-v2=true".to_string(),
                format!("--cert-file={}", cert.display()),
                format!("--key-file={}", key.display()),
                format!("--trusted-ca-file={}", ca.display()),
                "--client-cert-auth".to_string(),
                "--logger=zap".to_string(),
                "--log-outputs=stderr".to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start etcd");
        let member = TlsEtcd {
            child,
            url,
            port: ports[0],
            dir,
        };
        member.wait_ready(ready_tls).await;
        member
    }

    async fn wait_ready(&self, tls: TlsConfig) {
        let deadline = tokio::time::Instant::now() + START;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            let config = v3::Config {
                tls: Some(tls.clone()),
                request_timeout: Some(Duration::from_secs(1)),
                ..v3::Config::new([self.url.clone()])
            };
            match v3::Client::new(config).await {
                Ok(c) => match c.get("ready?", Default::default()).await {
                    Ok(_) => return,
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "etcd at {} not ready within {START:?}: {last}\n{}",
            self.url,
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

/// The test PKI and a member serving with its server certificate.
async fn pki_and_member() -> (tempfile::TempDir, TestPki, TlsEtcd) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::new(dir.path());
    let member = TlsEtcd::start(&pki.server_cert, &pki.server_key, &pki.ca, trusted(&pki)).await;
    (dir, pki, member)
}

/// The CA and the client certificate it signed.
fn trusted(pki: &TestPki) -> TlsConfig {
    TlsConfig::new()
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client_cert, &pki.client_key)
}

async fn v3_client(url: &str, tls: TlsConfig) -> v3::Result<v3::Client> {
    v3::Client::new(v3::Config {
        tls: Some(tls),
        request_timeout: Some(CALL),
        ..v3::Config::new([url.to_string()])
    })
    .await
}

/// A v3 get's error, with its `TlsFailure` when it is a TLS one.
async fn v3_get_failure(url: &str, tls: Option<TlsConfig>) -> (Option<TlsFailure>, String) {
    let config = v3::Config {
        tls,
        request_timeout: Some(CALL),
        ..v3::Config::new([url.to_string()])
    };
    let client = v3::Client::new(config).await.expect("client");
    let err = client
        .get("k", Default::default())
        .await
        .expect_err("the get must fail");
    let failure = match &err {
        v3::Error::Tls { failure, .. } => Some(*failure),
        _ => None,
    };
    (failure, err.to_string())
}

fn v2_keys(url: &str, tls: TlsConfig, hyper: bool) -> Arc<dyn KeysAPI> {
    let config = etcd_sdk::Config {
        request_timeout: Some(CALL),
        ..etcd_sdk::Config::new([url.to_string()])
    };
    let config = if hyper {
        etcd_sdk::Config {
            transport: Some(Arc::new(
                HyperTransport::with_tls(&tls).expect("hyper transport"),
            )),
            ..config
        }
    } else {
        etcd_sdk::Config {
            tls: Some(tls),
            ..config
        }
    };
    Arc::new(new_keys_api(
        etcd_sdk::HttpClient::new(config).expect("v2 client"),
    ))
}

#[tokio::test]
async fn v3_put_get_watch_and_sync_over_https_with_a_client_cert() {
    let (_dir, pki, member) = pki_and_member().await;
    let client = v3_client(&member.url, trusted(&pki)).await.expect("client");
    let mut watch = client
        .watch("greeting", Default::default())
        .await
        .expect("watch");
    client
        .put("greeting", "hello over TLS", Default::default())
        .await
        .expect("put");
    let got = client
        .get("greeting", Default::default())
        .await
        .expect("get");
    assert_eq!(got.kvs[0].value, b"hello over TLS");
    let event = tokio::time::timeout(CALL, watch.next())
        .await
        .expect("a watch event in time")
        .expect("the watch goes on")
        .expect("no watch error");
    assert_eq!(event.events[0].kv.value, b"hello over TLS");
    // The member list's client URLs are https: a sync keeps TLS.
    client.sync().await.expect("sync");
    assert_eq!(client.endpoints(), vec![member.url.clone()]);
    client
        .get("greeting", Default::default())
        .await
        .expect("get after sync");
    // A plaintext URL for this TLS client is refused, with the reason.
    let err = client
        .set_endpoints([format!("http://127.0.0.1:{}", member.port)])
        .unwrap_err();
    assert!(err.to_string().contains("plaintext"), "{err}");
    // A host:port endpoint speaks TLS when settings are given (Go's rule).
    let bare = v3_client(&format!("127.0.0.1:{}", member.port), trusted(&pki))
        .await
        .expect("client");
    bare.get("greeting", Default::default())
        .await
        .expect("get over host:port");
}

#[tokio::test]
async fn v2_set_get_and_sync_over_https_on_both_transports() {
    let (_dir, pki, member) = pki_and_member().await;
    for hyper in [false, true] {
        let keys = v2_keys(&member.url, trusted(&pki), hyper);
        let key = format!("/tls/{}", if hyper { "hyper" } else { "reqwest" });
        keys.set(&key, "v", SetOptions::default())
            .await
            .unwrap_or_else(|e| panic!("set (hyper: {hyper}): {e}"));
        let got = keys.get(&key, GetOptions::default()).await.expect("get");
        assert_eq!(got.node.and_then(|n| n.value).as_deref(), Some("v"));
    }
    // Cluster sync: the member's client URLs are https; TLS is kept.
    let client = etcd_sdk::HttpClient::new(etcd_sdk::Config {
        tls: Some(trusted(&pki)),
        request_timeout: Some(CALL),
        ..etcd_sdk::Config::new([member.url.clone()])
    })
    .expect("client");
    client.sync().await.expect("sync");
    assert_eq!(client.endpoints(), vec![member.url.clone()]);
    client.get_version().await.expect("version after sync");
}

#[tokio::test]
async fn client_cert_auth_refuses_no_cert_and_a_cert_of_another_ca() {
    let (_dir, pki, member) = pki_and_member().await;
    let no_cert = TlsConfig::new().ca_file(&pki.ca);
    let other = TlsConfig::new()
        .ca_file(&pki.ca)
        .client_cert_files(&pki.other_client_cert, &pki.other_client_key);
    for (what, tls) in [("no client cert", no_cert), ("another CA's cert", other)] {
        let (failure, text) = v3_get_failure(&member.url, Some(tls.clone())).await;
        assert_eq!(
            failure,
            Some(TlsFailure::ClientCertificateRefused),
            "{what}: {text}"
        );
        assert!(text.contains("client certificate"), "{what}: {text}");
        for hyper in [false, true] {
            let err = v2_keys(&member.url, tls.clone(), hyper)
                .get("/k", GetOptions::default())
                .await
                .expect_err("v2 get must fail")
                .to_string();
            assert!(
                err.contains("TLS") && err.contains("certificate"),
                "{what} (hyper: {hyper}): {err}"
            );
        }
    }
}

#[tokio::test]
async fn a_server_cert_of_an_untrusted_ca_is_refused_as_a_certificate_problem() {
    let (_dir, pki, member) = pki_and_member().await;
    let wrong_ca = TlsConfig::new()
        .ca_file(&pki.other_ca)
        .client_cert_files(&pki.client_cert, &pki.client_key);
    let (failure, text) = v3_get_failure(&member.url, Some(wrong_ca.clone())).await;
    assert_eq!(failure, Some(TlsFailure::ServerCertificate), "{text}");
    assert!(text.contains("certificate"), "{text}");
    for hyper in [false, true] {
        let err = v2_keys(&member.url, wrong_ca.clone(), hyper)
            .get("/k", GetOptions::default())
            .await
            .expect_err("v2 get must fail")
            .to_string();
        assert!(err.contains("server's certificate"), "hyper {hyper}: {err}");
    }
}

#[tokio::test]
async fn an_https_endpoint_without_settings_uses_the_system_roots() {
    let (_dir, _pki, member) = pki_and_member().await;
    // No TlsConfig: https alone switches TLS on, with the system's roots,
    // which do not hold the test CA.
    let (failure, text) = v3_get_failure(&member.url, None).await;
    assert_eq!(failure, Some(TlsFailure::ServerCertificate), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    let err = etcd_sdk::HttpClient::new(etcd_sdk::Config {
        request_timeout: Some(CALL),
        ..etcd_sdk::Config::new([member.url.clone()])
    })
    .expect("client")
    .get_version()
    .await
    .expect_err("v2 must fail")
    .to_string();
    assert!(err.contains("certificate"), "{err}");
}

#[tokio::test]
async fn insecure_skip_verify_connects_without_the_ca() {
    let (_dir, pki, member) = pki_and_member().await;
    let skip = TlsConfig::new()
        .insecure_skip_verify()
        .client_cert_files(&pki.client_cert, &pki.client_key);
    let client = v3_client(&member.url, skip.clone()).await.expect("client");
    client
        .put("k", "v", Default::default())
        .await
        .expect("put without verifying");
    for hyper in [false, true] {
        let got = v2_keys(&member.url, skip.clone(), hyper)
            .get("/", GetOptions::default())
            .await;
        assert!(got.is_ok(), "hyper {hyper}: {got:?}");
    }
}

/// A CA of the test's own and a server certificate naming only `localhost`.
fn localhost_only(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca_pem = ca.self_signed(&ca_key).expect("CA").pem();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate().expect("key");
    let cert = leaf
        .signed_by(&key, &Issuer::from_params(&ca, &ca_key))
        .expect("leaf");
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    (
        write("localhost-ca.pem", ca_pem),
        write("localhost.pem", cert.pem()),
        write("localhost-key.pem", key.serialize_pem()),
    )
}

#[tokio::test]
async fn a_server_name_override_checks_a_localhost_cert_dialed_by_ip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::new(dir.path());
    let (server_ca, cert, key) = localhost_only(dir.path());
    let tls = TlsConfig::new()
        .ca_file(&server_ca)
        .client_cert_files(&pki.client_cert, &pki.client_key);
    let named = tls.clone().server_name("localhost");
    let member = TlsEtcd::start(&cert, &key, &pki.ca, named.clone()).await;
    // By IP without the override: the certificate does not name 127.0.0.1.
    let (failure, text) = v3_get_failure(&member.url, Some(tls.clone())).await;
    assert_eq!(failure, Some(TlsFailure::ServerCertificate), "{text}");
    assert!(text.contains("certificate"), "{text}");
    // With it: checked against "localhost", and accepted.
    let client = v3_client(&member.url, named.clone()).await.expect("client");
    client
        .put("k", "v", Default::default())
        .await
        .expect("put with the override");
    for hyper in [false, true] {
        let got = v2_keys(&member.url, named.clone(), hyper)
            .get("/", GetOptions::default())
            .await;
        assert!(got.is_ok(), "hyper {hyper}: {got:?}");
        let err = v2_keys(&member.url, tls.clone(), hyper)
            .get("/", GetOptions::default())
            .await
            .expect_err("no override, no match")
            .to_string();
        assert!(err.contains("certificate"), "hyper {hyper}: {err}");
    }
}

#[tokio::test]
async fn mixing_http_and_https_endpoints_is_refused() {
    let err = v3::Client::new(v3::Config::new([
        "https://127.0.0.1:2379",
        "http://127.0.0.1:22379",
    ]))
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            v3::Error::InvalidConfig {
                field: "endpoints",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("TLS"), "{err}");
}
