//! etcd-sim: an etcd server (Raft, the v2 store and HTTP API) that runs inside the
//! madsim simulator, so faults reproduce from a seed, and for real.
//!
//! - [`raft`]: a raft-rs node driven by ticks, with a disk that loses unsynced
//!   writes on a crash (`raft::SimDisk`) or a durable one (`raft::FileDisk`, real
//!   builds), log compaction, read index and membership changes; peer messages
//!   over the (simulated) network.
//! - [`store::v2`]: etcd's v2 store (the tree, TTLs, the event history and watcher
//!   hub), byte-exact against etcd 3.4.
//! - [`server`]: the v2 commands members replicate and how they apply them.
//! - [`api::v2`]: request parsing and validation, the v2 handlers (keys, members,
//!   stats, version, health, machines) and their router.
//! - [`member`]: the etcd member that joins these: a Raft node over the v2 store,
//!   serving etcd's v2 HTTP API ([`member::Member`], [`member::run_member`]).
//! - [`sim_rand`]: routes raft-rs's randomness through madsim in sim builds.
//! - `cluster` (sim builds): `SimCluster`, N members on simulated nodes with a
//!   fault API.
//! - [`chaos`]: the chaos harness: workload, nemesis, recorded histories, the
//!   linearizability and watch checkers and the HTML timeline.
//! - `embed` (real builds): etcd's embed API (`Config`, `start` → `Etcd`) and its
//!   command-line flags, which the `etcd-sim` binary takes.

pub mod api;
pub mod auth;
pub mod chaos;
#[cfg(madsim)]
pub mod cluster;
#[cfg(not(madsim))]
pub mod embed;
pub mod member;
pub mod raft;
pub mod server;
pub mod sim_rand;
pub mod store;
