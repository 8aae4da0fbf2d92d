//! The committed write sequence, rebuilt by revision: every acknowledged write
//! at the revision its header gave, every outcome-unknown write that a read
//! showed (its value's `mod_revision` pins it), and acknowledged lease revokes
//! that took a revision of their own. What remains unexplained are revision
//! gaps, filled by unknown writes nobody saw and lease expiries.
//!
//! [`known_writes`] hands the result to other checkers (the watch checker):
//! revision -> the events that write made.

use super::history::{
    V3History, V3KeyValue, V3Operation, V3Outcome, V3Range, V3Request, V3Response, V3TxnOp,
    V3TxnResult,
};
use super::order::{RealTime, RevClass, rev_class};
use crate::chaos::violation::{Violation, ViolationKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One change a committed write made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum V3WriteEvent {
    /// `key` now holds `value` (attached to `lease`, `0`: none).
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The lease.
        lease: i64,
    },
    /// `key` was deleted (known from the answer's `prev_kv`s).
    Delete {
        /// The key.
        key: String,
    },
    /// Every key in `range` that existed was deleted (an outcome-unknown txn
    /// pinned by one of its puts: which keys existed is not recorded).
    DeleteRange {
        /// The range.
        range: V3Range,
    },
    /// An acknowledged revoke answered with this revision and no other known
    /// write took it: every key attached to the lease was deleted here (if it
    /// had none, the revision may belong to another lease's expiry).
    LeaseRevoke {
        /// The lease.
        lease: i64,
    },
}

/// Where a put's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutOrigin {
    /// The operation.
    pub op: u64,
    /// The key it put.
    pub key: String,
    /// The lease it attached.
    pub lease: i64,
    /// For a txn: whether the put is in the `then` branch.
    pub in_success: bool,
}

/// A known put of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownPut {
    /// The operation.
    pub op: u64,
    /// The value.
    pub value: String,
    /// The lease.
    pub lease: i64,
}

/// An outcome-unknown write nobody saw take effect: it may have taken any
/// revision above `lower_bound`, or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LooseWrite {
    /// The operation.
    pub op: u64,
    /// The highest revision completed before it was invoked.
    pub lower_bound: i64,
    /// The ranges it may delete.
    pub deletes: Vec<V3Range>,
    /// The keys it may put.
    pub puts: Vec<String>,
}

/// The rebuilt write sequence.
#[derive(Clone, Debug, Default)]
pub struct Rebuilt {
    /// Revision -> the operation(s) known to have written it (more than one is
    /// a violation).
    pub writers: BTreeMap<i64, Vec<u64>>,
    /// Known puts, by key then revision.
    pub puts: BTreeMap<String, BTreeMap<i64, KnownPut>>,
    /// Known deletes: revision -> the ranges deleted (every key in them that
    /// existed).
    pub deletes: BTreeMap<i64, Vec<V3Range>>,
    /// Lease -> the revision its acknowledged revoke answered with.
    pub revokes: BTreeMap<i64, (i64, u64)>,
    /// Revisions an acknowledged revoke answered with and no other known
    /// write took (the revoke's deletions, if its lease had keys; otherwise
    /// whatever took that revision, such as another lease's expiry).
    pub revoke_slots: BTreeMap<i64, i64>,
    /// Value -> the put that wrote it.
    pub origins: BTreeMap<String, PutOrigin>,
    /// Outcome-unknown operations pinned to a revision by a read, with the
    /// branch a pinned txn took (`true`: `then`).
    pub pinned: BTreeMap<u64, (i64, bool)>,
    /// Outcome-unknown writes never seen.
    pub loose: Vec<LooseWrite>,
    /// The highest revision any answer carried.
    pub max_revision: i64,
    /// What did not add up while rebuilding.
    pub violations: Vec<Violation>,
}

