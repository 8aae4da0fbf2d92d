//! The SDK's leasing KV (`etcd_sdk::v3::leasing`) against real etcd 3.4.
//! The bodies are in `etcd_test_support::cases::v3_leasing`.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::cases::v3_leasing;

macro_rules! against_etcd {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let c = EtcdCluster::start(1).await;
            v3_leasing::$name(c.client_urls()).await;
        }
    )*};
}

against_etcd!(
    get_caches_with_gos_lease_key,
    owner_writes_through,
    non_owner_write_revokes_the_owner,
    range_delete_revokes_owners_in_range,
    txn_through_the_cache_and_the_guards,
    concurrent_writers_on_one_key,
    session_loss_drops_the_cache,
    close_releases_the_lease_keys,
    deleted_lease_key_invalidates,
);
