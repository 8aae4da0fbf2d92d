//! One key's history as generations: each generation is one life of the key, from the
//! put that created it to the deletion (tombstone) that ended it.
//!
//! Example: put@1, put@2, delete@3, put@4, delete@5 gives the generations
//! `[1, 2, 3(t)]`, `[4, 5(t)]` and an open, empty one. Compacting at a revision keeps,
//! per key, the newest change at or below it (unless that change is a deletion or the
//! key was deleted by then, in which case that life is dropped) and everything above.

use super::revision::Revision;

/// One life of a key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Generation {
    /// The main revision of the put that created this life.
    created: i64,
    /// Changes in this life so far (puts, plus the closing tombstone). Survives
    /// compaction, so versions stay right after older revisions are dropped.
    ver: i64,
    /// The retained changes, oldest first; in a closed generation the last one is the
    /// tombstone.
    revs: Vec<Revision>,
}

/// What a lookup of a live key at a revision finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAt {
    /// The revision of the put that holds the key's value at that point.
    pub modified: Revision,
    /// The main revision that created the key's current life.
    pub created: i64,
    /// The number of puts in the current life up to that point.
    pub version: i64,
}

/// A key's generations: never empty; the last one is the open (current) life and is
/// empty while the key is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIndex {
    generations: Vec<Generation>,
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex {
            generations: vec![Generation::default()],
        }
    }
}

