//! The auth checks of `etcd_test_support::cases::auth` — the same bodies that run against
//! real etcd 3.4 in `tests/real_auth.rs` — against a fresh 1-member simulated
//! cluster each: same indices, actions, errors and bytes.
#![cfg(madsim)]

use etcd_test_support::against_sim;

against_sim!(
    auth: enable_users_roles_guest_and_disable,
);
