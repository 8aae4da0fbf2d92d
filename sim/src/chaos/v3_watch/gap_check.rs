//! Reliable and resumable: between a start's first revision and the last
//! revision it is known complete up to, a watcher received every known change
//! in its range that its filters let through; and a watcher that resumed did so
//! from the revision after the last one it was given.
//!
//! A compaction at revision C keeps each key's newest revision at or below C
//! but drops a delete's tombstone at C itself (etcd's key index does the same),
//! so a watch started exactly at C never receives a delete made at C: such a
//! delete is owed to no start whose first revision is C, for C at or below the
//! run's highest compaction.

use super::log::{EventKind, StartReason, WatcherLog};
use super::revisions::Revisions;
use super::stream_check::Segment;
use super::violation::{WatchViolation, WatchViolationKind};
use std::collections::BTreeSet;

/// Checks `w`'s segments (from [`super::stream_check::check_watcher`]);
/// `compact_revision` is the run's highest compaction (0: none).
pub fn check_gaps(
    w: &WatcherLog,
    segments: &[Segment],
    history: &Revisions,
    compact_revision: i64,
    out: &mut Vec<WatchViolation>,
) {
    let mut next_expected: Option<i64> = None;
    for seg in segments {
        let Some(start) = w.starts.get(seg.start) else {
            continue;
        };
        if start.reason == StartReason::Resume
            && let Some(expected) = next_expected
            && start.start_revision > expected
        {
            out.push(WatchViolation {
                kind: WatchViolationKind::ResumePoint,
                watcher: w.id,
                other: None,
                revision: start.start_revision,
                message: format!(
                    "start {} resumed at {} though it was given everything only up to {}",
                    seg.start,
                    start.start_revision,
                    expected - 1
                ),
            });
        }
        next_expected = match (seg.complete_to, seg.first, seg.compacted) {
            (_, _, Some(c)) => Some(c),
            // A future start owes nothing below it, whatever progress said.
            (Some(to), first, None) => Some((to + 1).max(first.unwrap_or(0))),
            (None, first, None) => first.or(next_expected),
        };
        let (Some(first), Some(to)) = (seg.first, seg.complete_to) else {
            continue;
        };
        let got: BTreeSet<i64> = seg.revisions.iter().copied().collect();
        let keys: BTreeSet<(i64, &str)> = w
            .responses
            .iter()
            .filter(|r| r.start == seg.start)
            .flat_map(|r| &r.events)
            .map(|e| (e.kv.mod_revision, e.kv.key.as_str()))
            .collect();
        let first_event = seg.revisions.first().copied();
        // A delete at the very revision a start began from is gone if that
        // revision may have been compacted (see the module docs).
        let start_revision = start.start_revision;
        let owed = |r: i64, kind: EventKind| {
            !(kind == EventKind::Delete && r == start_revision && r <= compact_revision)
        };
        let missing: Vec<(i64, String)> = history
            .between(first, to)
            .filter(|(r, c)| {
                !got.contains(r)
                    && w.spec.covers(&c.key)
                    && w.spec.passes(c.kind())
                    && owed(*r, c.kind())
            })
            .map(|(r, c)| (r, c.key.clone()))
            .collect();
        // A revision delivered in part is a gap too.
        let keys = &keys;
        let partial: Vec<(i64, String)> = got
            .iter()
            .flat_map(|&r| {
                history
                    .at(r)
                    .filter(|c| w.spec.covers(&c.key) && w.spec.passes(c.kind()))
                    .filter(move |c| !keys.contains(&(r, c.key.as_str())))
                    .map(move |c| (r, c.key.clone()))
            })
            .collect();
        for (rev, key) in missing.into_iter().chain(partial) {
            let resumed = start.reason != StartReason::Initial;
            let at_start = first_event.is_none_or(|f| rev < f);
            let kind = if resumed && at_start {
                WatchViolationKind::ResumeGap
            } else {
                WatchViolationKind::Gap
            };
            out.push(WatchViolation {
                kind,
                watcher: w.id,
                other: None,
                revision: rev,
                message: format!(
                    "never received the change of {key} though start {} (from {first}, {:?}) is \
                     complete up to {to} ({})",
                    seg.start,
                    start.reason,
                    w.spec.describe()
                ),
            });
        }
    }
}
