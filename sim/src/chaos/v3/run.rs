//! One v3 chaos run (sim builds): a fresh madsim runtime seeded with the seed,
//! a [`SimCluster`], the v3 workload with the nemesis alongside, a final heal
//! and a liveness phase; the result is the run's [`V3History`] and numbers.
//!
//! Watchers ([`crate::chaos::v3_watch::watchers`], `workload.watchers` of them,
//! each on a client node of its own) run beside the clients until the liveness
//! phase ends; their log is [`V3RunResult::watch`], judged by
//! [`super::watch_glue::check_v3_watch`] against the history's committed writes.

use super::history::{V3History, V3Operation, V3Outcome};
use super::op_gen::KEY_PREFIX;
use super::workload::{V3ClientRun, V3Recorder};
use crate::chaos::history::RunInfo;
use crate::chaos::nemesis::Nemesis;
use crate::chaos::nemesis_plan::NemesisPlan;
use crate::chaos::recorder::Recorder;
use crate::chaos::run::ChaosConfig;
use crate::chaos::stats::RunStats;
use crate::chaos::stop_signal::StopSignal;
use crate::chaos::v3_watch::log::WatchLog;
use crate::chaos::v3_watch::watchers::{plan_watchers, run_watcher};
use crate::cluster::{SimCluster, SimClusterConfig};
use std::sync::{Arc, Mutex};

/// What a v3 run produced.
#[derive(Clone, Debug)]
pub struct V3RunResult {
    /// Everything that happened.
    pub history: V3History,
    /// Its numbers.
    pub stats: RunStats,
    /// Liveness problems (empty when live).
    pub liveness: Vec<String>,
    /// What the run's watchers received.
    pub watch: WatchLog,
}

/// A v3 run that panicked.
#[derive(Debug, thiserror::Error)]
#[error("seed {seed} (v3): the run panicked: {message}")]
pub struct V3RunPanicked {
    /// The seed.
    pub seed: u64,
    /// The panic's message.
    pub message: String,
    /// What was recorded until the panic.
    pub partial: Option<Box<V3History>>,
}

/// The command line that replays a v3 run of `cfg`.
pub fn replay_command(cfg: &ChaosConfig) -> String {
    format!("{} --api v3", cfg.replay_command())
}

/// The history header of a v3 run of `cfg`.
pub fn run_info(cfg: &ChaosConfig) -> RunInfo {
    RunInfo {
        replay: replay_command(cfg),
        ..cfg.run_info()
    }
}

type Slot = Arc<Mutex<Option<Arc<V3Recorder>>>>;

fn history_of(cfg: &ChaosConfig, recorder: &V3Recorder) -> V3History {
    V3History {
        info: run_info(cfg),
        ops: recorder.ops(),
        faults: recorder.base.history(RunInfo::default()).faults,
    }
}

/// Runs one v3 seed in a runtime of its own, on a thread of its own (a seed
/// must start with fresh thread-local state to replay).
///
/// # Errors
///
/// [`V3RunPanicked`] when the run panicked (e.g. past its time limit), with
/// what it recorded until then.
pub fn try_run_seed_v3(cfg: &ChaosConfig) -> Result<V3RunResult, V3RunPanicked> {
    crate::raft::logger::build_protobuf_tables();
    let slot: Slot = Arc::default();
    let (run_cfg, run_slot) = (cfg.clone(), slot.clone());
    let thread = std::thread::Builder::new()
        .name(format!("chaos-v3-seed-{}", cfg.seed))
        .spawn(move || {
            let wall = std::time::Instant::now();
            let mut rt = madsim::runtime::Runtime::with_seed_and_config(
                run_cfg.seed,
                madsim::Config::default(),
            );
            rt.set_time_limit(run_cfg.time_limit);
            let mut result = rt.block_on(run(run_cfg, run_slot));
            result.stats.wall_time = wall.elapsed();
            result
        });
    let joined = match thread {
        Ok(t) => t
            .join()
            .map_err(|p| crate::raft::panic_scope::panic_text(p.as_ref())),
        Err(e) => Err(format!("cannot start the run's thread: {e}")),
    };
    joined.map_err(|message| {
        let recorder = slot.lock().unwrap_or_else(|p| p.into_inner()).clone();
        V3RunPanicked {
            seed: cfg.seed,
            message,
            partial: recorder.map(|r| Box::new(history_of(cfg, &r))),
        }
    })
}

/// Runs `cfg` twice and returns the first result, or the first operation
/// where the two histories differ.
///
/// # Errors
///
/// The difference, or a panic of either run, as text.
pub fn check_determinism_v3(cfg: &ChaosConfig) -> Result<V3RunResult, String> {
    let a = try_run_seed_v3(cfg).map_err(|e| e.to_string())?;
    let b = try_run_seed_v3(cfg).map_err(|e| e.to_string())?;
    if a.history == b.history && a.watch == b.watch {
        return Ok(a);
    }
    let diff = a
        .history
        .ops
        .iter()
        .zip(&b.history.ops)
        .find(|(x, y)| x != y)
        .map(|(x, y)| format!("operation {}: {x:?} vs {y:?}", x.id))
        .unwrap_or_else(|| {
            format!(
                "{} vs {} operations, {} vs {} faults, watch logs {}",
                a.history.ops.len(),
                b.history.ops.len(),
                a.history.faults.len(),
                b.history.faults.len(),
                if a.watch == b.watch {
                    "equal"
                } else {
                    "differ"
                }
            )
        });
    Err(format!(
        "seed {} (v3) is not deterministic: {diff}",
        cfg.seed
    ))
}

