//! Checks on the store index (`modifiedIndex`, `X-Etcd-Index`) across all keys.
//!
//! - Every acknowledged write got its own `modifiedIndex` (etcd bumps the store
//!   index once per successful change).
//! - Real-time order: if write `a` completed before write `b` was invoked, then
//!   `a`'s index is lower than `b`'s.
//! - No answer (quorum reads, and every write's answer, including its errors)
//!   reports a store index below that of a write that completed before the request
//!   was invoked. Local reads are exempt: they may be stale by design.
//! - A read reports the `modifiedIndex` its value's write got.

use super::history::{History, Op, Operation, Outcome, Response};
use super::violation::{Violation, ViolationKind};
use super::writes::{DoneWrite, done_write, reported_etcd_index};
use std::collections::{BTreeMap, HashMap};

fn violation(kind: ViolationKind, key: Option<&str>, message: String, ops: Vec<u64>) -> Violation {
    Violation {
        kind,
        key: key.map(str::to_string),
        message,
        ops,
        watches: Vec::new(),
        sub_history: String::new(),
        context: Vec::new(),
    }
}

fn duplicates(writes: &[DoneWrite<'_>], out: &mut Vec<Violation>) {
    let mut by_index: BTreeMap<u64, Vec<&DoneWrite<'_>>> = BTreeMap::new();
    for w in writes {
        by_index.entry(w.index).or_default().push(w);
    }
    for (index, ws) in by_index {
        if ws.len() > 1 {
            let keys: Vec<&str> = ws.iter().map(|w| w.key).collect();
            out.push(violation(
                ViolationKind::DuplicateIndex,
                None,
                format!(
                    "{} acknowledged writes got index {index} (keys {keys:?})",
                    ws.len()
                ),
                ws.iter().map(|w| w.op.id).collect(),
            ));
        }
    }
}

/// Whether an answer's reported store index must be monotonic in real time.
fn index_is_linearizable(o: &Operation) -> bool {
    !matches!(o.op, Op::Get { quorum: false, .. })
}

fn real_time_order(history: &History, writes: &[DoneWrite<'_>], out: &mut Vec<Violation>) {
    // Writes by completion time; answers by invocation time; a sweep keeps the
    // highest index among writes completed strictly before the current invocation.
    let mut completed: Vec<&DoneWrite<'_>> = writes.iter().collect();
    completed.sort_by_key(|w| (w.op.complete_ns, w.op.id));
    let mut answers: Vec<&Operation> = history
        .ops
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Ok(_)) && index_is_linearizable(o))
        .collect();
    answers.sort_by_key(|o| (o.invoke_ns, o.id));
    let mut highest: Option<&DoneWrite<'_>> = None;
    let mut next = 0;
    for o in answers {
        while next < completed.len() && completed[next].op.complete_ns < o.invoke_ns {
            let w = completed[next];
            if highest.is_none_or(|h| w.index > h.index) {
                highest = Some(w);
            }
            next += 1;
        }
        let (Some(h), Outcome::Ok(response)) = (highest, &o.outcome) else {
            continue;
        };
        if let Some(w) = done_write(o) {
            if w.index <= h.index {
                out.push(violation(
                    ViolationKind::WriteIndexOrder,
                    Some(w.key),
                    format!(
                        "write #{} got index {} but write #{} (index {}) completed before it began",
                        o.id, w.index, h.op.id, h.index
                    ),
                    vec![h.op.id, o.id],
                ));
            }
            continue;
        }
        let reported = reported_etcd_index(response);
        if reported < h.index {
            out.push(violation(
                ViolationKind::StaleIndex,
                Some(o.op.key()),
                format!(
                    "#{} reports store index {reported} but write #{} (index {}) completed before it began",
                    o.id, h.op.id, h.index
                ),
                vec![h.op.id, o.id],
            ));
        }
    }
}

