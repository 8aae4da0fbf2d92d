//! gRPC and HTTP/1.1 on one client port: the same body against etcd 3.4.23, the
//! `etcd-sim` binary (real sockets: HTTP/2 told from HTTP/1.1 by its preface) and,
//! in sim builds, the simulated cluster (madsim's gRPC beside its TCP).

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::v3_port;
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn etcd_serves_grpc_health_and_http_on_one_port() {
        let c = EtcdCluster::start(1).await;
        v3_port::grpc_health_and_http_share_the_client_port(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn etcd_sim_serves_grpc_health_and_http_on_one_port() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        v3_port::grpc_health_and_http_share_the_client_port(c.client_urls()).await;
    }
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_port: grpc_health_and_http_share_the_client_port);
