//! [`KvStore`]: the revisioned key-value state: the key index, every retained change by
//! revision, the current and compact revisions; reads at a revision, compaction and the
//! event history watchers replay.

use std::collections::{BTreeMap, BTreeSet};

use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue, event::EventType};

use super::error::{KvError, Result};
use super::index::Index;
use super::key_range::KeyRange;
use super::revision::Revision;

/// Bytes counted per retained change on top of its key and value (the revision key, the
/// KeyValue's integer fields, index bookkeeping), for [`KvStore::size_bytes`].
pub const ENTRY_OVERHEAD_BYTES: u64 = 64;

/// One retained change. A put stores the whole new KeyValue; a deletion (tombstone)
/// stores `KeyValue { key }` only, as etcd's backend does.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Stored {
    pub(super) kv: KeyValue,
    pub(super) tombstone: bool,
}

impl Stored {
    pub(super) fn size(&self) -> u64 {
        (self.kv.key.len() + self.kv.value.len()) as u64 + ENTRY_OVERHEAD_BYTES
    }

    /// The watch event of this change at `rev`, without `prev_kv`.
    pub(super) fn event(&self, rev: Revision) -> Event {
        if self.tombstone {
            Event {
                r#type: EventType::Delete as i32,
                kv: Some(KeyValue {
                    key: self.kv.key.clone(),
                    mod_revision: rev.main,
                    ..Default::default()
                }),
                prev_kv: None,
            }
        } else {
            Event {
                r#type: EventType::Put as i32,
                kv: Some(self.kv.clone()),
                prev_kv: None,
            }
        }
    }
}

/// etcd's MVCC key-value store.
///
/// - The revision starts at 1; every write that changes something takes the next one,
///   shared by all its changes (sub revisions 0, 1, ...). Writes that change nothing
///   (deleting missing keys, read-only txns) leave it alone.
/// - Reads can ask for any revision from the compact revision up to the current one.
/// - [`KvStore::compact`] drops history below a revision, keeping each key's newest
///   version as of it.
///
/// Requests are assumed validated (the `validate_*` functions, run before Raft).
#[derive(Clone, Debug, PartialEq)]
pub struct KvStore {
    pub(super) index: Index,
    pub(super) backend: BTreeMap<Revision, Stored>,
    pub(super) current_revision: i64,
    /// etcd's `compactMainRev`: -1 until the first compaction.
    pub(super) compact_main: i64,
    pub(super) size_bytes: u64,
}

impl Default for KvStore {
    fn default() -> Self {
        KvStore {
            index: Index::new(),
            backend: BTreeMap::new(),
            current_revision: 1,
            compact_main: -1,
            size_bytes: 0,
        }
    }
}

impl KvStore {
    /// An empty store at revision 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store's current revision (1 on an empty store).
    pub fn current_revision(&self) -> i64 {
        self.current_revision
    }

    /// The compact revision (0 when never compacted).
    pub fn compact_revision(&self) -> i64 {
        self.compact_main.max(0)
    }

    /// An estimate of the stored bytes (every retained change's key and value plus
    /// [`ENTRY_OVERHEAD_BYTES`]), for the backend quota. O(1).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Number of keys with retained history (live or not).
    pub fn key_count(&self) -> usize {
        self.index.len()
    }

    /// Number of live keys (O(keys): for metrics).
    pub fn live_key_count(&self) -> usize {
        self.index.iter().filter(|(_, ki)| ki.is_live()).count()
    }

    /// Number of retained changes.
    pub fn change_count(&self) -> usize {
        self.backend.len()
    }

    /// The current value of `key`, if it exists.
    pub fn get(&self, key: &[u8]) -> Option<KeyValue> {
        self.kv_at(key, self.current_revision)
    }

    /// Every live key that has a lease, with its lease, in key order (to rebuild
    /// the lessor's attachments after a snapshot restore).
    pub fn live_leased_keys(&self) -> Vec<(Vec<u8>, i64)> {
        self.kvs_at(&KeyRange::new(b"\0", b"\0"), self.current_revision)
            .into_iter()
            .filter(|kv| kv.lease != 0)
            .map(|kv| (kv.key, kv.lease))
            .collect()
    }

    /// `key` as of main revision `at`, if it was live then (no compaction check).
    pub(super) fn kv_at(&self, key: &[u8], at: i64) -> Option<KeyValue> {
        let found = self.index.get(key)?.get(at)?;
        self.backend.get(&found.modified).map(|s| s.kv.clone())
    }

    /// The live KeyValues in `range` at `at`, in key order (no compaction check).
    pub(super) fn kvs_at(&self, range: &KeyRange, at: i64) -> Vec<KeyValue> {
        self.index
            .live_at(range, at)
            .filter_map(|(_, found)| self.backend.get(&found.modified))
            .map(|s| s.kv.clone())
            .collect()
    }

