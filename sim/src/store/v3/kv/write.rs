//! A write batch: the changes of one write (a Put, a DeleteRange, a Txn, a lease
//! revoke's deletions) all take main revision `current + 1`, with sub revisions in
//! order. Reads through the batch see its earlier changes. Committing bumps the
//! store's revision only when something changed; rolling back restores the store.

use std::collections::BTreeMap;

use etcd_sdk::v3::pb::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse,
};
use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue};

use super::error::{KvError, Result};
use super::key_index::KeyIndex;
use super::key_range::KeyRange;
use super::revision::Revision;
use super::store::{KvStore, Stored};
use super::{ChangeSet, LeaseChange};

/// An open write on a [`KvStore`]. Drop it only through [`WriteBatch::commit`] or
/// [`WriteBatch::rollback`]; dropping it otherwise leaves the changes applied but the
/// revision not bumped.
pub(super) struct WriteBatch<'a> {
    store: &'a mut KvStore,
    begin: i64,
    events: Vec<Event>,
    lease_changes: Vec<LeaseChange>,
    /// Each touched key's index before its first change in this batch (None = absent).
    undo: BTreeMap<Vec<u8>, Option<KeyIndex>>,
    size_before: u64,
}

impl<'a> WriteBatch<'a> {
    pub(super) fn new(store: &'a mut KvStore) -> Self {
        let begin = store.current_revision;
        let size_before = store.size_bytes;
        WriteBatch {
            store,
            begin,
            events: Vec::new(),
            lease_changes: Vec::new(),
            undo: BTreeMap::new(),
            size_before,
        }
    }

    /// The store as the batch sees it (with its changes so far).
    pub(super) fn store(&self) -> &KvStore {
        self.store
    }

    /// The revision reads inside the batch see: the begin revision, or the batch's own
    /// revision once it changed something (etcd's txn read rule).
    pub(super) fn read_revision(&self) -> i64 {
        if self.events.is_empty() {
            self.begin
        } else {
            self.begin + 1
        }
    }

    fn next_revision(&self) -> Revision {
        Revision::new(self.begin + 1, self.events.len() as i64)
    }

    fn remember(&mut self, key: &[u8]) {
        if !self.undo.contains_key(key) {
            let before = self.store.index.get(key).cloned();
            self.undo.insert(key.to_vec(), before);
        }
    }

    fn store_change(&mut self, rev: Revision, stored: Stored) {
        self.store.size_bytes += stored.size();
        self.store.backend.insert(rev, stored);
    }

