//! Scenario tests of the v2 store, after etcd's v2store test suites.

mod deep;
mod helpers;
mod ops;
mod snapshot;
mod stats;
mod ttl;
mod watch;
mod wire;
