//! One chaos run: a fresh madsim runtime seeded with the run's seed, a
//! [`SimCluster`], the workload and watchers with the nemesis alongside, a final
//! heal, and a liveness phase; the result is the run's [`History`] and its
//! numbers. [`check_determinism`] runs a seed twice and compares the histories.

use super::fault_kind::FaultSet;
use super::history::{History, Operation, Outcome, RunInfo};
use super::nemesis::Nemesis;
use super::nemesis_plan::{NemesisBounds, NemesisPlan};
use super::recorder::Recorder;
use super::stats::RunStats;
use super::stop_signal::StopSignal;
use super::watchers::{run_watcher, watch_specs};
use super::workload::{ClientRun, WorkloadConfig};
use crate::cluster::{SimCluster, SimClusterConfig};
use crate::member::UnsafeMode;
use std::sync::Arc;
use std::time::Duration;

/// Everything that decides a run (with the seed, enough to replay it).
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosConfig {
    /// The madsim seed; every choice of the run derives from it.
    pub seed: u64,
    /// Members.
    pub nodes: usize,
    /// The workload (clients, operations, keys, watchers, timeouts).
    pub workload: WorkloadConfig,
    /// The fault kinds the nemesis may use.
    pub faults: FaultSet,
    /// How long faults last and how far apart they are.
    pub bounds: NemesisBounds,
    /// A deliberately unsafe member behaviour, for testing the checker only.
    pub unsafe_mode: Option<UnsafeMode>,
    /// Virtual time after which the run is declared stuck (the runtime panics).
    pub time_limit: Duration,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        ChaosConfig {
            seed: 1,
            nodes: 5,
            workload: WorkloadConfig::default(),
            faults: FaultSet::all(),
            bounds: NemesisBounds::default(),
            unsafe_mode: None,
            time_limit: Duration::from_secs(3600),
        }
    }
}

impl ChaosConfig {
    /// The command line that replays this run.
    pub fn replay_command(&self) -> String {
        let mut cmd = format!(
            "scripts/chaos.sh --replay {} --nodes {} --clients {} --ops {} --faults {}",
            self.seed, self.nodes, self.workload.clients, self.workload.ops, self.faults
        );
        if self.workload.watchers != WorkloadConfig::default().watchers {
            cmd.push_str(&format!(" --watchers {}", self.workload.watchers));
        }
        if let Some(m) = self.unsafe_mode {
            cmd.push_str(&format!(" --unsafe {m}"));
        }
        cmd
    }

    /// The history header of this run.
    pub fn run_info(&self) -> RunInfo {
        RunInfo {
            seed: self.seed,
            nodes: self.nodes,
            clients: self.workload.clients,
            faults: self.faults.to_string(),
            unsafe_mode: self.unsafe_mode.map(|m| m.to_string()),
            replay: self.replay_command(),
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// Everything that happened.
    pub history: History,
    /// Its numbers.
    pub stats: RunStats,
    /// Liveness problems: the cluster did not recover after the final heal, or
    /// an operation of the liveness phase did not complete with a definite
    /// outcome in time. Empty when the run was live.
    pub liveness: Vec<String>,
}

/// Runs one seed in a runtime of its own, on a thread of its own (as
/// `#[madsim::test]` does: thread-local state such as rand's thread RNG must start
/// fresh for a seed to replay), and returns what happened.
///
/// # Panics
///
/// If the run panics (e.g. it exceeds [`ChaosConfig::time_limit`]); see
/// [`try_run_seed`].
pub fn run_seed(cfg: &ChaosConfig) -> RunResult {
    match try_run_seed(cfg) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// A run that panicked.
#[derive(Debug, thiserror::Error)]
#[error("seed {seed}: the run panicked: {message}")]
pub struct RunPanicked {
    /// The seed.
    pub seed: u64,
    /// The panic's message.
    pub message: String,
    /// What was recorded until the panic (for the history file and timeline).
    pub partial: Option<Box<History>>,
}

/// [`run_seed`], with a panic of the run returned as an error.
///
/// # Errors
///
/// [`RunPanicked`] when the run panicked or its thread could not be started.
pub fn try_run_seed(cfg: &ChaosConfig) -> Result<RunResult, RunPanicked> {
    // Outside the simulation, so that no seed builds them (see the function).
    crate::raft::logger::build_protobuf_tables();
    let run_cfg = cfg.clone();
    let seed = cfg.seed;
    let slot: RecorderSlot = Arc::default();
    let run_slot = slot.clone();
    let thread = std::thread::Builder::new()
        .name(format!("chaos-seed-{seed}"))
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
        })
        .map_err(|e| RunPanicked {
            seed,
            message: format!("cannot start the run's thread: {e}"),
            partial: None,
        })?;
    thread.join().map_err(|panic| RunPanicked {
        seed,
        message: panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(no message)".into()),
        partial: slot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|r| Box::new(r.history(cfg.run_info()))),
    })
}

