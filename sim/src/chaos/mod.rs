//! The chaos harness: a randomized workload of SDK clients, a nemesis that injects
//! faults from a seed, the recorded [`history`], and the checkers that judge it.
//!
//! The history and the checkers are plain data and code (both builds); the
//! workload and the nemesis drive a [`crate::cluster::SimCluster`] (sim builds).

pub mod history;
