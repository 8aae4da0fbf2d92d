//! The v3 watch checker ([`crate::chaos::v3_watch`]) judged against a v3 chaos
//! run: the KV history's committed writes become the watch checker's
//! [`KnownWrites`], and its findings become the run's [`Violation`]s.

use super::history::{V3History, V3Outcome, V3Request};
use super::writes::{V3WriteEvent, known_writes};
use crate::chaos::v3_watch::check::{CheckOptions, check};
use crate::chaos::v3_watch::log::WatchLog;
use crate::chaos::v3_watch::violation::{WatchViolation, WatchViolationKind};
use crate::chaos::v3_watch::writes::{KnownWrites, WriteEvent};
use crate::chaos::violation::{Violation, ViolationKind};

/// The writes of `history` whose every changed key is known, by revision. A
/// revision with a range delete or a lease revoke whose keys were not recorded
/// is left out: the watchers that cover it must then agree on it.
pub fn watch_known_writes(history: &V3History) -> KnownWrites {
    known_writes(history)
        .into_iter()
        .filter_map(|(revision, events)| {
            let mut out = Vec::with_capacity(events.len());
            for e in events {
                match e {
                    V3WriteEvent::Put { key, value, lease } => {
                        out.push(WriteEvent::put(key, value, None, None, lease))
                    }
                    V3WriteEvent::Delete { key } => out.push(WriteEvent::delete(key)),
                    V3WriteEvent::DeleteRange { .. } | V3WriteEvent::LeaseRevoke { .. } => {
                        return None;
                    }
                }
            }
            Some((revision, out))
        })
        .collect()
}

/// The highest revision a compaction of `history` may have compacted at (one
/// acknowledged or outcome-unknown; 0 when none).
pub fn highest_compaction(history: &V3History) -> i64 {
    history
        .ops
        .iter()
        .filter(|op| !matches!(op.outcome, V3Outcome::Failed { .. }))
        .filter_map(|op| match op.request {
            V3Request::Compact { revision } => Some(revision),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Runs the watch checker over `log` against `history`'s committed writes.
pub fn check_v3_watch(history: &V3History, log: &WatchLog) -> Vec<Violation> {
    let opts = CheckOptions {
        compact_revision: highest_compaction(history),
        ..CheckOptions::default()
    };
    check(log, &watch_known_writes(history), &opts)
        .into_iter()
        .map(to_violation)
        .collect()
}

fn to_violation(v: WatchViolation) -> Violation {
    let kind = match v.kind {
        WatchViolationKind::Order
        | WatchViolationKind::Duplicate
        | WatchViolationKind::Atomic
        | WatchViolationKind::Bookmark => ViolationKind::WatchOrder,
        WatchViolationKind::BeforeStart | WatchViolationKind::ResumePoint => {
            ViolationKind::WatchBeforeStart
        }
        WatchViolationKind::OutOfRange | WatchViolationKind::Filter => ViolationKind::WatchKey,
        WatchViolationKind::Gap | WatchViolationKind::ResumeGap => ViolationKind::WatchMissing,
        WatchViolationKind::PrevKv
        | WatchViolationKind::Uncommitted
        | WatchViolationKind::Disagreement => ViolationKind::WatchDisagreement,
    };
    let mut watches = vec![v.watcher];
    watches.extend(v.other);
    Violation {
        kind,
        key: None,
        message: v.to_string(),
        ops: Vec::new(),
        watches,
        sub_history: String::new(),
        context: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::v3::history::{V3Operation, V3Response};
    use crate::chaos::v3_watch::log::{
        EventKind, EventRecord, KvRecord, ResponseRecord, StartReason, WatchStart, WatcherLog,
        WatcherSpec,
    };

    /// A history with one acknowledged put of `k` = `a` at revision 2.
    fn history() -> V3History {
        let mut h = V3History::default();
        h.ops.push(V3Operation {
            id: 0,
            client: 0,
            invoke_ns: 0,
            complete_ns: 10,
            request: V3Request::Put {
                key: "k".into(),
                value: "a".into(),
                lease: 0,
            },
            outcome: V3Outcome::Ok(V3Response::Put {
                revision: 2,
                prev: None,
            }),
        });
        h
    }

    /// One watcher of `k` from revision 1 that saw `k` = `value` at revision 2.
    fn log(value: &str) -> WatchLog {
        WatchLog {
            watchers: vec![WatcherLog {
                id: 0,
                spec: WatcherSpec {
                    key: "k".into(),
                    start_revision: 1,
                    ..WatcherSpec::default()
                },
                starts: vec![WatchStart {
                    at_ns: 0,
                    start_revision: 1,
                    reason: StartReason::Initial,
                }],
                responses: vec![ResponseRecord {
                    received_ns: 20,
                    start: 0,
                    header_revision: 2,
                    events: vec![EventRecord {
                        kind: EventKind::Put,
                        kv: KvRecord {
                            key: "k".into(),
                            value: value.into(),
                            create_revision: 2,
                            mod_revision: 2,
                            version: 1,
                            lease: 0,
                        },
                        prev_kv: None,
                    }],
                    ..ResponseRecord::default()
                }],
                end: "run finished".into(),
            }],
        }
    }

    #[test]
    fn the_kv_historys_writes_judge_the_watch_events() {
        let h = history();
        let known = watch_known_writes(&h);
        assert_eq!(known.len(), 1, "{known:?}");
        assert!(check_v3_watch(&h, &log("a")).is_empty());
        let found = check_v3_watch(&h, &log("b"));
        assert!(
            found
                .iter()
                .any(|v| v.kind == ViolationKind::WatchDisagreement && v.watches == vec![0]),
            "{found:?}"
        );
    }

    #[test]
    fn no_compaction_means_revision_zero() {
        assert_eq!(highest_compaction(&history()), 0);
    }
}
