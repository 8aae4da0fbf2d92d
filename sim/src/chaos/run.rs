//! One chaos run: a fresh madsim runtime seeded with the run's seed, a
//! [`SimCluster`], the workload and watchers with the nemesis alongside, a final
//! heal, and a liveness phase; the result is the run's [`History`] and its
//! numbers. [`check_determinism`] runs a seed twice and compares the histories.

use super::fault_kind::FaultSet;
use super::history::{FaultEntry, History, Operation, Outcome, RunInfo};
use super::nemesis::Nemesis;
use super::nemesis_plan::{NemesisBounds, NemesisPlan};
use super::recorder::Recorder;
use super::stats::RunStats;
use super::stop_signal::StopSignal;
use super::timeline::CRASH_FAULT_KIND;
use super::watchers::{run_watcher, watch_specs};
use super::workload::{ClientRun, WorkloadConfig};
use crate::cluster::{SimCluster, SimClusterConfig};
use crate::member::UnsafeMode;
use crate::raft::panic_scope::{current_member, panic_text};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};
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
    /// The panic's message, with the member and the virtual time when known.
    pub message: String,
    /// Where and when the run panicked, as its panic hook saw it.
    pub crash: Option<Box<Crash>>,
    /// What was recorded until the panic (for the history file and timeline),
    /// ending with the crash as a fault of kind [`CRASH_FAULT_KIND`].
    pub partial: Option<Box<History>>,
}

/// Where a run panicked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crash {
    /// The panic's message.
    pub message: String,
    /// The source location of the panic.
    pub location: Option<String>,
    /// The Raft id of the member whose task panicked (none: not a member's task).
    pub member_id: Option<u64>,
    /// That member's name in the cluster (`m<i>`), when it could be told.
    pub member: Option<String>,
    /// Virtual nanoseconds since the run's recorder started (the history's clock),
    /// when the runtime was running.
    pub at_ns: Option<u64>,
}

impl Crash {
    /// One line: who panicked, where, and the message.
    pub fn describe(&self) -> String {
        let who = match (&self.member, self.member_id) {
            (Some(name), Some(id)) => format!("member {name} (id {id:x})"),
            (None, Some(id)) => format!("member id {id:x}"),
            _ => "the run (not a member's task)".to_string(),
        };
        let at = self
            .location
            .as_deref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        format!("{who} panicked{at}: {}", self.message)
    }

    /// The crash as the last entry of a history's fault list.
    pub fn fault_entry(&self, fallback_ns: u64) -> FaultEntry {
        FaultEntry {
            at_ns: self.at_ns.unwrap_or(fallback_ns),
            kind: CRASH_FAULT_KIND.to_string(),
            what: self.describe(),
        }
    }
}

/// What a seed's thread shares with the panic hook and with [`try_run_seed`].
#[derive(Default)]
struct RunSlot {
    /// The run's recorder, once made: what was recorded survives a panic.
    recorder: Mutex<Option<Arc<Recorder>>>,
    /// The cluster token (to tell members' names from their ids).
    cluster_token: Mutex<Option<String>>,
    /// The first panic of the run.
    crash: Mutex<Option<Crash>>,
}

thread_local! {
    /// The slot of the seed running on this thread, if any.
    static SLOT: RefCell<Option<Arc<RunSlot>>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that records the first panic of a
/// seed's thread in its slot, with the member whose task panicked and the virtual
/// time, then hands over to the previous hook (which prints the message).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record_panic(info);
            previous(info);
        }));
    });
}

/// The hook's part: never panics, never blocks.
fn record_panic(info: &std::panic::PanicHookInfo<'_>) {
    let slot = SLOT
        .try_with(|s| s.try_borrow().ok().and_then(|s| s.clone()))
        .ok()
        .flatten();
    let Some(slot) = slot else { return };
    let Ok(mut crash) = slot.crash.try_lock() else {
        return;
    };
    if crash.is_some() {
        return;
    }
    // The recorder's clock reads the simulator's, which needs its context.
    let at_ns = if madsim::runtime::Handle::try_current().is_ok() {
        slot.recorder
            .try_lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.now_ns()))
    } else {
        None
    };
    *crash = Some(Crash {
        message: panic_text(info.payload()),
        location: info.location().map(|l| l.to_string()),
        member_id: current_member(),
        member: None,
        at_ns,
    });
}

/// The name of the member with Raft id `id`: an initial member's id follows from
/// its peer URL and the cluster token; a member added later is named in the
/// nemesis's `add m<i> (id <hex>)` record.
fn member_name_of(id: u64, token: Option<&str>, history: Option<&History>) -> Option<String> {
    if let Some(token) = token
        && let Some(i) =
            (0..64).find(|&i| crate::member::member_id(&crate::cluster::peer_url(i), token) == id)
    {
        return Some(crate::cluster::member_name(i));
    }
    let hex = format!("(id {id:x})");
    history?
        .faults
        .iter()
        .find(|f| f.what.starts_with("add ") && f.what.ends_with(&hex))
        .and_then(|f| f.what.split_whitespace().nth(1).map(str::to_string))
}

/// [`run_seed`], with a panic of the run returned as an error.
///
/// # Errors
///
/// [`RunPanicked`] when the run panicked or its thread could not be started.
pub fn try_run_seed(cfg: &ChaosConfig) -> Result<RunResult, RunPanicked> {
    // Outside the simulation, so that no seed builds them (see the function).
    crate::raft::logger::build_protobuf_tables();
    let seed = cfg.seed;
    let (slot, joined) = run_on_seed_thread(cfg.seed, cfg.time_limit, {
        let run_cfg = cfg.clone();
        move |slot| run(run_cfg, slot)
    })
    .map_err(|e| RunPanicked {
        seed,
        message: format!("cannot start the run's thread: {e}"),
        crash: None,
        partial: None,
    })?;
    joined.map_err(|message| crashed(cfg, &slot, message))
}

