//! The etcd member: a Raft node, the v2 store it replicates, and etcd's v2 HTTP API
//! served on the member's client URL.
//!
//! - [`Member`] ([`handle`]): start a member on a [`crate::raft::Disk`], look at it,
//!   stop it; [`run_member`] is the body of a madsim node.
//! - [`MemberConfig`] ([`config`]): etcd's flags with etcd's defaults.
//! - [`hooks`]: [`ClientHooks`], an embedding application's HTTP handlers and
//!   gRPC services on the client ports.
//! - [`ids`]: member and cluster ids as etcd computes them ([`member_id`]).
//! - [`entry`]: what the log carries; [`state_machine`]: how it is applied;
//!   [`membership`]: the members and their `/0` keys.
//! - `backend`: `MemberBackend`, the member as the HTTP handlers see it (it
//!   implements [`crate::server::backend::V2Backend`] and the members and stats
//!   interfaces of [`crate::api::v2`]); `proposer`: `Proposer`, replication with
//!   etcd's request timeout and error texts.
//! - `server`: the HTTP service, `serve(listener, backend, shutdown, connections)`,
//!   capped at [`MAX_CLIENT_CONNECTIONS`] connections (`drain`: counting, capping
//!   and draining them); [`listen`]: client listeners bound with a backlog of
//!   [`listen::LISTEN_BACKLOG`] (4,096, as etcd).
//! - `metrics_probe`: what `/metrics` reads of the member; `metrics_listener`:
//!   the `--listen-metrics-urls` server (`/metrics` and `/health` only).
//! - `corrupt_check`: etcd's initial and periodic corruption checks (HashKV
//!   compared with the peers'); `nospace`: raising NOSPACE when an applied write
//!   outgrew the backend quota.
//! - `expiry`: the leader's TTL sweeps; `publish`: publishing the member's
//!   attributes and deciding the cluster version; `tick_advance`: the boot-time
//!   election tick advance. Each is a task that gets only what it uses (a
//!   `Proposer`, the store or the membership, the shutdown `signal`); no state is
//!   shared by all of them.
//!
//! Index arithmetic (spec §4.1): each initial member's configuration change creates
//! its `raftAttributes` (+1 each), each member publishes its `attributes` once
//! started (+1 each), and the leader sets `/0/version` once all have published
//! (+1): a fresh one-member cluster's first user write gets index 4, a three-member
//! one's 8. A restarted member publishes again (+1), as etcd does.
//!
//! A quorum GET, the `/health` probe and every write go through the log. A proposal
//! that finds no leader or is dropped is retried until the request timeout
//! (default 7 s), then fails with `etcdserver: request timed out` (error 300).
//!
//! Adding a member passes etcd's strict reconfiguration check first: enough started
//! members for the new quorum, and this member connected to every other one for
//! [`HEALTH_INTERVAL`] (5 s); otherwise 500 (`etcdserver: unhealthy cluster`).

mod backend;
mod compactor;
pub mod config;
mod corrupt_check;
mod drain;
mod early_expiry;
pub mod entry;
mod expiry;
pub mod handle;
pub mod hooks;
pub mod ids;
mod lease_keeper;
pub mod listen;
pub mod membership;
mod metrics_listener;
mod metrics_probe;
mod nospace;
// Real builds only: in sim builds gRPC is served on madsim's own sockets.
#[cfg(not(madsim))]
mod h2_authority;
#[cfg(not(madsim))]
mod preface;
mod proposer;
mod publish;
mod server;
mod signal;
pub mod state_machine;
mod stats;
mod tick_advance;
#[cfg(not(madsim))]
mod tls_conn;
pub mod unsafe_mode;
mod v3_backend;
pub mod v3_digest;
mod v3_move_leader;

pub use backend::HEALTH_INTERVAL;
pub use config::MemberConfig;
pub use drain::MAX_CLIENT_CONNECTIONS;
pub use handle::{Member, MemberError, run_member};
pub use hooks::ClientHooks;
pub use ids::{cluster_id, member_id};
pub use publish::CLUSTER_VERSION;
pub use server::ClientListener;
pub use unsafe_mode::UnsafeMode;
pub use v3_digest::V3Digest;
