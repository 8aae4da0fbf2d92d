//! [`KnownWrites`]: the committed writes a run knows of, by revision — the
//! reference the watch checker holds events against.
//!
//! A workload fills it from its acknowledged writes (a put, a delete, a txn:
//! each took one revision, its header's). One revision's entry lists every key
//! the write changed, in the order of its ops (etcd's sub-revisions), and must
//! be complete: a revision listed here is taken to hold exactly these events.
//! Revisions nobody acknowledged (a write whose answer was lost, a lease
//! expiry) are left out; the checker learns them from the watchers, which must
//! then agree.

use super::log::{EventKind, KvRecord};
use std::collections::BTreeMap;

/// One key's change in a committed write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteEvent {
    /// The key.
    pub key: String,
    /// `Some(value)` for a put, `None` for a delete.
    pub value: Option<String>,
    /// The key's create revision after a put (`None`: unknown, not compared;
    /// ignored for a delete).
    pub create_revision: Option<i64>,
    /// The key's version after a put (`None`: unknown, not compared; ignored
    /// for a delete).
    pub version: Option<i64>,
    /// The lease a put attached (0: none; ignored for a delete).
    pub lease: i64,
}

impl WriteEvent {
    /// A put of `value` on `key` with what is known of its create revision and
    /// version.
    pub fn put(
        key: impl Into<String>,
        value: impl Into<String>,
        create_revision: Option<i64>,
        version: Option<i64>,
        lease: i64,
    ) -> WriteEvent {
        WriteEvent {
            key: key.into(),
            value: Some(value.into()),
            create_revision,
            version,
            lease,
        }
    }

    /// A delete of `key`.
    pub fn delete(key: impl Into<String>) -> WriteEvent {
        WriteEvent {
            key: key.into(),
            value: None,
            create_revision: None,
            version: None,
            lease: 0,
        }
    }

    /// Put or delete.
    pub fn kind(&self) -> EventKind {
        if self.value.is_some() {
            EventKind::Put
        } else {
            EventKind::Delete
        }
    }

    /// Whether an event of `kind` with `kv`, at `revision`, is this change:
    /// same kind, key and mod revision, and for a put the same value, lease and
    /// (where known) create revision and version.
    pub fn matches(&self, revision: i64, kind: EventKind, kv: &KvRecord) -> bool {
        if kind != self.kind() || kv.key != self.key || kv.mod_revision != revision {
            return false;
        }
        match &self.value {
            None => true,
            Some(v) => {
                *v == kv.value
                    && self.lease == kv.lease
                    && self.create_revision.is_none_or(|c| c == kv.create_revision)
                    && self.version.is_none_or(|n| n == kv.version)
            }
        }
    }
}

/// Committed writes by revision (see the module docs).
pub type KnownWrites = BTreeMap<i64, Vec<WriteEvent>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str, create: i64, modr: i64, version: i64) -> KvRecord {
        KvRecord {
            key: key.into(),
            value: value.into(),
            create_revision: create,
            mod_revision: modr,
            version,
            lease: 0,
        }
    }

    #[test]
    fn a_put_matches_on_what_is_known() {
        let exact = WriteEvent::put("k", "v", Some(3), Some(2), 0);
        assert!(exact.matches(5, EventKind::Put, &kv("k", "v", 3, 5, 2)));
        assert!(!exact.matches(5, EventKind::Put, &kv("k", "v", 5, 5, 1)));
        assert!(!exact.matches(6, EventKind::Put, &kv("k", "v", 3, 5, 2)));
        assert!(!exact.matches(5, EventKind::Delete, &kv("k", "", 0, 5, 0)));
        let vague = WriteEvent::put("k", "v", None, None, 0);
        assert!(vague.matches(5, EventKind::Put, &kv("k", "v", 1, 5, 4)));
        assert!(!vague.matches(5, EventKind::Put, &kv("k", "w", 1, 5, 4)));
        let leased = WriteEvent::put("k", "v", None, None, 7);
        assert!(!leased.matches(5, EventKind::Put, &kv("k", "v", 1, 5, 4)));
    }

    #[test]
    fn a_delete_matches_key_and_revision() {
        let d = WriteEvent::delete("k");
        assert_eq!(d.kind(), EventKind::Delete);
        assert!(d.matches(9, EventKind::Delete, &kv("k", "", 0, 9, 0)));
        assert!(!d.matches(9, EventKind::Delete, &kv("j", "", 0, 9, 0)));
    }
}
