//! Auth APIs against real etcd 3.4. The bodies are in `etcd_test_support::cases::auth`,
//! shared with the simulated cluster's run of the same checks.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::auth;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_users_roles_guest_and_disable() {
    let c = EtcdCluster::start(1).await;
    auth::enable_users_roles_guest_and_disable(c.client_urls()).await;
}
