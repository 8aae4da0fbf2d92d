//! Test support shared by the SDK's tests (`tests/`), the server's tests
//! (`sim/tests/`) and the benchmarks (`examples/bench`): a dev-only crate, so every
//! helper is compiled once, checked by the compiler like any library, and used by
//! path (`etcd_test_support::…`) instead of `#[path]` includes.
//!
//! Both worlds:
//! - [`ports`]: free loopback ports below the kernel's ephemeral range.
//! - [`raw_http`]: one raw HTTP/1.1 request (bytes on a socket, no SDK).
//! - [`metrics`]: a member's `/metrics`, for which member serves a client's streams.
//! - [`sdk`]: SDK clients pinned to endpoints, as the case bodies use them.
//! - [`backend`]: the fault interface ([`backend::Backend`]) the shared case bodies
//!   drive, with two implementations: real etcd processes
//!   ([`etcd_backend`], real builds) and the simulated cluster ([`sim::backend`],
//!   sim builds).
//! - [`cases`]: the case bodies written once and run against both backends.
//! - [`sha256`]: SHA-256, to check the digest that ends a v3 snapshot.
//!
//! Real builds: [`etcd_bin`] (is etcd installed? one clear line if not), [`etcd`] (the process harness: 1..n-member clusters of
//! `/usr/bin/etcd` or any binary that takes etcd's flags, SIGSTOP/SIGCONT/SIGKILL,
//! restart), [`etcd_backend`], [`etcdctl`] (etcdctl transcripts side by side),
//! [`tls`] (a test PKI: CA, server and client certificates as PEM files).
//!
//! Sim builds: [`sim`] (the simulated-cluster backend, the member and Raft
//! harnesses of the server's scenario tests, a fresh single member for the
//! single-member case bodies).

pub mod backend;
pub mod cases;
pub mod metrics;
pub mod ports;
pub mod raw_http;
pub mod sdk;
pub mod sha256;

#[cfg(not(madsim))]
pub mod etcd;
#[cfg(not(madsim))]
pub mod etcd_backend;
#[cfg(not(madsim))]
pub mod etcd_bin;
#[cfg(not(madsim))]
pub mod etcdctl;
#[cfg(not(madsim))]
pub mod tls;

#[cfg(madsim)]
pub mod sim;

#[cfg(not(madsim))]
pub use etcd::EtcdCluster;
