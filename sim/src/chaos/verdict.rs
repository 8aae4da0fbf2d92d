//! A seed's verdict: the checkers' report on its history plus the liveness
//! problems of the run.

use super::check::{CheckOptions, CheckReport, check};
use super::run::RunResult;
use std::fmt;

/// How one seed went.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The checkers' findings (safety).
    pub report: CheckReport,
    /// The run's liveness problems (empty when live).
    pub liveness: Vec<String>,
}

impl Verdict {
    /// Checks `result`'s history and collects its liveness problems.
    pub fn of(result: &RunResult, opts: &CheckOptions) -> Verdict {
        Verdict {
            report: check(&result.history, opts),
            liveness: result.liveness.clone(),
        }
    }

    /// A safety violation was found.
    pub fn is_violation(&self) -> bool {
        !self.report.is_ok()
    }

    /// The cluster did not recover, or a liveness operation did not complete.
    pub fn is_liveness_failure(&self) -> bool {
        !self.liveness.is_empty()
    }

    /// Neither.
    pub fn passed(&self) -> bool {
        !self.is_violation() && !self.is_liveness_failure()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)?;
        for l in &self.liveness {
            writeln!(f, "liveness: {l}")?;
        }
        Ok(())
    }
}
