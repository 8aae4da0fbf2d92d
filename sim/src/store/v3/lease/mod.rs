//! etcd 3.4's lessor: leases, their granted TTLs, their expiries and the keys attached
//! to them (etcd's `lease/lessor.go`), as a pure state machine.
//!
//! # What the server does with it
//!
//! Every member holds a [`Lessor`] and applies the replicated lease entries to it in log
//! order: [`Lessor::grant`], [`Lessor::revoke`], [`Lessor::checkpoint`], and the
//! [`LeaseChange`]s of every kv write through [`Lessor::apply_lease_changes`]. Only the
//! Raft leader's lessor is *primary* ([`Lessor::promote`] / [`Lessor::demote`]): it alone
//! has finite expiries, answers [`Lessor::renew`] (keepalive) and reports
//! [`Lessor::expired`] leases, which the server then revokes through Raft. Followers keep
//! every lease "forever" and forward keepalives and TimeToLive to the leader.
//!
//! The lessor does not know the kv store: [`Lessor::revoke`] returns the attached keys
//! and the server deletes them through kv in one write (one revision); that write's
//! [`LeaseChange`]s come back to [`Lessor::apply_lease_changes`] like any other's.
//!
//! # Timing the server must use (etcd 3.4.23 defaults)
//!
//! - Every [`CHECK_INTERVAL`] (500 ms) the leader calls
//!   [`Lessor::expired`]`(now, `[`LessorConfig::revoke_limit_per_check`]`())` (500 =
//!   [`REVOKE_RATE`] / 2) and proposes one `LeaseRevoke` per ID (as root when auth is
//!   on), at most [`MAX_PENDING_REVOKES`] (16) in flight. A reported lease is not reported
//!   again for [`LessorConfig::expired_retry_interval`] (the server's request timeout:
//!   5 s + 2 × election timeout = 7 s), then again until it is revoked.
//! - With checkpoints on, in the same tick: [`Lessor::due_checkpoints`]`(now,`
//!   [`MAX_CHECKPOINT_BATCH`]`)` repeatedly (one `LeaseCheckpoint` entry per batch)
//!   while a batch comes back full, at most [`CHECKPOINT_RATE`] / 2 batches.
//! - [`Lessor::promote`]`(now, election timeout)` when this member, as leader, applies
//!   the empty entry that opens its term; [`Lessor::demote`] as soon as it stops being
//!   leader. [`LessorConfig::election_timeout`] gives the extension (1 s by default).
//! - [`LessorConfig::min_ttl_for`] gives the minimum TTL (2 s by default).
//!
//! # Layout
//!
//! - [`config`]: [`LessorConfig`] and etcd's constants.
//! - [`error`]: [`LeaseError`] (etcd's texts and gRPC codes).
//! - [`record`]: one [`Lease`] and Go's duration arithmetic.
//! - `queue`: the expiry queue and the checkpoint schedule (ordered, deterministic).
//! - [`lessor`]: [`Lessor`], grant, revoke, lookups.
//! - [`attach`]: attach/detach, [`LeaseChange`]s, rebuilding attachments on restore.
//! - [`primary`]: promote, demote, renew, expiry.
//! - [`ttl`]: the TimeToLive answer.
//! - [`checkpoint`]: remaining-TTL checkpoints (`--experimental-enable-lease-checkpoint`).
//! - [`snapshot`]: the lessor's part of a snapshot.
//! - [`change`]: the kv store's [`LeaseChange`] (a local copy until the merge).

pub mod attach;
pub mod change;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod lessor;
#[cfg(test)]
mod model_tests;
pub mod primary;
mod queue;
pub mod record;
pub mod snapshot;
pub mod ttl;

pub use change::LeaseChange;
pub use checkpoint::Checkpoint;
pub use config::{
    CHECK_INTERVAL, CHECKPOINT_RATE, CheckpointConfig, DEFAULT_CHECKPOINT_INTERVAL,
    DEFAULT_EXPIRED_RETRY_INTERVAL, LessorConfig, MAX_CHECKPOINT_BATCH, MAX_LEASE_TTL,
    MAX_PENDING_REVOKES, REVOKE_RATE,
};
pub use error::LeaseError;
pub use lessor::{Granted, Lessor};
pub use primary::Renewal;
pub use record::Lease;
pub use snapshot::SnapshotError;
pub use ttl::TimeToLive;

/// A lease ID. 0 means "no lease" (etcd's `NoLease`); negative IDs are valid leases.
pub type LeaseId = i64;

/// The "no lease" ID a key without a lease carries.
pub const NO_LEASE: LeaseId = 0;
