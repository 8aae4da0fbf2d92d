//! The KV checks over the rebuilt write sequence ([`Rebuilt`]):
//! - every value read comes from a put of that key that was not refused, at
//!   the revision that put took, with its lease (no phantom, no uncommitted
//!   write);
//! - a read at revision r (a range's header revision, or a write's revision
//!   minus one for its `prev_kv`s) sees the state at r: no known write of the
//!   key between its mod revision and r, version and create revision
//!   consistent with the known puts, and no acknowledged put missing unless a
//!   delete, a lease revoke or expiry, or an unseen unknown delete could have
//!   removed it;
//! - an acknowledged txn took the branch its compares give on the state at its
//!   revision minus one (at its revision, when it changed nothing), whenever
//!   that state is certain.
//!
//! Serializable ranges are judged at their own header revision: a member
//! answers from its applied state, whose revision that is.

use super::history::{
    V3Compare, V3CompareTarget, V3History, V3KeyValue, V3Operation, V3Outcome, V3Range, V3Request,
    V3Response,
};
use super::order::txn_changed;
use super::writes::{Rebuilt, reads_of};
use crate::chaos::violation::{Violation, ViolationKind};
use std::collections::{BTreeMap, BTreeSet};

fn violation(kind: ViolationKind, key: &str, message: String, ops: Vec<u64>) -> Violation {
    Violation {
        kind,
        key: Some(key.to_string()),
        message,
        ops,
        watches: Vec::new(),
        sub_history: String::new(),
        context: Vec::new(),
    }
}

