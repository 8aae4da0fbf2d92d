//! The watch guarantees.
//!
//! For each watcher ([`WatchRecord`]):
//! - its events have strictly increasing `modifiedIndex` (no duplicates, no
//!   reordering), none below its start index;
//! - each event is on the watched key, or in its subtree for a recursive watcher
//!   (not below a hidden `_name`), or is the deletion (`delete`,
//!   `compareAndDelete`, `expire`) of one of its ancestors, which etcd reports to
//!   the watchers under it;
//! - none missing: every change known to have happened (an acknowledged write, or
//!   an event any watcher received) on a covered key, with an index between its
//!   start index and its last event, is among its events.
//!
//! Across sources: an acknowledged write and every watcher that received the
//! event at the same index must agree on its action, key and value.
//!
//! Resuming: a client that resumes after an event with `waitIndex = index + 1`
//! starts a new watcher there; since each watcher's sequence has no gaps up to its
//! last event, the two sequences join without losing or repeating a change. A
//! resumed watch needs no check of its own beyond the above.
//!
//! A start index of 0 (etcd's "from now") says nothing about where the watcher
//! began: its first event is taken as its start.

use super::history::{History, WatchEvent, WatchRecord};
use super::violation::{Violation, ViolationKind};
use super::writes::done_write;
use std::collections::{BTreeMap, BTreeSet};

/// A change at one index, as one source saw it.
#[derive(Clone, Debug)]
struct Change {
    action: String,
    key: String,
    value: Option<String>,
    source: Source,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Op(u64),
    Watch(u64),
}

/// `key` is `dir` or inside it.
fn under<'a>(key: &'a str, dir: &str) -> Option<&'a str> {
    if dir == "/" {
        return Some(key.trim_start_matches('/'));
    }
    let rest = key.strip_prefix(dir)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// Whether a change on `key` is one `w` reports (ancestor deletions aside).
fn covers(w: &WatchRecord, key: &str) -> bool {
    if key == w.key {
        return true;
    }
    w.recursive
        && under(key, &w.key).is_some_and(|rest| !rest.split('/').any(|c| c.starts_with('_')))
}

fn is_removal(action: &str) -> bool {
    matches!(action, "delete" | "compareAndDelete" | "expire")
}

/// Whether `w` may legitimately report event `e`.
fn may_report(w: &WatchRecord, e: &WatchEvent) -> bool {
    covers(w, &e.key) || (is_removal(&e.action) && under(&w.key, &e.key).is_some())
}

struct Checker {
    out: Vec<Violation>,
    /// Another watcher to name in the next violation.
    other_watch: Option<u64>,
}

impl Checker {
    fn push(&mut self, kind: ViolationKind, w: &WatchRecord, message: String, ops: Vec<u64>) {
        let mut watches = vec![w.id];
        if let Some(other) = self.other_watch.take() {
            watches.push(other);
        }
        self.out.push(Violation {
            kind,
            key: Some(w.key.clone()),
            message: format!(
                "watcher {} (client {}, {}): {message}",
                w.id,
                w.client,
                describe_watch(w)
            ),
            ops,
            watches,
            sub_history: String::new(),
            context: Vec::new(),
        });
    }
}

fn describe_watch(w: &WatchRecord) -> String {
    format!(
        "{}{} from index {}",
        w.key,
        if w.recursive { " recursive" } else { "" },
        w.start_index
    )
}

/// Every change known to have happened, by index; disagreements between sources
/// are violations.
fn known_changes(history: &History, out: &mut Vec<Violation>) -> BTreeMap<u64, Change> {
    let mut known: BTreeMap<u64, Change> = BTreeMap::new();
    let mut reported_conflict: BTreeSet<u64> = BTreeSet::new();
    let ops = history.ops.iter().filter_map(done_write).map(|w| {
        (
            w.index,
            Change {
                action: w.action.to_string(),
                key: w.key.to_string(),
                value: w.value.map(str::to_string),
                source: Source::Op(w.op.id),
            },
        )
    });
    let events = history.watches.iter().flat_map(|w| {
        w.events.iter().map(|e| {
            (
                e.modified_index,
                Change {
                    action: e.action.clone(),
                    key: e.key.clone(),
                    value: e.value.clone(),
                    source: Source::Watch(w.id),
                },
            )
        })
    });
    for (index, change) in ops.chain(events) {
        let Some(first) = known.get(&index) else {
            known.insert(index, change);
            continue;
        };
        let same =
            first.action == change.action && first.key == change.key && first.value == change.value;
        // Duplicate indexes among writes are the index checker's to report.
        let both_ops = matches!(
            (first.source, change.source),
            (Source::Op(_), Source::Op(_))
        );
        if same || both_ops || !reported_conflict.insert(index) {
            continue;
        }
        let mut ops = Vec::new();
        let mut watches = Vec::new();
        for s in [first.source, change.source] {
            match s {
                Source::Op(id) => ops.push(id),
                Source::Watch(id) => watches.push(id),
            }
        }
        let show = |c: &Change| {
            let who = match c.source {
                Source::Op(id) => format!("write #{id}"),
                Source::Watch(id) => format!("watcher {id}"),
            };
            format!("{who}: {} {} = {:?}", c.action, c.key, c.value)
        };
        out.push(Violation {
            kind: ViolationKind::WatchDisagreement,
            key: Some(change.key.clone()),
            message: format!(
                "two sources disagree about index {index}: {}; {}",
                show(first),
                show(&change)
            ),
            ops,
            watches,
            sub_history: String::new(),
            context: Vec::new(),
        });
    }
    known
}

