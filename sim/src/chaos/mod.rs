//! The chaos harness: a randomized workload of SDK clients, a nemesis that injects
//! faults from a seed, the recorded [`history`], and the checkers that judge it.
//!
//! The history and the checkers are plain data and code (both builds); the
//! workload and the nemesis drive a [`crate::cluster::SimCluster`] (sim builds).
//!
//! Judging a history: [`check::check`] runs every checker and returns a
//! [`check::CheckReport`]; [`timeline::write_html`] draws the history with what the
//! report found.
//! - [`model`]: the sequential specification of one v2 key.
//! - [`linearizability`]: the Wing–Gong–Lowe search over one key's operations.
//! - [`minimize`]: shrinks a non-linearizable key's history to a witness.
//! - [`index_check`], [`phantom_check`], [`watch_check`]: the store index, local
//!   reads, and the watch guarantees.
//! - [`synthetic`]: valid concurrent histories from a seed, for tests and the
//!   checker benchmark.

pub mod check;
pub mod describe;
pub mod history;
pub mod index_check;
pub mod linearizability;
pub mod minimize;
pub mod model;
pub mod phantom_check;
pub mod synthetic;
pub mod timeline;
pub mod watch_check;
pub mod writes;
