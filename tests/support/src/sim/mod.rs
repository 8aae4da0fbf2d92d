//! Sim-build harnesses (madsim).
//!
//! - [`backend`]: [`crate::backend::Backend`] over a fresh `SimCluster`, and the
//!   `on_sim_cluster!` macro that makes one `#[madsim::test]` per shared case.
//! - [`fresh_member`]: a shared single-member case body against a fresh simulated
//!   member, and the `against_sim!` macro.
//! - [`member`]: one etcd member per simulated node, with disks that outlive kills
//!   (the member scenario tests).
//! - [`raft`]: bare Raft nodes on simulated nodes (the Raft scenario tests).

pub mod backend;
pub mod fresh_member;
pub mod member;
pub mod raft;
