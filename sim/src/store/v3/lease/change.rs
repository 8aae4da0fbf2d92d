//! The kv store's lease bookkeeping record, as STORE_V3.md fixes it.
//!
//! MERGE NOTE: this is a local copy of `store::v3::kv::LeaseChange` (the mvcc helper's
//! type, same fields). At merge, delete this struct and replace the file's
//! body with `pub use crate::store::v3::kv::LeaseChange;`; nothing else in `lease/`
//! names the struct's path.

/// One key whose lease changed in a committed kv write: attached (`old_lease` 0),
/// detached (`new_lease` 0, also when a leased key is deleted) or moved. 0 = no lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseChange {
    /// The key.
    pub key: Vec<u8>,
    /// The lease the key had before the write (0 = none).
    pub old_lease: i64,
    /// The lease the key has after the write (0 = none, or the key was deleted).
    pub new_lease: i64,
}
