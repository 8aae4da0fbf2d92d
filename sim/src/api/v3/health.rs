//! `grpc.health.v1.Health`, as etcd 3.4 registers it on its client port: the
//! server as a whole (service `""`) is SERVING for as long as the port is served;
//! any other service name is unknown (Check answers NOT_FOUND "unknown service",
//! as grpc-go's health server does; Watch reports SERVICE_UNKNOWN and stays open).

use etcd_sdk::v3::pb::grpc_health_v1::health_check_response::ServingStatus;
use etcd_sdk::v3::pb::grpc_health_v1::health_server::Health;
use etcd_sdk::v3::pb::grpc_health_v1::{HealthCheckRequest, HealthCheckResponse};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use futures_util::{Stream, StreamExt as _};
use std::pin::Pin;

/// The health service of one member's client port.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthService;

/// The status of `service` as this server reports it.
fn status_of(service: &str) -> ServingStatus {
    if service.is_empty() {
        ServingStatus::Serving
    } else {
        ServingStatus::ServiceUnknown
    }
}

/// The stream a Watch call answers with.
pub type HealthWatchStream =
    Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        match status_of(&req.get_ref().service) {
            ServingStatus::ServiceUnknown => Err(Status::not_found("unknown service")),
            status => Ok(Response::new(HealthCheckResponse {
                status: status as i32,
            })),
        }
    }

    type WatchStream = HealthWatchStream;

    async fn watch(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        // The status never changes while the port is served: one answer, then the
        // stream stays open until the client or the server goes away.
        let first = HealthCheckResponse {
            status: status_of(&req.get_ref().service) as i32,
        };
        let stream = futures_util::stream::once(async move { Ok(first) })
            .chain(futures_util::stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_server_is_serving_and_other_services_are_unknown() {
        let h = HealthService;
        let got = h
            .check(Request::new(HealthCheckRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.status, ServingStatus::Serving as i32);
        let err = h
            .check(Request::new(HealthCheckRequest {
                service: "etcdserverpb.KV".into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        assert_eq!(err.message(), "unknown service");
    }

    #[tokio::test]
    async fn watch_answers_at_once_and_stays_open() {
        let h = HealthService;
        let mut stream = h
            .watch(Request::new(HealthCheckRequest::default()))
            .await
            .unwrap()
            .into_inner();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first.status, ServingStatus::Serving as i32);
        let more = tokio::time::timeout(std::time::Duration::from_millis(50), stream.next()).await;
        assert!(more.is_err(), "no second answer while nothing changes");
    }
}
