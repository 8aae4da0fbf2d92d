//! Judges a [`History`]: linearizability per key, the store index, reads of
//! values nobody wrote, and the watch guarantees; one [`CheckReport`] with every
//! violation found, each with the smallest sub-history that shows it.
//!
//! ```
//! use etcd_sim::chaos::check::{check, CheckOptions};
//! use etcd_sim::chaos::history::History;
//!
//! let report = check(&History::default(), &CheckOptions::default());
//! assert!(report.is_ok());
//! println!("{report}");
//! ```

use super::describe;
use super::history::{History, Op, Operation, Outcome};
use super::linearizability::{LinOp, LinResult, check_key};
use super::minimize::{MinimizeOptions, minimize};
use super::model::{Interner, KeyOp, KeyResult};
pub use super::violation::{Violation, ViolationKind};
use super::{index_check, phantom_check, watch_check};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

/// How hard to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Search steps allowed per key before its verdict is "unknown" (a step is one
    /// entry visited; a well-behaved key needs a few per operation). Memory grows
    /// with the steps taken: on the order of 100 bytes per step.
    pub partition_step_budget: u64,
    /// Shrink each non-linearizable key's history to a minimal witness.
    pub minimize: bool,
    /// Limits on the shrinking.
    pub minimize_options: MinimizeOptions,
    /// At most this many violations of one kind are reported; the rest are
    /// counted in [`CheckReport::suppressed`].
    pub max_violations_per_kind: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            partition_step_budget: 2_000_000,
            minimize: true,
            minimize_options: MinimizeOptions::default(),
            max_violations_per_kind: 20,
        }
    }
}

/// A key whose verdict the search could not reach within its budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    /// The key.
    pub key: String,
    /// Its operations.
    pub ops: usize,
    /// Steps searched.
    pub steps: u64,
}

/// Everything [`check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Operations in the history.
    pub ops: usize,
    /// Operations the linearizability search considered (failed operations,
    /// unknown reads and local reads are left out).
    pub linearizability_ops: usize,
    /// Distinct keys operated on.
    pub keys: usize,
    /// Partitions (keys) searched for a linearization.
    pub partitions: usize,
    /// Search steps, over all partitions.
    pub search_steps: u64,
    /// Watchers.
    pub watches: usize,
    /// Events the watchers received.
    pub watch_events: usize,
    /// How long the check took.
    pub duration: Duration,
    /// The violations, by kind then key.
    pub violations: Vec<Violation>,
    /// Violations found beyond [`CheckOptions::max_violations_per_kind`].
    pub suppressed: usize,
    /// Keys left without a verdict.
    pub undecided: Vec<Undecided>,
}

impl CheckReport {
    /// No violation was found (some keys may still be undecided, see
    /// [`CheckReport::is_conclusive`]).
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty() && self.suppressed == 0
    }

    /// Every key got a verdict.
    pub fn is_conclusive(&self) -> bool {
        self.undecided.is_empty()
    }

    /// Ids of every operation some violation involves.
    pub fn violating_ops(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .violations
            .iter()
            .flat_map(|v| v.ops.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match (self.is_ok(), self.is_conclusive()) {
            (false, _) => "VIOLATIONS",
            (true, true) => "ok",
            (true, false) => "ok so far (some keys undecided)",
        };
        writeln!(
            f,
            "check: {verdict}: {} ops ({} searched) on {} keys, {} search steps; \
             {} watches with {} events; {:.1} ms",
            self.ops,
            self.linearizability_ops,
            self.keys,
            self.search_steps,
            self.watches,
            self.watch_events,
            self.duration.as_secs_f64() * 1e3
        )?;
        for u in &self.undecided {
            writeln!(
                f,
                "  undecided: key {} ({} ops): search budget exceeded after {} steps",
                u.key, u.ops, u.steps
            )?;
        }
        for (n, v) in self.violations.iter().enumerate() {
            let key = v
                .key
                .as_deref()
                .map(|k| format!(" key {k}"))
                .unwrap_or_default();
            writeln!(f, "violation {}: {}{key}: {}", n + 1, v.kind, v.message)?;
            for line in v.sub_history.lines() {
                writeln!(f, "    {line}")?;
            }
        }
        if self.suppressed > 0 {
            writeln!(f, "... and {} more violations not listed", self.suppressed)?;
        }
        Ok(())
    }
}