    /// Writes `key = value` with `lease` (0 = none, detaching any lease the key had).
    pub(super) fn put(&mut self, key: &[u8], value: Vec<u8>, lease: i64) -> KeyValue {
        let rev = self.next_revision();
        let current = self
            .store
            .index
            .get(key)
            .and_then(|ki| ki.get(self.read_revision()));
        let (create_revision, version, old_lease) = match current {
            Some(found) => {
                let old_lease = self
                    .store
                    .backend
                    .get(&found.modified)
                    .map_or(0, |s| s.kv.lease);
                (found.created, found.version + 1, old_lease)
            }
            None => (rev.main, 1, 0),
        };
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: rev.main,
            version,
            value,
            lease,
        };
        self.remember(key);
        self.store.index.entry(key).put(rev);
        self.store_change(
            rev,
            Stored {
                kv: kv.clone(),
                tombstone: false,
            },
        );
        let mut event = Stored {
            kv: kv.clone(),
            tombstone: false,
        }
        .event(rev);
        event.prev_kv = self.store.prev_kv(key, rev.main);
        self.events.push(event);
        if old_lease != lease {
            self.lease_changes.push(LeaseChange {
                key: key.to_vec(),
                old_lease,
                new_lease: lease,
            });
        }
        kv
    }

    /// Deletes `key` if it is live; returns the deleted KeyValue.
    pub(super) fn delete(&mut self, key: &[u8]) -> Option<KeyValue> {
        let old = self.store.kv_at(key, self.read_revision())?;
        let rev = self.next_revision();
        self.remember(key);
        if !self.store.index.entry(key).tombstone(rev) {
            return None;
        }
        let stored = Stored {
            kv: KeyValue {
                key: key.to_vec(),
                ..Default::default()
            },
            tombstone: true,
        };
        let mut event = stored.event(rev);
        event.prev_kv = self.store.prev_kv(key, rev.main);
        self.store_change(rev, stored);
        self.events.push(event);
        if old.lease != 0 {
            self.lease_changes.push(LeaseChange {
                key: key.to_vec(),
                old_lease: old.lease,
                new_lease: 0,
            });
        }
        Some(old)
    }

    /// Deletes every live key in `range`; returns the deleted KeyValues in key order.
    pub(super) fn delete_range(&mut self, range: &KeyRange) -> Vec<KeyValue> {
        let keys: Vec<Vec<u8>> = self
            .store
            .index
            .live_at(range, self.read_revision())
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| self.delete(k)).collect()
    }

    /// A PutRequest (assumed validated; the lease's existence is the caller's check):
    /// `ignore_value`/`ignore_lease` take the current value/lease and need the key to
    /// exist ([`KvError::KeyNotFound`], before any change); `prev_kv` returns the
    /// previous KeyValue. The response has no header.
    pub(super) fn apply_put(&mut self, req: &PutRequest) -> Result<PutResponse> {
        let needs_prev = req.ignore_value || req.ignore_lease || req.prev_kv;
        let prev = if needs_prev {
            self.store.kv_at(&req.key, self.read_revision())
        } else {
            None
        };
        if (req.ignore_value || req.ignore_lease) && prev.is_none() {
            return Err(KvError::KeyNotFound);
        }
        let value = match (&prev, req.ignore_value) {
            (Some(p), true) => p.value.clone(),
            _ => req.value.clone(),
        };
        let lease = match (&prev, req.ignore_lease) {
            (Some(p), true) => p.lease,
            _ => req.lease,
        };
        self.put(&req.key, value, lease);
        Ok(PutResponse {
            header: None,
            prev_kv: if req.prev_kv { prev } else { None },
        })
    }

    /// A DeleteRangeRequest: `deleted` counts the removed keys, `prev_kvs` lists them
    /// when asked. The response has no header.
    pub(super) fn apply_delete_range(&mut self, req: &DeleteRangeRequest) -> DeleteRangeResponse {
        let deleted = self.delete_range(&KeyRange::new(&req.key, &req.range_end));
        DeleteRangeResponse {
            header: None,
            deleted: deleted.len() as i64,
            prev_kvs: if req.prev_kv { deleted } else { Vec::new() },
        }
    }

    /// Ends the write: `None` (revision unchanged) when nothing changed, otherwise the
    /// new revision's [`ChangeSet`].
    pub(super) fn commit(self) -> Option<ChangeSet> {
        if self.events.is_empty() {
            return None;
        }
        self.store.current_revision = self.begin + 1;
        Some(ChangeSet {
            revision: self.begin + 1,
            events: self.events,
            lease_changes: self.lease_changes,
        })
    }

    /// Undoes every change of the batch.
    pub(super) fn rollback(self) {
        for (key, before) in self.undo {
            self.store.index.set(&key, before);
        }
        let written: Vec<Revision> = self
            .store
            .backend
            .range(Revision::new(self.begin + 1, 0)..)
            .map(|(r, _)| *r)
            .collect();
        for r in written {
            self.store.backend.remove(&r);
        }
        self.store.size_bytes = self.size_before;
    }
}

impl KvStore {
    /// Applies a PutRequest as one write. Fails with [`KvError::LeaseNotFound`] when
    /// `lease != 0` does not exist (checked first), and with [`KvError::KeyNotFound`]
    /// for `ignore_value`/`ignore_lease` on a missing key; nothing changes then.
    pub fn put(
        &mut self,
        req: &PutRequest,
        leases: &dyn super::LeaseLookup,
    ) -> Result<(PutResponse, ChangeSet)> {
        if req.lease != 0 && !leases.lease_exists(req.lease) {
            return Err(KvError::LeaseNotFound);
        }
        let mut batch = WriteBatch::new(self);
        let resp = batch.apply_put(req)?;
        // A put always changes the store, so the change set is present.
        let changes = batch.commit().unwrap_or_default();
        Ok((resp, changes))
    }

