//! `MembersAPI` against real etcd 3.4: list, leader, add and remove, update,
//! and the errors etcd answers. The bodies are in `etcd_test_support::cases::members`, shared
//! with the simulated cluster's run of the same checks (`sim/tests/sim_members.rs`).
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::members;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_leader_of_one_member() {
    let c = EtcdCluster::start(1).await;
    members::list_and_leader_of_one_member(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_leader_add_update_remove_on_three_members() {
    let c = EtcdCluster::start(3).await;
    members::list_leader_add_update_remove_on_three_members(&c).await;
}
