//! etcd-sim: an etcd server (Raft, the v2 store and HTTP API) that runs inside the
//! madsim simulator, so faults reproduce from a seed.
//!
//! Built so far:
//! - [`raft`]: a raft-rs node driven by ticks, with a disk that loses unsynced
//!   writes on a crash ([`raft::SimDisk`]), log compaction, read index and
//!   membership changes; peer messages over the (simulated) network.
//! - [`store::v2`]: etcd's v2 store (the tree, TTLs, the event history and watcher
//!   hub), byte-exact against etcd 3.4.
//! - [`server`]: the v2 commands members replicate and how they apply them.
//! - [`api::v2`]: request parsing and validation, and the `/v2/keys` handler.
//! - [`sim_rand`]: routes raft-rs's randomness through madsim in sim builds.
//!
//! Next: the member that joins these (Raft + store + HTTP), and `SimCluster`.

pub mod api;
pub mod auth;
pub mod raft;
pub mod server;
pub mod sim_rand;
pub mod store;
