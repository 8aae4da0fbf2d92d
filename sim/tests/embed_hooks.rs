//! The embed API's application hooks in a real build (etcd's
//! `embed.Config.UserHandlers` and `ServiceRegister`): a member started with
//! its own HTTP handlers and a gRPC service serves them on its client port,
//! beside etcd's own paths and services.

#![cfg(not(madsim))]

use bytes::Bytes;
use etcd_sdk::v3::pb::etcdserverpb::RangeRequest;
use etcd_sdk::v3::pb::etcdserverpb::kv_client::KvClient;
use etcd_sdk::v3::pb::mvccpb::KeyValue;
use etcd_sdk::v3::tonic;
use etcd_sim::embed::{self, Config, EmbedError, Etcd, ServiceRegister, UserHandler};
use etcd_test_support::raw_http;
use futures_util::future::BoxFuture;
use std::convert::Infallible;
use std::path::Path;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::timeout;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::server::NamedService;

const WAIT: Duration = Duration::from_secs(10);

/// A single-member configuration in `dir` on free loopback ports.
fn config(dir: &Path) -> Config {
    Config {
        name: "hooked".into(),
        data_dir: Some(dir.join("hooked.etcd")),
        enable_v2: true,
        listen_client_urls: vec!["http://127.0.0.1:0".into()],
        advertise_client_urls: vec!["http://127.0.0.1:0".into()],
        listen_peer_urls: vec!["http://127.0.0.1:0".into()],
        initial_advertise_peer_urls: vec!["http://127.0.0.1:0".into()],
        heartbeat_ms: 10,
        election_ms: 100,
        ..Config::default()
    }
}

async fn start_ready(cfg: Config) -> Etcd {
    let etcd = embed::start(cfg).await.unwrap();
    timeout(WAIT, etcd.ready())
        .await
        .expect("ready in time")
        .unwrap();
    etcd
}

/// A handler answering `text` and the path it was asked for.
fn answering(text: &'static str) -> UserHandler {
    UserHandler::new(move |req: http::Request<Bytes>| async move {
        let body = format!("{text} {} {}", req.method(), req.uri().path());
        http::Response::builder()
            .header("content-type", "text/plain")
            .body(Bytes::from(body))
            .unwrap()
    })
}

#[tokio::test]
async fn user_handlers_answer_beside_etcds_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.user_handlers
        .insert("/hello".into(), answering("hello"));
    cfg.user_handlers.insert("/app/".into(), answering("app"));
    cfg.user_handlers.insert(
        "/boom".into(),
        UserHandler::new(|_req| async { panic!("a user handler panics") }),
    );
    let etcd = start_ready(cfg).await;
    let url = etcd.client_urls()[0].clone();

    let hello = raw_http::get(&url, "/hello", WAIT).await.unwrap();
    assert_eq!(
        (hello.status, hello.text().as_str()),
        (200, "hello GET /hello")
    );
    assert_eq!(hello.header("content-type"), Some("text/plain"));
    assert_eq!(
        hello.header("access-control-allow-origin"),
        Some("*"),
        "etcd's CORS headers on every response"
    );
    let app = raw_http::get(&url, "/app/a/b?x=1", WAIT).await.unwrap();
    assert_eq!((app.status, app.text().as_str()), (200, "app GET /app/a/b"));
    let put = raw_http::request(&url, "PUT", "/app/", Some(("text/plain", b"x")), WAIT)
        .await
        .unwrap();
    assert_eq!(put.text(), "app PUT /app/");
    // Go's ServeMux: a subtree's root without its slash redirects; an exact
    // pattern matches only itself.
    let root = raw_http::get(&url, "/app", WAIT).await.unwrap();
    assert_eq!((root.status, root.header("location")), (301, Some("/app/")));
    let below = raw_http::get(&url, "/hello/x", WAIT).await.unwrap();
    assert_eq!(
        (below.status, below.text().as_str()),
        (404, "404 page not found\n")
    );

    // etcd's own paths still answer.
    let health = raw_http::get(&url, "/health", WAIT).await.unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["health"], "true");
    let set = raw_http::request(
        &url,
        "PUT",
        "/v2/keys/k",
        Some(("application/x-www-form-urlencoded", b"value=v")),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(set.status, 201, "{}", set.text());
    let got = raw_http::get(&url, "/v2/keys/k", WAIT).await.unwrap();
    assert_eq!(got.json()["node"]["value"], "v");
    let unknown = raw_http::get(&url, "/nothing-here", WAIT).await.unwrap();
    assert_eq!(
        (unknown.status, unknown.text().as_str()),
        (404, "404 page not found\n")
    );

    // A panicking handler loses its connection; the member serves on.
    let boom = raw_http::get(&url, "/boom", WAIT).await;
    assert!(
        boom.is_err(),
        "no answer from a panicking handler: {boom:?}"
    );
    let again = raw_http::get(&url, "/hello", WAIT).await.unwrap();
    assert_eq!(again.status, 200);
    assert!(etcd.member().status().stopped.is_none());
    etcd.close().await;
}

#[tokio::test]
async fn a_user_pattern_wins_over_etcds_own_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.user_handlers
        .insert("/health".into(), answering("mine"));
    let etcd = start_ready(cfg).await;
    let url = etcd.client_urls()[0].clone();
    let health = raw_http::get(&url, "/health", WAIT).await.unwrap();
    assert_eq!(health.text(), "mine GET /health");
    let version = raw_http::get(&url, "/version", WAIT).await.unwrap();
    assert_eq!(version.json()["etcdserver"], "3.4.23");
    etcd.close().await;
}

