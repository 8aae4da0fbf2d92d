//! [`RangePerms`]: one user's effective key permissions — the union of the
//! READ intervals and of the WRITE intervals over all its roles, merged into
//! sorted, disjoint intervals (etcd's `range_perm_cache.go`, which keeps them in
//! interval trees).
//!
//! Intervals are half-open `[start, end)` over byte strings; `end = None` is
//! open-ended. A permission's `range_end` of `""` is the single key (the point
//! `[key, key\0)`) and `"\0"` is open-ended. A request range is allowed when it
//! lies entirely inside the union; a single key when it falls inside it.

use etcd_sdk::v3::pb::authpb::{Permission, permission::Type};

/// One half-open interval; `end: None` is unbounded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Interval {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

/// The smallest key after `key` (`key\0`).
fn successor(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
}

impl Interval {
    /// The interval a permission (or request) `key`/`range_end` names.
    fn of(key: &[u8], range_end: &[u8]) -> Interval {
        match range_end {
            [] => Interval {
                start: key.to_vec(),
                end: Some(successor(key)),
            },
            [0] => Interval {
                start: key.to_vec(),
                end: None,
            },
            end => Interval {
                start: key.to_vec(),
                end: Some(end.to_vec()),
            },
        }
    }

    /// Whether `b` ends at or after `a`'s end (`None` is the largest).
    fn end_ge(a: &Option<Vec<u8>>, b: &Option<Vec<u8>>) -> bool {
        match (a, b) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(x), Some(y)) => x >= y,
        }
    }
}

/// Sorted, disjoint, non-adjacent intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalSet {
    merged: Vec<Interval>,
}

impl IntervalSet {
    /// The union of `intervals`.
    fn union(mut intervals: Vec<Interval>) -> IntervalSet {
        intervals.retain(|i| i.end.as_ref().is_none_or(|e| *e > i.start));
        intervals.sort_by(|a, b| a.start.cmp(&b.start));
        let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
        for i in intervals {
            match merged.last_mut() {
                Some(last) if last.end.as_ref().is_none_or(|e| *e >= i.start) => {
                    if !Interval::end_ge(&last.end, &i.end) {
                        last.end = i.end;
                    }
                }
                _ => merged.push(i),
            }
        }
        IntervalSet { merged }
    }

    /// Whether `[start, end)` lies entirely inside the union (an empty or
    /// backwards range counts as its start key).
    fn covers(&self, start: &[u8], end: &Option<Vec<u8>>) -> bool {
        let end = match end {
            Some(e) if e.as_slice() <= start => Some(successor(start)),
            other => other.clone(),
        };
        // The last interval starting at or before `start`: merged intervals are
        // disjoint and non-adjacent, so only it can cover the range.
        let idx = self.merged.partition_point(|i| i.start.as_slice() <= start);
        idx > 0 && {
            let i = &self.merged[idx - 1];
            Interval::end_ge(&i.end, &end)
        }
    }

    /// Whether `key` falls inside the union.
    fn contains(&self, key: &[u8]) -> bool {
        self.covers(key, &Some(successor(key)))
    }
}

/// The kind of access a check asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Range, Watch, compares, `prev_kv`.
    Read,
    /// Put, DeleteRange, lease keys.
    Write,
}

/// One user's merged READ and WRITE intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangePerms {
    read: IntervalSet,
    write: IntervalSet,
}

impl RangePerms {
    /// The union of `perms` (all of a user's roles' permissions).
    pub fn merge<'a>(perms: impl IntoIterator<Item = &'a Permission>) -> RangePerms {
        let (mut read, mut write) = (Vec::new(), Vec::new());
        for p in perms {
            let ivl = Interval::of(&p.key, &p.range_end);
            match Type::try_from(p.perm_type) {
                Ok(Type::Read) => read.push(ivl),
                Ok(Type::Write) => write.push(ivl),
                Ok(Type::Readwrite) => {
                    read.push(ivl.clone());
                    write.push(ivl);
                }
                Err(_) => tracing::warn!(perm_type = p.perm_type, "auth: unknown permission type"),
            }
        }
        RangePerms {
            read: IntervalSet::union(read),
            write: IntervalSet::union(write),
        }
    }

    /// Whether `access` to `key` (with `range_end`: `""` one key, `"\0"` every key
    /// from `key` on) is allowed.
    pub fn allows(&self, access: Access, key: &[u8], range_end: &[u8]) -> bool {
        let set = match access {
            Access::Read => &self.read,
            Access::Write => &self.write,
        };
        if range_end.is_empty() {
            return set.contains(key);
        }
        let ivl = Interval::of(key, range_end);
        set.covers(&ivl.start, &ivl.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(t: Type, key: &str, end: &[u8]) -> Permission {
        Permission {
            perm_type: t as i32,
            key: key.as_bytes().to_vec(),
            range_end: end.to_vec(),
        }
    }

    #[test]
    fn single_keys_prefixes_ranges_and_from_key() {
        let p = RangePerms::merge(&[
            perm(Type::Read, "k", b""),
            perm(Type::Readwrite, "/a", b"/b"),
            perm(Type::Write, "x", b"\0"),
        ]);
        assert!(p.allows(Access::Read, b"k", b""));
        assert!(!p.allows(Access::Write, b"k", b""));
        assert!(!p.allows(Access::Read, b"k0", b""));
        assert!(p.allows(Access::Read, b"k", b"k\0"), "the point as a range");
        assert!(!p.allows(Access::Read, b"k", b"k\0\0"));
        assert!(p.allows(Access::Write, b"/a1", b""));
        assert!(p.allows(Access::Read, b"/a", b"/b"));
        assert!(!p.allows(Access::Read, b"/", b"0"));
        assert!(!p.allows(Access::Read, b"/a", b"/c"));
        assert!(p.allows(Access::Write, b"zzz", b""));
        assert!(p.allows(Access::Write, b"x", b"\0"));
        assert!(!p.allows(Access::Write, b"w", b"\0"));
        assert!(!p.allows(Access::Read, b"x", b""));
    }

    #[test]
    fn adjacent_and_overlapping_intervals_merge() {
        let p = RangePerms::merge(&[
            perm(Type::Read, "a", b"c"),
            perm(Type::Read, "c", b"e"),
            perm(Type::Read, "d", b"f"),
            perm(Type::Read, "h", b"i"),
        ]);
        assert!(p.allows(Access::Read, b"a", b"f"), "[a,c)+[c,e)+[d,f)");
        assert!(!p.allows(Access::Read, b"a", b"g"));
        assert!(!p.allows(Access::Read, b"e", b"i"), "a gap at [f,h)");
        assert!(p.allows(Access::Read, b"h", b""));
        assert!(!p.allows(Access::Read, b"i", b""));
    }

    #[test]
    fn points_next_to_each_other_cover_a_range_of_them() {
        let p = RangePerms::merge(&[perm(Type::Write, "a", b""), perm(Type::Write, "a\0", b"")]);
        assert!(p.allows(Access::Write, b"a", b"a\0\0"));
        assert!(!p.allows(Access::Write, b"a", b"b"));
        assert_eq!(RangePerms::merge(&[]), RangePerms::default());
        assert!(!RangePerms::default().allows(Access::Read, b"", b"\0"));
    }
}
