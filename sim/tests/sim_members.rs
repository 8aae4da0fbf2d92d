//! The `MembersAPI` checks of `tests/cases/members.rs` — the same bodies that run
//! against real etcd 3.4 in `tests/real_members.rs` — against a fresh simulated
//! cluster each: list, leader, add, update, remove and etcd's errors.
#![cfg(madsim)]

#[path = "../../tests/cases/backend.rs"]
mod backend;
#[path = "../../tests/cases/members.rs"]
mod members;
#[path = "../../tests/support/raw_http.rs"]
mod raw_http;
#[allow(dead_code)]
#[path = "../../tests/support/sdk.rs"]
mod sdk;
#[macro_use]
mod sim_backend;

on_sim_cluster!(
    members:
    list_and_leader_of_one_member(1),
    list_leader_add_update_remove_on_three_members(3),
);