/// The key an operation's linearizability partition is, if it takes part.
fn partition_key(o: &Operation) -> Option<&str> {
    match (&o.op, &o.outcome) {
        (_, Outcome::Failed { .. }) => None,
        (Op::Get { quorum: false, .. }, _) => None,
        (Op::Get { .. }, Outcome::Unknown { .. }) => None,
        // A create-in-order's key is known only from its answer; an unknown one
        // made a fresh key nobody else touches (watchers aside).
        (
            Op::CreateInOrder { .. },
            Outcome::Ok(super::history::Response::Done { node_key, .. }),
        ) => Some(node_key),
        (Op::CreateInOrder { .. }, _) => None,
        (op, _) => Some(op.key()),
    }
}

/// The search input for one key.
fn lin_ops(ops: &[&Operation]) -> Vec<LinOp> {
    let mut values = Interner::default();
    ops.iter()
        .filter_map(|o| {
            let op = KeyOp::from_op(&o.op, &mut values)?;
            let result = KeyResult::from_outcome(&o.outcome, &mut values);
            let ret = match o.outcome {
                Outcome::Unknown { .. } => u64::MAX,
                _ => o.complete_ns,
            };
            Some(LinOp {
                id: o.id,
                call: o.invoke_ns,
                ret,
                op,
                result,
            })
        })
        .collect()
}

fn linearizability(
    history: &History,
    opts: &CheckOptions,
    report: &mut CheckReport,
    found: &mut Vec<Violation>,
) {
    let by_id: HashMap<u64, &Operation> = history.ops.iter().map(|o| (o.id, o)).collect();
    let mut partitions: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for o in &history.ops {
        if let Some(key) = partition_key(o) {
            partitions.entry(key).or_default().push(o);
        }
    }
    report.partitions = partitions.len();
    for (key, ops) in partitions {
        let lin = lin_ops(&ops);
        report.linearizability_ops += lin.len();
        let outcome = check_key(&lin, opts.partition_step_budget);
        report.search_steps += outcome.steps;
        match outcome.result {
            LinResult::Ok => {}
            LinResult::Unknown => report.undecided.push(Undecided {
                key: key.to_string(),
                ops: lin.len(),
                steps: outcome.steps,
            }),
            LinResult::Illegal => {
                found.push(not_linearizable(key, &lin, &by_id, opts));
            }
        }
    }
}

fn not_linearizable(
    key: &str,
    lin: &[LinOp],
    by_id: &HashMap<u64, &Operation>,
    opts: &CheckOptions,
) -> Violation {
    let line = |id: &u64| by_id.get(id).map(|o| describe::line(o)).unwrap_or_default();
    if !opts.minimize {
        return Violation {
            kind: ViolationKind::NotLinearizable,
            key: Some(key.to_string()),
            message: format!("no linearization of its {} operations", lin.len()),
            ops: lin.iter().map(|o| o.id).collect(),
            watches: Vec::new(),
            sub_history: String::new(),
            context: Vec::new(),
        };
    }
    let m = minimize(lin, opts.minimize_options);
    let mut text = String::new();
    for id in &m.ops {
        text.push_str(&line(id));
        text.push('\n');
    }
    if !m.context.is_empty() {
        text.push_str("where the values came from (may or may not have taken effect):\n");
        for id in &m.context {
            text.push_str(&line(id));
            text.push('\n');
        }
    }
    let message = format!(
        "no linearization of its {} operations; these {} cannot be explained even if \
         any of the other {} writes took effect (within their intervals) or not{}",
        lin.len(),
        m.ops.len(),
        m.relaxed,
        if m.complete {
            ""
        } else {
            " (shrinking stopped at its limit: not minimal)"
        }
    );
    Violation {
        kind: ViolationKind::NotLinearizable,
        key: Some(key.to_string()),
        message,
        ops: m.ops,
        watches: Vec::new(),
        sub_history: text,
        context: m.context,
    }
}

/// Renders the given operations one per line, in id order.
pub(crate) fn render_ops(history: &History, ids: &[u64]) -> String {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = String::new();
    for o in history
        .ops
        .iter()
        .filter(|o| ids.binary_search(&o.id).is_ok())
    {
        out.push_str(&describe::line(o));
        out.push('\n');
    }
    out
}

