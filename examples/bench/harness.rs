//! The integration tests' process harness (the `etcd-test-support` crate,
//! `tests/support/`), reused: starting 1..n-member clusters of
//! `/usr/bin/etcd` or our `etcd-sim` with etcd's flags, SIGSTOP/SIGCONT, and a raw
//! HTTP probe.

pub use etcd_test_support::{etcd, raw_http};
