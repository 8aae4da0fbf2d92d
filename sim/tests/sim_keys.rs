//! The KeysAPI checks of `etcd_test_support::cases::keys` — the same bodies that run against
//! real etcd 3.4 in `tests/real_keys.rs` — against a fresh 1-member simulated
//! cluster each: same indices, actions, errors and bytes.
#![cfg(madsim)]

use etcd_test_support::against_sim;

against_sim!(
    keys:
    set_get_update_create_with_etcds_indices,
    compare_and_swap_and_compare_and_delete,
    directories_listing_sorting_and_deletes,
    create_in_order_makes_a_sorted_queue,
    ttl_expiry_and_refresh,
    watch_history_recursive_and_live,
    watch_from_a_cleared_index_then_recover,
);
