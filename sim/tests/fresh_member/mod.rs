//! Runs a shared case body (`tests/cases/*.rs`) against a fresh 1-member
//! simulated cluster, on a client node of its own.

use etcd_sim::cluster::{SimCluster, SimClusterConfig};
use std::future::Future;

/// Runs `case` on a client node against a fresh single member.
pub async fn on_fresh_member<F, Fut>(case: F)
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

/// One `#[madsim::test]` per case of module `$cases`, each on a fresh member.
macro_rules! against_sim {
    ($cases:ident: $($name:ident),* $(,)?) => {$(
        #[madsim::test]
        async fn $name() {
            fresh_member::on_fresh_member($cases::$name).await;
        }
    )*};
}
