//! Judging a v3 history: [`check_v3`] runs the order, KV and lease checks over
//! the rebuilt write sequence and gathers what they found.

use super::history::V3History;
use super::kv_check::check_kv;
use super::lease_check::check_leases;
use super::order::{RealTime, check_order};
use super::writes::Rebuilt;
use crate::chaos::violation::Violation;
use std::fmt;

/// What the v3 checkers found.
#[derive(Clone, Debug, Default)]
pub struct V3Report {
    /// Every violation, grouped by check (order, rebuild, KV, leases).
    pub violations: Vec<Violation>,
    /// Operations checked.
    pub ops: usize,
    /// Outcome-unknown writes a read pinned to a revision.
    pub pinned: usize,
    /// Revisions no known write explains (unseen unknown writes, lease expiries).
    pub unexplained: usize,
}

impl V3Report {
    /// No violation.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for V3Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "v3: {} operations, {} unknown writes pinned, {} unexplained revisions, {} violation(s)",
            self.ops,
            self.pinned,
            self.unexplained,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  {}: {} (ops {:?})", v.kind, v.message, v.ops)?;
        }
        Ok(())
    }
}

/// Checks `history`: real-time order of revisions, the rebuilt write sequence
/// (unique revisions, consistent pins), every read and txn against it, and the
/// lease guarantees.
pub fn check_v3(history: &V3History) -> V3Report {
    let rt = RealTime::new(history);
    let rebuilt = Rebuilt::new(history, &rt);
    let mut violations = check_order(history, &rt);
    violations.extend(rebuilt.violations.iter().cloned());
    violations.extend(check_kv(history, &rebuilt));
    violations.extend(check_leases(history, &rebuilt));
    V3Report {
        violations,
        ops: history.ops.len(),
        pinned: rebuilt.pinned.len(),
        unexplained: (2..=rebuilt.max_revision)
            .filter(|&r| rebuilt.unexplained(r))
            .count(),
    }
}
