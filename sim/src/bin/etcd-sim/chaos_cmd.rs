//! `etcd-sim chaos` (sim builds): runs seeds, checks each history, prints a
//! progress line on stderr and a closing table on stdout; a failing seed prints
//! its replay command and minimal violating sub-history and leaves its history
//! and HTML timeline in the output directory.

use crate::chaos_args::{ChaosArgs, Command, USAGE, parse};
use etcd_sim::chaos::artifacts::write_artifacts;
use etcd_sim::chaos::check::CheckOptions;
use etcd_sim::chaos::history::History;
use etcd_sim::chaos::run::{
    ChaosConfig, NotDeterministic, RunPanicked, RunResult, check_determinism, try_run_seed,
};
use etcd_sim::chaos::stats::{Summary, Table, per_minute};
use etcd_sim::chaos::v3::check::check_v3;
use etcd_sim::chaos::v3::history::V3History;
use etcd_sim::chaos::v3::run::{
    V3RunResult, check_determinism_v3, replay_command as replay_v3, try_run_seed_v3,
};
use etcd_sim::chaos::v3::watch_glue::check_v3_watch;
use etcd_sim::chaos::verdict::Verdict;
use etcd_sim::chaos::workload::WorkloadConfig;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Runs the chaos command line (`args[0]` is the program, `args[1]` `chaos`).
pub fn main(args: Vec<String>) -> ExitCode {
    let rest: Vec<String> = match args.get(1).map(String::as_str) {
        Some("chaos") => args[2..].to_vec(),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("etcd-sim: sim builds run `etcd-sim chaos ...`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `RUST_LOG=etcd_sim=debug scripts/chaos.sh --replay <seed> ...` shows what the
    // members did (virtual timestamps); quiet otherwise.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    match parse(&rest) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(a)) => {
            if run(&a) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("etcd-sim chaos: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn config(a: &ChaosArgs, seed: u64) -> ChaosConfig {
    ChaosConfig {
        seed,
        nodes: a.nodes,
        workload: WorkloadConfig {
            clients: a.clients,
            ops: a.ops,
            watchers: a.watchers,
            ..Default::default()
        },
        faults: a.faults.clone(),
        unsafe_mode: a.unsafe_mode,
        time_limit: a.time_limit,
        ..Default::default()
    }
}

/// One seed's run: the result, or why there is none (with what the run
/// recorded before it panicked, when it did).
fn run_one(a: &ChaosArgs, cfg: &ChaosConfig) -> Result<RunResult, (String, Option<Box<History>>)> {
    let panicked = |mut e: RunPanicked| {
        let partial = e.partial.take();
        (e.to_string(), partial)
    };
    if a.check_determinism {
        check_determinism(cfg).map_err(|e| match e {
            NotDeterministic::Panicked(p) => panicked(p),
            other => (other.to_string(), None),
        })
    } else {
        try_run_seed(cfg).map_err(panicked)
    }
}

/// Runs the seeds, prints what failed and the table; true when every seed passed
/// (no violation, no liveness failure, no crashed run).
fn run(a: &ChaosArgs) -> bool {
    let seeds = a.seed_list();
    let total = seeds.end - seeds.start;
    let started = Instant::now();
    let opts = CheckOptions::default();
    let mut summary = Summary::default();
    let mut summary_v3 = Summary::default();
    let mut undecided = 0u64;
    eprintln!(
        "etcd-sim chaos: {total} seed(s) from {}, api {:?}, {} members, {} clients, {} ops, faults {}{}",
        seeds.start,
        a.api,
        a.nodes,
        a.clients,
        a.ops,
        a.faults,
        a.unsafe_mode
            .map(|m| format!(", UNSAFE MODE {m}"))
            .unwrap_or_default()
    );
    for seed in seeds {
        let cfg = config(a, seed);
        if a.api.v3() {
            run_v3_seed(a, &cfg, &mut summary_v3);
        }
        if !a.api.v2() {
            progress(&summary_v3, total, started.elapsed());
            continue;
        }
        match run_one(a, &cfg) {
            Ok(result) => {
                let verdict = Verdict::of(&result, &opts);
                summary.add(
                    seed,
                    &result.stats,
                    verdict.is_violation(),
                    verdict.is_liveness_failure(),
                );
                undecided += u64::from(!verdict.report.is_conclusive());
                if !verdict.passed() || a.replay.is_some() {
                    clear_progress();
                    print_seed(a, &cfg, &result, &verdict);
                }
            }
            Err((why, partial)) => {
                summary.add_crash(seed);
                clear_progress();
                println!("seed {seed}: CRASHED: {why}");
                println!("  replay: {}", cfg.replay_command());
                if let Some(history) = partial {
                    let report = etcd_sim::chaos::check::check(&history, &opts);
                    match write_artifacts(&a.out, &history, &report) {
                        Ok(files) => println!(
                            "  history until the crash: {}\n  timeline: {}",
                            files.jsonl.display(),
                            files.html.display()
                        ),
                        Err(e) => println!("  could not write the history files: {e}"),
                    }
                }
            }
        }
        progress(&summary, total, started.elapsed());
    }
    clear_progress();
    if a.api.v2() {
        if a.api.v3() {
            println!("v2 API:");
        }
        println!(
            "{}",
            Table {
                summary: &summary,
                wall: started.elapsed(),
            }
        );
    }
    if a.api.v3() {
        println!("v3 API:");
        println!(
            "{}",
            Table {
                summary: &summary_v3,
                wall: started.elapsed(),
            }
        );
    }
    if undecided > 0 {
        println!(
            "note: {undecided} seed(s) had keys the linearizability search could not decide within its budget"
        );
    }
    summary.all_passed() && summary_v3.all_passed()
}

/// Runs one seed through the v3 workload and checker, adds it to `summary`,
/// and prints (and saves the history of) a failing or replayed seed.
fn run_v3_seed(a: &ChaosArgs, cfg: &ChaosConfig, summary: &mut Summary) {
    let result: Result<V3RunResult, (String, Option<Box<V3History>>)> = if a.check_determinism {
        check_determinism_v3(cfg).map_err(|e| (e, None))
    } else {
        try_run_seed_v3(cfg).map_err(|mut e| {
            let partial = e.partial.take();
            (e.to_string(), partial)
        })
    };
    match result {
        Ok(r) => {
            let mut report = check_v3(&r.history);
            report
                .violations
                .extend(check_v3_watch(&r.history, &r.watch));
            let violation = !report.is_ok();
            let liveness = !r.liveness.is_empty();
            summary.add(cfg.seed, &r.stats, violation, liveness);
            if violation || liveness || a.replay.is_some() {
                clear_progress();
                let what = match (violation, liveness) {
                    (true, true) => "VIOLATION and LIVENESS FAILURE",
                    (true, false) => "VIOLATION",
                    (false, true) => "LIVENESS FAILURE",
                    (false, false) => "ok",
                };
                let s = &r.stats;
                println!(
                    "seed {} (v3): {what} ({} ops: {} ok, {} failed, {} unknown; {} faults; {:.1} virtual s)",
                    cfg.seed,
                    s.ops(),
                    s.ok,
                    s.failed,
                    s.unknown,
                    s.faults.values().sum::<u64>(),
                    s.virtual_time.as_secs_f64()
                );
                println!("  replay: {}", replay_v3(cfg));
                save_v3(a, &r.history, "history");
                for line in report.to_string().lines() {
                    println!("  {line}");
                }
                for l in &r.liveness {
                    println!("  liveness: {l}");
                }
            }
        }
        Err((why, partial)) => {
            summary.add_crash(cfg.seed);
            clear_progress();
            println!("seed {} (v3): CRASHED: {why}", cfg.seed);
            println!("  replay: {}", replay_v3(cfg));
            if let Some(h) = partial {
                save_v3(a, &h, "history until the crash");
            }
        }
    }
}

/// Writes `history` to `<out>/seed-<n>-v3.jsonl` and says where.
fn save_v3(a: &ChaosArgs, history: &V3History, what: &str) {
    let path = a.out.join(format!("seed-{}-v3.jsonl", history.info.seed));
    let written = std::fs::create_dir_all(&a.out)
        .and_then(|()| std::fs::File::create(&path))
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            history.write_jsonl(&mut w)?;
            w.flush()
        });
    match written {
        Ok(()) => println!("  {what}: {}", path.display()),
        Err(e) => println!("  could not write {}: {e}", path.display()),
    }
}

fn print_seed(a: &ChaosArgs, cfg: &ChaosConfig, result: &RunResult, verdict: &Verdict) {
    let what = match (verdict.is_violation(), verdict.is_liveness_failure()) {
        (true, true) => "VIOLATION and LIVENESS FAILURE",
        (true, false) => "VIOLATION",
        (false, true) => "LIVENESS FAILURE",
        (false, false) => "ok",
    };
    let s = &result.stats;
    println!(
        "seed {}: {what} ({} ops: {} ok, {} failed, {} unknown; {} faults; {:.1} virtual s)",
        cfg.seed,
        s.ops(),
        s.ok,
        s.failed,
        s.unknown,
        s.faults.values().sum::<u64>(),
        s.virtual_time.as_secs_f64()
    );
    println!("  replay: {}", cfg.replay_command());
    match write_artifacts(&a.out, &result.history, &verdict.report) {
        Ok(files) => println!(
            "  history: {}\n  timeline: {}",
            files.jsonl.display(),
            files.html.display()
        ),
        Err(e) => println!("  could not write the history files: {e}"),
    }
    for line in verdict.to_string().lines() {
        println!("  {line}");
    }
}

fn progress(s: &Summary, total: u64, wall: Duration) {
    let rate = per_minute(s.seeds, wall);
    let left = total.saturating_sub(s.seeds);
    let eta = if rate > 0.0 {
        format_duration(Duration::from_secs_f64(left as f64 * 60.0 / rate))
    } else {
        "?".into()
    };
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\r[{}/{total}] violations {}  liveness {}  crashed {}  {rate:.1} seeds/min  {:.1} virtual s/wall s  ETA {eta}   ",
        s.seeds,
        s.violations,
        s.liveness_failures,
        s.crashes,
        virtual_per_wall(s, wall)
    );
    let _ = err.flush();
}

