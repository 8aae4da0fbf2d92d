//! The chaos suite as CI runs it: a fixed block of seeds on 3- and 5-member
//! clusters with every fault kind, each history checked (linearizability per
//! key, the store index, the watch guarantees) and the liveness phase required to
//! pass; plus one determinism check (a seed run twice gives the same history).
//!
//! A longer sweep is a command, not a test:
//! `scripts/chaos.sh --seeds 1000 --nodes 5 --ops 2000 --faults all`.
#![cfg(madsim)]

use etcd_sim::chaos::check::CheckOptions;
use etcd_sim::chaos::history::History;
use etcd_sim::chaos::run::{ChaosConfig, check_determinism, run_seed};
use etcd_sim::chaos::verdict::Verdict;
use etcd_sim::chaos::workload::WorkloadConfig;
use std::time::Instant;

fn config(seed: u64, nodes: usize, ops: usize) -> ChaosConfig {
    ChaosConfig {
        seed,
        nodes,
        workload: WorkloadConfig {
            ops,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The fixed block: (seed, members). Sized to stay well under CI's limit in a
/// debug build.
const BLOCK: [(u64, usize); 10] = [
    (1, 3),
    (2, 3),
    (3, 3),
    (4, 3),
    (5, 3),
    (6, 3),
    (7, 5),
    (8, 5),
    (9, 5),
    (10, 5),
];
const OPS: usize = 600;

#[test]
fn a_fixed_block_of_seeds_has_no_violation_and_stays_live() {
    let wall = Instant::now();
    let mut failures = Vec::new();
    let mut faults = 0;
    for (seed, nodes) in BLOCK {
        let cfg = config(seed, nodes, OPS);
        let result = run_seed(&cfg);
        let verdict = Verdict::of(&result, &CheckOptions::default());
        let s = &result.stats;
        eprintln!(
            "seed {seed} ({nodes} members): {} ops ({} ok, {} failed, {} unknown), {} watch events, faults {:?}, {:.1} virtual s, {:.1} wall s",
            s.ops(),
            s.ok,
            s.failed,
            s.unknown,
            s.watch_events,
            s.faults,
            s.virtual_time.as_secs_f64(),
            s.wall_time.as_secs_f64()
        );
        assert!(s.ops() >= OPS as u64, "every operation was recorded");
        faults += s.faults.values().sum::<u64>();
        if !verdict.passed() {
            failures.push(format!(
                "seed {seed}: replay with `{}`\n{verdict}",
                cfg.replay_command()
            ));
        }
        // The history file format keeps every detail of a real run.
        let mut file = Vec::new();
        result.history.write_jsonl(&mut file).unwrap();
        assert_eq!(History::read_jsonl(&file[..]).unwrap(), result.history);
    }
    eprintln!(
        "{} seeds in {:.1} wall s",
        BLOCK.len(),
        wall.elapsed().as_secs_f64()
    );
    assert!(faults >= BLOCK.len() as u64, "the nemesis injected faults");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_seed_replays_to_the_same_history() {
    let cfg = config(11, 3, 200);
    let result = check_determinism(&cfg).unwrap_or_else(|e| panic!("{e}"));
    assert!(!result.history.ops.is_empty());
    assert!(
        !result.history.faults.is_empty(),
        "faults were replayed too"
    );
}
