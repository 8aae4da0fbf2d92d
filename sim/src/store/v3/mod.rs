//! etcd's v3 state, pure: no I/O, no clock (time comes in as `std::time::Instant`
//! arguments), no Raft, no gRPC. The server layer owns these values and applies
//! Raft entries to them in log order.
//!
//! - [`lease`]: the lessor (leases, their TTLs and expiries, the keys attached).
//! - [`watch`]: the watchable store (watch streams and their watchers, synced
//!   and catching up, victims, progress, fragments).

pub mod lease;
pub mod watch;