/// Every KV violation of `history`.
pub fn check_kv(history: &V3History, b: &Rebuilt) -> Vec<Violation> {
    let by_id: BTreeMap<u64, &V3Operation> = history.ops.iter().map(|o| (o.id, o)).collect();
    let all_keys: BTreeSet<&str> = history
        .ops
        .iter()
        .flat_map(|o| o.request.puts().into_iter().map(|(k, _, _)| k))
        .collect();
    let mut out = Vec::new();
    for op in &history.ops {
        for (at, kv) in reads_of(op) {
            check_present(op, at, kv, b, &by_id, &mut out);
        }
        match (&op.request, op.response()) {
            (
                V3Request::Range { range, .. },
                Some(V3Response::Range {
                    revision,
                    kvs,
                    count,
                }),
            ) => {
                if usize::try_from(*count).ok() != Some(kvs.len()) {
                    out.push(violation(
                        ViolationKind::NotLinearizable,
                        &range.key,
                        format!(
                            "range {} counted {count} keys but returned {}",
                            op.id,
                            kvs.len()
                        ),
                        vec![op.id],
                    ));
                }
                check_absent(op, range, *revision, kvs, &all_keys, b, &mut out);
            }
            (V3Request::Delete { range }, Some(V3Response::Delete { revision, prev }))
                if !prev.is_empty() =>
            {
                check_absent(op, range, revision - 1, prev, &all_keys, b, &mut out);
            }
            (
                V3Request::Txn { compares, .. },
                Some(
                    resp @ V3Response::Txn {
                        revision,
                        succeeded,
                        ..
                    },
                ),
            ) => {
                let at = if txn_changed(resp) {
                    revision - 1
                } else {
                    *revision
                };
                if let Some(expected) = evaluate(compares, at, b)
                    && expected != *succeeded
                {
                    out.push(violation(
                        ViolationKind::NotLinearizable,
                        compares.first().map_or("", |c| c.key.as_str()),
                        format!(
                            "txn {} took its {} branch at revision {revision}, but its compares are {expected} on the state at revision {at}",
                            op.id,
                            if *succeeded { "then" } else { "else" }
                        ),
                        vec![op.id],
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks one key-value read at revision `at` by `op`.
fn check_present(
    op: &V3Operation,
    at: i64,
    kv: &V3KeyValue,
    b: &Rebuilt,
    by_id: &BTreeMap<u64, &V3Operation>,
    out: &mut Vec<Violation>,
) {
    let key = kv.key.as_str();
    let mut bad = |kind, message: String, mut ops: Vec<u64>| {
        ops.push(op.id);
        out.push(violation(kind, key, message, ops));
    };
    let Some(origin) = b.origins.get(&kv.value) else {
        bad(
            ViolationKind::PhantomRead,
            format!(
                "operation {} read {key}={:?}, which no put wrote",
                op.id, kv.value
            ),
            vec![],
        );
        return;
    };
    if origin.key != key || origin.lease != kv.lease {
        bad(
            ViolationKind::IndexMismatch,
            format!(
                "operation {} read {key}={:?} with lease {:x}, but operation {} put that value at {} with lease {:x}",
                op.id, kv.value, kv.lease, origin.op, origin.key, origin.lease
            ),
            vec![origin.op],
        );
    }
    if let Some(writer) = by_id.get(&origin.op) {
        match &writer.outcome {
            V3Outcome::Failed { error } => bad(
                ViolationKind::PhantomRead,
                format!(
                    "operation {} read {key}={:?}, written by operation {} which failed ({error})",
                    op.id, kv.value, origin.op
                ),
                vec![origin.op],
            ),
            V3Outcome::Ok(V3Response::LeaseNotFound) => bad(
                ViolationKind::PhantomRead,
                format!(
                    "operation {} read {key}={:?}, written by operation {} which was refused (lease not found)",
                    op.id, kv.value, origin.op
                ),
                vec![origin.op],
            ),
            V3Outcome::Ok(resp) => {
                let taken = match resp {
                    V3Response::Txn { succeeded, .. } => *succeeded == origin.in_success,
                    _ => true,
                };
                if !taken {
                    bad(
                        ViolationKind::PhantomRead,
                        format!(
                            "operation {} read {key}={:?}, from the branch txn {} did not take",
                            op.id, kv.value, origin.op
                        ),
                        vec![origin.op],
                    );
                } else if resp.revision() != Some(kv.mod_revision) {
                    bad(
                        ViolationKind::IndexMismatch,
                        format!(
                            "operation {} read {key}={:?} with mod revision {}, but its put (operation {}) was acknowledged at revision {:?}",
                            op.id,
                            kv.value,
                            kv.mod_revision,
                            origin.op,
                            resp.revision()
                        ),
                        vec![origin.op],
                    );
                }
            }
            V3Outcome::Unknown { .. } => {}
        }
    }
    let m = kv.mod_revision;
    let c = kv.create_revision;
    if m > at || c > m || c < 1 || kv.version < 1 {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "operation {} read {key} at revision {at} with create {c}, mod {m}, version {}",
                op.id, kv.version
            ),
            vec![],
        );
        return;
    }
    if let Some((r, p)) = b.put_between(key, m, at) {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "stale read: operation {} read {key}={:?} (mod revision {m}) at revision {at}, but operation {} put {:?} at revision {r}",
                op.id, kv.value, p.op, p.value
            ),
            vec![p.op],
        );
    }
    if let Some(r) = b.delete_between(key, m, at) {
        let ops = b.writers.get(&r).cloned().unwrap_or_default();
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "stale read: operation {} read {key} (mod revision {m}) at revision {at}, but it was deleted at revision {r}",
                op.id
            ),
            ops,
        );
    }
    if kv.lease != 0
        && let Some(&(r, revoke)) = b.revokes.get(&kv.lease)
        && r > m
        && r <= at
    {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "operation {} read {key} (lease {:x}) at revision {at}, after the lease's revoke at revision {r}",
                op.id, kv.lease
            ),
            vec![revoke],
        );
    }
    if let Some(r) = b.delete_between(key, c, m) {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "operation {} read {key} created at revision {c}, but it was deleted at revision {r} before its mod revision {m}",
                op.id
            ),
            b.writers.get(&r).cloned().unwrap_or_default(),
        );
    }
    let known_puts = b.puts.get(key).map_or(0, |p| p.range(c..=m).count() as i64);
    let single = c == m && kv.version != 1;
    if known_puts > kv.version || single {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "operation {} read {key} with version {} (create {c}, mod {m}), but {known_puts} known puts fall in that life",
                op.id, kv.version
            ),
            vec![],
        );
    }
    if b.writers.contains_key(&c) && !b.puts.get(key).is_some_and(|p| p.contains_key(&c)) {
        bad(
            ViolationKind::NotLinearizable,
            format!(
                "operation {} read {key} with create revision {c}, but the write at {c} did not put {key}",
                op.id
            ),
            b.writers.get(&c).cloned().unwrap_or_default(),
        );
    }
}

