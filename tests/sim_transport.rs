//! The SDK inside the simulator: `HttpClient` over the hyper transport reaches
//! HTTP servers on simulated nodes, and fails over when one is paused (SIGSTOP:
//! the connection stays open, nothing answers).
#![cfg(madsim)]

use bytes::Bytes;
use etcd_sdk::client::Request;
use etcd_sdk::{Config, Error, HttpClient};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use madsim::runtime::Handle;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

/// Serves `GET /version` (naming the node) on port 2379 of the current node.
async fn serve(name: &'static str) {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:2379")
        .await
        .expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let svc = service_fn(
                move |req: hyper::Request<hyper::body::Incoming>| async move {
                    let body = format!(
                        r#"{{"etcdserver":"{name}","etcdcluster":"{}"}}"#,
                        req.uri().path()
                    );
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                },
            );
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn start_server(name: &'static str, ip: &str) -> madsim::runtime::NodeHandle {
    let addr: SocketAddr = format!("{ip}:0").parse().expect("ip");
    Handle::current()
        .create_node()
        .name(name)
        .ip(addr.ip())
        .init(move || serve(name))
        .build()
}

/// Runs `f` on a client node of its own (node 0, the test body, has no address).
async fn on_client_node<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let node = Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.0.100".parse().expect("ip"))
        .build();
    node.spawn(async move { f().await })
        .await
        .expect("client task");
}

#[madsim::test]
async fn http_client_reaches_a_simulated_server() {
    start_server("s1", "10.0.0.1");
    on_client_node(|| async {
        let client = HttpClient::new(Config::new(["http://10.0.0.1:2379"])).expect("client");
        let v = client.get_version().await.expect("version");
        assert_eq!(v.server, "s1");
        assert_eq!(v.cluster, "/version");
    })
    .await;
}

#[madsim::test]
async fn a_paused_member_is_left_behind_by_the_header_timeout() {
    let s1 = start_server("s1", "10.0.0.1").id();
    start_server("s2", "10.0.0.2");
    on_client_node(move || async move {
        let client = HttpClient::new(Config {
            endpoints: vec!["http://10.0.0.1:2379".into(), "http://10.0.0.2:2379".into()],
            header_timeout_per_request: Some(Duration::from_millis(500)),
            ..Default::default()
        })
        .expect("client");
        // Pin the client to s1, then pause s1.
        while client.pinned_endpoint().as_deref() != Some("http://10.0.0.1:2379") {
            client
                .set_endpoints(&client.endpoints())
                .expect("endpoints");
        }
        assert_eq!(client.get_version().await.expect("version").server, "s1");
        Handle::current().pause(s1);
        let start = tokio::time::Instant::now();
        let v = client.get_version().await.expect("fails over to s2");
        assert_eq!(v.server, "s2");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(2),
            "took {took:?}"
        );
        assert_eq!(
            client.pinned_endpoint().as_deref(),
            Some("http://10.0.0.2:2379")
        );

        // An at-most-once request to the paused member alone is never re-sent.
        client
            .set_endpoints(&["http://10.0.0.1:2379".to_string()])
            .expect("endpoints");
        let err = client
            .send(Request::new(http::Method::PUT, "/v2/keys/x").at_most_once())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
        Handle::current().resume(s1);
        assert_eq!(
            client.get_version().await.expect("s1 answers again").server,
            "s1"
        );
    })
    .await;
}