    /// Applies a DeleteRangeRequest as one write: all deleted keys share one revision;
    /// no revision (and `None`) when nothing was deleted.
    pub fn delete_range(
        &mut self,
        req: &DeleteRangeRequest,
    ) -> (DeleteRangeResponse, Option<ChangeSet>) {
        let mut batch = WriteBatch::new(self);
        let resp = batch.apply_delete_range(req);
        (resp, batch.commit())
    }

    /// Deletes `keys` (sorted and deduplicated first, so every member deletes in the
    /// same order) in one write, the way a lease revoke does; keys that are not live are
    /// skipped. `None` (no revision) when nothing was deleted.
    pub fn delete_keys(&mut self, keys: &[Vec<u8>]) -> Option<ChangeSet> {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        let mut batch = WriteBatch::new(self);
        for key in &keys {
            batch.delete(key);
        }
        batch.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{LeaseLookup, NoLeases};
    use super::*;
    use etcd_sdk::v3::pb::mvccpb::event::EventType;
    use std::collections::BTreeSet;

    fn leases(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn put_with_missing_lease_fails_before_writing() {
        let mut s = KvStore::new();
        let req = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            lease: 7,
            ..Default::default()
        };
        assert_eq!(s.put(&req, &NoLeases), Err(KvError::LeaseNotFound));
        assert_eq!(s.current_revision(), 1);
        let (_, cs) = s.put(&req, &leases(&[7])).unwrap();
        assert_eq!(
            cs.lease_changes,
            vec![LeaseChange {
                key: b"k".to_vec(),
                old_lease: 0,
                new_lease: 7
            }]
        );
        assert_eq!(s.get(b"k").unwrap().lease, 7);
        assert!(leases(&[7]).lease_exists(7));
    }

    #[test]
    fn put_without_lease_detaches_and_ignore_lease_keeps() {
        let mut s = KvStore::new();
        let l = leases(&[5]);
        let mut req = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            lease: 5,
            ..Default::default()
        };
        s.put(&req, &l).unwrap();
        // ignore_lease: keeps lease 5, no lease change.
        req.lease = 0;
        req.ignore_lease = true;
        req.value = b"v2".to_vec();
        let (_, cs) = s.put(&req, &l).unwrap();
        assert!(cs.lease_changes.is_empty());
        assert_eq!(s.get(b"k").unwrap().lease, 5);
        // Same lease again: no change either.
        req.ignore_lease = false;
        req.lease = 5;
        let (_, cs) = s.put(&req, &l).unwrap();
        assert!(cs.lease_changes.is_empty());
        // Plain put: detach.
        req.lease = 0;
        let (_, cs) = s.put(&req, &l).unwrap();
        assert_eq!(
            cs.lease_changes,
            vec![LeaseChange {
                key: b"k".to_vec(),
                old_lease: 5,
                new_lease: 0
            }]
        );
        assert_eq!(s.get(b"k").unwrap().lease, 0);
    }

    #[test]
    fn ignore_value_keeps_value_and_needs_the_key() {
        let mut s = KvStore::new();
        let req = PutRequest {
            key: b"k".to_vec(),
            ignore_value: true,
            prev_kv: true,
            ..Default::default()
        };
        assert_eq!(s.put(&req, &NoLeases), Err(KvError::KeyNotFound));
        let ignore_lease = PutRequest {
            key: b"k".to_vec(),
            ignore_lease: true,
            ..Default::default()
        };
        assert_eq!(s.put(&ignore_lease, &NoLeases), Err(KvError::KeyNotFound));
        assert_eq!(s.current_revision(), 1);
        put(&mut s, "k", "orig");
        let (resp, cs) = s.put(&req, &NoLeases).unwrap();
        let prev = resp.prev_kv.unwrap();
        assert_eq!(
            (prev.value.as_slice(), prev.mod_revision),
            (&b"orig"[..], 2)
        );
        let kv = s.get(b"k").unwrap();
        assert_eq!((kv.value.as_slice(), kv.version), (&b"orig"[..], 2));
        assert_eq!(cs.events[0].prev_kv.as_ref().unwrap().value, b"orig");
    }

