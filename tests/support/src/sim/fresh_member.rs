//! Runs a shared case body ([`crate::cases`]) against a fresh 1-member
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

/// One `#[madsim::test]` per case of [`crate::cases`]`::$cases`, each on a fresh
/// member.
#[macro_export]
macro_rules! against_sim {
    ($cases:ident: $($name:ident),* $(,)?) => {$(
        #[madsim::test]
        async fn $name() {
            $crate::sim::fresh_member::on_fresh_member($crate::cases::$cases::$name).await;
        }
    )*};
}