    /// The revision a read asking for `requested` sees when the newest revision is
    /// `current` (etcd's rules: above current = future; 0 or negative = current; below
    /// the compact revision = compacted; the compact revision itself is readable).
    pub(super) fn read_revision(&self, requested: i64, current: i64) -> Result<i64> {
        if requested > current {
            return Err(KvError::FutureRevision);
        }
        let rev = if requested <= 0 { current } else { requested };
        if rev < self.compact_main {
            return Err(self.compacted());
        }
        Ok(rev)
    }

    pub(super) fn compacted(&self) -> KvError {
        KvError::Compacted {
            compact_revision: self.compact_main,
        }
    }

    /// Compacts the history at `rev`: every change below it is dropped except each key's
    /// newest version as of `rev` (a key deleted at or before `rev` loses that life
    /// entirely). Fails with [`KvError::Compacted`] when `rev` is not above the current
    /// compact revision and with [`KvError::FutureRevision`] above the current revision.
    pub fn compact(&mut self, rev: i64) -> Result<()> {
        if rev <= self.compact_main {
            return Err(self.compacted());
        }
        if rev > self.current_revision {
            return Err(KvError::FutureRevision);
        }
        self.compact_main = rev;
        let kept: BTreeSet<Revision> = self.index.compact(rev).into_iter().collect();
        let doomed: Vec<Revision> = self
            .backend
            .range(..=Revision::new(rev, i64::MAX))
            .map(|(r, _)| *r)
            .filter(|r| !kept.contains(r))
            .collect();
        for r in doomed {
            if let Some(stored) = self.backend.remove(&r) {
                self.size_bytes = self.size_bytes.saturating_sub(stored.size());
            }
        }
        tracing::debug!(
            compact_revision = rev,
            retained = self.backend.len(),
            "kv store compacted"
        );
        Ok(())
    }

