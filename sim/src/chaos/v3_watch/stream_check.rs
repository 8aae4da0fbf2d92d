//! The guarantees of one watcher's responses, start by start: ordered,
//! unique, atomic, never below the start, in range, filtered, prev_kv right,
//! and bookmarkable. Also works out each start's effective first revision and
//! the last revision it is known complete up to, for [`super::gap_check`].

use super::check::CheckOptions;
use super::log::{EventKind, EventRecord, KvRecord, ResponseRecord, WatcherLog};
use super::revisions::Revisions;
use super::violation::{WatchViolation, WatchViolationKind};
use std::collections::BTreeSet;

/// What one start of a watcher covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The index in [`WatcherLog::starts`].
    pub start: usize,
    /// The first revision it must deliver (`None`: from now, and no created
    /// notification said when "now" was).
    pub first: Option<i64>,
    /// The revisions of its events, in order received.
    pub revisions: Vec<i64>,
    /// The highest revision it is known complete up to: its last event's, or a
    /// trusted progress notification's.
    pub complete_to: Option<i64>,
    /// The compaction revision that cancelled it.
    pub compacted: Option<i64>,
}

struct Ctx<'a> {
    w: &'a WatcherLog,
    opts: &'a CheckOptions,
    history: &'a Revisions,
    out: &'a mut Vec<WatchViolation>,
}

impl Ctx<'_> {
    fn push(&mut self, kind: WatchViolationKind, revision: i64, message: String) {
        self.out.push(WatchViolation {
            kind,
            watcher: self.w.id,
            other: None,
            revision,
            message: format!("{} ({})", message, self.w.spec.describe()),
        });
    }

    /// Whether progress notifications of this watcher are bookmarks.
    fn trusts_progress(&self) -> bool {
        !self.w.spec.progress_requests || self.opts.requested_progress_bookmarks
    }
}

/// Checks `w`'s responses and returns one [`Segment`] per start.
pub fn check_watcher(
    w: &WatcherLog,
    opts: &CheckOptions,
    history: &Revisions,
    out: &mut Vec<WatchViolation>,
) -> Vec<Segment> {
    let mut cx = Ctx {
        w,
        opts,
        history,
        out,
    };
    let mut segments: Vec<Segment> = w
        .starts
        .iter()
        .enumerate()
        .map(|(i, s)| Segment {
            start: i,
            first: (s.start_revision > 0).then_some(s.start_revision),
            ..Segment::default()
        })
        .collect();
    // Every (revision, key) delivered so far, over all starts.
    let mut delivered: BTreeSet<(i64, String)> = BTreeSet::new();
    // The revision of the last event, and whether its response was a fragment.
    let mut last: Option<(i64, bool)> = None;
    let mut bookmark: Option<i64> = None;
    let mut current = usize::MAX;
    for resp in &w.responses {
        let Some(seg) = segments.get_mut(resp.start) else {
            cx.push(
                WatchViolationKind::Order,
                resp.header_revision,
                format!("a response of start {} it never made", resp.start),
            );
            continue;
        };
        if resp.start != current {
            current = resp.start;
            last = None;
            bookmark = None;
        }
        if resp.created {
            if seg.first.is_none() {
                seg.first = Some(resp.header_revision + 1);
            }
            continue;
        }
        if resp.compact_revision != 0 {
            seg.compacted = Some(resp.compact_revision);
            continue;
        }
        if resp.progress_notify {
            if cx.trusts_progress() {
                bookmark = bookmark.max(Some(resp.header_revision));
                seg.complete_to = seg.complete_to.max(Some(resp.header_revision));
            }
            continue;
        }
        for (i, e) in resp.events.iter().enumerate() {
            let rev = e.kv.mod_revision;
            check_event(&mut cx, seg.first, e);
            if let Some(b) = bookmark
                && rev <= b
            {
                cx.push(
                    WatchViolationKind::Bookmark,
                    rev,
                    format!("event on {} after a progress notification at {b}", e.kv.key),
                );
            }
            if !delivered.insert((rev, e.kv.key.clone())) {
                cx.push(
                    WatchViolationKind::Duplicate,
                    rev,
                    format!("event on {} delivered again", e.kv.key),
                );
            } else if let Some((prev, fragment)) = last {
                if rev < prev {
                    cx.push(
                        WatchViolationKind::Order,
                        rev,
                        format!("event on {} after an event at {prev}", e.kv.key),
                    );
                } else if rev == prev && i == 0 && !fragment {
                    cx.push(
                        WatchViolationKind::Atomic,
                        rev,
                        format!(
                            "event on {} in a later response than others of its revision",
                            e.kv.key
                        ),
                    );
                }
            }
            last = Some((last.map_or(rev, |(p, _)| p.max(rev)), resp.fragment));
            seg.revisions.push(rev);
            seg.complete_to = seg.complete_to.max(Some(rev));
        }
        if let Some((rev, _)) = last {
            last = Some((rev, resp.fragment));
        }
    }
    segments
}