fn check_watcher(c: &mut Checker, w: &WatchRecord, known: &BTreeMap<u64, Change>) {
    let mut last: Option<u64> = None;
    for e in &w.events {
        if let Some(prev) = last {
            if e.modified_index <= prev {
                let what = if e.modified_index == prev {
                    "twice"
                } else {
                    "out of order"
                };
                c.push(
                    ViolationKind::WatchOrder,
                    w,
                    format!(
                        "event at index {} received {what} (after index {prev})",
                        e.modified_index
                    ),
                    Vec::new(),
                );
            }
        }
        last = Some(last.map_or(e.modified_index, |p| p.max(e.modified_index)));
        if w.start_index > 0 && e.modified_index < w.start_index {
            c.push(
                ViolationKind::WatchBeforeStart,
                w,
                format!(
                    "event at index {} is below its start index",
                    e.modified_index
                ),
                Vec::new(),
            );
        }
        if !may_report(w, e) {
            c.push(
                ViolationKind::WatchKey,
                w,
                format!("event at index {} is for key {}", e.modified_index, e.key),
                Vec::new(),
            );
        }
    }
    let (Some(first), Some(last)) = (w.events.first(), last) else {
        return;
    };
    let from = if w.start_index > 0 {
        w.start_index
    } else {
        first.modified_index
    };
    if from > last {
        // Every event was below the start index (reported above).
        return;
    }
    let seen: BTreeSet<u64> = w.events.iter().map(|e| e.modified_index).collect();
    let missing: Vec<(u64, &Change)> = known
        .range(from..=last)
        .filter(|(i, ch)| !seen.contains(i) && covers(w, &ch.key))
        .map(|(&i, ch)| (i, ch))
        .collect();
    if missing.is_empty() {
        return;
    }
    let listed: Vec<String> = missing
        .iter()
        .take(5)
        .map(|(i, ch)| format!("{i} ({} {})", ch.action, ch.key))
        .collect();
    let ops = missing
        .iter()
        .filter_map(|(_, ch)| match ch.source {
            Source::Op(id) => Some(id),
            Source::Watch(_) => None,
        })
        .collect();
    c.other_watch = missing.iter().find_map(|(_, ch)| match ch.source {
        Source::Watch(id) => Some(id),
        Source::Op(_) => None,
    });
    c.push(
        ViolationKind::WatchMissing,
        w,
        format!(
            "{} change(s) between index {from} and its last event {last} missing: {}{}",
            missing.len(),
            listed.join(", "),
            if missing.len() > listed.len() {
                ", ..."
            } else {
                ""
            }
        ),
        ops,
    );
}

