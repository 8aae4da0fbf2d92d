//! `etcd-sim benchmark`: etcd's `tools/benchmark` (3.4) over our v3 SDK,
//! for any v3 server (ours or etcd). Real builds only.
//!
//! - [`options`]: the global flags and the connection pool (`--conns` SDK
//!   clients shared round-robin by `--clients` workers).
//! - [`runner`]: `total` timed requests over the workers, at an optional rate.
//! - [`stats`], [`format`], [`report`]: etcd's summary, histogram and
//!   percentiles (`pkg/report`), as text or JSON.
//! - One module per subcommand: [`put`], [`range`], [`txn_put`],
//!   [`delete`] (ours), [`watch`], [`watch_latency`], [`lease`]
//!   (`lease-keepalive`), [`stm`].
//! - [`keys`]: etcd's key layout; [`progress`]: the line on stderr.

pub mod delete;
pub mod error;
pub mod format;
pub mod keys;
pub mod lease;
pub mod options;
pub mod progress;
pub mod put;
pub mod range;
pub mod report;
pub mod runner;
pub mod stats;
pub mod stm;
pub mod txn_put;
pub mod watch;
pub mod watch_latency;

pub use error::BenchError;
pub use options::{GlobalOptions, Pool};
pub use report::Report;
pub use stats::Stats;

/// A subcommand and its flags.
#[derive(Clone, Debug)]
pub enum Command {
    /// `put`.
    Put(put::PutOptions),
    /// `range <key> [end]`.
    Range(range::RangeOptions),
    /// `txn-put`.
    TxnPut(txn_put::TxnPutOptions),
    /// `delete` (not in etcd's tool).
    Delete(delete::DeleteOptions),
    /// `watch`.
    Watch(watch::WatchBenchOptions),
    /// `watch-latency`.
    WatchLatency(watch_latency::WatchLatencyOptions),
    /// `lease-keepalive`.
    LeaseKeepalive(lease::LeaseOptions),
    /// `stm`.
    Stm(stm::StmBenchOptions),
}

impl Command {
    /// The subcommand's name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Put(_) => "put",
            Command::Range(_) => "range",
            Command::TxnPut(_) => "txn-put",
            Command::Delete(_) => "delete",
            Command::Watch(_) => "watch",
            Command::WatchLatency(_) => "watch-latency",
            Command::LeaseKeepalive(_) => "lease-keepalive",
            Command::Stm(_) => "stm",
        }
    }

    /// Runs it over `pool`.
    pub async fn run(&self, pool: &Pool) -> Result<Vec<Report>, BenchError> {
        match self {
            Command::Put(o) => put::run(pool, o).await,
            Command::Range(o) => range::run(pool, o).await,
            Command::TxnPut(o) => txn_put::run(pool, o).await,
            Command::Delete(o) => delete::run(pool, o).await,
            Command::Watch(o) => watch::run(pool, o).await,
            Command::WatchLatency(o) => watch_latency::run(pool, o).await,
            Command::LeaseKeepalive(o) => lease::run(pool, o).await,
            Command::Stm(o) => stm::run(pool, o).await,
        }
    }
}

/// Connects with `global`, runs `cmd` and closes the connections.
pub async fn run(global: &GlobalOptions, cmd: &Command) -> Result<Vec<Report>, BenchError> {
    let pool = global.connect().await?;
    let out = cmd.run(&pool).await;
    pool.close();
    out
}

/// The reports as the command prints them: etcd's text, or JSON.
pub fn render(global: &GlobalOptions, cmd: &Command, reports: &[Report]) -> String {
    if global.json {
        return report::to_json(cmd.name(), reports) + "\n";
    }
    reports
        .iter()
        .map(|r| r.render(global.precision()))
        .collect::<Vec<_>>()
        .join("\n")
}
