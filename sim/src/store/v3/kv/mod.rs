//! etcd 3.4's MVCC key-value store, pure: every committed write gets the next main
//! revision, history is kept per key as generations until compaction, and reads can
//! look at any retained revision.
//!
//! Layout:
//! - [`revision`]: main/sub revisions and their byte form.
//! - [`key_range`]: etcd's `(key, range_end)` rules.
//! - [`key_index`]: one key's generations; lookup and compaction of its history.
//! - [`index`]: the ordered map of key indexes.
//! - [`store`]: [`KvStore`]: state, reads at a revision, compaction, events.
//! - [`write`]: a write batch: every change of one write shares one revision.
//! - [`range`]: a RangeRequest's options (limit, sort, filters, count).
//! - [`compare`]: Txn compares.
//! - [`txn`]: Txn execution (branches, nested txns, checks before writing).
//! - [`validate`]: the request checks etcd runs before Raft.
//! - [`hash`]: HashKV (CRC-32C over the stored history, as etcd computes it).
//! - [`snapshot`]: the store as bytes for a Raft snapshot, and back.
//! - [`error`]: [`KvError`], one variant per etcd error text.
//!
//! Headers: responses of top-level requests leave `header: None` (the server fills
//! cluster_id, member_id, raft_term and revision = the current revision after apply,
//! which equals etcd's value for Range, Put, DeleteRange and Txn). Responses nested in a
//! Txn carry what etcd's applier sets there: nested TxnResponses an empty header, and
//! nested Range/Put/DeleteRange responses a header with only `revision`.

pub mod compare;
pub mod error;
pub mod hash;
pub mod index;
pub mod key_index;
pub mod key_range;
pub mod range;
pub mod revision;
pub mod snapshot;
pub mod store;
pub mod txn;
mod unsafe_corrupt;
pub mod validate;
pub mod write;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod test_support;

use std::collections::BTreeSet;

use etcd_sdk::v3::pb::mvccpb;

pub use error::{KvError, Result};
pub use hash::HashKv;
pub use key_range::KeyRange;
pub use revision::Revision;
pub use snapshot::SnapshotError;
pub use store::KvStore;
pub use txn::is_txn_read_only;
pub use validate::{
    DEFAULT_MAX_TXN_OPS, validate_delete_range, validate_put, validate_range, validate_txn,
};

/// The result of one committed write (Put, DeleteRange, a writing Txn, or the key
/// deletions of a lease revoke). Every change of one write shares `revision`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangeSet {
    /// The main revision this write created.
    pub revision: i64,
    /// One event per changed key, in sub-revision order. PUT events carry the full new
    /// KeyValue; DELETE events carry kv { key, mod_revision = revision } only.
    /// `prev_kv` is the key as of `revision - 1` when it was live then (etcd's watch
    /// rule); watchers that did not ask for it strip it.
    pub events: Vec<mvccpb::Event>,
    /// Lease bookkeeping the server must mirror into the lessor: one entry per change
    /// whose key's lease changed (attach, detach, or delete of a leased key -> new 0).
    pub lease_changes: Vec<LeaseChange>,
}

/// A key's lease changed from `old_lease` to `new_lease` (0 = no lease).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseChange {
    /// The key.
    pub key: Vec<u8>,
    /// The lease the key was attached to before (0 = none).
    pub old_lease: i64,
    /// The lease the key is attached to now (0 = none).
    pub new_lease: i64,
}

/// How the kv store asks whether a lease exists (implemented by the lessor at glue
/// time; tests use a set).
pub trait LeaseLookup {
    /// Whether lease `id` exists now.
    fn lease_exists(&self, id: i64) -> bool;
}

impl LeaseLookup for BTreeSet<i64> {
    fn lease_exists(&self, id: i64) -> bool {
        self.contains(&id)
    }
}

/// A [`LeaseLookup`] in which no lease exists.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLeases;

impl LeaseLookup for NoLeases {
    fn lease_exists(&self, _id: i64) -> bool {
        false
    }
}
