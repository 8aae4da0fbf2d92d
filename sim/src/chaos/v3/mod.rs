//! The chaos harness for the v3 API: a workload of `etcd_sdk::v3` clients
//! (puts, ranges, deletes, txns, leases, compaction), its recorded
//! [`history::V3History`], and the checkers that judge it.
//!
//! - [`history`]: the recorded operations (plain data, JSON lines).
//! - [`order`]: real-time order of revisions.
//! - [`writes`]: the committed write sequence rebuilt by revision, and
//!   [`writes::known_writes`] for other checkers (the watch checker).
//! - [`kv_check`], [`lease_check`]: reads, txns and leases against it;
//!   [`check`] runs them all.
//! - [`op_gen`], [`outcome`]: what the clients ask, and how an SDK result
//!   becomes a recorded outcome.
//! - sim builds: `workload` (the clients) and `run` (one seed end to end).

pub mod check;
pub mod history;
pub mod kv_check;
pub mod lease_check;
pub mod op_gen;
pub mod order;
pub mod outcome;
pub mod watch_glue;
pub mod writes;

#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod workload;

#[cfg(test)]
mod tests;
