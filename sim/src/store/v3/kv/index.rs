//! The ordered key index: every key that has retained history, in byte order.

use std::collections::BTreeMap;

use super::key_index::{KeyAt, KeyIndex};
use super::key_range::KeyRange;

/// Keys (raw bytes, lexicographic order) to their [`KeyIndex`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    keys: BTreeMap<Vec<u8>, KeyIndex>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The history of `key`, if it has any.
    pub fn get(&self, key: &[u8]) -> Option<&KeyIndex> {
        self.keys.get(key)
    }

    /// The history of `key`, created empty if missing.
    pub fn entry(&mut self, key: &[u8]) -> &mut KeyIndex {
        self.keys.entry(key.to_vec()).or_default()
    }

    /// Replaces (or with `None`, removes) the history of `key`: undo of a write batch.
    pub fn set(&mut self, key: &[u8], ki: Option<KeyIndex>) {
        match ki {
            Some(ki) => {
                self.keys.insert(key.to_vec(), ki);
            }
            None => {
                self.keys.remove(key);
            }
        }
    }

    /// Keys in `range` (with their history), in key order.
    pub fn range<'a>(
        &'a self,
        range: &KeyRange,
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a KeyIndex)> + 'a {
        range
            .bounds()
            .map(|b| self.keys.range::<[u8], _>(b))
            .into_iter()
            .flatten()
    }

    /// Keys in `range` that were live at main revision `at`, in key order.
    pub fn live_at<'a>(
        &'a self,
        range: &KeyRange,
        at: i64,
    ) -> impl Iterator<Item = (&'a Vec<u8>, KeyAt)> + 'a {
        self.range(range)
            .filter_map(move |(k, ki)| ki.get(at).map(|found| (k, found)))
    }

    /// Every key with its history, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &KeyIndex)> {
        self.keys.iter()
    }

    /// Compacts every key at `at`, dropping keys with nothing left; returns the kept
    /// change of each key at or below `at`.
    pub fn compact(&mut self, at: i64) -> Vec<super::revision::Revision> {
        let mut kept = Vec::new();
        self.keys.retain(|_, ki| {
            if let Some(rev) = ki.compact(at) {
                kept.push(rev);
            }
            !ki.is_empty()
        });
        kept
    }

    /// Number of keys with retained history.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key has retained history.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::kv::revision::Revision;

    fn index() -> Index {
        let mut idx = Index::new();
        for (i, k) in [&b"a"[..], b"ab", b"b", b"c", b"\xff"].iter().enumerate() {
            idx.entry(k).put(Revision::new(2 + i as i64, 0));
        }
        idx
    }

    fn keys(idx: &Index, key: &[u8], end: &[u8], at: i64) -> Vec<Vec<u8>> {
        idx.live_at(&KeyRange::new(key, end), at)
            .map(|(k, _)| k.clone())
            .collect()
    }

    #[test]
    fn etcd_range_rules() {
        let idx = index();
        assert_eq!(keys(&idx, b"a", b"", 10), vec![b"a".to_vec()]);
        assert_eq!(
            keys(&idx, b"a", b"b", 10),
            vec![b"a".to_vec(), b"ab".to_vec()]
        );
        assert_eq!(keys(&idx, b"b", b"\0", 10).len(), 3, "from key");
        assert_eq!(keys(&idx, b"\0", b"\0", 10).len(), 5, "all keys");
        assert!(keys(&idx, b"c", b"a", 10).is_empty(), "end below key");
        assert!(keys(&idx, b"c", b"c", 10).is_empty(), "end equal to key");
        assert_eq!(keys(&idx, b"\0", b"\0", 3).len(), 2, "history");
    }

    #[test]
    fn compact_drops_dead_keys() {
        let mut idx = index();
        assert!(idx.entry(b"b").tombstone(Revision::new(10, 0)));
        let kept = idx.compact(10);
        assert_eq!(kept.len(), 4);
        assert_eq!(idx.len(), 4);
        assert!(idx.get(b"b").is_none());
    }
}
