//! Shrinks a key's non-linearizable history to a small set of operations that is
//! still a proof of the violation.
//!
//! Simply deleting operations is not sound: a read needs the write it read from,
//! and without it any read looks like a violation (of a value nobody wrote). So an
//! operation left out of the result is not deleted but *relaxed*: a read is
//! dropped (reads constrain, they never enable), and a write becomes "may or may
//! not have taken effect within its interval" ([`LinOp::result`] = `None`). Every
//! linearization of the full history is one of the relaxed history too, so when
//! the relaxed history has none, neither has the full one: the kept operations are
//! a genuine witness, "these outcomes cannot be explained, whatever the other
//! writes did".
//!
//! Steps: (1) the shortest failing prefix in invocation order, by binary search; a
//! prefix is checked together with the later-invoked writes that overlap it
//! (relaxed), since those could have taken effect before the prefix's operations
//! did. (2) Greedy removal, in halving chunks down to one operation at a time,
//! keeping the history failing. Relaxing more never makes a passing history fail,
//! so one pass at chunk size one leaves every kept operation necessary.

use super::linearizability::{LinOp, LinResult, check_key};
use std::collections::HashMap;

/// Limits on the shrinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinimizeOptions {
    /// Step budget of each linearizability check (a check over budget counts as
    /// passing, so the operation stays).
    pub check_budget: u64,
    /// How many checks to run at most; past it the result is what was reached.
    pub max_checks: usize,
    /// How many search steps all the checks may take together; past it the
    /// result is what was reached.
    pub max_total_steps: u64,
}

impl Default for MinimizeOptions {
    fn default() -> Self {
        MinimizeOptions {
            check_budget: 200_000,
            max_checks: 400,
            max_total_steps: 20_000_000,
        }
    }
}

/// A minimized violation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Minimized {
    /// The operations (history ids, in invocation order) whose outcomes admit no
    /// linearization.
    pub ops: Vec<u64>,
    /// The writes (history ids) whose values the kept operations observed; they
    /// were relaxed, and are listed so a reader sees where the values came from.
    pub context: Vec<u64>,
    /// How many writes were relaxed in total.
    pub relaxed: usize,
    /// Whether every kept operation was shown to be necessary (the check limit was
    /// not reached).
    pub complete: bool,
}

struct Shrinker<'a> {
    ops: &'a [LinOp],
    opts: MinimizeOptions,
    checks: usize,
    steps: u64,
}

impl Shrinker<'_> {
    fn exhausted(&self) -> bool {
        self.checks >= self.opts.max_checks || self.steps >= self.opts.max_total_steps
    }

    /// Checks `window` with only `keep` definite: other writes relaxed, reads out.
    fn fails(&mut self, window: &[usize], keep: &[bool]) -> bool {
        self.checks += 1;
        let sub: Vec<LinOp> = window
            .iter()
            .filter_map(|&i| {
                let o = self.ops[i];
                if keep[i] {
                    Some(o)
                } else if o.op.is_write() {
                    Some(LinOp { result: None, ..o })
                } else {
                    None
                }
            })
            .collect();
        let outcome = check_key(&sub, self.opts.check_budget);
        self.steps += outcome.steps;
        outcome.result == LinResult::Illegal
    }

    /// The first `k` operations in invocation order plus the later ones invoked
    /// before the last of their definite completions, and which of them are kept.
    fn prefix(&self, order: &[usize], k: usize) -> (Vec<usize>, Vec<bool>) {
        let mut keep = vec![false; self.ops.len()];
        let mut horizon = 0;
        for &i in &order[..k] {
            if self.ops[i].result.is_some() {
                keep[i] = true;
                horizon = horizon.max(self.ops[i].ret);
            }
        }
        let window = order
            .iter()
            .enumerate()
            .filter(|&(pos, &i)| pos < k || self.ops[i].call <= horizon)
            .map(|(_, &i)| i)
            .collect();
        (window, keep)
    }
}

