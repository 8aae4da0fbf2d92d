//! etcd-sim: a deterministic, simulated etcd server and cluster.
pub mod raft;
pub mod sim_rand;
