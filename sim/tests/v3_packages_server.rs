//! The SDK's v3 packages (concurrency, namespace, ordering, mirror, yaml,
//! snapshot, naming, leasing) against our server: the same case bodies that run against etcd
//! 3.4.23 in `tests/real_v3_concurrency.rs`, `tests/real_v3_packages.rs` and
//! `tests/real_v3_leasing.rs`,
//! here against the `etcd-sim` binary and, in sim builds, the simulated cluster.
//! (etcdctl's checks of a snapshot file read bbolt, which our server's snapshot
//! is not: those bodies get no etcdctl here.)

#[cfg(not(madsim))]
mod real {
    use etcd_sdk::v3::concurrency::Isolation;
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::{v3_concurrency, v3_naming, v3_packages, v3_rwmutex_locker};
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");
    const ETCDCTL: &str = "/usr/bin/etcdctl";

    async fn one() -> EtcdCluster {
        EtcdCluster::start_with(Path::new(BIN), 1).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mutual_exclusion_counter() {
        v3_concurrency::mutual_exclusion_counter(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn try_lock_and_a_lock_bounded_by_its_deadline() {
        v3_concurrency::try_lock_and_a_lock_bounded_by_its_deadline(one().await.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn session_expiry_releases_the_lock() {
        v3_concurrency::session_expiry_releases_the_lock(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_whose_session_expired_does_not_acquire() {
        v3_concurrency::a_waiter_whose_session_expired_does_not_acquire(one().await.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn election_campaign_proclaim_resign_observe() {
        v3_concurrency::election_campaign_proclaim_resign_observe(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stm_keeps_the_total_at_every_isolation_level() {
        for isolation in [
            Isolation::SerializableSnapshot,
            Isolation::Serializable,
            Isolation::RepeatableReads,
            Isolation::ReadCommitted,
        ] {
            v3_concurrency::stm_bank_transfers_keep_the_total(one().await.client_urls(), isolation)
                .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn barriers_and_queues() {
        v3_concurrency::barriers_and_queues(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sessions_and_campaigns_with_a_member_paused() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        v3_concurrency::sessions_and_campaigns_with_a_member_paused(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rwmutex_readers_share_writers_exclude() {
        v3_rwmutex_locker::rwmutex_readers_share_writers_exclude(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rwmutex_under_contention() {
        v3_rwmutex_locker::rwmutex_under_contention(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn locker_lock_unlock_and_contention() {
        v3_rwmutex_locker::locker_lock_unlock_and_contention(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn naming_add_list_delete() {
        v3_naming::naming_add_list_delete(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn naming_watch_sees_add_delete_and_lease_expiry() {
        v3_naming::naming_watch_sees_add_delete_and_lease_expiry(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn naming_discovery_follows_the_set() {
        v3_naming::naming_discovery_follows_the_set(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn namespace_isolation() {
        v3_packages::namespace_isolation(one().await.client_urls(), Some(Path::new(ETCDCTL))).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ordering_with_a_stale_endpoint() {
        let current = one().await;
        let stale = one().await;
        v3_packages::ordering_with_a_stale_endpoint(current.client_urls(), stale.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mirror_with_updates_during_sync() {
        let source = one().await;
        let dest = one().await;
        v3_packages::mirror_with_updates_during_sync(source.client_urls(), dest.client_urls())
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn yaml_load_then_connect() {
        v3_packages::yaml_load_then_connect(one().await.client_urls()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshot_save_and_status() {
        v3_packages::snapshot_save_and_status(one().await.client_urls(), None).await;
    }

    /// The leasing bodies, each on a fresh etcd-sim process.
    macro_rules! leasing_against_binary {
        ($($name:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                etcd_test_support::cases::v3_leasing::$name(one().await.client_urls()).await;
            }
        )*};
    }

    leasing_against_binary!(
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
}

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_concurrency:
    mutual_exclusion_counter,
    try_lock_and_a_lock_bounded_by_its_deadline,
    session_expiry_releases_the_lock,
    a_waiter_whose_session_expired_does_not_acquire,
    election_campaign_proclaim_resign_observe,
    barriers_and_queues,
);

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_rwmutex_locker:
    rwmutex_readers_share_writers_exclude,
    rwmutex_under_contention,
    locker_lock_unlock_and_contention,
);

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_naming:
    naming_add_list_delete,
    naming_watch_sees_add_delete_and_lease_expiry,
    naming_discovery_follows_the_set,
);

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_leasing:
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

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_concurrency:
    sessions_and_campaigns_with_a_member_paused(3),
);
