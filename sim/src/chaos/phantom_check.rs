//! Local (non-quorum) reads are allowed to be stale, so they are left out of the
//! linearizability search; they must still read a value that some write of that
//! key could have written: one acknowledged or of unknown outcome (not failed, not
//! a failed comparison), invoked before the read completed. No phantom values.

use super::history::{History, Op, Operation, Outcome, Response};
use super::violation::{Violation, ViolationKind};
use super::writes::written_value;
use std::collections::HashMap;

/// Whether `w` may have written `value` to `key` before `time`.
fn could_write(w: &Operation, key: &str, time: u64) -> bool {
    if w.invoke_ns > time {
        return false;
    }
    match (&w.op, &w.outcome) {
        (Op::CreateInOrder { .. }, Outcome::Ok(Response::Done { node_key, .. })) => node_key == key,
        (Op::CreateInOrder { dir, .. }, Outcome::Unknown { .. }) => key
            .strip_prefix(dir.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/')),
        (op, Outcome::Ok(Response::Done { .. }) | Outcome::Unknown { .. }) => op.key() == key,
        _ => false,
    }
}

/// Every local read of a value no write could have written.
pub fn check(history: &History) -> Vec<Violation> {
    let mut writers: HashMap<&str, Vec<&Operation>> = HashMap::new();
    for o in &history.ops {
        if let Some((_, value)) = written_value(&o.op) {
            writers.entry(value).or_default().push(o);
        }
    }
    let mut out = Vec::new();
    for o in &history.ops {
        let (
            Op::Get { key, quorum: false },
            Outcome::Ok(Response::Done {
                value: Some(value), ..
            }),
        ) = (&o.op, &o.outcome)
        else {
            continue;
        };
        let candidates = writers
            .get(value.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if !candidates
            .iter()
            .any(|w| could_write(w, key, o.complete_ns))
        {
            out.push(Violation {
                kind: ViolationKind::PhantomRead,
                key: Some(key.clone()),
                message: format!(
                    "local read #{} returned {value}, which no write of {key} invoked before it completed could have written",
                    o.id
                ),
                ops: std::iter::once(o.id)
                    .chain(candidates.iter().map(|w| w.id))
                    .collect(),
                watches: Vec::new(),
                sub_history: String::new(),
                context: Vec::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: u64, t: (u64, u64), op: Op, outcome: Outcome) -> Operation {
        Operation {
            id,
            client: 0,
            endpoint: None,
            invoke_ns: t.0,
            complete_ns: t.1,
            op,
            outcome,
        }
    }
    fn local_get(id: u64, t: (u64, u64), value: &str) -> Operation {
        op(
            id,
            t,
            Op::Get {
                key: "/k".into(),
                quorum: false,
            },
            Outcome::Ok(Response::Done {
                value: Some(value.into()),
                prev: None,
                node_key: "/k".into(),
                modified_index: 1,
                etcd_index: 1,
            }),
        )
    }
    fn set(id: u64, t: (u64, u64), value: &str, outcome: Outcome) -> Operation {
        op(
            id,
            t,
            Op::Set {
                key: "/k".into(),
                value: value.into(),
            },
            outcome,
        )
    }
    fn n(ops: Vec<Operation>) -> usize {
        check(&History {
            ops,
            ..History::default()
        })
        .len()
    }

    #[test]
    fn reads_of_written_values_pass() {
        let unknown = Outcome::Unknown {
            error: "timeout".into(),
        };
        // An unknown write may have landed; a stale local read is fine.
        assert_eq!(
            n(vec![
                set(0, (0, 5), "a", unknown),
                local_get(1, (1, 2), "a")
            ]),
            0
        );
    }

    #[test]
    fn phantom_values_fail() {
        let failed = Outcome::Failed {
            error: "refused".into(),
        };
        assert_eq!(n(vec![local_get(0, (0, 1), "nobody")]), 1);
        assert_eq!(
            n(vec![set(0, (0, 1), "a", failed), local_get(1, (2, 3), "a")]),
            1
        );
        let cas_failed = Outcome::Ok(Response::CompareFailed { index: 3 });
        assert_eq!(
            n(vec![
                set(0, (0, 1), "a", cas_failed),
                local_get(1, (2, 3), "a")
            ]),
            1
        );
        let unknown = Outcome::Unknown {
            error: "timeout".into(),
        };
        assert_eq!(
            n(vec![
                local_get(0, (0, 1), "a"),
                set(1, (2, 3), "a", unknown)
            ]),
            1,
            "read before the write was invoked"
        );
    }
}