/// Virtual seconds simulated per wall second so far.
fn virtual_per_wall(s: &Summary, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        s.totals.virtual_time.as_secs_f64() / wall.as_secs_f64()
    }
}

fn clear_progress() {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r{:100}\r", "");
    let _ = err.flush();
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(7260)), "2h01m");
    }

    #[test]
    fn a_crashed_seed_fails_the_run_and_leaves_a_red_timeline() {
        // A run stuck past its time limit panics in the simulator: a crash.
        let out = std::env::temp_dir().join(format!("chaos-crash-{}", std::process::id()));
        let a = ChaosArgs {
            replay: Some(5),
            nodes: 3,
            clients: 2,
            ops: 50,
            watchers: 0,
            time_limit: Duration::from_secs(1),
            out: out.clone(),
            ..Default::default()
        };
        assert!(!run(&a), "a crashed seed must fail the run (exit status 1)");
        let page = std::fs::read_to_string(out.join("seed-5.html")).expect("its timeline");
        assert!(page.contains("RUN CRASHED"), "{page}");
        assert!(page.contains("time limit exceeded"));
        assert!(page.contains("id=\"crash\""));
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn the_config_follows_the_flags() {
        let a = ChaosArgs {
            nodes: 3,
            ops: 100,
            clients: 2,
            time_limit: Duration::from_secs(7),
            ..Default::default()
        };
        let c = config(&a, 9);
        assert_eq!(
            (c.seed, c.nodes, c.workload.ops, c.workload.clients),
            (9, 3, 100, 2)
        );
        assert_eq!(c.time_limit, Duration::from_secs(7));
    }
}
