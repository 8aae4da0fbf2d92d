//! Every fault a test injects, with the virtual time it happened at.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One injected fault (or heal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    /// Virtual time since the cluster started.
    pub at: Duration,
    /// What was done, e.g. `pause m1` or `partition [m0 m1] [m2]`.
    pub what: String,
}

impl fmt::Display for FaultRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10.3}s  {}", self.at.as_secs_f64(), self.what)
    }
}

/// The cluster's fault log; each entry is also logged (`tracing`, target
/// `etcd_sim::fault`).
#[derive(Debug)]
pub struct FaultLog {
    start: Instant,
    records: Mutex<Vec<FaultRecord>>,
}

impl FaultLog {
    /// An empty log whose clock starts now.
    pub fn new() -> Self {
        FaultLog {
            start: Instant::now(),
            records: Mutex::new(Vec::new()),
        }
    }

    /// Records `what` at the current virtual time.
    pub fn record(&self, what: impl Into<String>) {
        let rec = FaultRecord {
            at: self.start.elapsed(),
            what: what.into(),
        };
        tracing::info!(target: "etcd_sim::fault", at = ?rec.at, "{}", rec.what);
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rec);
    }

    /// Every record so far, in order.
    pub fn records(&self) -> Vec<FaultRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Virtual time since the cluster started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Default for FaultLog {
    fn default() -> Self {
        Self::new()
    }
}
