//! The checker is not vacuous: members that serve quorum reads from their local
//! store (`UnsafeMode::LocalQuorumReads`, kept for this test only) give stale
//! reads under faults, and the chaos harness catches one within a few dozen seeds.
#![cfg(madsim)]

use etcd_sim::chaos::check::{CheckOptions, ViolationKind};
use etcd_sim::chaos::history::{History, Op, Outcome};
use etcd_sim::chaos::run::{ChaosConfig, run_seed};
use etcd_sim::chaos::verdict::Verdict;
use etcd_sim::chaos::workload::WorkloadConfig;
use etcd_sim::member::UnsafeMode;

/// Whether operation `id` is a quorum read that got an answer.
fn is_quorum_read(history: &History, id: u64) -> bool {
    history.ops.iter().any(|o| {
        o.id == id
            && matches!(o.op, Op::Get { quorum: true, .. })
            && matches!(o.outcome, Outcome::Ok(_))
    })
}

#[test]
fn local_quorum_reads_are_caught_as_stale_reads_within_40_seeds() {
    let mut found = None;
    for seed in 1..=40 {
        let cfg = ChaosConfig {
            seed,
            nodes: 3,
            workload: WorkloadConfig {
                ops: 300,
                ..Default::default()
            },
            unsafe_mode: Some(UnsafeMode::LocalQuorumReads),
            ..Default::default()
        };
        let result = run_seed(&cfg);
        let verdict = Verdict::of(&result, &CheckOptions::default());
        if verdict.is_violation() {
            found = Some((seed, result, verdict));
            break;
        }
    }
    let (seed, result, verdict) = found.expect("no violation in 40 seeds: the checker is vacuous");
    eprintln!("caught at seed {seed}:\n{verdict}");
    assert!(
        result
            .history
            .info
            .replay
            .contains("--unsafe local-quorum-reads"),
        "{}",
        result.history.info.replay
    );
    // The report names a stale read: a violation of linearizability or of the
    // store index whose witness is a quorum read.
    let stale = verdict.report.violations.iter().any(|v| {
        matches!(
            v.kind,
            ViolationKind::NotLinearizable | ViolationKind::StaleIndex
        ) && v.ops.iter().any(|&id| is_quorum_read(&result.history, id))
    });
    assert!(stale, "no stale quorum read named:\n{verdict}");
}