/// Why a determinism check failed.
#[derive(Debug, thiserror::Error)]
pub enum NotDeterministic {
    /// The two runs gave different histories.
    #[error("seed {seed} is not deterministic: {difference}")]
    Differs {
        /// The seed.
        seed: u64,
        /// The first difference between the two histories.
        difference: String,
    },
    /// A run panicked.
    #[error(transparent)]
    Panicked(#[from] RunPanicked),
}

/// Runs `cfg` twice and compares the two histories (every operation, outcome,
/// virtual time, watch event and fault).
///
/// # Errors
///
/// [`NotDeterministic`] with the first difference found, or the panic of a run.
pub fn check_determinism(cfg: &ChaosConfig) -> Result<RunResult, NotDeterministic> {
    let first = try_run_seed(cfg)?;
    let second = try_run_seed(cfg)?;
    match first_difference(&first.history, &second.history) {
        None => Ok(first),
        Some(difference) => Err(NotDeterministic::Differs {
            seed: cfg.seed,
            difference,
        }),
    }
}

fn first_difference(a: &History, b: &History) -> Option<String> {
    if a == b {
        return None;
    }
    if let Some((x, y)) = a.ops.iter().zip(&b.ops).find(|(x, y)| x != y) {
        return Some(format!("operation {}: {x:?} vs {y:?}", x.id));
    }
    if a.ops.len() != b.ops.len() {
        return Some(format!("{} vs {} operations", a.ops.len(), b.ops.len()));
    }
    if let Some((x, y)) = a.faults.iter().zip(&b.faults).find(|(x, y)| x != y) {
        return Some(format!("fault {x:?} vs {y:?}"));
    }
    if a.faults.len() != b.faults.len() {
        return Some(format!("{} vs {} faults", a.faults.len(), b.faults.len()));
    }
    if let Some((x, y)) = a.watches.iter().zip(&b.watches).find(|(x, y)| x != y) {
        return Some(format!(
            "watch {}: {} vs {} events, ended {:?} vs {:?}",
            x.id,
            x.events.len(),
            y.events.len(),
            x.end,
            y.end
        ));
    }
    Some("the watch lists or run headers differ".into())
}

/// Where a run leaves its recorder, so that a run that panics still yields
/// what it recorded.
type RecorderSlot = Arc<std::sync::Mutex<Option<Arc<Recorder>>>>;

/// The run itself, inside the runtime.
async fn run(cfg: ChaosConfig, slot: RecorderSlot) -> RunResult {
    let info = cfg.run_info();
    let cluster_cfg = SimClusterConfig {
        nodes: cfg.nodes,
        unsafe_mode: cfg.unsafe_mode,
        ..Default::default()
    };
    let cluster = match SimCluster::start(cluster_cfg).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            return RunResult {
                history: History {
                    info,
                    ..Default::default()
                },
                stats: RunStats::default(),
                liveness: vec![format!("the cluster did not start: {e}")],
            };
        }
    };
    let start = tokio::time::Instant::now();
    let recorder = Arc::new(Recorder::new());
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.clone());
    let workload_done = Arc::new(StopSignal::new());
    let watchers_stop = Arc::new(StopSignal::new());
    let w = &cfg.workload;

    let watchers: Vec<_> = watch_specs(cfg.seed, w)
        .into_iter()
        .map(|spec| {
            let (cluster, w, recorder, stop) = (
                cluster.clone(),
                w.clone(),
                recorder.clone(),
                watchers_stop.clone(),
            );
            tokio::spawn(async move { run_watcher(&cluster, &w, spec, recorder, stop).await })
        })
        .collect();

    let clients: Vec<_> = (0..w.clients)
        .map(|i| {
            let client = ClientRun::new(cfg.seed, i, w, &cluster);
            let (cluster, recorder, count) = (cluster.clone(), recorder.clone(), w.ops_of(i));
            tokio::spawn(async move { client.run(&cluster, recorder, count, None).await.0 })
        })
        .collect();

    let mut nemesis = Nemesis::new(&cluster, &recorder, cfg.nodes);
    let plan = NemesisPlan::new(cfg.seed, &cfg.faults, cfg.bounds.clone());
    let all_clients = async {
        let mut done = Vec::with_capacity(clients.len());
        for c in clients {
            match c.await {
                Ok(c) => done.push(c),
                Err(e) => tracing::error!(error = %e, "chaos client task failed"),
            }
        }
        workload_done.set();
        done
    };
    let (clients, ()) = tokio::join!(all_clients, nemesis.run(plan, &workload_done));

    // Liveness: heal everything, then every client must complete a few more
    // operations with a definite outcome before the deadline.
    let mut liveness = nemesis.final_heal().await;
    recorder.fault("liveness", "liveness phase starts");
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
    for handle in watchers {
        if let Err(e) = handle.await {
            tracing::error!(error = %e, "chaos watcher task failed");
        }
    }

    let history = recorder.history(info);
    let mut stats = RunStats::of_history(&history);
    stats.faults = nemesis
        .counts()
        .iter()
        .map(|(k, n)| (k.name().to_string(), *n))
        .collect();
    stats.virtual_time = start.elapsed();
    RunResult {
        history,
        stats,
        liveness,
    }
}

/// A liveness-phase operation that did not complete with a definite outcome.
fn not_live(op: &Operation) -> Option<String> {
    match &op.outcome {
        Outcome::Ok(_) => None,
        Outcome::Failed { error } | Outcome::Unknown { error } => Some(format!(
            "liveness: client {} operation {} ({:?}) did not complete: {error}",
            op.client, op.id, op.op
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_command_names_every_setting() {
        let cfg = ChaosConfig {
            seed: 42,
            nodes: 3,
            unsafe_mode: Some(UnsafeMode::LocalQuorumReads),
            faults: "kill,partition".parse().unwrap(),
            ..Default::default()
        };
        assert_eq!(
            cfg.replay_command(),
            "scripts/chaos.sh --replay 42 --nodes 3 --clients 8 --ops 2000 --faults kill,partition --unsafe local-quorum-reads"
        );
        let info = cfg.run_info();
        assert_eq!(info.unsafe_mode.as_deref(), Some("local-quorum-reads"));
        assert_eq!(info.faults, "kill,partition");
    }
}