/// The checks of one event on its own: start, range, filters, prev_kv.
fn check_event(cx: &mut Ctx<'_>, first: Option<i64>, e: &EventRecord) {
    let rev = e.kv.mod_revision;
    let key = &e.kv.key;
    if let Some(first) = first
        && rev < first
    {
        cx.push(
            WatchViolationKind::BeforeStart,
            rev,
            format!("event on {key} from a watch starting at {first}"),
        );
    }
    if !cx.w.spec.covers(key) {
        cx.push(
            WatchViolationKind::OutOfRange,
            rev,
            format!("event on {key}, outside the range"),
        );
    }
    if !cx.w.spec.passes(e.kind) {
        cx.push(
            WatchViolationKind::Filter,
            rev,
            format!("{:?} event on {key} got through the filter", e.kind),
        );
    }
    check_prev_kv(cx, e);
}

fn same_kv(prev: &KvRecord, expected: &super::writes::WriteEvent, at: i64) -> bool {
    expected.matches(at, EventKind::Put, prev)
}

/// prev_kv: absent unless asked; when asked, the key's value before the event
/// (absent for a create, or when that history was compacted).
fn check_prev_kv(cx: &mut Ctx<'_>, e: &EventRecord) {
    let rev = e.kv.mod_revision;
    let key = &e.kv.key;
    if !cx.w.spec.prev_kv {
        if e.prev_kv.is_some() {
            cx.push(
                WatchViolationKind::PrevKv,
                rev,
                format!("event on {key} has a prev_kv nobody asked for"),
            );
        }
        return;
    }
    let is_create = e.kind == EventKind::Put && e.kv.create_revision == rev;
    let before = cx.history.last_before(key, rev);
    match &e.prev_kv {
        Some(p) => {
            if is_create || p.key != *key || p.mod_revision >= rev {
                cx.push(
                    WatchViolationKind::PrevKv,
                    rev,
                    format!(
                        "event on {key} has prev_kv {}@{} (a create has none; it must be the \
                         same key, older)",
                        p.key, p.mod_revision
                    ),
                );
                return;
            }
            match before {
                // A change after the prev_kv's is known: it is stale.
                Some((b, _)) if b > p.mod_revision => cx.push(
                    WatchViolationKind::PrevKv,
                    rev,
                    format!(
                        "event on {key} has prev_kv from {} but the key changed at {b}",
                        p.mod_revision
                    ),
                ),
                Some((b, w)) if b == p.mod_revision && !same_kv(p, w, b) => cx.push(
                    WatchViolationKind::PrevKv,
                    rev,
                    format!(
                        "event on {key} has prev_kv {:?}@{b} but the key then held {:?}",
                        p.value, w.value
                    ),
                ),
                _ => {}
            }
        }
        None => {
            // Not a create: the key held a value at the revision before, so
            // prev_kv is owed unless that revision was compacted.
            let compacted = rev - 1 < cx.opts.compact_revision;
            if !is_create && !compacted {
                let held = before.map_or(String::new(), |(b, _)| format!(" (changed at {b})"));
                cx.push(
                    WatchViolationKind::PrevKv,
                    rev,
                    format!(
                        "{:?} event on {key} has no prev_kv though the key existed{held}",
                        e.kind
                    ),
                );
            }
        }
    }
}

/// Whether `resp` is a bare progress notification (for the watchers).
pub fn is_progress(resp: &ResponseRecord) -> bool {
    resp.events.is_empty()
        && !resp.created
        && !resp.canceled
        && resp.compact_revision == 0
        && resp.header_revision != 0
}
