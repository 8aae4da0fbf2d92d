//! The client port serves gRPC and HTTP/1.1 side by side, as etcd's does: the
//! standard gRPC health service (`grpc.health.v1.Health`, service `""` SERVING,
//! others unknown) over HTTP/2, and `/version` over HTTP/1.1, at the same URL.
//! Single-member bodies that take the endpoints.

use crate::raw_http;
use etcd_sdk::v3::pb::grpc_health_v1::HealthCheckRequest;
use etcd_sdk::v3::pb::grpc_health_v1::health_check_response::ServingStatus;
use etcd_sdk::v3::pb::grpc_health_v1::health_client::HealthClient;
use etcd_sdk::v3::tonic::{self, transport::Endpoint};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn health_client(url: &str) -> HealthClient<tonic::transport::Channel> {
    let channel = Endpoint::from_shared(url.to_string())
        .expect("endpoint")
        .connect_timeout(TIMEOUT)
        .connect()
        .await
        .expect("connect");
    HealthClient::new(channel)
}

/// Health over gRPC and `/version` over HTTP/1.1 on the one client URL.
pub async fn grpc_health_and_http_share_the_client_port(endpoints: Vec<String>) {
    let url = &endpoints[0];
    let mut health = health_client(url).await;
    let got = tokio::time::timeout(TIMEOUT, health.check(HealthCheckRequest::default()))
        .await
        .expect("answered in time")
        .expect("check \"\"")
        .into_inner();
    assert_eq!(got.status, ServingStatus::Serving as i32);

    let err = tokio::time::timeout(
        TIMEOUT,
        health.check(HealthCheckRequest {
            service: "etcdserverpb.KV".into(),
        }),
    )
    .await
    .expect("answered in time")
    .expect_err("an unknown service");
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    assert_eq!(err.message(), "unknown service");

    let mut watch = tokio::time::timeout(TIMEOUT, health.watch(HealthCheckRequest::default()))
        .await
        .expect("answered in time")
        .expect("watch \"\"")
        .into_inner();
    let first = tokio::time::timeout(TIMEOUT, watch.message())
        .await
        .expect("a first status in time")
        .expect("not an error")
        .expect("a first status");
    assert_eq!(first.status, ServingStatus::Serving as i32);

    // HTTP/1.1 on the same port, while the HTTP/2 connection stays open.
    let version = raw_http::get(url, "/version", TIMEOUT)
        .await
        .expect("/version");
    assert_eq!(version.status, 200, "{}", version.text());
    assert!(
        version.json()["etcdserver"].is_string(),
        "{}",
        version.text()
    );
    drop(watch);
}
