//! etcd's v3 state, pure: no I/O, no clock (time comes in as `std::time::Instant`
//! arguments), no Raft, no gRPC. The server layer owns these values and applies
//! Raft entries to them in log order.
//!
//! - [`kv`]: the MVCC key-value store (revisions, key index, Range/Put/
//!   DeleteRange/Txn, validation, compaction, HashKV, snapshots).
//! - [`lease`]: the lessor (leases, their TTLs and expiries, the keys attached).
//! - [`watch`]: the watchable store (watch streams and their watchers, synced
//!   and catching up, victims, progress, fragments).
//!
//! How they meet (`glue`): the kv store asks the lessor whether a lease exists
//! ([`kv::LeaseLookup`] for [`lease::Lessor`]); every committed write's
//! [`kv::ChangeSet`] carries the lease changes the lessor mirrors and the events
//! the watchable store delivers; the watchable store reads history from the kv
//! store through [`watch::EventSource`].

mod glue;
pub mod kv;
pub mod lease;
pub mod watch;