async fn run(cfg: ChaosConfig, slot: Slot) -> V3RunResult {
    let cluster_cfg = SimClusterConfig {
        nodes: cfg.nodes,
        unsafe_mode: cfg.unsafe_mode,
        ..Default::default()
    };
    let cluster = match SimCluster::start(cluster_cfg).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            return V3RunResult {
                history: V3History {
                    info: run_info(&cfg),
                    ..Default::default()
                },
                stats: RunStats::default(),
                liveness: vec![format!("the cluster did not start: {e}")],
                watch: WatchLog::default(),
            };
        }
    };
    let start = tokio::time::Instant::now();
    let base = Arc::new(Recorder::new());
    let recorder = Arc::new(V3Recorder::new(base.clone()));
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.clone());
    let workload_done = Arc::new(StopSignal::new());
    let watchers_stop = Arc::new(StopSignal::new());
    let w = &cfg.workload;

    // The watchers watch the workload's keys (all under KEY_PREFIX) until the
    // liveness phase is over.
    let keys: Vec<String> = (0..w.keys.max(2))
        .map(|i| format!("{KEY_PREFIX}k{i}"))
        .collect();
    let watchers: Vec<_> = plan_watchers(cfg.seed, w.watchers, KEY_PREFIX, &keys)
        .into_iter()
        .map(|plan| {
            let (cluster, stop) = (cluster.clone(), watchers_stop.clone());
            tokio::spawn(async move { run_watcher(&cluster, plan, start, stop).await })
        })
        .collect();

    let clients: Vec<_> = (0..w.clients)
        .map(|i| {
            let client = V3ClientRun::new(cfg.seed, i, w);
            let (cluster, recorder, count) = (cluster.clone(), recorder.clone(), w.ops_of(i));
            tokio::spawn(async move { client.run(&cluster, recorder, count, None).await.0 })
        })
        .collect();

    let mut nemesis = Nemesis::new(&cluster, &base, cfg.nodes);
    let plan = NemesisPlan::new(cfg.seed, &cfg.faults, cfg.bounds.clone());
    let all_clients = async {
        let mut done = Vec::with_capacity(clients.len());
        for c in clients {
            match c.await {
                Ok(c) => done.push(c),
                Err(e) => tracing::error!(error = %e, "v3 chaos client task failed"),
            }
        }
        workload_done.set();
        done
    };
    let (clients, ()) = tokio::join!(all_clients, nemesis.run(plan, &workload_done));

    let mut liveness = nemesis.final_heal().await;
    base.fault("liveness", "liveness phase starts");
    let deadline = tokio::time::Instant::now() + w.liveness_deadline;
    let live: Vec<_> = clients
        .into_iter()
        .map(|c| {
            let (cluster, recorder, count) = (cluster.clone(), recorder.clone(), w.liveness_ops);
            tokio::spawn(async move { c.run(&cluster, recorder, count, Some(deadline)).await.1 })
        })
        .collect();
    for handle in live {
        match handle.await {
            Ok(ops) => liveness.extend(ops.iter().filter_map(not_live)),
            Err(e) => liveness.push(format!("a liveness client task failed: {e}")),
        }
    }
    watchers_stop.set();
    let mut watch = WatchLog::default();
    for handle in watchers {
        match handle.await {
            Ok(log) => watch.watchers.push(log),
            Err(e) => liveness.push(format!("a v3 watcher task failed: {e}")),
        }
    }

    let history = history_of(&cfg, &recorder);
    let mut stats = RunStats::default();
    for op in &history.ops {
        match op.outcome {
            V3Outcome::Ok(_) => stats.ok += 1,
            V3Outcome::Failed { .. } => stats.failed += 1,
            V3Outcome::Unknown { .. } => stats.unknown += 1,
        }
    }
    stats.faults = nemesis
        .counts()
        .iter()
        .map(|(k, n)| (k.name().to_string(), *n))
        .collect();
    stats.watch_events = watch.event_count() as u64;
    stats.virtual_time = start.elapsed();
    V3RunResult {
        history,
        stats,
        liveness,
        watch,
    }
}

/// A liveness-phase operation without a definite outcome.
fn not_live(op: &V3Operation) -> Option<String> {
    match &op.outcome {
        V3Outcome::Ok(_) => None,
        V3Outcome::Failed { error } | V3Outcome::Unknown { error } => Some(format!(
            "liveness: v3 client {} operation {} ({:?}) did not complete: {error}",
            op.client, op.id, op.request
        )),
    }
}