/// Every watch violation in `history`.
pub fn check(history: &History) -> Vec<Violation> {
    let mut out = Vec::new();
    let known = known_changes(history, &mut out);
    let mut c = Checker {
        out,
        other_watch: None,
    };
    for w in &history.watches {
        check_watcher(&mut c, w, &known);
    }
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::{Op, Operation, Outcome, Response};

    fn ev(action: &str, key: &str, value: Option<&str>, index: u64) -> WatchEvent {
        WatchEvent {
            action: action.into(),
            key: key.into(),
            value: value.map(str::to_string),
            modified_index: index,
            received_ns: index * 10,
        }
    }
    fn watcher(
        id: u64,
        key: &str,
        recursive: bool,
        start: u64,
        events: Vec<WatchEvent>,
    ) -> WatchRecord {
        WatchRecord {
            id,
            client: 0,
            key: key.into(),
            recursive,
            start_index: start,
            started_ns: 0,
            ended_ns: 1000,
            end: "run finished".into(),
            events,
        }
    }
    fn set(id: u64, key: &str, value: &str, index: u64) -> Operation {
        Operation {
            id,
            client: 1,
            endpoint: None,
            invoke_ns: index * 10 - 5,
            complete_ns: index * 10 + 5,
            op: Op::Set {
                key: key.into(),
                value: value.into(),
            },
            outcome: Outcome::Ok(Response::Done {
                value: Some(value.into()),
                prev: None,
                node_key: key.into(),
                modified_index: index,
                etcd_index: index,
            }),
        }
    }
    fn kinds(ops: Vec<Operation>, watches: Vec<WatchRecord>) -> Vec<ViolationKind> {
        let h = History {
            ops,
            watches,
            ..History::default()
        };
        check(&h).into_iter().map(|v| v.kind).collect()
    }

    fn a_b_c() -> Vec<Operation> {
        vec![
            set(0, "/k", "a", 5),
            set(1, "/other", "x", 6),
            set(2, "/k", "b", 7),
            set(3, "/k", "c", 9),
        ]
    }

    #[test]
    fn complete_ordered_watches_pass() {
        let w = watcher(
            0,
            "/k",
            false,
            5,
            vec![ev("set", "/k", Some("a"), 5), ev("set", "/k", Some("b"), 7)],
        );
        // A resumed watcher from the last index + 1.
        let resumed = watcher(1, "/k", false, 8, vec![ev("set", "/k", Some("c"), 9)]);
        let all = watcher(
            2,
            "/",
            true,
            6,
            vec![
                ev("set", "/other", Some("x"), 6),
                ev("set", "/k", Some("b"), 7),
            ],
        );
        assert_eq!(kinds(a_b_c(), vec![w, resumed, all]), vec![]);
    }

    #[test]
    fn duplicate_and_out_of_order_events() {
        let dup = watcher(
            0,
            "/k",
            false,
            5,
            vec![ev("set", "/k", Some("a"), 5), ev("set", "/k", Some("a"), 5)],
        );
        assert_eq!(kinds(a_b_c(), vec![dup]), vec![ViolationKind::WatchOrder]);
        let swapped = watcher(
            0,
            "/k",
            false,
            5,
            vec![ev("set", "/k", Some("b"), 7), ev("set", "/k", Some("a"), 5)],
        );
        assert_eq!(
            kinds(a_b_c(), vec![swapped]),
            vec![ViolationKind::WatchOrder]
        );
    }

    #[test]
    fn missing_events() {
        // Skips the write at 7, known from its acknowledgement.
        let gap = watcher(
            0,
            "/k",
            false,
            5,
            vec![ev("set", "/k", Some("a"), 5), ev("set", "/k", Some("c"), 9)],
        );
        assert_eq!(
            kinds(a_b_c(), vec![gap.clone()]),
            vec![ViolationKind::WatchMissing]
        );
        // Known only from another watcher.
        let other = watcher(1, "/k", false, 7, vec![ev("set", "/k", Some("b"), 7)]);
        assert_eq!(
            kinds(vec![], vec![gap, other]),
            vec![ViolationKind::WatchMissing]
        );
        // Missing before its first event, after its start.
        let late = watcher(0, "/k", false, 1, vec![ev("set", "/k", Some("b"), 7)]);
        assert_eq!(
            kinds(a_b_c(), vec![late]),
            vec![ViolationKind::WatchMissing]
        );
        // Start index 0: from its first event.
        let from_now = watcher(0, "/k", false, 0, vec![ev("set", "/k", Some("b"), 7)]);
        assert_eq!(kinds(a_b_c(), vec![from_now]), vec![]);
    }

    #[test]
    fn events_before_start_or_for_other_keys() {
        let early = watcher(0, "/k", false, 6, vec![ev("set", "/k", Some("a"), 5)]);
        assert_eq!(
            kinds(a_b_c(), vec![early]),
            vec![ViolationKind::WatchBeforeStart]
        );
        let foreign = watcher(0, "/k", false, 6, vec![ev("set", "/other", Some("x"), 6)]);
        assert_eq!(kinds(a_b_c(), vec![foreign]), vec![ViolationKind::WatchKey]);
        // Not recursive: a child's change is not reported; a recursive watcher
        // skips hidden children; an ancestor's deletion is reported.
        let child = watcher(0, "/d", false, 1, vec![ev("set", "/d/x", Some("1"), 3)]);
        assert_eq!(kinds(vec![], vec![child]), vec![ViolationKind::WatchKey]);
        let hidden = watcher(0, "/d", true, 1, vec![ev("set", "/d/_h", Some("1"), 3)]);
        assert_eq!(kinds(vec![], vec![hidden]), vec![ViolationKind::WatchKey]);
        let parent_gone = watcher(0, "/d/x", false, 1, vec![ev("delete", "/d", None, 3)]);
        assert_eq!(kinds(vec![], vec![parent_gone]), vec![]);
        let sibling = watcher(0, "/dx", true, 1, vec![ev("set", "/dxy", Some("1"), 3)]);
        assert_eq!(kinds(vec![], vec![sibling]), vec![ViolationKind::WatchKey]);
    }

    #[test]
    fn sources_must_agree() {
        let wrong_value = watcher(0, "/k", false, 7, vec![ev("set", "/k", Some("zzz"), 7)]);
        assert_eq!(
            kinds(a_b_c(), vec![wrong_value]),
            vec![ViolationKind::WatchDisagreement]
        );
        let a = watcher(0, "/", true, 3, vec![ev("set", "/x", Some("1"), 3)]);
        let b = watcher(1, "/", true, 3, vec![ev("delete", "/x", None, 3)]);
        assert_eq!(
            kinds(vec![], vec![a, b]),
            vec![ViolationKind::WatchDisagreement]
        );
    }
}
