//! Linearizability of one key's operations: the Wing–Gong–Lowe search with the
//! memoization of porcupine (a cache of (set of linearized operations, state)).
//!
//! The operations become a list of call and return entries sorted by time (a call
//! before a return at the same instant: intervals are closed, so ops that touch are
//! concurrent). The search walks the list: at a call it tries to linearize that
//! operation now (the model must accept its response in the current state), lifts
//! it and its return out of the list and starts again from the head; at the return
//! of an operation it has not linearized it backtracks (an undo stack of lifted
//! operations and the states before them). A (linearized set, state) pair already
//! explored is never explored again, which keeps most histories near-linear.
//!
//! An operation whose outcome is not definite ([`LinOp::result`] is `None`) may
//! have taken effect at any point of its interval, with the response the model
//! gives ([`model::apply_blind`]), or never: at its return entry the search may
//! drop it. Unknown outcomes get a return time of `u64::MAX`, so they may take
//! effect late; once only such operations are left the history is linearizable.
//!
//! The search counts its steps; past the budget it answers
//! [`LinResult::Unknown`] instead of running on.

use super::model::{self, KeyOp, KeyResult, KeyState};
use std::collections::HashSet;

/// One operation of a key's history, ready for the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinOp {
    /// The history's operation id.
    pub id: u64,
    /// Invocation time (ns).
    pub call: u64,
    /// Completion time (ns); `u64::MAX` when the operation may take effect at any
    /// time after its call.
    pub ret: u64,
    /// What was asked.
    pub op: KeyOp,
    /// The definite response; `None` when the operation may or may not have taken
    /// effect within `[call, ret]`.
    pub result: Option<KeyResult>,
}

/// The verdict on one key's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinResult {
    /// A linearization exists.
    Ok,
    /// None exists.
    Illegal,
    /// The search ran out of its step budget.
    Unknown,
}

/// The verdict and how much searching it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinOutcome {
    /// The verdict.
    pub result: LinResult,
    /// Search steps taken (entries visited).
    pub steps: u64,
}

const NIL: usize = usize::MAX;

#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    is_call: bool,
}

/// A doubly linked list over the entries, with lift/unlift (dancing links).
struct EntryList {
    entries: Vec<Entry>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The list head: index `entries.len()` in `next`/`prev`.
    head: usize,
    call_of: Vec<usize>,
    ret_of: Vec<usize>,
}

impl EntryList {
    fn new(ops: &[LinOp]) -> EntryList {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            order.push((o.call, false, i));
            order.push((o.ret.max(o.call), true, i));
        }
        // Calls (false) sort before returns (true) at the same time.
        order.sort_unstable();
        let n = order.len();
        let mut call_of = vec![0; ops.len()];
        let mut ret_of = vec![0; ops.len()];
        let entries: Vec<Entry> = order
            .iter()
            .enumerate()
            .map(|(pos, &(_, is_ret, op))| {
                if is_ret {
                    ret_of[op] = pos;
                } else {
                    call_of[op] = pos;
                }
                Entry {
                    op,
                    is_call: !is_ret,
                }
            })
            .collect();
        let head = n;
        // Entry i follows i - 1 (the head before entry 0); the last has no next.
        let mut next: Vec<usize> = (1..=n).collect();
        next.push(if n == 0 { NIL } else { 0 });
        if let Some(last) = n.checked_sub(1) {
            next[last] = NIL;
        }
        let mut prev: Vec<usize> = (0..n).map(|i| i.checked_sub(1).unwrap_or(head)).collect();
        prev.push(NIL);
        EntryList {
            entries,
            next,
            prev,
            head,
            call_of,
            ret_of,
        }
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NIL {
            self.prev[n] = e;
        }
    }

    /// Removes an operation's call and return entries.
    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        self.unlink(self.ret_of[op]);
    }

    /// Puts back what [`EntryList::lift`] removed (in reverse order).
    fn unlift(&mut self, op: usize) {
        self.relink(self.ret_of[op]);
        self.relink(self.call_of[op]);
    }

    fn first(&self) -> usize {
        self.next[self.head]
    }
}

/// A [`Bitset`]'s cache key (see [`Bitset::key`]).
type SetKey = (usize, Box<[u64]>);

/// The set of linearized (or dropped) operations, one bit per operation in
/// invocation order.
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(n: usize) -> Bitset {
        Bitset(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    /// A compact, exact key for the cache: the number of leading all-ones words
    /// and the words from there to the last non-zero one. The search linearizes
    /// roughly in invocation order, so that is one or two words however long the
    /// history, instead of a copy of the whole set.
    fn key(&self) -> SetKey {
        let full = self.0.iter().take_while(|&&w| w == u64::MAX).count();
        let end = self.0.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        (full, self.0[full..end.max(full)].into())
    }
}

struct Frame {
    op: usize,
    state_before: KeyState,
    /// The operation was dropped (took no effect) rather than linearized.
    dropped: bool,
}

/// Each operation's position in invocation order.
fn invocation_ranks(ops: &[LinOp]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].call, i));
    let mut rank = vec![0; ops.len()];
    for (r, i) in order.into_iter().enumerate() {
        rank[i] = r;
    }
    rank
}

