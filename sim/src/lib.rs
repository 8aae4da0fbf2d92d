//! etcd-sim: an etcd server (Raft, the v2 store and HTTP API) that runs inside the
//! madsim simulator, so faults reproduce from a seed, and for real.
//!
//! - [`raft`]: a raft-rs node driven by ticks, with a disk that loses unsynced
//!   writes on a crash (`raft::SimDisk`) or a durable one (`raft::FileDisk`, real
//!   builds), log compaction, read index and membership changes; peer messages
//!   over the (simulated) network.
//! - [`store::v2`]: etcd's v2 store (the tree, TTLs, the event history and watcher
//!   hub), byte-exact against etcd 3.4.
//! - [`auth::v2`]: etcd's v2 auth model, bcrypt passwords and permission
//!   decisions over data passed in (it never proposes).
//! - [`server`]: the v2 commands members replicate and how they apply them, the
//!   backend interface the handlers call ([`server::backend::V2Backend`],
//!   [`server::backend::ReplicationError`], [`server::backend::RaftStatus`]), and
//!   v2 auth through a backend ([`server::v2_auth`]).
//! - [`api::v2`]: request parsing and validation (a `/v2/keys` request into a
//!   command: [`api::v2::dispatch`]), the v2 handlers (keys, members, stats,
//!   version, health, machines) and their router.
//! - [`member`]: the etcd member that joins these: a Raft node over the v2 store,
//!   serving etcd's v2 HTTP API ([`member::Member`], [`member::run_member`]).
//!
//! Dependencies point down only: `api` → `server` → `store`, `auth`, `raft`
//! (`scripts/check-layers.sh` checks it); `member`, `cluster`, `chaos` and `embed`
//! sit on top. v3 gets the same places: `api::v3` (parsing, handlers),
//! `server::v3_*` (commands, applier, backend trait, the proposing half of auth),
//! `auth::v3` and `store::v3` (the pure parts).
//! - [`metrics`]: a member's Prometheus metrics under etcd's names (`/metrics`).
//! - [`sim_rand`]: routes raft-rs's randomness through madsim in sim builds.
//! - `cluster` (sim builds): `SimCluster`, N members on simulated nodes with a
//!   fault API.
//! - [`discovery`]: bootstrapping a new cluster through etcd's v2 discovery
//!   protocol (`--discovery`), in both builds.
//! - `benchmark` (real builds): etcd's `tools/benchmark` over our v3 SDK
//!   (`etcd-sim benchmark`).
//! - [`chaos`]: the chaos harness: workload, nemesis, recorded histories, the
//!   linearizability and watch checkers and the HTML timeline.
//! - `embed` (real builds): etcd's embed API (`Config`, `start` → `Etcd`) and its
//!   command-line flags, which the `etcd-sim` binary takes.

pub mod api;
pub mod auth;
#[cfg(not(madsim))]
pub mod benchmark;
pub mod chaos;
#[cfg(madsim)]
pub mod cluster;
pub mod discovery;
#[cfg(not(madsim))]
pub mod embed;
pub mod member;
pub mod metrics;
#[cfg(test)]
mod proptest_config;
pub mod raft;
pub mod server;
pub mod sim_rand;
pub mod store;
pub mod tls;
