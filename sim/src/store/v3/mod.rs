//! etcd's v3 state, pure: no I/O, no clock, no Raft, no gRPC. The server layer owns
//! these values, applies committed Raft entries to them in log order and maps their
//! errors to gRPC codes and texts.
//!
//! - [`kv`]: the MVCC key-value store (revisions, key index, Range/Put/DeleteRange/Txn,
//!   compaction, HashKV, snapshots) and the request validators that run before Raft.

pub mod kv;
