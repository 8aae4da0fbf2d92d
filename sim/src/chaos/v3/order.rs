//! Real-time order of revisions: when operation A completes before B is
//! invoked, B's revision is at least A's, and strictly greater when B is a
//! write. [`RealTime`] answers "the highest revision completed before time t"
//! for the checker; [`check_order`] reports the breaches.

use super::history::{V3History, V3Operation, V3Request, V3Response};
use crate::chaos::violation::{Violation, ViolationKind};

/// How an operation's header revision relates to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevClass {
    /// The operation wrote at exactly this revision.
    Write(i64),
    /// The operation went through a quorum and saw the store at this revision
    /// (a linearizable range, a write that changed nothing, a grant, a revoke,
    /// a compaction).
    Read(i64),
}

impl RevClass {
    /// The revision.
    pub fn revision(self) -> i64 {
        match self {
            RevClass::Write(r) | RevClass::Read(r) => r,
        }
    }
}

/// The class of an operation with a definite answer, or `None` when its
/// revision says nothing about real-time order (serializable ranges,
/// keepalives, refusals).
pub fn rev_class(op: &V3Operation) -> Option<RevClass> {
    let resp = op.response()?;
    match (&op.request, resp) {
        (V3Request::Put { .. }, V3Response::Put { revision, .. }) => {
            Some(RevClass::Write(*revision))
        }
        (V3Request::Delete { .. }, V3Response::Delete { revision, prev }) => {
            Some(if prev.is_empty() {
                RevClass::Read(*revision)
            } else {
                RevClass::Write(*revision)
            })
        }
        (V3Request::Txn { .. }, V3Response::Txn { revision, .. }) => Some(if txn_changed(resp) {
            RevClass::Write(*revision)
        } else {
            RevClass::Read(*revision)
        }),
        (V3Request::Range { serializable, .. }, V3Response::Range { revision, .. }) => {
            (!serializable).then_some(RevClass::Read(*revision))
        }
        (V3Request::LeaseGrant { .. }, V3Response::LeaseGrant { revision, .. })
        | (V3Request::LeaseRevoke { .. }, V3Response::LeaseRevoke { revision })
        | (V3Request::Compact { .. }, V3Response::Compact { revision }) => {
            Some(RevClass::Read(*revision))
        }
        _ => None,
    }
}

/// Whether a txn answer changed the store (its branch put something or
/// deleted a key).
pub fn txn_changed(resp: &V3Response) -> bool {
    match resp {
        V3Response::Txn { results, .. } => results.iter().any(|r| match r {
            super::history::V3TxnResult::Put { .. } => true,
            super::history::V3TxnResult::Delete { prev } => !prev.is_empty(),
        }),
        _ => false,
    }
}

/// The operations with a revision class, by completion time, with the running
/// maximum of their revisions.
#[derive(Clone, Debug, Default)]
pub struct RealTime {
    /// `(complete_ns, running max revision, op id holding it)`, by completion.
    done: Vec<(u64, i64, u64)>,
}

impl RealTime {
    /// Indexes `history`.
    pub fn new(history: &V3History) -> Self {
        let mut ops: Vec<(u64, i64, u64)> = history
            .ops
            .iter()
            .filter_map(|op| rev_class(op).map(|c| (op.complete_ns, c.revision(), op.id)))
            .collect();
        ops.sort();
        let mut max = (i64::MIN, 0);
        let done = ops
            .into_iter()
            .map(|(t, r, id)| {
                if r > max.0 {
                    max = (r, id);
                }
                (t, max.0, max.1)
            })
            .collect();
        RealTime { done }
    }

    /// The highest revision of an operation completed strictly before `t`, and
    /// that operation's id.
    pub fn max_before(&self, t: u64) -> Option<(i64, u64)> {
        let n = self.done.partition_point(|&(c, _, _)| c < t);
        n.checked_sub(1).map(|i| (self.done[i].1, self.done[i].2))
    }
}

/// Every breach of real-time order among operations with definite answers.
pub fn check_order(history: &V3History, rt: &RealTime) -> Vec<Violation> {
    let mut out = Vec::new();
    for op in &history.ops {
        let Some(class) = rev_class(op) else { continue };
        let Some((before, by)) = rt.max_before(op.invoke_ns) else {
            continue;
        };
        let (bad, kind, what) = match class {
            RevClass::Write(r) => (r <= before, ViolationKind::WriteIndexOrder, "wrote at"),
            RevClass::Read(r) => (r < before, ViolationKind::StaleIndex, "answered at"),
        };
        if bad {
            out.push(Violation {
                kind,
                key: None,
                message: format!(
                    "operation {} {what} revision {} although operation {by} had completed at revision {before} before it began",
                    op.id,
                    class.revision()
                ),
                ops: vec![by, op.id],
                watches: Vec::new(),
                sub_history: String::new(),
                context: Vec::new(),
            });
        }
    }
    out
}