/// Checks that a read of `range` at revision `at` that returned `kvs` misses no
/// key whose last known put is still in force.
fn check_absent(
    op: &V3Operation,
    range: &V3Range,
    at: i64,
    kvs: &[V3KeyValue],
    all_keys: &BTreeSet<&str>,
    b: &Rebuilt,
    out: &mut Vec<Violation>,
) {
    let seen: BTreeSet<&str> = kvs.iter().map(|kv| kv.key.as_str()).collect();
    for key in all_keys
        .iter()
        .filter(|k| range.contains(k) && !seen.contains(*k))
    {
        let Some((&p, put)) = b.puts.get(*key).and_then(|m| m.range(..=at).next_back()) else {
            continue;
        };
        if b.delete_between(key, p, at).is_some() || b.may_vanish(key, put.lease, p, at) {
            continue;
        }
        out.push(violation(
            ViolationKind::NotLinearizable,
            key,
            format!(
                "lost write: operation {} read {} at revision {at} without {key}, but operation {} put {:?} at revision {p} and nothing could have deleted it since",
                op.id, range.key, put.op, put.value
            ),
            vec![put.op, op.id],
        ));
    }
}

/// What a key held at a revision, when certain.
enum KeyState<'a> {
    Absent,
    Present { value: &'a str, mod_revision: i64 },
}

/// The state of `key` at revision `at`, if the known writes decide it.
fn state_at<'a>(key: &str, at: i64, b: &'a Rebuilt) -> Option<KeyState<'a>> {
    let last_put = b.puts.get(key).and_then(|m| m.range(..=at).next_back());
    let last_delete = b
        .deletes
        .range(..=at)
        .rev()
        .find(|(_, rs)| rs.iter().any(|r| r.contains(key)))
        .map(|(r, _)| *r);
    match (last_put, last_delete) {
        (Some((&p, put)), d) if d.is_none_or(|d| d < p) => (!b.may_change(key, put.lease, p, at))
            .then_some(KeyState::Present {
                value: &put.value,
                mod_revision: p,
            }),
        (_, d) => {
            let from = d.unwrap_or(0);
            (!b.may_change(key, 0, from, at)).then_some(KeyState::Absent)
        }
    }
}

/// The compares' verdict on the state at `at`, when every compare is decided.
fn evaluate(compares: &[V3Compare], at: i64, b: &Rebuilt) -> Option<bool> {
    let mut all = true;
    for c in compares {
        let state = state_at(&c.key, at, b)?;
        let eq = match (&c.target, &state) {
            (V3CompareTarget::Value { value }, KeyState::Present { value: v, .. }) => v == value,
            (V3CompareTarget::Value { .. }, KeyState::Absent) => {
                // A value compare on a missing key is false, `!=` included.
                all = false;
                continue;
            }
            (V3CompareTarget::ModRevision { revision }, KeyState::Present { mod_revision, .. }) => {
                mod_revision == revision
            }
            (V3CompareTarget::ModRevision { revision }, KeyState::Absent) => *revision == 0,
            (V3CompareTarget::Version { version }, KeyState::Absent) => *version == 0,
            (V3CompareTarget::Version { version }, KeyState::Present { .. }) => {
                if *version == 0 {
                    false
                } else {
                    return None;
                }
            }
        };
        all &= eq != c.not_equal;
    }
    Some(all)
}