impl KeyIndex {
    /// A key with no history yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn open(&mut self) -> &mut Generation {
        // The vector is never empty (constructor and every mutation keep one).
        let last = self.generations.len() - 1;
        &mut self.generations[last]
    }

    /// Records a put at `rev` in the current life (starting one if the key is deleted).
    pub fn put(&mut self, rev: Revision) {
        let g = self.open();
        if g.revs.is_empty() {
            g.created = rev.main;
        }
        g.revs.push(rev);
        g.ver += 1;
    }

    /// Records a put read back from a snapshot, whose stored KeyValue says which
    /// revision created the life and which version the put made.
    pub fn put_restored(&mut self, rev: Revision, created: i64, version: i64) {
        let g = self.open();
        if g.revs.is_empty() {
            g.created = created;
        }
        g.revs.push(rev);
        g.ver = version;
    }

    /// Records a deletion at `rev`, closing the current life. Returns false (and changes
    /// nothing) when the key is not live.
    pub fn tombstone(&mut self, rev: Revision) -> bool {
        if self.open().revs.is_empty() {
            return false;
        }
        self.put(rev);
        self.generations.push(Generation::default());
        true
    }

    /// Whether nothing is left (no retained change at all).
    pub fn is_empty(&self) -> bool {
        self.generations.len() == 1 && self.generations[0].revs.is_empty()
    }

    /// Whether the key is live now (its open life has a put).
    pub fn is_live(&self) -> bool {
        self.generations.last().is_some_and(|g| !g.revs.is_empty())
    }

    /// The key as of main revision `at`: `None` when it did not exist then (never
    /// created yet, or deleted at or before `at`).
    pub fn get(&self, at: i64) -> Option<KeyAt> {
        let g = self.generation_at(at)?;
        let n = g.revs.iter().rposition(|r| r.main <= at)?;
        Some(KeyAt {
            modified: g.revs[n],
            created: g.created,
            version: g.ver - (g.revs.len() - n - 1) as i64,
        })
    }

    /// The generation that holds the key at `at`, if the key was live then.
    fn generation_at(&self, at: i64) -> Option<&Generation> {
        let last = self.generations.len() - 1;
        for (i, g) in self.generations.iter().enumerate().rev() {
            let (Some(first), Some(end)) = (g.revs.first(), g.revs.last()) else {
                continue;
            };
            if i != last && end.main <= at {
                // Deleted at or before `at`, and no later life had started by then.
                return None;
            }
            if first.main <= at {
                return Some(g);
            }
        }
        None
    }

    /// The change a compaction at `at` would keep for this key, if any.
    pub fn keep(&self, at: i64) -> Option<Revision> {
        let (gen_idx, rev_idx) = self.compaction_point(at);
        rev_idx.map(|i| self.generations[gen_idx].revs[i])
    }

    /// Drops the history a compaction at `at` removes; returns the kept change at or
    /// below `at`, if any. The key index is empty afterwards when the key was deleted
    /// at or before `at` and not recreated.
    pub fn compact(&mut self, at: i64) -> Option<Revision> {
        let (gen_idx, rev_idx) = self.compaction_point(at);
        let kept = rev_idx.map(|i| {
            let g = &mut self.generations[gen_idx];
            g.revs.drain(..i);
            g.revs[0]
        });
        self.generations.drain(..gen_idx);
        kept
    }

    /// The first generation still live after `at` (or the open one), and in it the
    /// newest change at or below `at`.
    fn compaction_point(&self, at: i64) -> (usize, Option<usize>) {
        let last = self.generations.len() - 1;
        let mut gen_idx = 0;
        while gen_idx < last {
            let ends_after = self.generations[gen_idx]
                .revs
                .last()
                .is_some_and(|r| r.main > at);
            if ends_after {
                break;
            }
            gen_idx += 1;
        }
        let rev_idx = self.generations[gen_idx]
            .revs
            .iter()
            .rposition(|r| r.main <= at);
        (gen_idx, rev_idx)
    }

    /// Every retained change, oldest first (for checks and tests).
    pub fn revisions(&self) -> Vec<Revision> {
        self.generations
            .iter()
            .flat_map(|g| g.revs.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision::new(main, 0)
    }

    /// put@2, put@4, del@6, put@8, put@10, del@12, put@14, put@16:
    /// generations [2 4 6t] [8 10 12t] [14 16] (open).
    fn three_lives() -> KeyIndex {
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        ki.put(r(4));
        assert!(ki.tombstone(r(6)));
        ki.put(r(8));
        ki.put(r(10));
        assert!(ki.tombstone(r(12)));
        ki.put(r(14));
        ki.put(r(16));
        ki
    }

    #[test]
    fn get_walks_generations() {
        let ki = three_lives();
        assert_eq!(ki.get(1), None);
        let at = |rev| ki.get(rev).map(|k| (k.modified.main, k.created, k.version));
        assert_eq!(at(2), Some((2, 2, 1)));
        assert_eq!(at(5), Some((4, 2, 2)));
        assert_eq!(at(6), None, "deleted at 6");
        assert_eq!(at(7), None);
        assert_eq!(at(9), Some((8, 8, 1)));
        assert_eq!(at(11), Some((10, 8, 2)));
        assert_eq!(at(12), None);
        assert_eq!(at(13), None);
        assert_eq!(at(15), Some((14, 14, 1)));
        assert_eq!(at(100), Some((16, 14, 2)));
        assert!(ki.is_live());
    }

    #[test]
    fn tombstone_on_deleted_key_is_refused() {
        let mut ki = KeyIndex::new();
        assert!(!ki.tombstone(r(2)));
        ki.put(r(3));
        assert!(ki.tombstone(r(4)));
        assert!(!ki.tombstone(r(5)));
        assert!(!ki.is_live());
        assert!(!ki.is_empty());
    }

    #[test]
    fn compact_below_first_change_keeps_everything() {
        let mut ki = three_lives();
        let before = ki.revisions();
        assert_eq!(ki.compact(1), None);
        assert_eq!(ki.revisions(), before);
    }

    #[test]
    fn compact_between_versions_keeps_newest_at_or_below() {
        let mut ki = three_lives();
        assert_eq!(ki.keep(5), Some(r(4)));
        assert_eq!(ki.compact(5), Some(r(4)));
        assert_eq!(
            ki.revisions(),
            vec![r(4), r(6), r(8), r(10), r(12), r(14), r(16)]
        );
        // Versions and create revision survive the trim.
        let k = ki.get(5).unwrap();
        assert_eq!((k.modified.main, k.created, k.version), (4, 2, 2));
    }

    #[test]
    fn compact_at_tombstone_drops_that_life() {
        let mut ki = three_lives();
        assert_eq!(ki.keep(6), None);
        assert_eq!(ki.compact(6), None);
        assert_eq!(ki.revisions(), vec![r(8), r(10), r(12), r(14), r(16)]);
        // In the gap between lives: also drops the dead life.
        let mut ki = three_lives();
        assert_eq!(ki.compact(7), None);
        assert_eq!(ki.revisions(), vec![r(8), r(10), r(12), r(14), r(16)]);
    }

    #[test]
    fn compact_twice_and_to_the_end() {
        let mut ki = three_lives();
        assert_eq!(ki.compact(4), Some(r(4)));
        assert_eq!(ki.compact(10), Some(r(10)));
        assert_eq!(ki.revisions(), vec![r(10), r(12), r(14), r(16)]);
        assert_eq!(ki.compact(16), Some(r(16)));
        assert_eq!(ki.revisions(), vec![r(16)]);
        let k = ki.get(16).unwrap();
        assert_eq!((k.created, k.version), (14, 2));
        // Compacting again at the same point changes nothing.
        assert_eq!(ki.compact(16), Some(r(16)));
        assert_eq!(ki.revisions(), vec![r(16)]);
    }

    #[test]
    fn compact_past_final_deletion_empties_the_key() {
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        assert!(ki.tombstone(r(3)));
        assert_eq!(ki.keep(2), Some(r(2)));
        assert_eq!(ki.compact(3), None);
        assert!(ki.is_empty());
        let mut ki = KeyIndex::new();
        ki.put(r(2));
        assert!(ki.tombstone(r(3)));
        assert_eq!(ki.compact(9), None);
        assert!(ki.is_empty());
    }

    #[test]
    fn restored_puts_keep_stored_version() {
        let mut ki = KeyIndex::new();
        ki.put_restored(r(10), 3, 5);
        ki.put(r(11));
        let k = ki.get(11).unwrap();
        assert_eq!((k.created, k.version), (3, 6));
        assert_eq!(ki.get(10).unwrap().version, 5);
    }
}
