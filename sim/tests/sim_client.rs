//! The cluster-client checks of `etcd_test_support::cases::client` — the same bodies that run
//! against real etcd 3.4 in `tests/real_client.rs` — against a fresh simulated
//! cluster each: failover past dead, paused and killed members, at-most-once
//! delivery, sync and version, with the same results and (virtual) time bounds.
#![cfg(madsim)]

use etcd_test_support::on_sim_cluster;

on_sim_cluster!(
    client:
    get_version_reports_etcd_3_4(1),
    sync_collects_every_members_client_urls(3),
    set_endpoints_validates_and_keeps_the_old_list_on_error(1),
    a_dead_endpoint_first_does_not_stop_calls(1),
    header_timeout_moves_past_a_paused_member(3),
    a_paused_leader_is_bypassed_once_the_others_elect(3),
    calls_keep_working_when_members_are_killed(3),
    at_most_once_writes_to_a_paused_member_are_not_resent(3),
);
