//! etcd-sim: a deterministic, simulated etcd server and cluster.
pub mod raft;
