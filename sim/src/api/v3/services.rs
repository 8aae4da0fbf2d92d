//! The gRPC services of one client port, and how they are served in each build.

use super::auth::AuthService;
use super::cluster::ClusterService;
use super::election::ElectionService;
use super::health::HealthService;
use super::kv::KvService;
use super::lease::LeaseService;
use super::lock::LockService;
use super::maintenance::MaintenanceService;
use super::metered::Metered;
use super::own_client::OwnClient;
use super::watch::WatchService;
use crate::api::v2::members::ClusterBackend;
use crate::metrics::GrpcMetrics;
use crate::server::v3_backend::V3Backend;
#[cfg(not(madsim))]
use crate::store::v3::watch::GRPC_OVERHEAD_BYTES;
use etcd_sdk::v3::pb::etcdserverpb::auth_server::AuthServer;
use etcd_sdk::v3::pb::etcdserverpb::cluster_server::ClusterServer;
use etcd_sdk::v3::pb::etcdserverpb::kv_server::KvServer;
use etcd_sdk::v3::pb::etcdserverpb::lease_server::LeaseServer;
use etcd_sdk::v3::pb::etcdserverpb::maintenance_server::MaintenanceServer;
use etcd_sdk::v3::pb::etcdserverpb::watch_server::WatchServer;
use etcd_sdk::v3::pb::grpc_health_v1::health_server::HealthServer;
use etcd_sdk::v3::pb::v3electionpb::election_server::ElectionServer;
use etcd_sdk::v3::pb::v3lockpb::lock_server::LockServer;
use etcd_sdk::v3::tonic;
use std::net::SocketAddr;
use std::sync::Arc;

/// Every gRPC service a member serves on its client URLs.
#[derive(Clone)]
pub struct V3Services {
    health: HealthService,
    api: Api,
    /// Where every call is counted (see [`super::metered`]).
    grpc: GrpcMetrics,
}

/// The services over the member's v3 state.
#[derive(Clone)]
struct Api {
    kv: KvService,
    lease: LeaseService,
    watch: WatchService,
    cluster: ClusterService,
    auth: AuthService,
    maintenance: MaintenanceService,
    lock: LockService,
    election: ElectionService,
    /// The backend, to rebuild the Lock and Election services with.
    backend: Arc<dyn V3Backend>,
    /// gRPC's receive limit: `--max-request-bytes` + 512 KiB, as etcd sets it
    /// (real builds; madsim's gRPC passes messages unencoded).
    #[cfg(not(madsim))]
    max_receive: usize,
}

impl V3Services {
    /// The services of a member's client port over `backend`: Health, KV, Lease,
    /// Watch, Auth, Maintenance, Cluster over `cluster` (the membership), and
    /// Lock and Election, which answer Unavailable until
    /// [`V3Services::with_own_address`] gives them the member's address.
    pub fn new(backend: Arc<dyn V3Backend>, cluster: Arc<dyn ClusterBackend>) -> V3Services {
        #[cfg(not(madsim))]
        let max_receive = backend
            .limits()
            .max_request_bytes
            .saturating_add(GRPC_OVERHEAD_BYTES);
        V3Services {
            health: HealthService,
            api: Api {
                kv: KvService::new(backend.clone()),
                lease: LeaseService::new(backend.clone()),
                cluster: ClusterService::new(backend.clone(), cluster),
                maintenance: MaintenanceService::new(backend.clone()),
                watch: WatchService::new(backend.clone()),
                lock: LockService::new(backend.clone(), OwnClient::new(None)),
                election: ElectionService::new(backend.clone(), OwnClient::new(None)),
                auth: AuthService::new(backend.clone()),
                backend,
                #[cfg(not(madsim))]
                max_receive,
            },
            grpc: GrpcMetrics::new(),
        }
    }

    /// The services counting their calls into `grpc` (the member's metrics;
    /// without it they count into metrics of their own that nobody reads).
    pub fn with_metrics(mut self, grpc: GrpcMetrics) -> V3Services {
        self.grpc = grpc;
        self
    }

    /// `service`, counted.
    fn metered<S>(&self, service: S) -> Metered<S> {
        Metered::new(service, self.grpc.clone())
    }

    /// The services with Lock and Election served through a client of `addr`,
    /// the member's own client address (they run the SDK's concurrency package
    /// over the member's v3 API, as etcd runs clientv3's over an in-process
    /// client). Without it they answer Unavailable.
    pub fn with_own_address(self, addr: Option<SocketAddr>) -> V3Services {
        self.with_own_client(OwnClient::new(addr))
    }

    /// The services with Lock and Election served through `client` (see
    /// [`V3Services::with_own_address`]).
    pub fn with_own_client(mut self, client: OwnClient) -> V3Services {
        self.api.lock = LockService::new(self.api.backend.clone(), client.clone());
        self.api.election = ElectionService::new(self.api.backend.clone(), client);
        self
    }