/// Whether one key's operations are linearizable, searching at most `budget`
/// steps.
pub fn check_key(ops: &[LinOp], budget: u64) -> LinOutcome {
    let mut list = EntryList::new(ops);
    let mut definite_left = ops.iter().filter(|o| o.result.is_some()).count();
    let mut linearized = Bitset::new(ops.len());
    // Bits in invocation order, so the linearized set is mostly a prefix.
    let bit = invocation_ranks(ops);
    let mut cache: HashSet<(SetKey, KeyState)> = HashSet::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut state: KeyState = None;
    let mut steps = 0u64;
    let mut entry = list.first();
    let verdict = |result, steps| LinOutcome { result, steps };
    loop {
        if definite_left == 0 || entry == NIL {
            // Whatever is left may all have taken effect late, or never.
            return verdict(LinResult::Ok, steps);
        }
        steps += 1;
        if steps > budget {
            return verdict(LinResult::Unknown, steps);
        }
        let Entry { op: i, is_call } = list.entries[entry];
        let o = &ops[i];
        // At a call: try to linearize the op now. At the return of an op with an
        // unknown outcome: try dropping it (it never took effect).
        let attempt = if is_call {
            match o.result {
                Some(r) => model::step(state, o.op, r),
                None => Some(model::apply_blind(state, o.op)),
            }
        } else if o.result.is_none() {
            Some(state)
        } else {
            None
        };
        if let Some(new_state) = attempt {
            linearized.set(bit[i]);
            if cache.insert((linearized.key(), new_state)) {
                stack.push(Frame {
                    op: i,
                    state_before: state,
                    dropped: !is_call,
                });
                state = new_state;
                list.lift(i);
                if o.result.is_some() {
                    definite_left -= 1;
                }
                entry = list.first();
                continue;
            }
            linearized.clear(bit[i]);
        }
        if is_call {
            entry = list.next[entry];
            continue;
        }
        // A return we cannot pass: undo the latest choice and try the next one.
        loop {
            let Some(frame) = stack.pop() else {
                return verdict(LinResult::Illegal, steps);
            };
            linearized.clear(bit[frame.op]);
            state = frame.state_before;
            list.unlift(frame.op);
            if ops[frame.op].result.is_some() {
                definite_left += 1;
            }
            if !frame.dropped {
                entry = list.next[list.call_of[frame.op]];
                break;
            }
            // Dropping was the last choice at that return: keep undoing.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::model::ValueId;

    const BUDGET: u64 = 100_000;

    fn op(id: u64, call: u64, ret: u64, op: KeyOp, result: Option<KeyResult>) -> LinOp {
        LinOp {
            id,
            call,
            ret,
            op,
            result,
        }
    }
    fn set(v: ValueId, prev: Option<ValueId>) -> (KeyOp, Option<KeyResult>) {
        (
            KeyOp::Set { value: v },
            Some(KeyResult::Done {
                value: Some(v),
                prev,
            }),
        )
    }
    fn get(v: Option<ValueId>) -> (KeyOp, Option<KeyResult>) {
        let r = match v {
            Some(v) => KeyResult::Done {
                value: Some(v),
                prev: None,
            },
            None => KeyResult::NotFound,
        };
        (KeyOp::Get, Some(r))
    }
    fn at(id: u64, call: u64, ret: u64, (o, r): (KeyOp, Option<KeyResult>)) -> LinOp {
        op(id, call, ret, o, r)
    }
    fn verdict(ops: &[LinOp]) -> LinResult {
        check_key(ops, BUDGET).result
    }

    #[test]
    fn sequential_history() {
        let h = [
            at(0, 0, 1, get(None)),
            at(1, 2, 3, set(1, None)),
            at(2, 4, 5, get(Some(1))),
            at(3, 6, 7, set(2, Some(1))),
            at(4, 8, 9, get(Some(2))),
        ];
        assert_eq!(verdict(&h), LinResult::Ok);
    }

    #[test]
    fn stale_read_after_a_completed_write() {
        let h = [
            at(0, 0, 1, set(1, None)),
            at(1, 2, 3, set(2, Some(1))),
            at(2, 4, 5, get(Some(1))),
        ];
        assert_eq!(verdict(&h), LinResult::Illegal);
    }

    #[test]
    fn concurrent_reads_may_see_either_side() {
        // The write of 2 overlaps both reads; one sees it, the other does not,
        // in the order the intervals allow.
        let h = [
            at(0, 0, 1, set(1, None)),
            at(1, 2, 10, set(2, Some(1))),
            at(2, 3, 4, get(Some(2))),
            at(3, 5, 6, get(Some(2))),
            at(4, 3, 9, get(Some(1))),
        ];
        assert_eq!(verdict(&h), LinResult::Ok);
        // But once a read saw 2, a later read cannot see 1.
        let h = [
            at(0, 0, 1, set(1, None)),
            at(1, 2, 10, set(2, Some(1))),
            at(2, 3, 4, get(Some(2))),
            at(3, 5, 6, get(Some(1))),
        ];
        assert_eq!(verdict(&h), LinResult::Illegal);
    }

    #[test]
    fn touching_intervals_are_concurrent() {
        let h = [at(0, 5, 10, set(1, None)), at(1, 0, 5, get(Some(1)))];
        assert_eq!(verdict(&h), LinResult::Ok);
        let h = [at(0, 6, 10, set(1, None)), at(1, 0, 5, get(Some(1)))];
        assert_eq!(verdict(&h), LinResult::Illegal);
    }

    #[test]
    fn unknown_writes_may_take_effect_late_or_never() {
        let unknown = |id, call, ret, v| op(id, call, ret, KeyOp::Set { value: v }, None);
        // Took effect long after the client gave up.
        let late = [
            at(0, 0, 1, set(1, None)),
            unknown(1, 2, u64::MAX, 2),
            at(2, 10, 11, get(Some(1))),
            at(3, 20, 21, get(Some(2))),
        ];
        assert_eq!(verdict(&late), LinResult::Ok);
        // Never took effect.
        let never = [
            at(0, 0, 1, set(1, None)),
            unknown(1, 2, u64::MAX, 2),
            at(2, 10, 11, get(Some(1))),
        ];
        assert_eq!(verdict(&never), LinResult::Ok);
        // Took effect, then a read went back to the value before it.
        let back = [
            at(0, 0, 1, set(1, None)),
            unknown(1, 2, u64::MAX, 2),
            at(2, 10, 11, get(Some(2))),
            at(3, 20, 21, get(Some(1))),
        ];
        assert_eq!(verdict(&back), LinResult::Illegal);
        // An unknown write cannot take effect before it was invoked.
        let early = [at(0, 0, 1, get(Some(2))), unknown(1, 2, u64::MAX, 2)];
        assert_eq!(verdict(&early), LinResult::Illegal);
    }

    #[test]
    fn relaxed_writes_stay_within_their_interval() {
        let maybe = |id, call, ret, v| op(id, call, ret, KeyOp::Set { value: v }, None);
        let h = [maybe(0, 0, 5, 1), at(1, 10, 11, get(Some(1)))];
        assert_eq!(verdict(&h), LinResult::Ok);
        let h = [
            maybe(0, 0, 5, 1),
            at(1, 6, 7, set(2, None)),
            at(2, 10, 11, get(Some(1))),
        ];
        assert_eq!(verdict(&h), LinResult::Illegal, "1 cannot land after 2");
    }

    #[test]
    fn lost_acknowledged_write() {
        let h = [at(0, 0, 1, set(1, None)), at(1, 2, 3, get(None))];
        assert_eq!(verdict(&h), LinResult::Illegal);
    }

    #[test]
    fn compare_and_swap_on_a_wrong_value() {
        let cas = (
            KeyOp::CompareAndSwap { prev: 1, value: 3 },
            Some(KeyResult::Done {
                value: Some(3),
                prev: None,
            }),
        );
        let h = [
            at(0, 0, 1, set(1, None)),
            at(1, 2, 3, set(2, Some(1))),
            at(2, 4, 5, cas),
        ];
        assert_eq!(verdict(&h), LinResult::Illegal);
        // Concurrent with the second set it may go first, but then that set must
        // report the swapped value as its previous one.
        let concurrent = |set2_prev| {
            [
                at(0, 0, 1, set(1, None)),
                at(1, 2, 6, set(2, Some(set2_prev))),
                at(2, 2, 5, cas),
            ]
        };
        assert_eq!(verdict(&concurrent(1)), LinResult::Illegal);
        assert_eq!(verdict(&concurrent(3)), LinResult::Ok);
    }

    #[test]
    fn a_budget_gives_unknown_not_a_verdict() {
        let mut h = vec![at(0, 0, 1, set(0, None))];
        // Many concurrent writes and reads of distinct values: wide search.
        for i in 1..40u64 {
            h.push(at(i, 2, 100, set(i as ValueId, Some(0))));
        }
        h.push(at(99, 101, 102, get(Some(7))));
        assert_eq!(check_key(&h, 10).result, LinResult::Unknown);
    }

    #[test]
    fn empty_and_only_unknown() {
        assert_eq!(verdict(&[]), LinResult::Ok);
        let h = [op(0, 0, u64::MAX, KeyOp::Delete, None)];
        assert_eq!(verdict(&h), LinResult::Ok);
    }
}
