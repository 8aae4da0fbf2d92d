//! etcd-sim: an etcd server (Raft, the v2 store and HTTP API) that runs inside the
//! madsim simulator, so faults reproduce from a seed.

pub mod api;