/// Runs `make(slot)` in a fresh madsim runtime seeded with `seed`, on a thread of
/// its own with the panic hook armed; returns the slot and the result, or the panic
/// message.
fn run_on_seed_thread<F, Fut>(
    seed: u64,
    time_limit: Duration,
    make: F,
) -> std::io::Result<(Arc<RunSlot>, Result<RunResult, String>)>
where
    F: FnOnce(Arc<RunSlot>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = RunResult> + 'static,
{
    install_panic_hook();
    let slot: Arc<RunSlot> = Arc::default();
    let run_slot = slot.clone();
    let thread = std::thread::Builder::new()
        .name(format!("chaos-seed-{seed}"))
        .spawn(move || {
            SLOT.with(|s| *s.borrow_mut() = Some(run_slot.clone()));
            let wall = std::time::Instant::now();
            let mut rt =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.set_time_limit(time_limit);
            let mut result = rt.block_on(make(run_slot));
            result.stats.wall_time = wall.elapsed();
            SLOT.with(|s| *s.borrow_mut() = None);
            result
        })?;
    let joined = thread.join().map_err(|panic| panic_text(panic.as_ref()));
    Ok((slot, joined))
}

/// The error of a run that panicked with `message`: the crash as the hook saw
/// it, and the history recorded until then with the crash as its last fault.
fn crashed(cfg: &ChaosConfig, slot: &RunSlot, message: String) -> RunPanicked {
    let recorder = slot
        .recorder
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut history = match &recorder {
        Some(r) => r.history(cfg.run_info()),
        None => History {
            info: cfg.run_info(),
            ..Default::default()
        },
    };
    let token = slot
        .cluster_token
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let crash = slot
        .crash
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .map(|mut c| {
            c.member = c
                .member_id
                .and_then(|id| member_name_of(id, token.as_deref(), Some(&history)));
            c
        });
    let fallback_ns = recorder.as_ref().map_or(0, |_| {
        let ops = history.ops.iter().map(|o| o.complete_ns.max(o.invoke_ns));
        let faults = history.faults.iter().map(|f| f.at_ns);
        ops.chain(faults).max().unwrap_or(0)
    });
    let crash = crash.unwrap_or(Crash {
        message: message.clone(),
        location: None,
        member_id: None,
        member: None,
        at_ns: None,
    });
    history.faults.push(crash.fault_entry(fallback_ns));
    let message = match crash.at_ns {
        Some(ns) => format!(
            "{} ({} s virtual time)",
            crash.describe(),
            super::describe::ms(ns / 1_000)
        ),
        None => crash.describe(),
    };
    RunPanicked {
        seed: cfg.seed,
        message,
        crash: Some(Box::new(crash)),
        partial: Some(Box::new(history)),
    }
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

/// The run itself, inside the runtime.
async fn run(cfg: ChaosConfig, slot: Arc<RunSlot>) -> RunResult {
    let info = cfg.run_info();
    let cluster_cfg = SimClusterConfig {
        nodes: cfg.nodes,
        unsafe_mode: cfg.unsafe_mode,
        ..Default::default()
    };
    *slot.cluster_token.lock().unwrap_or_else(|p| p.into_inner()) =
        Some(cluster_cfg.cluster_token.clone());
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
    *slot.recorder.lock().unwrap_or_else(|p| p.into_inner()) = Some(recorder.clone());
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
    fn a_member_task_panic_is_recorded_with_the_member_and_the_virtual_time() {
        let token = SimClusterConfig::default().cluster_token;
        let m2 = crate::member::member_id(&crate::cluster::peer_url(2), &token);
        let (slot, joined) = run_on_seed_thread(3, Duration::from_secs(60), move |slot| {
            let token = token.clone();
            async move {
                *slot.cluster_token.lock().unwrap() = Some(token);
                let recorder = Arc::new(Recorder::new());
                *slot.recorder.lock().unwrap() = Some(recorder.clone());
                recorder.fault("pause", "pause m1");
                let task = crate::raft::panic_scope::scoped(
                    m2,
                    async {
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                        panic!("invariant {} broken", 7);
                    },
                    Box::new(|_| {}),
                );
                let _ = tokio::spawn(task).await;
                RunResult {
                    history: History::default(),
                    stats: RunStats::default(),
                    liveness: vec!["the member task did not panic".into()],
                }
            }
        })
        .expect("the seed's thread starts");
        let message = joined.expect_err("the run panics");
        assert_eq!(message, "invariant 7 broken");
        let cfg = ChaosConfig {
            seed: 3,
            ..Default::default()
        };
        let err = crashed(&cfg, &slot, message);
        let crash = err.crash.clone().expect("the hook saw the panic");
        assert_eq!(crash.member_id, Some(m2));
        assert_eq!(crash.member.as_deref(), Some("m2"));
        assert_eq!(crash.message, "invariant 7 broken");
        assert!(crash.location.as_deref().unwrap().contains("run.rs"));
        let at = crash.at_ns.expect("virtual time");
        assert!(
            (1_500_000_000..1_501_000_000).contains(&at),
            "{at} ns of virtual time"
        );
        assert!(err.message.contains("member m2"), "{}", err.message);
        assert!(
            err.message.contains("1.500 s virtual time"),
            "{}",
            err.message
        );
        let history = err.partial.expect("the history until the crash");
        assert_eq!(history.faults.len(), 2);
        let last = history.faults.last().unwrap();
        assert_eq!(last.kind, CRASH_FAULT_KIND);
        assert_eq!(last.at_ns, at);
        assert!(last.what.contains("invariant 7 broken"), "{}", last.what);
    }

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
