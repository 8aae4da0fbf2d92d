//! Ports of etcd 3.4.23's v3 auth, lock and election integration tests
//! (`sim/tests/COVERAGE.md`) against real etcd 3.4.23. The bodies are in
//! `etcd_test_support::cases::{v3_auth_ports, v3_election_ports}`; the same
//! bodies run against etcd-sim in `sim/tests/v3_go_ports_server.rs`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::{v3_auth_jwt, v3_auth_ports, v3_election_ports};
use etcd_test_support::etcd_bin::ETCD_BIN;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_with_disable() {
    let c = EtcdCluster::start(1).await;
    v3_auth_ports::auth_token_with_disable(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_revision() {
    let c = EtcdCluster::start(1).await;
    v3_auth_ports::auth_revision(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_revoke_with_root() {
    let c = EtcdCluster::start(1).await;
    v3_auth_ports::lease_revoke_with_root(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_revoke_with_root_jwt() {
    let dir = tempfile::tempdir().unwrap();
    v3_auth_jwt::make_keys(dir.path());
    let flag = v3_auth_jwt::flag(dir.path(), "RS256", "60s");
    let c = EtcdCluster::start_bin_with_flags(Path::new(ETCD_BIN), 1, &[flag.as_str()]).await;
    v3_auth_ports::lease_revoke_with_root(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_error_and_watch_id0() {
    let c = EtcdCluster::start(3).await;
    v3_auth_ports::watch_error_and_watch_id0(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_session_relock() {
    let c = EtcdCluster::start(3).await;
    v3_election_ports::mutex_session_relock(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_failover() {
    let c = EtcdCluster::start(3).await;
    v3_election_ports::election_failover(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_session_recampaign() {
    let c = EtcdCluster::start(1).await;
    v3_election_ports::election_session_recampaign(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_on_prefix_of_existing_key() {
    let c = EtcdCluster::start(1).await;
    v3_election_ports::election_on_prefix_of_existing_key(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_on_session_restart() {
    let c = EtcdCluster::start(1).await;
    v3_election_ports::election_on_session_restart(c.client_urls()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_observe_compacted() {
    let c = EtcdCluster::start(1).await;
    v3_election_ports::election_observe_compacted(c.client_urls()).await;
}