    #[test]
    fn put_prev_kv_only_when_asked_and_present() {
        let mut s = KvStore::new();
        let mut req = put_req("k", "1");
        req.prev_kv = true;
        let (resp, _) = s.put(&req, &NoLeases).unwrap();
        assert!(resp.prev_kv.is_none());
        req.value = b"2".to_vec();
        let (resp, _) = s.put(&req, &NoLeases).unwrap();
        assert_eq!(resp.prev_kv.unwrap().value, b"1");
        let (resp, _) = s.put(&put_req("k", "3"), &NoLeases).unwrap();
        assert!(resp.prev_kv.is_none());
    }

    #[test]
    fn delete_range_prev_kvs_events_and_one_revision() {
        let mut s = KvStore::new();
        let l = leases(&[9]);
        put(&mut s, "a", "1");
        let mut leased = put_req("b", "2");
        leased.lease = 9;
        s.put(&leased, &l).unwrap();
        put(&mut s, "c", "3");
        let mut req = del_req("a", "c");
        req.prev_kv = true;
        let (resp, cs) = s.delete_range(&req);
        let cs = cs.unwrap();
        assert_eq!(resp.deleted, 2);
        assert_eq!(resp.prev_kvs.len(), 2);
        assert_eq!(resp.prev_kvs[1].lease, 9);
        assert_eq!(cs.revision, 5);
        assert_eq!(s.current_revision(), 5);
        assert_eq!(cs.events.len(), 2);
        for (i, ev) in cs.events.iter().enumerate() {
            assert_eq!(ev.r#type, EventType::Delete as i32);
            let kv = ev.kv.as_ref().unwrap();
            assert_eq!(kv.mod_revision, 5);
            assert_eq!((kv.version, kv.create_revision, kv.value.len()), (0, 0, 0));
            assert_eq!(ev.prev_kv.as_ref(), Some(&resp.prev_kvs[i]));
        }
        assert_eq!(
            cs.lease_changes,
            vec![LeaseChange {
                key: b"b".to_vec(),
                old_lease: 9,
                new_lease: 0
            }]
        );
        // Without prev_kv: count only.
        let (resp, _) = s.delete_range(&del_req("c", ""));
        assert_eq!((resp.deleted, resp.prev_kvs.len()), (1, 0));
    }

    #[test]
    fn delete_keys_is_one_revision_in_key_order() {
        let mut s = KvStore::new();
        put(&mut s, "x", "1");
        put(&mut s, "y", "1");
        assert!(s.delete_keys(&[b"nope".to_vec()]).is_none());
        assert_eq!(s.current_revision(), 3);
        let cs = s
            .delete_keys(&[b"y".to_vec(), b"x".to_vec(), b"y".to_vec(), b"z".to_vec()])
            .unwrap();
        assert_eq!(cs.revision, 4);
        let keys: Vec<&[u8]> = cs
            .events
            .iter()
            .map(|e| e.kv.as_ref().unwrap().key.as_slice())
            .collect();
        assert_eq!(keys, vec![&b"x"[..], b"y"]);
    }

    #[test]
    fn rollback_restores_everything() {
        let mut s = KvStore::new();
        put(&mut s, "a", "1");
        let before = s.clone();
        let mut batch = WriteBatch::new(&mut s);
        batch.put(b"a", b"2".to_vec(), 0);
        batch.put(b"new", b"x".to_vec(), 0);
        batch.delete(b"a");
        assert_eq!(batch.read_revision(), 3);
        batch.rollback();
        assert_eq!(s, before);
    }
}