#[tokio::test]
async fn etcds_patterns_are_refused() {
    for pattern in ["/", "/v3/"] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.user_handlers.insert(pattern.into(), answering("x"));
        match embed::start(cfg).await {
            Err(EmbedError::Invalid(e)) => {
                assert_eq!(e, format!("http: multiple registrations for {pattern}"));
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
}

/// `test.Echo/Say` (or, with `KV`, a service named as etcd's KV): answers the
/// KeyValue it is sent with its value reversed.
#[derive(Clone)]
struct Echo<const KV: bool>;

impl<const KV: bool> NamedService for Echo<KV> {
    const NAME: &'static str = if KV { "etcdserverpb.KV" } else { "test.Echo" };
}

/// The unary method.
struct Say;

impl tonic::server::UnaryService<KeyValue> for Say {
    type Response = KeyValue;
    type Future = BoxFuture<'static, Result<tonic::Response<KeyValue>, tonic::Status>>;

    fn call(&mut self, req: tonic::Request<KeyValue>) -> Self::Future {
        let mut kv = req.into_inner();
        kv.value.reverse();
        Box::pin(async move { Ok(tonic::Response::new(kv)) })
    }
}

impl<const KV: bool> tower::Service<http::Request<tonic::body::Body>> for Echo<KV> {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            if req.uri().path() != "/test.Echo/Say" {
                return Ok(tonic::Status::unimplemented("").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(Say, req).await)
        })
    }
}

async fn channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// Calls `path` with a KeyValue over `channel`.
async fn say(
    channel: tonic::transport::Channel,
    path: &'static str,
    value: &str,
) -> Result<KeyValue, tonic::Status> {
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unknown(e.to_string()))?;
    let kv = KeyValue {
        key: b"k".to_vec(),
        value: value.as_bytes().to_vec(),
        ..KeyValue::default()
    };
    client
        .unary(
            tonic::Request::new(kv),
            PathAndQuery::from_static(path),
            tonic_prost::ProstCodec::<KeyValue, KeyValue>::default(),
        )
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_registered_grpc_service_is_served_beside_etcds() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.service_register = Some(ServiceRegister::new(|s| {
        s.add(Echo::<false>);
    }));
    let etcd = start_ready(cfg).await;
    let url = etcd.client_urls()[0].clone();
    let ch = channel(&url).await;

    let echoed = say(ch.clone(), "/test.Echo/Say", "olleh").await.unwrap();
    assert_eq!(echoed.value, b"hello");
    // etcd's KV on the same port and connection.
    let range = KvClient::new(ch.clone())
        .range(RangeRequest {
            key: b"k".to_vec(),
            ..RangeRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(range.header.is_some() && range.kvs.is_empty());
    // Nobody's service, and an unknown method of the user's.
    let nobody = say(ch.clone(), "/test.Nobody/Say", "x").await.unwrap_err();
    assert_eq!(nobody.code(), tonic::Code::Unimplemented);
    let no_method = say(ch.clone(), "/test.Echo/Shout", "x").await.unwrap_err();
    assert_eq!(no_method.code(), tonic::Code::Unimplemented);
    // HTTP/1.1 on the same port still reaches etcd's handlers.
    let health = raw_http::get(&url, "/health", WAIT).await.unwrap();
    assert_eq!(health.status, 200);
    etcd.close().await;
}

#[tokio::test]
async fn registering_a_service_name_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.service_register = Some(ServiceRegister::new(|s| {
        s.add(Echo::<true>);
    }));
    match embed::start(cfg).await {
        Err(EmbedError::Invalid(e)) => assert_eq!(
            e,
            "grpc: Server.RegisterService found duplicate service registration for \"etcdserverpb.KV\""
        ),
        other => panic!("{other:?}"),
    }
    let mut cfg = config(dir.path());
    cfg.service_register = Some(ServiceRegister::new(|s| {
        s.add(Echo::<false>).add(Echo::<false>);
    }));
    assert!(matches!(
        embed::start(cfg).await,
        Err(EmbedError::Invalid(_))
    ));
}

/// A gRPC channel to `addr` over TLS, trusting `ca` (HTTP/2 by ALPN).
async fn tls_channel(addr: std::net::SocketAddr, ca: &Path) -> tonic::transport::Channel {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let connector = tower::service_fn(move |_: http::Uri| {
        let tls = tls.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
            let stream = tls.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    tonic::transport::Endpoint::from_static("http://127.0.0.1")
        .connect_with_connector(connector)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_registered_grpc_service_is_served_on_a_tls_port() {
    let dir = tempfile::tempdir().unwrap();
    let pki = etcd_test_support::tls::TestPki::new(dir.path());
    let mut cfg = config(dir.path());
    cfg.listen_client_urls = vec!["https://127.0.0.1:0".into()];
    cfg.advertise_client_urls = vec!["https://127.0.0.1:0".into()];
    cfg.client_tls.cert_file = Some(pki.server_cert.clone());
    cfg.client_tls.key_file = Some(pki.server_key.clone());
    cfg.service_register = Some(ServiceRegister::new(|s| {
        s.add(Echo::<false>);
    }));
    let etcd = start_ready(cfg).await;
    let url = etcd.client_urls()[0].clone();
    let addr: std::net::SocketAddr = url.trim_start_matches("https://").parse().unwrap();
    let ch = tls_channel(addr, &pki.ca).await;
    let echoed = say(ch.clone(), "/test.Echo/Say", "slt").await.unwrap();
    assert_eq!(echoed.value, b"tls");
    let range = KvClient::new(ch.clone())
        .range(RangeRequest {
            key: b"k".to_vec(),
            ..RangeRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(range.header.is_some());
    let nobody = say(ch, "/test.Nobody/Say", "x").await.unwrap_err();
    assert_eq!(nobody.code(), tonic::Code::Unimplemented);
    etcd.close().await;
}
