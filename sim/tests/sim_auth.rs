//! The auth checks of `tests/cases/auth.rs` — the same bodies that run against
//! real etcd 3.4 in `tests/real_auth.rs` — against a fresh 1-member simulated
//! cluster each: same indices, actions, errors and bytes.
#![cfg(madsim)]

#[path = "../../tests/cases/auth.rs"]
mod auth;

use etcd_sim::cluster::{SimCluster, SimClusterConfig};
use std::future::Future;

/// Runs `case` on a client node against a fresh single member.
async fn on_fresh_member<F, Fut>(case: F)
where
    F: FnOnce(Vec<String>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cluster = SimCluster::start(SimClusterConfig {
        nodes: 1,
        ..Default::default()
    })
    .await
    .expect("cluster");
    let endpoints = cluster.client_urls();
    cluster.run_on_client_node(move || case(endpoints)).await;
}

macro_rules! against_sim {
    ($($name:ident),* $(,)?) => {$(
        #[madsim::test]
        async fn $name() {
            on_fresh_member(auth::$name).await;
        }
    )*};
}

against_sim!(enable_users_roles_guest_and_disable,);
