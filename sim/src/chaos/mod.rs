//! The chaos harness: a randomized workload of SDK clients, a nemesis that injects
//! faults from a seed, the recorded [`history`], and the checkers that judge it.
//!
//! The history and the checkers are plain data and code (both builds); the
//! workload and the nemesis drive a `SimCluster` (sim builds).
//!
//! Judging a history: [`check::check`] runs every checker and returns a
//! [`check::CheckReport`]; [`timeline::write_html`] draws the history with what the
//! report found.
//! - [`model`]: the sequential specification of one v2 key.
//! - [`linearizability`]: the Wing–Gong–Lowe search over one key's operations.
//! - [`minimize`]: shrinks a non-linearizable key's history to a witness.
//! - [`index_check`], [`phantom_check`], [`watch_check`]: the store index, local
//!   reads, and the watch guarantees; [`violation`]: what they report.
//! - [`synthetic`]: valid concurrent histories from a seed, for tests and the
//!   checker benchmark.
//!
//! Making a history:
//! - [`op_mix`], [`outcome`]: what the clients ask, and how an SDK result becomes
//!   a recorded outcome.
//! - [`fault_kind`], [`nemesis_plan`]: the fault menu and the pure, seed-derived
//!   schedule over it.
//! - [`recorder`], [`stop_signal`], [`stats`], [`artifacts`]: plumbing, numbers,
//!   and the files a failing seed leaves.
//! - [`v3`]: the same for the v3 API (its own history, workload and checker).
//! - sim builds: `workload` (the clients), `watchers`, `nemesis` (the executor),
//!   `run` (`run_seed`: one seed end to end) and `verdict` (its check).

pub mod artifacts;
pub mod check;
pub mod describe;
pub mod fault_kind;
pub mod history;
pub mod index_check;
pub mod linearizability;
pub mod minimize;
pub mod model;
pub mod nemesis_plan;
pub mod op_mix;
pub mod outcome;
pub mod phantom_check;
pub mod recorder;
pub mod stats;
pub mod stop_signal;
pub mod synthetic;
pub mod timeline;
pub mod v3;
pub mod v3_watch;
pub mod violation;
pub mod watch_check;
pub mod writes;

#[cfg(madsim)]
pub mod nemesis;
#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod verdict;
#[cfg(madsim)]
pub mod watchers;
#[cfg(madsim)]
pub mod workload;
