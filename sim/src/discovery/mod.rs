//! Bootstrapping a new cluster by discovery, as etcd 3.4 does it.
//!
//! - [`v2`]: etcd's v2 discovery protocol (`--discovery <url>`): the members of a
//!   new cluster meet in a directory of an etcd v2 keyspace (a public
//!   `https://discovery.etcd.io/<token>` service, or any etcd with the v2 API,
//!   including ours), register themselves and wait until the expected number did.
//!   It runs over the SDK's v2 keys API and hyper over `tokio::net`, so it works in
//!   real and simulated builds alike.
//! - [`proxy`]: the transport that sends the discovery requests through an HTTP
//!   proxy (`--discovery-proxy`).
//! - [`srv`]: the initial cluster from DNS SRV records (`--discovery-srv`; real
//!   builds only, the simulator has no DNS resolver).
//! - [`error`]: [`DiscoveryError`], with etcd's texts.

pub mod error;
pub mod path;
pub mod proxy;
pub mod srv;
pub mod v2;

pub use error::DiscoveryError;
pub use v2::{Discovery, RetryPolicy, join_cluster};