/// Shrinks `ops` (one key's history, known not to be linearizable).
pub fn minimize(ops: &[LinOp], opts: MinimizeOptions) -> Minimized {
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| (ops[i].call, ops[i].id));
    let mut s = Shrinker {
        ops,
        opts,
        checks: 0,
        steps: 0,
    };

    // (1) The shortest failing prefix: `hi` always fails (the whole history does).
    let (mut lo, mut hi) = (0, order.len());
    while hi - lo > 1 && !s.exhausted() {
        let mid = lo + (hi - lo) / 2;
        let (window, keep) = s.prefix(&order, mid);
        if s.fails(&window, &keep) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let (window, mut keep) = s.prefix(&order, hi);

    // (2) Greedy removal in halving chunks.
    let mut kept: Vec<usize> = window.iter().copied().filter(|&i| keep[i]).collect();
    let mut chunk = kept.len().div_ceil(2).max(1);
    let mut complete = false;
    while !s.exhausted() {
        let mut at = 0;
        while at < kept.len() && !s.exhausted() {
            let end = (at + chunk).min(kept.len());
            if end - at == kept.len() {
                at = end;
                continue;
            }
            for &i in &kept[at..end] {
                keep[i] = false;
            }
            if s.fails(&window, &keep) {
                kept.drain(at..end);
            } else {
                for &i in &kept[at..end] {
                    keep[i] = true;
                }
                at = end;
            }
        }
        if chunk == 1 {
            complete = at >= kept.len();
            break;
        }
        chunk = chunk.div_ceil(2);
    }

    // Where the kept operations' values came from.
    let writer: HashMap<_, usize> = window
        .iter()
        .filter_map(|&i| ops[i].op.written().map(|v| (v, i)))
        .collect();
    let mut context: Vec<usize> = kept
        .iter()
        .flat_map(|&i| {
            let o = &ops[i];
            let mut seen: Vec<_> = o.result.into_iter().flat_map(|r| r.observed()).collect();
            seen.extend(o.op.prev());
            seen
        })
        .filter_map(|v| writer.get(&v).copied())
        .filter(|&w| !keep[w])
        .collect();
    context.sort_by_key(|&i| (ops[i].call, ops[i].id));
    context.dedup();
    let relaxed = window
        .iter()
        .filter(|&&i| !keep[i] && ops[i].op.is_write())
        .count();
    Minimized {
        ops: kept.iter().map(|&i| ops[i].id).collect(),
        context: context.iter().map(|&i| ops[i].id).collect(),
        relaxed,
        complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::model::{KeyOp, KeyResult, ValueId};

    fn set(id: u64, call: u64, ret: u64, v: ValueId, prev: Option<ValueId>) -> LinOp {
        LinOp {
            id,
            call,
            ret,
            op: KeyOp::Set { value: v },
            result: Some(KeyResult::Done {
                value: Some(v),
                prev,
            }),
        }
    }
    fn get(id: u64, call: u64, ret: u64, v: ValueId) -> LinOp {
        LinOp {
            id,
            call,
            ret,
            op: KeyOp::Get,
            result: Some(KeyResult::Done {
                value: Some(v),
                prev: None,
            }),
        }
    }

    #[test]
    fn a_stale_read_shrinks_to_the_overwrite_and_the_read() {
        // A long linearizable run, then a read of an overwritten value, then more.
        let mut h = Vec::new();
        let mut t = 0;
        let mut prev = None;
        for v in 0..40u32 {
            h.push(set(h.len() as u64, t, t + 5, v, prev));
            h.push(get(h.len() as u64, t + 6, t + 8, v));
            prev = Some(v);
            t += 10;
        }
        let stale = h.len() as u64;
        h.push(get(stale, t, t + 2, 30));
        for v in 40..50u32 {
            t += 10;
            h.push(set(h.len() as u64, t, t + 5, v, prev));
            prev = Some(v);
        }
        assert_eq!(check_key(&h, 1_000_000).result, LinResult::Illegal);
        let m = minimize(&h, MinimizeOptions::default());
        assert!(m.complete);
        // Two operations suffice: a later write (or a read of one) and the stale
        // read. The read alone would be explainable: the writes after 30 are
        // relaxed and may never have happened.
        assert_eq!(m.ops.len(), 2, "{m:?}");
        assert_eq!(m.ops[1], stale);
        assert!(m.ops[0] > 60 && m.ops[0] < stale, "{m:?}");
        assert!(m.context.contains(&60), "the write of 30: {m:?}");
    }

    #[test]
    fn a_read_is_never_blamed_alone_for_a_value_someone_wrote() {
        // Read 0 sees the write of 1, which completes after the read began: fine.
        // Deleting that write would make read 0 "fail" too; relaxing it does not.
        let h = [
            get(0, 0, 10, 1),
            set(1, 2, 4, 1, None),
            set(2, 12, 14, 2, Some(1)),
            get(3, 20, 21, 1),
        ];
        assert_eq!(check_key(&h, 1000).result, LinResult::Illegal);
        let m = minimize(&h, MinimizeOptions::default());
        assert_eq!(m.ops, vec![2, 3], "the overwrite and the stale read");
        assert_eq!(m.context, vec![1]);
        assert_eq!(m.relaxed, 1);
    }

    #[test]
    fn the_limits_stop_shrinking_with_a_sound_but_larger_witness() {
        let h = [
            get(0, 0, 10, 1),
            set(1, 2, 4, 1, None),
            set(2, 12, 14, 2, Some(1)),
            get(3, 20, 21, 1),
        ];
        let opts = MinimizeOptions {
            max_checks: 1,
            ..MinimizeOptions::default()
        };
        let m = minimize(&h, opts);
        assert!(!m.complete);
        assert!(m.ops.len() > 2 && m.ops.contains(&3), "{m:?}");
    }
}
