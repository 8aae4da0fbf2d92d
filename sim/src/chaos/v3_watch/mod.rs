//! The v3 watch half of the chaos harness (issue 15): watchers that watch
//! through `etcd_sdk::v3` under faults and log what they get, and the checker
//! of etcd's watch guarantees over that log.
//!
//! - [`log`]: the watch log (plain data, both builds): per watcher its spec,
//!   its (re)starts and every response, with virtual receive times.
//! - [`writes`]: [`writes::KnownWrites`], the committed writes by revision a
//!   workload hands the checker.
//! - [`check`]: the checker ([`check::check`]), built from [`revisions`]
//!   (the history and the committed-write and agreement checks),
//!   [`stream_check`] (ordered, unique, atomic, start, range, filters, prev_kv,
//!   bookmarks) and [`gap_check`] (reliable, resumable); [`violation`]: what
//!   it reports.
//! - sim builds: `watchers` (the watcher tasks), `writer` (a small writer
//!   whose acknowledged writes become known writes) and `run` (one seed end
//!   to end: cluster, writer, watchers, the v2 harness's nemesis, checker).

pub mod check;
pub mod gap_check;
pub mod log;
pub mod revisions;
pub mod stream_check;
pub mod violation;
pub mod writes;

#[cfg(madsim)]
pub mod run;
#[cfg(madsim)]
pub mod watchers;
#[cfg(madsim)]
pub mod writer;