    /// The services as one tonic router, to serve HTTP/2 connections with (real
    /// builds: the member's listener hands it every connection that opens with
    /// HTTP/2's preface). Requests above the receive limit are refused by gRPC
    /// (ResourceExhausted).
    #[cfg(not(madsim))]
    pub fn routes(&self) -> tonic::service::Routes {
        let api = &self.api;
        tonic::service::Routes::new(HealthServer::new(self.metered(self.health)))
            .add_service(
                KvServer::new(self.metered(api.kv.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                LeaseServer::new(self.metered(api.lease.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                WatchServer::new(self.metered(api.watch.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                ClusterServer::new(self.metered(api.cluster.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                AuthServer::new(self.metered(api.auth.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                MaintenanceServer::new(self.metered(api.maintenance.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                LockServer::new(self.metered(api.lock.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
            .add_service(
                ElectionServer::new(self.metered(api.election.clone()))
                    .max_decoding_message_size(api.max_receive),
            )
    }

    /// Serves the services on `addr` with madsim's simulated gRPC (which shares
    /// no socket with the simulated TCP listener the v2 API uses on the same
    /// address) until `shutdown` completes. (Messages are not encoded there, so
    /// the receive limit does not apply; the request size check does.)
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
        let mut server = tonic::transport::Server::builder();
        server
            .add_service(HealthServer::new(self.metered(self.health)))
            .add_service(KvServer::new(self.metered(self.api.kv.clone())))
            .add_service(LeaseServer::new(self.metered(self.api.lease.clone())))
            .add_service(WatchServer::new(self.metered(self.api.watch.clone())))
            .add_service(ClusterServer::new(self.metered(self.api.cluster.clone())))
            .add_service(AuthServer::new(self.metered(self.api.auth.clone())))
            .add_service(MaintenanceServer::new(
                self.metered(self.api.maintenance.clone()),
            ))
            .add_service(LockServer::new(self.metered(self.api.lock.clone())))
            .add_service(ElectionServer::new(self.metered(self.api.election.clone())))
            .serve_with_shutdown(addr, shutdown)
            .await
    }
}

/// The wire path end to end (real builds): the routes served on a loopback
/// port, driven by the SDK's client.
#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::server::v3_testing::LocalV3;
    use etcd_sdk::v3::pb::etcdserverpb::lease_client::LeaseClient;
    use etcd_sdk::v3::pb::etcdserverpb::watch_client::WatchClient;
    use etcd_sdk::v3::pb::etcdserverpb::watch_request::RequestUnion;
    use etcd_sdk::v3::pb::etcdserverpb::{
        LeaseGrantRequest, LeaseKeepAliveRequest, WatchCreateRequest, WatchRequest,
    };
    use etcd_sdk::v3::tonic::transport::{Server, server::TcpIncoming};
    use etcd_sdk::v3::{
        Client, CompactOptions, Compare, CompareOp, DeleteOptions, EtcdError, GetOptions, KV, Op,
        PutOptions,
    };

    #[tokio::test]
    async fn the_sdk_client_drives_the_services_over_the_wire() {
        let services = V3Services::new(
            Arc::new(LocalV3::new()),
            Arc::new(crate::api::v2::router::fake::Fake::new()),
        );
        let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let url = format!("http://{}", incoming.local_addr().unwrap());
        let server = tokio::spawn(
            Server::builder()
                .add_routes(services.routes())
                .serve_with_incoming(incoming),
        );
        let client = Client::connect([url.clone()]).await.unwrap();

        let p = client.put("a", "1", PutOptions::default()).await.unwrap();
        assert_eq!(p.header.map(|h| h.revision), Some(2));
        client.put("b", "2", PutOptions::default()).await.unwrap();
        let g = client.get("a", GetOptions::default()).await.unwrap();
        assert_eq!(g.kvs.len(), 1);
        assert_eq!(g.kvs[0].value, b"1");
        let t = client
            .txn()
            .when([Compare::value("a", CompareOp::Equal, "1")])
            .and_then([Op::put("c", "3", PutOptions::default())])
            .or_else([])
            .commit()
            .await
            .unwrap();
        assert!(t.succeeded);
        let d = client.delete("b", DeleteOptions::default()).await.unwrap();
        assert_eq!(d.deleted, 1);
        client.compact(4, CompactOptions::default()).await.unwrap();
        let e = client
            .compact(4, CompactOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.etcd(), Some(EtcdError::Compacted));
        let e = client.get("", GetOptions::default()).await.unwrap_err();
        assert_eq!(e.etcd(), Some(EtcdError::EmptyKey));
        let big = vec![b'x'; 1_600_000];
        let e = client
            .put("big", big, PutOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.etcd(), Some(EtcdError::RequestTooLarge));

        // Lease and Watch through the generated clients on a plain channel.
        let channel = tonic::transport::Endpoint::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut lease = LeaseClient::new(channel.clone());
        let g = lease
            .lease_grant(LeaseGrantRequest { ttl: 30, id: 0 })
            .await
            .unwrap()
            .into_inner();
        let mut ka = lease
            .lease_keep_alive(futures_util::stream::iter([LeaseKeepAliveRequest {
                id: g.id,
            }]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ka.message().await.unwrap().map(|r| r.ttl), Some(30));

        let mut watch = WatchClient::new(channel);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: b"w".to_vec(),
                ..Default::default()
            })),
        })
        .unwrap();
        let requests = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut events = watch.watch(requests).await.unwrap().into_inner();
        let created = events.message().await.unwrap().unwrap();
        assert!(created.created);
        client.put("w", "x", PutOptions::default()).await.unwrap();
        let ev = events.message().await.unwrap().unwrap();
        assert_eq!(
            ev.events[0].kv.as_ref().map(|kv| kv.value.clone()),
            Some(b"x".to_vec())
        );
        drop(tx);
        server.abort();
    }
}
