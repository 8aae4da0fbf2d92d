//! What stops a benchmark before it measures anything.

use etcd_sdk::v3;

/// A benchmark that could not run (errors of single requests are counted in
/// the report instead).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag or argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// The clients could not be built.
    #[error("dial error: {0}")]
    Dial(#[source] v3::Error),
    /// A step before the measurement failed (granting leases, creating
    /// watchers, finding the leader, ...).
    #[error("{what}: {source}")]
    Setup {
        /// The step.
        what: String,
        /// Why.
        #[source]
        source: v3::Error,
    },
    /// No endpoint reports itself as the leader (`--target-leader`).
    #[error("no leader found among the endpoints")]
    NoLeader,
}

impl BenchError {
    /// A failed setup step.
    pub fn setup(what: impl Into<String>, source: v3::Error) -> BenchError {
        BenchError::Setup {
            what: what.into(),
            source,
        }
    }
}
