//! The gRPC services of one client port, and how they are served in each build.

use super::health::HealthService;
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::pb::grpc_health_v1::health_server::HealthServer;
use etcd_sdk::v3::tonic;
use std::sync::Arc;

/// Every gRPC service a member serves on its client URLs.
#[derive(Clone)]
pub struct V3Services {
    health: HealthService,
    /// The member the v3 services serve.
    backend: Arc<dyn V3Backend>,
}

impl std::fmt::Debug for V3Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3Services").finish_non_exhaustive()
    }
}

impl V3Services {
    /// The services of a member's client port, over `backend`.
    pub fn new(backend: Arc<dyn V3Backend>) -> V3Services {
        V3Services {
            health: HealthService,
            backend,
        }
    }

    /// The member these services serve.
    pub fn backend(&self) -> &Arc<dyn V3Backend> {
        &self.backend
    }

    /// The services as one tonic router, to serve HTTP/2 connections with (real
    /// builds: the member's listener hands it every connection that opens with
    /// HTTP/2's preface).
    #[cfg(not(madsim))]
    pub fn routes(&self) -> tonic::service::Routes {
        tonic::service::Routes::new(HealthServer::new(self.health))
    }

    /// Serves the services on `addr` with madsim's simulated gRPC (which shares
    /// no socket with the simulated TCP listener the v2 API uses on the same
    /// address) until `shutdown` completes.
    ///
    /// # Errors
    ///
    /// Binding the address fails.
    #[cfg(madsim)]
    pub async fn serve(
        &self,
        addr: std::net::SocketAddr,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), tonic::transport::Error> {
        tonic::transport::Server::builder()
            .add_service(HealthServer::new(self.health))
            .serve_with_shutdown(addr, shutdown)
            .await
    }
}
