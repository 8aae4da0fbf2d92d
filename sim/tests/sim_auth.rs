//! The auth checks of `tests/cases/auth.rs` — the same bodies that run against
//! real etcd 3.4 in `tests/real_auth.rs` — against a fresh 1-member simulated
//! cluster each: same indices, actions, errors and bytes.
#![cfg(madsim)]

#[path = "../../tests/cases/auth.rs"]
mod auth;
#[macro_use]
mod fresh_member;

against_sim!(
    auth: enable_users_roles_guest_and_disable,
);
