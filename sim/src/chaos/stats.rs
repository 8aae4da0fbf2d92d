//! Numbers about runs: one seed's [`RunStats`], and the [`Summary`] of many that
//! the command line prints as its closing table.

use super::history::{History, Outcome};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunStats {
    /// Operations that got a definite answer.
    pub ok: u64,
    /// Operations that certainly had no effect.
    pub failed: u64,
    /// Operations whose effect is unknown.
    pub unknown: u64,
    /// Events the watchers received.
    pub watch_events: u64,
    /// Faults injected, by kind name.
    pub faults: BTreeMap<String, u64>,
    /// Virtual time the run took.
    pub virtual_time: Duration,
    /// Wall time the run took.
    pub wall_time: Duration,
}

impl RunStats {
    /// The operation and watch counts of `history`; faults and times are the
    /// caller's to fill in.
    pub fn of_history(history: &History) -> Self {
        let mut s = RunStats::default();
        for op in &history.ops {
            match op.outcome {
                Outcome::Ok(_) => s.ok += 1,
                Outcome::Failed { .. } => s.failed += 1,
                Outcome::Unknown { .. } => s.unknown += 1,
            }
        }
        s.watch_events = history.watches.iter().map(|w| w.events.len() as u64).sum();
        s
    }

    /// Every operation.
    pub fn ops(&self) -> u64 {
        self.ok + self.failed + self.unknown
    }
}

/// The totals over many seeds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds with a safety violation (linearizability or watch guarantees).
    pub violations: u64,
    /// Seeds whose cluster did not recover after the final heal, or whose
    /// liveness operations did not all complete.
    pub liveness_failures: u64,
    /// Seeds whose run panicked.
    pub crashes: u64,
    /// The failing seeds, in the order found.
    pub failing_seeds: Vec<u64>,
    /// The sum of every run's stats.
    pub totals: RunStats,
}

impl Summary {
    /// Adds one seed's stats and verdicts.
    pub fn add(&mut self, seed: u64, stats: &RunStats, violation: bool, liveness: bool) {
        self.seeds += 1;
        self.violations += u64::from(violation);
        self.liveness_failures += u64::from(liveness);
        if violation || liveness {
            self.failing_seeds.push(seed);
        }
        let t = &mut self.totals;
        t.ok += stats.ok;
        t.failed += stats.failed;
        t.unknown += stats.unknown;
        t.watch_events += stats.watch_events;
        for (k, n) in &stats.faults {
            *t.faults.entry(k.clone()).or_default() += n;
        }
        t.virtual_time += stats.virtual_time;
        t.wall_time += stats.wall_time;
    }

    /// Adds a seed whose run panicked.
    pub fn add_crash(&mut self, seed: u64) {
        self.seeds += 1;
        self.crashes += 1;
        self.failing_seeds.push(seed);
    }

    /// Whether every seed passed.
    pub fn all_passed(&self) -> bool {
        self.violations == 0 && self.liveness_failures == 0 && self.crashes == 0
    }
}

/// Seeds per minute of `wall` time.
pub fn per_minute(seeds: u64, wall: Duration) -> f64 {
    let secs = wall.as_secs_f64();
    if secs > 0.0 {
        seeds as f64 * 60.0 / secs
    } else {
        0.0
    }
}

/// The closing table: `Summary` plus the wall time of the whole command.
pub struct Table<'a> {
    /// The totals.
    pub summary: &'a Summary,
    /// Wall time of the whole command (runs may overlap checks and I/O).
    pub wall: Duration,
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        let t = &s.totals;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: String| {
            writeln!(f, "  {name:<28} {value:>12}")
        };
        writeln!(f, "chaos summary")?;
        row(f, "seeds", s.seeds.to_string())?;
        row(f, "operations", t.ops().to_string())?;
        row(f, "  ok (definite)", t.ok.to_string())?;
        row(f, "  failed (not applied)", t.failed.to_string())?;
        row(f, "  unknown (may have applied)", t.unknown.to_string())?;
        row(f, "watch events", t.watch_events.to_string())?;
        let injected: u64 = t.faults.values().sum();
        row(f, "faults", injected.to_string())?;
        for (kind, n) in &t.faults {
            row(f, &format!("  {kind}"), n.to_string())?;
        }
        row(f, "violations", s.violations.to_string())?;
        row(f, "liveness failures", s.liveness_failures.to_string())?;
        row(f, "crashed runs", s.crashes.to_string())?;
        row(
            f,
            "seeds per minute",
            format!("{:.1}", per_minute(s.seeds, self.wall)),
        )?;
        let ratio = if self.wall.is_zero() {
            0.0
        } else {
            t.virtual_time.as_secs_f64() / self.wall.as_secs_f64()
        };
        row(f, "virtual s / wall s", format!("{ratio:.1}"))?;
        row(
            f,
            "virtual / wall time",
            format!(
                "{:.0}s / {:.0}s",
                t.virtual_time.as_secs_f64(),
                self.wall.as_secs_f64()
            ),
        )?;
        if !s.failing_seeds.is_empty() {
            let seeds: Vec<String> = s.failing_seeds.iter().map(u64::to_string).collect();
            row(f, "failing seeds", seeds.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::history::{Op, Operation, Response};

    fn op(id: u64, outcome: Outcome) -> Operation {
        Operation {
            id,
            client: 0,
            endpoint: None,
            invoke_ns: 0,
            complete_ns: 1,
            op: Op::Delete { key: "/k".into() },
            outcome,
        }
    }

    #[test]
    fn counts_outcomes_and_sums_seeds() {
        let h = History {
            ops: vec![
                op(0, Outcome::Ok(Response::NotFound { index: 1 })),
                op(1, Outcome::Failed { error: "e".into() }),
                op(2, Outcome::Unknown { error: "e".into() }),
                op(3, Outcome::Unknown { error: "e".into() }),
            ],
            ..Default::default()
        };
        let mut s = RunStats::of_history(&h);
        assert_eq!((s.ok, s.failed, s.unknown, s.ops()), (1, 1, 2, 4));
        s.faults.insert("kill".into(), 2);
        s.virtual_time = Duration::from_secs(10);
        let mut sum = Summary::default();
        sum.add(1, &s, false, false);
        sum.add(2, &s, true, false);
        sum.add_crash(3);
        assert_eq!(sum.seeds, 3);
        assert_eq!(sum.totals.faults["kill"], 4);
        assert_eq!(sum.failing_seeds, [2, 3]);
        assert!(!sum.all_passed());
        let table = Table {
            summary: &sum,
            wall: Duration::from_secs(2),
        }
        .to_string();
        assert!(table.contains("seeds per minute"), "{table}");
        assert!(table.contains("90.0"), "3 seeds in 2 s: {table}");
        assert!(table.contains("  kill"), "{table}");
        assert!(
            table.contains("10.0"),
            "20 virtual s over 2 wall s: {table}"
        );
    }
}