    /// Every event with `from <= revision <= to` for keys in `(key, range_end)` (etcd's
    /// range rules), in revision then sub-revision order. `prev_kv` is the key as of
    /// `revision - 1` when that is readable and the key was live then (etcd reads it the
    /// same way for watchers that ask). Fails with [`KvError::Compacted`] when
    /// `from < compact revision` (etcd's watch rule: a watch starting exactly at the
    /// compact revision is served, with what compaction kept at that revision).
    pub fn events_between(
        &self,
        from: i64,
        to: i64,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<Event>> {
        if from < self.compact_main {
            return Err(self.compacted());
        }
        let from = from.max(1);
        if to < from {
            return Ok(Vec::new());
        }
        let range = KeyRange::new(key, range_end);
        let mut events = Vec::new();
        for (rev, stored) in self
            .backend
            .range(Revision::new(from, 0)..=Revision::new(to, i64::MAX))
        {
            if !range.contains(&stored.kv.key) {
                continue;
            }
            let mut event = stored.event(*rev);
            event.prev_kv = self.prev_kv(&stored.kv.key, rev.main);
            events.push(event);
        }
        Ok(events)
    }

    /// The key as of `main - 1`, the way etcd fills a watch event's prev_kv: absent when
    /// that revision is compacted or the key was not live then.
    pub(super) fn prev_kv(&self, key: &[u8], main: i64) -> Option<KeyValue> {
        let at = main - 1;
        if at <= 0 || at < self.compact_main {
            return None;
        }
        self.kv_at(key, at)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn empty_store_is_at_revision_one() {
        let s = KvStore::new();
        assert_eq!(s.current_revision(), 1);
        assert_eq!(s.compact_revision(), 0);
        assert_eq!(s.size_bytes(), 0);
        assert_eq!(s.get(b"a"), None);
    }

    #[test]
    fn puts_bump_and_noop_deletes_do_not() {
        let mut s = KvStore::new();
        put(&mut s, "foo", "bar");
        assert_eq!(s.current_revision(), 2);
        let (resp, cs) = s.delete_range(&del_req("nonexist", ""));
        assert_eq!(resp.deleted, 0);
        assert!(cs.is_none());
        assert_eq!(s.current_revision(), 2);
        // The same value again still bumps the revision and the version.
        put(&mut s, "foo", "bar");
        assert_eq!(s.current_revision(), 3);
        let kv = s.get(b"foo").unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 3, 2));
        let (resp, cs) = s.delete_range(&del_req("foo", ""));
        assert_eq!(resp.deleted, 1);
        assert_eq!(cs.unwrap().revision, 4);
        assert_eq!(s.current_revision(), 4);
        put(&mut s, "foo", "again");
        let kv = s.get(b"foo").unwrap();
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (5, 5, 1));
    }

    #[test]
    fn historical_reads_around_compaction() {
        let mut s = KvStore::new();
        for i in 0..5 {
            put(&mut s, "k", &format!("v{i}")); // revisions 2..=6
        }
        s.compact(4).unwrap();
        assert_eq!(s.compact_revision(), 4);
        // At the compact revision: still readable.
        let r = s.range(&range_req_at("k", "", 4)).unwrap();
        assert_eq!(r.kvs[0].value, b"v2");
        // Below: compacted; above current: future.
        assert_eq!(
            s.range(&range_req_at("k", "", 3)),
            Err(KvError::Compacted {
                compact_revision: 4
            })
        );
        assert_eq!(
            s.range(&range_req_at("k", "", 7)),
            Err(KvError::FutureRevision)
        );
        assert_eq!(
            s.range(&range_req_at("k", "", 6)).unwrap().kvs[0].value,
            b"v4"
        );
        // Negative means current.
        assert_eq!(
            s.range(&range_req_at("k", "", -3)).unwrap().kvs[0].value,
            b"v4"
        );
    }

    #[test]
    fn compact_errors_like_etcd() {
        let mut s = KvStore::new();
        for i in 0..5 {
            put(&mut s, "k", &format!("v{i}"));
        }
        assert_eq!(s.compact(7), Err(KvError::FutureRevision));
        s.compact(3).unwrap();
        assert_eq!(
            s.compact(3),
            Err(KvError::Compacted {
                compact_revision: 3
            })
        );
        assert_eq!(
            s.compact(2),
            Err(KvError::Compacted {
                compact_revision: 3
            })
        );
        // Compact to the current revision keeps the live value readable.
        s.compact(6).unwrap();
        assert_eq!(s.get(b"k").unwrap().value, b"v4");
        assert_eq!(s.change_count(), 1);
    }

    #[test]
    fn compaction_drops_deleted_keys_and_frees_size() {
        let mut s = KvStore::new();
        put(&mut s, "a", "1"); // 2
        put(&mut s, "b", "2"); // 3
        s.delete_range(&del_req("a", "")); // 4
        put(&mut s, "b", "3"); // 5
        let before = s.size_bytes();
        s.compact(4).unwrap();
        assert!(s.size_bytes() < before);
        assert_eq!(s.key_count(), 1, "a was deleted at 4: gone");
        assert_eq!(s.change_count(), 2, "b@3 (newest as of 4) and b@5");
        let r = s.range(&range_req_at("\0", "\0", 4)).unwrap();
        assert_eq!(r.kvs.len(), 1);
        assert_eq!(r.kvs[0].value, b"2");
    }

    #[test]
    fn events_between_with_prev_kv_and_compaction() {
        let mut s = KvStore::new();
        put(&mut s, "a", "1"); // 2
        put(&mut s, "b", "1"); // 3
        put(&mut s, "a", "2"); // 4
        s.delete_range(&del_req("a", "c")); // 5: a, b
        let evs = s.events_between(2, 5, b"a", b"").unwrap();
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].r#type, EventType::Put as i32);
        assert!(evs[0].prev_kv.is_none(), "a create has no prev_kv");
        assert_eq!(evs[1].prev_kv.as_ref().unwrap().value, b"1");
        assert_eq!(evs[2].r#type, EventType::Delete as i32);
        assert_eq!(
            evs[2].kv,
            Some(KeyValue {
                key: b"a".to_vec(),
                mod_revision: 5,
                ..Default::default()
            })
        );
        assert_eq!(evs[2].prev_kv.as_ref().unwrap().value, b"2");
        // Key filters: one key, a range, from a key.
        assert_eq!(s.events_between(2, 5, b"b", b"").unwrap().len(), 2);
        assert_eq!(s.events_between(2, 5, b"a", b"b").unwrap().len(), 3);
        assert_eq!(s.events_between(2, 5, b"b", b"\0").unwrap().len(), 2);
        assert!(s.events_between(2, 5, b"c", b"a").unwrap().is_empty());
        assert_eq!(s.events_between(3, 4, b"\0", b"\0").unwrap().len(), 2);
        let all = s.events_between(1, i64::MAX, b"\0", b"\0").unwrap();
        let revs: Vec<i64> = all
            .iter()
            .map(|e| e.kv.as_ref().unwrap().mod_revision)
            .collect();
        assert_eq!(revs, vec![2, 3, 4, 5, 5]);
        assert!(s.events_between(4, 3, b"a", b"").unwrap().is_empty());

        s.compact(4).unwrap();
        assert_eq!(
            s.events_between(3, 5, b"a", b""),
            Err(KvError::Compacted {
                compact_revision: 4
            })
        );
        // From the compact revision: what compaction kept at 4, and prev_kv of the
        // delete at 5 (read at 4, the compact revision) still present.
        let evs = s.events_between(4, 5, b"a", b"").unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].kv.as_ref().unwrap().mod_revision, 4);
        assert!(evs[0].prev_kv.is_none(), "revision 3 is compacted");
        assert_eq!(evs[1].prev_kv.as_ref().unwrap().value, b"2");
    }
}
