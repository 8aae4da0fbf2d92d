//! A deliberate corruption of the stored history, **for testing etcd's
//! corruption checks only** (`UnsafeMode::CorruptKv`): it changes a stored
//! value in place, as bit rot on one member's disk would, leaving every
//! revision where it was, so the member's HashKV differs from its peers' at the
//! same revision.

use super::store::KvStore;

impl KvStore {
    /// Flips the bits of the first value byte of the newest stored change that
    /// is not a deletion (appends a byte to an empty value), without a new
    /// revision. Returns the main revision it damaged, or `None` when nothing
    /// is stored. Never call it outside a test of the corruption checks.
    pub fn unsafe_corrupt_newest_value(&mut self) -> Option<i64> {
        let (rev, stored) = self
            .backend
            .iter_mut()
            .rev()
            .find(|(_, stored)| !stored.tombstone)?;
        match stored.kv.value.first_mut() {
            Some(b) => *b = !*b,
            None => stored.kv.value.push(0xff),
        }
        Some(rev.main)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::put;
    use super::*;

    #[test]
    fn corruption_keeps_the_revision_and_changes_the_hash() {
        let mut kv = KvStore::new();
        assert_eq!(kv.unsafe_corrupt_newest_value(), None);
        put(&mut kv, "a", "1");
        let first = kv.hash_kv(0).unwrap();
        put(&mut kv, "b", "2");
        let before = kv.hash_kv(0).unwrap();
        let rev = kv.current_revision();
        assert_eq!(kv.unsafe_corrupt_newest_value(), Some(rev));
        assert_eq!(kv.current_revision(), rev);
        assert_ne!(kv.hash_kv(0).unwrap().hash, before.hash);
        // Older revisions hash as before.
        assert_eq!(kv.hash_kv(rev - 1).unwrap(), first);
    }
}
