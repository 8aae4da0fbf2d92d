//! One v3 watch run (sim builds): a [`SimCluster`], the [`super::writer`],
//! the [`super::watchers`] and the v2 harness's nemesis, then the checker.
//! Call [`run_watch`] inside a madsim runtime (a `#[madsim::test]`, or a
//! runtime of the seed's own).

use super::check::{CheckOptions, check};
use super::log::WatchLog;
use super::violation::WatchViolation;
use super::watchers::{plan_watchers, run_watcher};
use super::writer::{WriterConfig, WriterResult, run_writer};
use crate::chaos::fault_kind::{FaultKind, FaultSet};
use crate::chaos::nemesis::Nemesis;
use crate::chaos::nemesis_plan::{NemesisBounds, NemesisPlan};
use crate::chaos::recorder::Recorder;
use crate::chaos::stop_signal::StopSignal;
use crate::cluster::{SimCluster, SimClusterConfig};
use crate::member::UnsafeMode;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What one watch run does.
#[derive(Clone, Debug)]
pub struct WatchRunConfig {
    /// The seed (watcher plans, the writer's choices, the nemesis plan).
    pub seed: u64,
    /// Members.
    pub nodes: usize,
    /// Watchers.
    pub watchers: usize,
    /// Writes the writer attempts.
    pub writes: usize,
    /// The faults the nemesis injects (none: a calm run). Default: every kind
    /// but membership changes (the watchers' endpoints are fixed at start).
    pub faults: FaultSet,
    /// Whether the writer compacts once, halfway.
    pub compact: bool,
    /// A deliberately unsafe member behaviour (for testing the checker only).
    pub unsafe_mode: Option<UnsafeMode>,
    /// How long the watchers go on after the writer is done (virtual time),
    /// so that they catch up.
    pub settle: Duration,
}

impl Default for WatchRunConfig {
    fn default() -> Self {
        WatchRunConfig {
            seed: 1,
            nodes: 3,
            watchers: 5,
            writes: 150,
            faults: FaultSet::of(
                FaultKind::ALL
                    .into_iter()
                    .filter(|&k| k != FaultKind::Membership),
            ),
            compact: false,
            unsafe_mode: None,
            settle: Duration::from_secs(8),
        }
    }
}

/// What a watch run leaves.
#[derive(Clone, Debug)]
pub struct WatchRunResult {
    /// The watchers' log.
    pub log: WatchLog,
    /// The writer's known writes and compaction.
    pub writer: WriterResult,
    /// The faults injected, as the cluster's fault log lines.
    pub faults: Vec<String>,
    /// What the checker found.
    pub violations: Vec<WatchViolation>,
}

/// The watched keys and the prefix they share.
pub const PREFIX: &str = "w/";

/// Runs `cfg` to the end and checks it. Must run inside a madsim runtime.
///
/// # Panics
///
/// When the cluster does not start.
pub async fn run_watch(cfg: &WatchRunConfig) -> WatchRunResult {
    let cluster = Arc::new(
        SimCluster::start(SimClusterConfig {
            nodes: cfg.nodes,
            unsafe_mode: cfg.unsafe_mode,
            ..SimClusterConfig::default()
        })
        .await
        .expect("the cluster starts"),
    );
    let t0 = Instant::now();
    let keys: Vec<String> = (0..4).map(|i| format!("{PREFIX}k{i}")).collect();
    let stop_watchers = Arc::new(StopSignal::new());
    let stop_writer = Arc::new(StopSignal::new());
    let mut watchers = Vec::new();
    for plan in plan_watchers(cfg.seed, cfg.watchers, PREFIX, &keys) {
        let (c, stop) = (cluster.clone(), stop_watchers.clone());
        watchers.push(tokio::spawn(async move {
            run_watcher(&c, plan, t0, stop).await
        }));
    }
    let writer = {
        let (c, stop) = (cluster.clone(), stop_writer.clone());
        let wcfg = WriterConfig {
            seed: cfg.seed,
            ops: cfg.writes,
            keys: keys.clone(),
            outside: "x/outside".into(),
            compact: cfg.compact,
        };
        tokio::spawn(async move { run_writer(&c, wcfg, stop).await })
    };
    let nemesis_done = Arc::new(StopSignal::new());
    let recorder = Recorder::new();
    let mut nemesis = Nemesis::new(&cluster, &recorder, cfg.nodes);
    let plan = NemesisPlan::new(cfg.seed, &cfg.faults, NemesisBounds::default());
    let writer_done = async {
        let r = writer.await;
        nemesis_done.set();
        r
    };
    let (writer, ()) = tokio::join!(writer_done, nemesis.run(plan, &nemesis_done));
    let writer = writer.unwrap_or_default();
    stop_writer.set();
    // Everything healed: let the watchers catch up, then stop them.
    let unhealed = nemesis.final_heal().await;
    if !unhealed.is_empty() {
        tracing::warn!(?unhealed, "v3 watch run: the cluster did not fully recover");
    }
    tokio::time::sleep(cfg.settle).await;
    stop_watchers.set();
    let mut log = WatchLog::default();
    for w in watchers {
        if let Ok(w) = w.await {
            log.watchers.push(w);
        }
    }
    let opts = CheckOptions {
        compact_revision: writer.compact_revision,
        ..CheckOptions::default()
    };
    let violations = check(&log, &writer.known, &opts);
    WatchRunResult {
        log,
        writer,
        faults: cluster
            .fault_log()
            .iter()
            .map(ToString::to_string)
            .collect(),
        violations,
    }
}
