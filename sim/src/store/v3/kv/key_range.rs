//! etcd's key-range rules: which keys a `(key, range_end)` pair names.

use std::ops::Bound;

/// Lower and upper bounds of a key range, for `BTreeMap::range`.
pub type KeyBounds<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// The keys named by a request's `key` and `range_end`:
/// - `range_end` empty: exactly `key`;
/// - `range_end == "\0"`: every key `>= key` (so `key == "\0"` means every key);
/// - otherwise `[key, range_end)`, which is empty when `range_end <= key`.
///
/// Keys compare as raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRange {
    /// Exactly one key.
    Single(Vec<u8>),
    /// Every key greater than or equal to the given one.
    From(Vec<u8>),
    /// `[start, end)`; empty when `end <= start`.
    Between(Vec<u8>, Vec<u8>),
}

impl KeyRange {
    /// The range named by a request's `key` and `range_end`.
    pub fn new(key: &[u8], range_end: &[u8]) -> Self {
        if range_end.is_empty() {
            KeyRange::Single(key.to_vec())
        } else if range_end == [0] {
            KeyRange::From(key.to_vec())
        } else {
            KeyRange::Between(key.to_vec(), range_end.to_vec())
        }
    }

    /// Whether `k` lies in the range.
    pub fn contains(&self, k: &[u8]) -> bool {
        match self {
            KeyRange::Single(key) => k == key.as_slice(),
            KeyRange::From(start) => k >= start.as_slice(),
            KeyRange::Between(start, end) => k >= start.as_slice() && k < end.as_slice(),
        }
    }

    /// Whether the range names no key at all (`[a, b)` with `b <= a`).
    pub fn is_empty(&self) -> bool {
        matches!(self, KeyRange::Between(start, end) if end <= start)
    }

    /// Bounds for a `BTreeMap<Vec<u8>, _>::range`; `None` when the range is empty
    /// (a `BTreeMap` panics on inverted bounds).
    pub fn bounds(&self) -> Option<KeyBounds<'_>> {
        if self.is_empty() {
            return None;
        }
        Some(match self {
            KeyRange::Single(key) => (
                Bound::Included(key.as_slice()),
                Bound::Included(key.as_slice()),
            ),
            KeyRange::From(start) => (Bound::Included(start.as_slice()), Bound::Unbounded),
            KeyRange::Between(start, end) => (
                Bound::Included(start.as_slice()),
                Bound::Excluded(end.as_slice()),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_end_is_one_key() {
        let r = KeyRange::new(b"foo", b"");
        assert!(r.contains(b"foo"));
        assert!(!r.contains(b"foo1"));
        assert!(!r.contains(b"fo"));
    }

    #[test]
    fn nul_end_is_from_key() {
        let r = KeyRange::new(b"b", b"\0");
        assert!(!r.contains(b"a"));
        assert!(r.contains(b"b"));
        assert!(r.contains(b"\xff\xff"));
        let all = KeyRange::new(b"\0", b"\0");
        assert!(all.contains(b"\0"));
        assert!(all.contains(b"a"));
        assert!(all.contains(b"\x01"));
    }

    #[test]
    fn half_open_and_inverted() {
        let r = KeyRange::new(b"a", b"c");
        assert!(r.contains(b"a"));
        assert!(r.contains(b"bzzz"));
        assert!(!r.contains(b"c"));
        assert!(KeyRange::new(b"c", b"a").is_empty());
        assert!(KeyRange::new(b"c", b"c").is_empty());
        assert!(KeyRange::new(b"c", b"a").bounds().is_none());
        assert!(!KeyRange::new(b"c", b"a").contains(b"c"));
    }
}
