//! Ports of etcd 3.4.23's v3 auth, lock and election integration tests
//! (`sim/tests/COVERAGE.md`) against our server: the bodies
//! `tests/real_v3_go_ports.rs` runs against etcd 3.4.23, here against the
//! `etcd-sim` binary and, in sim builds, the simulated cluster.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::{v3_auth_jwt, v3_auth_ports, v3_election_ports};
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    async fn start(n: usize) -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), n).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lease_revoke_with_root_jwt() {
        let dir = tempfile::tempdir().unwrap();
        v3_auth_jwt::make_keys(dir.path());
        let flag = v3_auth_jwt::flag(dir.path(), "RS256", "60s");
        let c = EtcdCluster::start_bin_with_flags(Path::new(BIN), 1, &[flag.as_str()]).await;
        v3_auth_ports::lease_revoke_with_root(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_failover() {
        let c = start(3).await;
        v3_election_ports::election_failover(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn auth_token_with_disable() {
        let c = start(1).await;
        v3_auth_ports::auth_token_with_disable(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn auth_revision() {
        let c = start(1).await;
        v3_auth_ports::auth_revision(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lease_revoke_with_root() {
        let c = start(1).await;
        v3_auth_ports::lease_revoke_with_root(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watch_error_and_watch_id0() {
        let c = start(3).await;
        v3_auth_ports::watch_error_and_watch_id0(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mutex_session_relock() {
        let c = start(3).await;
        v3_election_ports::mutex_session_relock(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_session_recampaign() {
        let c = start(1).await;
        v3_election_ports::election_session_recampaign(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_on_prefix_of_existing_key() {
        let c = start(1).await;
        v3_election_ports::election_on_prefix_of_existing_key(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_on_session_restart() {
        let c = start(1).await;
        v3_election_ports::election_on_session_restart(c.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_observe_compacted() {
        let c = start(1).await;
        v3_election_ports::election_observe_compacted(c.client_urls()).await;
    }
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_auth_ports:
    auth_token_with_disable,
    auth_revision,
    lease_revoke_with_root,
    watch_error_and_watch_id0,
);

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_election_ports:
    mutex_session_relock,
    election_session_recampaign,
    election_on_prefix_of_existing_key,
    election_on_session_restart,
    election_observe_compacted,
);

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_election_ports: election_failover(3));