fn read_indexes(history: &History, writes: &[DoneWrite<'_>], out: &mut Vec<Violation>) {
    let writer: HashMap<(&str, &str), &DoneWrite<'_>> = writes
        .iter()
        .filter_map(|w| w.value.map(|v| ((w.key, v), w)))
        .collect();
    for o in &history.ops {
        let (
            Op::Get { key, .. },
            Outcome::Ok(Response::Done {
                value: Some(value),
                modified_index,
                ..
            }),
        ) = (&o.op, &o.outcome)
        else {
            continue;
        };
        let Some(w) = writer.get(&(key.as_str(), value.as_str())) else {
            continue;
        };
        if w.index != *modified_index {
            out.push(violation(
                ViolationKind::IndexMismatch,
                Some(key),
                format!(
                    "read #{} of {value} reports modifiedIndex {modified_index}, but write #{} of it got {}",
                    o.id, w.op.id, w.index
                ),
                vec![w.op.id, o.id],
            ));
        }
    }
}

/// Every index violation in `history`.
pub fn check(history: &History) -> Vec<Violation> {
    let writes: Vec<DoneWrite<'_>> = history.ops.iter().filter_map(done_write).collect();
    let mut out = Vec::new();
    duplicates(&writes, &mut out);
    real_time_order(history, &writes, &mut out);
    read_indexes(history, &writes, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::Response;

    fn op(id: u64, t: (u64, u64), op: Op, outcome: Outcome) -> Operation {
        Operation {
            id,
            client: id as usize,
            endpoint: None,
            invoke_ns: t.0,
            complete_ns: t.1,
            op,
            outcome,
        }
    }
    fn set(id: u64, t: (u64, u64), value: &str, index: u64) -> Operation {
        op(
            id,
            t,
            Op::Set {
                key: "/k".into(),
                value: value.into(),
            },
            Outcome::Ok(Response::Done {
                value: Some(value.into()),
                prev: None,
                node_key: "/k".into(),
                modified_index: index,
                etcd_index: index,
            }),
        )
    }
    fn get(id: u64, t: (u64, u64), quorum: bool, value: &str, mi: u64, ei: u64) -> Operation {
        op(
            id,
            t,
            Op::Get {
                key: "/k".into(),
                quorum,
            },
            Outcome::Ok(Response::Done {
                value: Some(value.into()),
                prev: None,
                node_key: "/k".into(),
                modified_index: mi,
                etcd_index: ei,
            }),
        )
    }
    fn kinds(ops: Vec<Operation>) -> Vec<ViolationKind> {
        let h = History {
            ops,
            ..History::default()
        };
        check(&h).into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn a_clean_history_passes() {
        let ops = vec![
            set(0, (0, 10), "a", 5),
            set(1, (5, 12), "b", 4), // concurrent: any order
            get(2, (20, 21), true, "a", 5, 5),
            get(3, (22, 23), false, "b", 4, 4), // local: may be stale
        ];
        assert_eq!(kinds(ops), vec![]);
    }

    #[test]
    fn duplicate_and_reordered_indexes() {
        assert_eq!(
            kinds(vec![set(0, (0, 1), "a", 5), set(1, (2, 3), "b", 5)]),
            vec![
                ViolationKind::DuplicateIndex,
                ViolationKind::WriteIndexOrder
            ]
        );
        assert_eq!(
            kinds(vec![set(0, (0, 1), "a", 6), set(1, (2, 3), "b", 5)]),
            vec![ViolationKind::WriteIndexOrder]
        );
    }

    #[test]
    fn a_quorum_read_behind_a_completed_write() {
        let ops = vec![
            set(0, (0, 1), "a", 5),
            set(1, (2, 3), "b", 6),
            get(2, (4, 5), true, "a", 5, 5),
        ];
        assert_eq!(kinds(ops), vec![ViolationKind::StaleIndex]);
        let error = op(
            3,
            (4, 5),
            Op::Delete { key: "/x".into() },
            Outcome::Ok(Response::NotFound { index: 5 }),
        );
        assert_eq!(
            kinds(vec![set(0, (0, 1), "a", 5), set(1, (2, 3), "b", 6), error]),
            vec![ViolationKind::StaleIndex]
        );
    }

    #[test]
    fn a_read_must_report_its_writes_index() {
        let ops = vec![set(0, (0, 1), "a", 5), get(1, (4, 5), false, "a", 7, 7)];
        assert_eq!(kinds(ops), vec![ViolationKind::IndexMismatch]);
    }
}
