//! etcd's v3 state, pure: no I/O, no clock, no Raft, no gRPC. The server layer owns
//! these values and applies committed entries to them in log order.
//!
//! - [`watch`]: the watchable store (watch streams, synced/unsynced watchers,
//!   victims, progress notifications, fragmentation).

pub mod watch;
