//! The case bodies shared by both backends: each is written once and run against
//! real etcd 3.4.23 (`tests/real_*.rs`) and against the simulated cluster
//! (`sim/tests/sim_*.rs`), with the same assertions and time bounds.
//!
//! - [`keys`], [`auth`]: single-member bodies that take the endpoints.
//! - [`v3_kv`]: the v3 KV client; endpoint bodies plus one [`crate::backend::Backend`] body.
//! - [`v3_port`]: gRPC (health) and HTTP/1.1 on one client port; endpoint bodies.
//! - [`v3_concurrency`]: sessions, locks, elections, STM and recipes; endpoint bodies plus
//!   one [`crate::backend::Backend`] body (a member stopped).
//! - [`v3_cluster`], [`v3_maintenance`], [`v3_auth`]: the v3 Cluster, Maintenance and
//!   Auth APIs and the client's endpoint management, as [`crate::backend::Backend`] bodies.
//! - [`v3_auth_matrix`]: the v3 permission matrix (KV, Txn, Watch, Lease × allowed and
//!   denied); an endpoint body.
//! - [`v3_watch`], [`v3_lease`]: the v3 Watcher and Lease clients; endpoint bodies, and
//!   [`crate::backend::Backend`] bodies that kill or stop the member serving a stream
//!   (found through its `/metrics`, see [`crate::metrics`]).
//! - [`v3_lock_election`]: etcd's Lock and Election gRPC services through the
//!   generated clients, with the SDK's mutex and `etcdctl lock`; endpoint bodies.
//! - [`v3_packages`]: the SDK's v3 packages (namespace, ordering, mirror, yaml,
//!   snapshot); endpoint bodies, some over two clusters.
//! - [`v3_naming`]: the endpoint registry (Go 3.4's naming) and its tower
//!   `Discover`; [`v3_rwmutex_locker`]: the readers-writer lock recipe and the
//!   `Locker`; endpoint bodies.
//! - [`v3_leasing`]: the SDK's leasing KV (Go's `clientv3/leasing`), two or three
//!   leasing clients per case; endpoint bodies.
//! - [`v3_learner`]: a learner's life against a cluster of processes (real builds:
//!   it starts a fourth process).
//! - [`client`], [`members`]: bodies that drive a [`crate::backend::Backend`] (faults:
//!   pause, kill, restart).

pub mod auth;
pub mod client;
pub mod keys;
pub mod members;
pub mod v3_auth;
#[cfg(not(madsim))]
pub mod v3_auth_jwt;
pub mod v3_auth_matrix;
pub mod v3_auth_ports;
pub mod v3_cluster;
pub mod v3_concurrency;
pub mod v3_election_ports;
pub mod v3_kv;
#[cfg(not(madsim))]
pub mod v3_learner;
pub mod v3_lease;
pub mod v3_leasing;
pub mod v3_lock_election;
pub mod v3_maintenance;
pub mod v3_naming;
pub mod v3_packages;
pub mod v3_port;
pub mod v3_rwmutex_locker;
pub mod v3_watch;
