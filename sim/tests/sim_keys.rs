//! The KeysAPI checks of `tests/cases/keys.rs` — the same bodies that run against
//! real etcd 3.4 in `tests/real_keys.rs` — against a fresh 1-member simulated
//! cluster each: same indices, actions, errors and bytes.
#![cfg(madsim)]

#[path = "../../tests/cases/keys.rs"]
mod keys;

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
            on_fresh_member(keys::$name).await;
        }
    )*};
}

against_sim!(
    set_get_update_create_with_etcds_indices,
    compare_and_swap_and_compare_and_delete,
    directories_listing_sorting_and_deletes,
    create_in_order_makes_a_sorted_queue,
    ttl_expiry_and_refresh,
    watch_history_recursive_and_live,
    watch_from_a_cleared_index_then_recover,
);
