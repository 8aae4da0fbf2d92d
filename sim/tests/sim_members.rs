//! The `MembersAPI` checks of `etcd_test_support::cases::members` — the same bodies that run
//! against real etcd 3.4 in `tests/real_members.rs` — against a fresh simulated
//! cluster each: list, leader, add, update, remove and etcd's errors.
#![cfg(madsim)]

use etcd_test_support::on_sim_cluster;

on_sim_cluster!(
    members:
    list_and_leader_of_one_member(1),
    list_leader_add_update_remove_on_three_members(3),
);
