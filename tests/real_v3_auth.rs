//! The v3 Auth API against real etcd 3.4. The body is in
//! `etcd_test_support::cases::v3_auth`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_auth;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_roles_permissions_and_tokens() {
    let c = EtcdCluster::start(1).await;
    v3_auth::users_roles_permissions_and_tokens(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_txn_watch_lease_matrix() {
    let c = EtcdCluster::start(1).await;
    etcd_test_support::cases::v3_auth_matrix::kv_txn_watch_lease_matrix(c.client_urls()).await;
}

/// `--auth-token=jwt,...` with RS256 (and a restart), ES256, ES512 and HS256 keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_tokens() {
    etcd_test_support::etcd_bin::require_binary(std::path::Path::new(
        etcd_test_support::etcd_bin::ETCD_BIN,
    ));
    etcd_test_support::cases::v3_auth_jwt::jwt_method_families(std::path::Path::new(
        etcd_test_support::etcd_bin::ETCD_BIN,
    ))
    .await;
}
