//! The chaos harness: a randomized workload of SDK clients, a nemesis that injects
//! faults from a seed, the recorded [`history`], and the checkers that judge it.
//!
//! The history and the checkers are plain data and code (both builds); the
//! workload and the nemesis drive a [`crate::cluster::SimCluster`] (sim builds).
//!
//! - [`history`]: the record types (JSON lines).
//! - [`op_mix`], [`outcome`]: what the clients ask, and how an SDK result becomes
//!   a recorded outcome.
//! - [`fault_kind`], [`nemesis_plan`]: the fault menu and the pure, seed-derived
//!   schedule over it.
//! - [`recorder`], [`stop_signal`], [`stats`]: plumbing and numbers.
//! - sim builds: [`workload`] (the clients), `watchers`, `nemesis` (the executor),
//!   `run` ([`run::run_seed`]: one seed end to end).

pub mod fault_kind;
pub mod history;
pub mod nemesis_plan;
pub mod op_mix;
pub mod outcome;
pub mod recorder;
pub mod stats;
pub mod stop_signal;

#[cfg(madsim)]
pub mod nemesis;
#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod watchers;
#[cfg(madsim)]
pub mod workload;
