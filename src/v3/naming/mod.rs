//! Service discovery through etcd (Go 3.4's `clientv3/naming`): services
//! register their addresses under a target name, clients list them, watch
//! them change, and balance over them.
//!
//! - [`Resolver`] (Go's `GRPCResolver`): [`Resolver::add_endpoint`] /
//!   [`Resolver::delete_endpoint`] (or [`Resolver::update`]) write Go's
//!   JSON `{"Op":0,"Addr":"…","Metadata":…}` at `<target>/<addr>`
//!   ([`endpoint_key`]); [`Resolver::list`] reads the set;
//!   [`Resolver::watch`] gives an [`UpdateStream`]: the set, then each
//!   change, a lease that ends included.
//! - [`Discovery`] ([`Resolver::discover`]): the same as a
//!   [`tower::discover::Discover`] keyed by address, to feed a tower
//!   balancer. `examples/service_discovery.rs` runs services that register
//!   with a kept-alive lease and a client that balances over them with
//!   `tower::balance::p2c`, while one of them dies.
//! - [`Update`]: the stored value, written byte for byte as Go writes it and
//!   read as Go reads it.
//!
//! Register with a lease so that an endpoint whose process dies leaves the
//! set when the lease expires:
//!
//! ```no_run
//! use etcd_sdk::v3::naming::{Operation, Resolver};
//! use etcd_sdk::v3::{Client, Lease};
//! use futures_util::StreamExt;
//! use serde_json::json;
//!
//! # async fn demo() -> etcd_sdk::v3::Result<()> {
//! let client = Client::connect(["127.0.0.1:2379"]).await?;
//! let registry = Resolver::new(client.clone());
//!
//! // A service: a 10 s lease, kept alive while the process lives.
//! let lease = client.grant(10).await?.id;
//! let _keep_alive = client.keep_alive(lease).await?;
//! registry
//!     .add_endpoint("my-service", "10.0.0.1:8080", json!({"zone": "a"}), lease)
//!     .await?;
//!
//! // A client: the set, then its changes.
//! let mut updates = registry.watch("my-service").await?;
//! while let Some(batch) = updates.next().await {
//!     for u in batch? {
//!         match u.op {
//!             Operation::Add => println!("up: {} {}", u.addr, u.metadata),
//!             Operation::Delete => println!("down: {}", u.addr),
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Compatibility
//!
//! Go 3.4 (`GRPCResolver.Update`) and grpc-go's `naming.Update` write the
//! same JSON at the same keys, and so do the 3.5 `endpoints.Manager` when
//! given the key `<target>/<addr>`; all of them read what this module
//! writes, and it reads what they write. Two points are beyond Go 3.4:
//! - a delete is recognised by its key (the set seen so far), not by the
//!   previous value the watch would carry, so it needs no `prev_kv` and a
//!   key whose value never was an endpoint yields nothing when deleted;
//! - the first batch and every later add carry [`Operation::Add`] whatever
//!   `Op` a stored value holds (Go 3.4 passes a stored `Op` through in the
//!   first batch).
//!
//! Floats in metadata are written as Go writes a `float64` (`1`, `1.5`,
//! `1e+21`); the control characters 0x08 and 0x0c as `\b` and `\f`, as
//! Go 1.22 and later write them (older Go releases wrote `\u0008`).

mod discover;
mod resolver;
mod stream;
mod update;

pub use discover::Discovery;
pub use resolver::{Resolver, endpoint_key};
pub use stream::UpdateStream;
/// tower's change type, which a [`Discovery`] yields.
pub use tower::discover::Change;
pub use update::{DecodeError, Operation, Update};

#[cfg(test)]
mod tests;