/// Checks `history` against every guarantee: linearizability of each key's
/// operations, the store index's order, no phantom reads, and the watch
/// guarantees (see the modules `linearizability`, `index_check`, `phantom_check`
/// and `watch_check`).
pub fn check(history: &History, opts: &CheckOptions) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport {
        ops: history.ops.len(),
        watches: history.watches.len(),
        watch_events: history.watches.iter().map(|w| w.events.len()).sum(),
        ..CheckReport::default()
    };
    let mut keys: Vec<&str> = history.ops.iter().filter_map(partition_key).collect();
    keys.extend(history.ops.iter().map(|o| o.op.key()));
    keys.sort_unstable();
    keys.dedup();
    report.keys = keys.len();

    let mut found = Vec::new();
    linearizability(history, opts, &mut report, &mut found);
    found.extend(index_check::check(history));
    found.extend(phantom_check::check(history));
    found.extend(watch_check::check(history));
    for v in &mut found {
        if v.sub_history.is_empty() && !v.ops.is_empty() {
            v.sub_history = render_ops(history, &v.ops);
        }
    }
    // Stable: by kind, keeping each checker's own order within a kind.
    found.sort_by_key(|v| v.kind);
    let mut per_kind: BTreeMap<ViolationKind, usize> = BTreeMap::new();
    for v in found {
        let n = per_kind.entry(v.kind).or_default();
        *n += 1;
        if *n <= opts.max_violations_per_kind {
            report.violations.push(v);
        } else {
            report.suppressed += 1;
        }
    }
    report.duration = started.elapsed();
    tracing::debug!(
        ops = report.ops,
        violations = report.violations.len(),
        ms = report.duration.as_millis() as u64,
        "history checked"
    );
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::Response;

    const MS: u64 = 1_000_000;

    /// A tiny history builder: ops get ids in invocation order.
    #[derive(Default)]
    struct H {
        ops: Vec<Operation>,
        index: u64,
    }

    impl H {
        fn push(&mut self, client: usize, t: (u64, u64), op: Op, outcome: Outcome) -> u64 {
            let id = self.ops.len() as u64;
            self.ops.push(Operation {
                id,
                client,
                endpoint: None,
                invoke_ns: t.0 * MS,
                complete_ns: t.1 * MS,
                op,
                outcome,
            });
            id
        }
        fn done(&mut self, value: Option<&str>, prev: Option<&str>) -> Outcome {
            self.index += 1;
            Outcome::Ok(Response::Done {
                value: value.map(str::to_string),
                prev: prev.map(str::to_string),
                node_key: "/k".into(),
                modified_index: self.index,
                etcd_index: self.index,
            })
        }
        fn set(&mut self, c: usize, t: (u64, u64), v: &str, prev: Option<&str>) -> u64 {
            let outcome = self.done(Some(v), prev);
            let op = Op::Set {
                key: "/k".into(),
                value: v.into(),
            };
            self.push(c, t, op, outcome)
        }
        fn set_with(&mut self, c: usize, t: (u64, u64), v: &str, outcome: Outcome) -> u64 {
            let op = Op::Set {
                key: "/k".into(),
                value: v.into(),
            };
            self.push(c, t, op, outcome)
        }
        /// A quorum read of `v` written at `mi`.
        fn get(&mut self, c: usize, t: (u64, u64), v: Option<&str>, mi: u64) -> u64 {
            let outcome = match v {
                Some(v) => Outcome::Ok(Response::Done {
                    value: Some(v.into()),
                    prev: None,
                    node_key: "/k".into(),
                    modified_index: mi,
                    etcd_index: self.index,
                }),
                None => Outcome::Ok(Response::NotFound { index: self.index }),
            };
            let op = Op::Get {
                key: "/k".into(),
                quorum: true,
            };
            self.push(c, t, op, outcome)
        }
        fn check(self) -> CheckReport {
            let h = History {
                ops: self.ops,
                ..History::default()
            };
            check(&h, &CheckOptions::default())
        }
    }

    fn lin_violation(r: &CheckReport) -> &Violation {
        r.violations
            .iter()
            .find(|v| v.kind == ViolationKind::NotLinearizable)
            .unwrap_or_else(|| panic!("no linearizability violation: {r}"))
    }

    #[test]
    fn stale_read_after_a_completed_write() {
        let mut h = H::default();
        h.set(0, (0, 1), "a", None);
        let b = h.set(1, (2, 3), "b", Some("a"));
        // Reads a with a's index, but claims the current store index: only the
        // linearizability check can tell.
        let r = h.get(2, (4, 5), Some("a"), 1);
        let report = h.check();
        assert!(!report.is_ok());
        let v = lin_violation(&report);
        assert_eq!(v.key.as_deref(), Some("/k"));
        assert_eq!(v.ops, vec![b, r]);
        let text = report.to_string();
        assert!(text.contains("not-linearizable key /k"), "{text}");
        assert!(text.contains("set /k = b"), "{text}");
        assert!(text.contains("where the values came from"), "{text}");
    }

    #[test]
    fn lost_acknowledged_write() {
        let mut h = H::default();
        let w = h.set(0, (0, 1), "a", None);
        let r = h.get(1, (2, 3), None, 0);
        let report = h.check();
        assert_eq!(lin_violation(&report).ops, vec![w, r]);
    }

    #[test]
    fn compare_and_swap_on_a_wrong_value() {
        let mut h = H::default();
        h.set(0, (0, 1), "a", None);
        h.set(1, (2, 3), "b", Some("a"));
        let outcome = h.done(Some("c"), Some("a"));
        let cas = h.push(
            2,
            (4, 5),
            Op::CompareAndSwap {
                key: "/k".into(),
                prev: "a".into(),
                value: "c".into(),
            },
            outcome,
        );
        let report = h.check();
        assert!(lin_violation(&report).ops.contains(&cas), "{report}");
    }

    #[test]
    fn concurrent_overlapping_operations_pass() {
        let mut h = H::default();
        h.set(0, (0, 10), "a", None);
        h.set(1, (1, 9), "b", Some("a"));
        h.get(2, (2, 3), Some("a"), 1);
        h.get(3, (5, 12), Some("b"), 2);
        h.get(2, (11, 12), Some("b"), 2);
        let report = h.check();
        assert!(report.is_ok() && report.is_conclusive(), "{report}");
        assert_eq!(report.partitions, 1);
        assert_eq!(report.linearizability_ops, 5);
    }

    #[test]
    fn unknown_writes_late_or_never_and_failed_ones_ignored() {
        let unknown = || Outcome::Unknown {
            error: "timeout".into(),
        };
        let mut h = H::default();
        h.set(0, (0, 1), "a", None);
        // Never applied.
        h.set_with(1, (2, 3), "lost", unknown());
        // Applied long after the client gave up (index 2).
        h.set_with(1, (4, 5), "late", unknown());
        // Certainly not applied.
        h.set_with(
            2,
            (4, 5),
            "refused",
            Outcome::Failed {
                error: "refused".into(),
            },
        );
        h.get(0, (10, 11), Some("a"), 1);
        h.index = 2;
        h.get(0, (50, 51), Some("late"), 2);
        let report = h.check();
        assert!(report.is_ok() && report.is_conclusive(), "{report}");
        assert_eq!(report.linearizability_ops, 5, "the failed set is left out");
    }

    #[test]
    fn a_read_of_a_failed_write_is_caught() {
        let mut h = H::default();
        h.set_with(
            0,
            (0, 1),
            "refused",
            Outcome::Failed {
                error: "refused".into(),
            },
        );
        h.get(1, (2, 3), Some("refused"), 1);
        assert!(!h.check().is_ok());
    }

    #[test]
    fn budget_exhaustion_is_reported_not_hidden() {
        let mut h = H::default();
        for i in 0..30 {
            h.set(i, (0, 100), &format!("v{i}"), None);
        }
        let h = History {
            ops: h.ops,
            ..History::default()
        };
        let opts = CheckOptions {
            partition_step_budget: 5,
            ..CheckOptions::default()
        };
        let report = check(&h, &opts);
        assert!(!report.is_conclusive());
        assert_eq!(report.undecided.len(), 1);
        assert!(report.to_string().contains("undecided: key /k"), "{report}");
    }

    #[test]
    fn violations_are_capped_per_kind() {
        let mut h = H::default();
        for i in 0..10 {
            let t = 10 * i;
            h.set(0, (t, t + 1), &format!("v{i}"), None); // prev missing: illegal
        }
        h.index = 0; // the indexes restart: every later write is out of order
        for i in 0..10 {
            let t = 200 + 10 * i;
            h.set(0, (t, t + 1), &format!("w{i}"), None);
        }
        let ops = h.ops;
        let opts = CheckOptions {
            max_violations_per_kind: 3,
            ..CheckOptions::default()
        };
        let report = check(
            &History {
                ops,
                ..History::default()
            },
            &opts,
        );
        let order = report
            .violations
            .iter()
            .filter(|v| v.kind == ViolationKind::WriteIndexOrder)
            .count();
        assert_eq!(order, 3);
        assert!(report.suppressed > 0);
        assert!(!report.is_ok());
    }
}
