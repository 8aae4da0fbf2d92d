//! Catch-up reads for unsynced watchers: events from the watcher's next revision on,
//! cut after a bounded number of distinct revisions (etcd's `watchBatchMaxRevs`).
//!
//! The history is read in windows of `max_revs` revisions, so one read never holds
//! more than the events of `max_revs` revisions, while the cut still falls where
//! etcd's falls: after the `max_revs`-th distinct revision *that has an event in the
//! watcher's range* (revisions without such events do not count). Filters are
//! applied after the cut, as etcd does, so filtered events still count.

use etcd_sdk::v3::pb::mvccpb::Event;

use super::source::{Compacted, EventSource};
use super::spec::{KeyRange, event_revision};

/// One catch-up response's worth of events.
#[derive(Debug, PartialEq)]
pub(crate) struct CatchUp {
    /// Events of at most `max_revs` distinct revisions, in order.
    pub events: Vec<Event>,
    /// The first revision left out when the cut was reached (etcd's `moreRev`);
    /// `None` when every event up to `to` is in `events`.
    pub more_rev: Option<i64>,
}

/// Reads the events of `range` with `from <= revision <= to`, stopping after
/// `max_revs` distinct revisions (`max_revs >= 1`).
pub(crate) fn read_catch_up(
    source: &impl EventSource,
    range: &KeyRange,
    from: i64,
    to: i64,
    max_revs: usize,
) -> Result<CatchUp, Compacted> {
    let max_revs = max_revs.max(1);
    let window = i64::try_from(max_revs).unwrap_or(i64::MAX);
    let mut events: Vec<Event> = Vec::new();
    let mut revs = 0usize;
    let mut last_rev = i64::MIN;
    let mut lo = from;
    while lo <= to {
        let hi = lo.saturating_add(window - 1).min(to);
        for ev in source.events_between(lo, hi, range.start(), range.wire_end())? {
            let rev = event_revision(&ev);
            if rev != last_rev {
                if revs == max_revs {
                    return Ok(CatchUp {
                        events,
                        more_rev: Some(rev),
                    });
                }
                revs += 1;
                last_rev = rev;
            }
            events.push(ev);
        }
        if hi == i64::MAX {
            break;
        }
        lo = hi + 1;
    }
    Ok(CatchUp {
        events,
        more_rev: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::watch::testing::MemSource;

    fn revs(events: &[Event]) -> Vec<i64> {
        events.iter().map(event_revision).collect()
    }

    #[test]
    fn cuts_after_max_distinct_revisions() {
        let mut src = MemSource::new();
        for i in 0..10 {
            src.put(b"k", format!("v{i}").as_bytes()); // revisions 2..=11
        }
        let range = KeyRange::Key(b"k".to_vec());
        let first = read_catch_up(&src, &range, 2, 11, 4).expect("not compacted");
        assert_eq!(revs(&first.events), vec![2, 3, 4, 5]);
        assert_eq!(first.more_rev, Some(6));
        let rest = read_catch_up(&src, &range, 6, 11, 4).expect("not compacted");
        assert_eq!(revs(&rest.events), vec![6, 7, 8, 9]);
        assert_eq!(rest.more_rev, Some(10));
        let last = read_catch_up(&src, &range, 10, 11, 4).expect("not compacted");
        assert_eq!(revs(&last.events), vec![10, 11]);
        assert_eq!(last.more_rev, None);
    }

    #[test]
    fn one_txn_revision_counts_once_and_is_never_split() {
        let mut src = MemSource::new();
        src.put(b"a", b"1"); // 2
        src.txn_put(&[b"a", b"b", b"c"], b"2"); // 3, three events
        src.put(b"b", b"3"); // 4
        let range = KeyRange::FromKey(vec![0]);
        let got = read_catch_up(&src, &range, 2, 4, 2).expect("not compacted");
        assert_eq!(revs(&got.events), vec![2, 3, 3, 3]);
        assert_eq!(got.more_rev, Some(4));
    }

    #[test]
    fn revisions_outside_the_range_do_not_count_across_windows() {
        let mut src = MemSource::new();
        src.put(b"w", b"0"); // 2
        for _ in 0..9 {
            src.put(b"other", b"x"); // 3..=11
        }
        src.put(b"w", b"1"); // 12
        src.put(b"w", b"2"); // 13
        let range = KeyRange::Key(b"w".to_vec());
        // Windows of 2 revisions: the sparse key's events still form one batch.
        let got = read_catch_up(&src, &range, 2, 13, 2).expect("not compacted");
        assert_eq!(revs(&got.events), vec![2, 12]);
        assert_eq!(got.more_rev, Some(13));
    }

    #[test]
    fn compacted_history_is_reported() {
        let mut src = MemSource::new();
        src.put(b"k", b"1");
        src.put(b"k", b"2");
        src.compact(3);
        let range = KeyRange::Key(b"k".to_vec());
        assert_eq!(
            read_catch_up(&src, &range, 2, 3, 10),
            Err(Compacted {
                compact_revision: 3
            })
        );
        let at_compact = read_catch_up(&src, &range, 3, 3, 10).expect("at compact is kept");
        assert_eq!(revs(&at_compact.events), vec![3]);
    }
}
