//! etcd-sim: an etcd server (Raft, the v2 store and HTTP API) that runs inside the
//! madsim simulator, so faults reproduce from a seed.
//!
//! Built so far: the v2 store ([`store::v2`]: the tree, TTLs, the event history
//! and watcher hub, byte-exact against etcd 3.4), the v2 request parser
//! ([`api::v2`]) and the Raft node ([`raft`], when merged). The HTTP handlers and
//! the simulated cluster come next.

pub mod api;
pub mod server;
pub mod store;