/// Every key-value an answer returned, with the revision it describes the
/// store at: a range's kvs at its header revision, a put's or delete's
/// previous kvs at the write's revision minus one.
pub fn reads_of(op: &V3Operation) -> Vec<(i64, &V3KeyValue)> {
    let Some(resp) = op.response() else {
        return Vec::new();
    };
    match resp {
        V3Response::Range { revision, kvs, .. } => kvs.iter().map(|kv| (*revision, kv)).collect(),
        V3Response::Put { revision, prev } => prev.iter().map(|kv| (*revision - 1, kv)).collect(),
        V3Response::Delete { revision, prev } => {
            prev.iter().map(|kv| (*revision - 1, kv)).collect()
        }
        V3Response::Txn {
            revision, results, ..
        } => results
            .iter()
            .flat_map(|r| match r {
                V3TxnResult::Put { prev } => prev.iter().collect::<Vec<_>>(),
                V3TxnResult::Delete { prev } => prev.iter().collect(),
            })
            .map(|kv| (*revision - 1, kv))
            .collect(),
        _ => Vec::new(),
    }
}

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

impl Rebuilt {
    /// Rebuilds `history`'s write sequence.
    pub fn new(history: &V3History, rt: &RealTime) -> Self {
        let mut b = Rebuilt::default();
        let by_id: BTreeMap<u64, &V3Operation> = history.ops.iter().map(|o| (o.id, o)).collect();
        for op in &history.ops {
            if let Some(r) = op.response().and_then(V3Response::revision) {
                b.max_revision = b.max_revision.max(r);
            }
            for (key, value, lease) in op.request.puts() {
                let in_success = match &op.request {
                    V3Request::Txn { success, .. } => success
                        .iter()
                        .any(|o| matches!(o, V3TxnOp::Put { value: v, .. } if v == value)),
                    _ => true,
                };
                b.origins.insert(
                    value.to_string(),
                    PutOrigin {
                        op: op.id,
                        key: key.to_string(),
                        lease,
                        in_success,
                    },
                );
            }
        }
        // Acknowledged writes.
        for op in &history.ops {
            if let Some(RevClass::Write(r)) = rev_class(op) {
                b.add_acked(op, r);
            }
        }
        // Outcome-unknown writes a read pinned.
        let mut pins: BTreeMap<u64, (i64, bool, u64)> = BTreeMap::new();
        for op in &history.ops {
            for (_, kv) in reads_of(op) {
                let Some(origin) = b.origins.get(&kv.value) else {
                    continue;
                };
                let Some(writer) = by_id.get(&origin.op) else {
                    continue;
                };
                if !matches!(writer.outcome, V3Outcome::Unknown { .. }) {
                    continue;
                }
                match pins.get(&origin.op) {
                    Some(&(r, _, by)) if r != kv.mod_revision => b.violations.push(violation(
                        ViolationKind::IndexMismatch,
                        Some(&kv.key),
                        format!(
                            "value {:?} read with mod revision {} by operation {} and {r} by operation {by}",
                            kv.value, kv.mod_revision, op.id
                        ),
                        vec![origin.op, by, op.id],
                    )),
                    Some(_) => {}
                    None => {
                        pins.insert(origin.op, (kv.mod_revision, origin.in_success, op.id));
                    }
                }
            }
        }
        for (&id, &(r, in_success, by)) in &pins {
            let Some(op) = by_id.get(&id) else { continue };
            if let Some((before, prior)) = rt.max_before(op.invoke_ns)
                && r <= before
            {
                b.violations.push(violation(
                    ViolationKind::WriteIndexOrder,
                    None,
                    format!(
                        "outcome-unknown operation {id} is seen (by operation {by}) at revision {r}, but operation {prior} had completed at revision {before} before it began"
                    ),
                    vec![prior, id, by],
                ));
            }
            b.pinned.insert(id, (r, in_success));
            b.writers.entry(r).or_default().push(id);
            match &op.request {
                V3Request::Put { key, value, lease } => b.add_put(key, r, id, value, *lease),
                V3Request::Txn {
                    success, failure, ..
                } => {
                    let branch = if in_success { success } else { failure };
                    for o in branch {
                        match o {
                            V3TxnOp::Put { key, value, lease } => {
                                b.add_put(key, r, id, value, *lease)
                            }
                            V3TxnOp::Delete { range } => {
                                b.deletes.entry(r).or_default().push(range.clone())
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // Acknowledged revokes that took a revision no known write took.
        for op in &history.ops {
            if let (V3Request::LeaseRevoke { id }, Some(V3Response::LeaseRevoke { revision })) =
                (&op.request, op.response())
            {
                b.revokes.insert(*id, (*revision, op.id));
                if !b.writers.contains_key(revision) {
                    b.revoke_slots.insert(*revision, *id);
                }
            }
        }
        // Outcome-unknown writes nobody saw.
        for op in &history.ops {
            if !matches!(op.outcome, V3Outcome::Unknown { .. }) || b.pinned.contains_key(&op.id) {
                continue;
            }
            let lower_bound = rt.max_before(op.invoke_ns).map_or(0, |(r, _)| r);
            let (deletes, puts) = match &op.request {
                V3Request::Put { key, .. } => (Vec::new(), vec![key.clone()]),
                V3Request::Delete { range } => (vec![range.clone()], Vec::new()),
                V3Request::Txn {
                    success, failure, ..
                } => {
                    let mut d = Vec::new();
                    let mut p = Vec::new();
                    for o in success.iter().chain(failure) {
                        match o {
                            V3TxnOp::Put { key, .. } => p.push(key.clone()),
                            V3TxnOp::Delete { range } => d.push(range.clone()),
                        }
                    }
                    (d, p)
                }
                _ => (Vec::new(), Vec::new()),
            };
            b.loose.push(LooseWrite {
                op: op.id,
                lower_bound,
                deletes,
                puts,
            });
        }
        for (r, ids) in &b.writers {
            if ids.len() > 1 {
                b.violations.push(violation(
                    ViolationKind::DuplicateIndex,
                    None,
                    format!("operations {ids:?} all wrote revision {r}"),
                    ids.clone(),
                ));
            }
        }
        b
    }

    fn add_put(&mut self, key: &str, r: i64, op: u64, value: &str, lease: i64) {
        self.puts.entry(key.to_string()).or_default().insert(
            r,
            KnownPut {
                op,
                value: value.to_string(),
                lease,
            },
        );
    }

    fn add_acked(&mut self, op: &V3Operation, r: i64) {
        self.writers.entry(r).or_default().push(op.id);
        match (&op.request, op.response()) {
            (V3Request::Put { key, value, lease }, _) => self.add_put(key, r, op.id, value, *lease),
            (V3Request::Delete { range }, _) => {
                self.deletes.entry(r).or_default().push(range.clone())
            }
            (
                V3Request::Txn {
                    success, failure, ..
                },
                Some(V3Response::Txn { succeeded, .. }),
            ) => {
                let branch = if *succeeded { success } else { failure };
                for o in branch {
                    match o {
                        V3TxnOp::Put { key, value, lease } => {
                            self.add_put(key, r, op.id, value, *lease)
                        }
                        V3TxnOp::Delete { range } => {
                            self.deletes.entry(r).or_default().push(range.clone())
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The first known put of `key` in revisions `(from, to]`.
    pub fn put_between(&self, key: &str, from: i64, to: i64) -> Option<(i64, &KnownPut)> {
        if from >= to {
            return None;
        }
        self.puts
            .get(key)?
            .range(from + 1..=to)
            .next()
            .map(|(r, p)| (*r, p))
    }

    /// The first known delete covering `key` in revisions `(from, to]`.
    pub fn delete_between(&self, key: &str, from: i64, to: i64) -> Option<i64> {
        if from >= to {
            return None;
        }
        self.deletes
            .range(from + 1..=to)
            .find(|(_, ranges)| ranges.iter().any(|rg| rg.contains(key)))
            .map(|(r, _)| *r)
    }

    /// Whether revision `r` has no known writer (an unknown write nobody saw,
    /// or a lease expiry, may have taken it). A revision only an acknowledged
    /// revoke answered with stays unexplained: a revoke of a lease without keys
    /// answers with the current revision, which may be another lease's expiry.
    pub fn unexplained(&self, r: i64) -> bool {
        r > 1 && !self.writers.contains_key(&r)
    }

    /// Whether some revision in `(from, to]` could have deleted `key`
    /// without a known write saying so: an unexplained revision above the
    /// lower bound of an unseen unknown write that may delete it, or any
    /// unexplained revision when `lease` (the key's lease) may expire, or a
    /// revoke of `lease` there.
    pub fn may_vanish(&self, key: &str, lease: i64, from: i64, to: i64) -> bool {
        if lease != 0
            && let Some(&(r, _)) = self.revokes.get(&lease)
            && r > from
            && r <= to
        {
            return true;
        }
        let floor = if lease != 0 {
            Some(from)
        } else {
            self.loose
                .iter()
                .filter(|w| w.deletes.iter().any(|d| d.contains(key)))
                .map(|w| w.lower_bound.max(from))
                .min()
        };
        floor.is_some_and(|f| (f + 1..=to).any(|r| self.unexplained(r)))
    }

    /// Whether some unexplained revision in `(from, to]` could have changed
    /// `key` (put or delete) without a known write saying so.
    pub fn may_change(&self, key: &str, lease: i64, from: i64, to: i64) -> bool {
        if self.may_vanish(key, lease, from, to) {
            return true;
        }
        let floor = self
            .loose
            .iter()
            .filter(|w| w.puts.iter().any(|k| k == key))
            .map(|w| w.lower_bound.max(from))
            .min();
        floor.is_some_and(|f| (f + 1..=to).any(|r| self.unexplained(r)))
    }
}

/// The acknowledged and pinned writes of `history` by revision: revision ->
/// the events that write made (for the watch checker).
pub fn known_writes(history: &V3History) -> BTreeMap<i64, Vec<V3WriteEvent>> {
    let rt = RealTime::new(history);
    let rebuilt = Rebuilt::new(history, &rt);
    let mut out: BTreeMap<i64, Vec<V3WriteEvent>> = BTreeMap::new();
    for op in &history.ops {
        let r = match rev_class(op) {
            Some(RevClass::Write(r)) => r,
            _ => match rebuilt.pinned.get(&op.id) {
                Some(&(r, _)) => r,
                None => continue,
            },
        };
        let events = out.entry(r).or_default();
        match (&op.request, op.response()) {
            (V3Request::Put { key, value, lease }, _) => events.push(V3WriteEvent::Put {
                key: key.clone(),
                value: value.clone(),
                lease: *lease,
            }),
            (V3Request::Delete { .. }, Some(V3Response::Delete { prev, .. })) => {
                events.extend(prev.iter().map(|kv| V3WriteEvent::Delete {
                    key: kv.key.clone(),
                }))
            }
            (
                V3Request::Txn {
                    success, failure, ..
                },
                resp,
            ) => {
                let (branch, results) = match resp {
                    Some(V3Response::Txn {
                        succeeded, results, ..
                    }) => (if *succeeded { success } else { failure }, Some(results)),
                    _ => match rebuilt.pinned.get(&op.id) {
                        Some((_, true)) => (success, None),
                        _ => (failure, None),
                    },
                };
                for (i, o) in branch.iter().enumerate() {
                    match (o, results.and_then(|rs| rs.get(i))) {
                        (V3TxnOp::Put { key, value, lease }, _) => events.push(V3WriteEvent::Put {
                            key: key.clone(),
                            value: value.clone(),
                            lease: *lease,
                        }),
                        (V3TxnOp::Delete { .. }, Some(V3TxnResult::Delete { prev })) => events
                            .extend(prev.iter().map(|kv| V3WriteEvent::Delete {
                                key: kv.key.clone(),
                            })),
                        (V3TxnOp::Delete { range }, _) => events.push(V3WriteEvent::DeleteRange {
                            range: range.clone(),
                        }),
                    }
                }
            }
            _ => {}
        }
    }
    for (&r, &lease) in &rebuilt.revoke_slots {
        out.entry(r)
            .or_default()
            .push(V3WriteEvent::LeaseRevoke { lease });
    }
    out
}
