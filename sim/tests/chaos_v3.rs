//! The v3 chaos harness as CI runs it: a few fixed seeds on a 3-member cluster
//! with every fault kind, the v3 workload (puts, ranges, deletes, txns, leases,
//! compaction) through `etcd_sdk::v3::Client`, each history checked (revisions
//! in real-time order, the rebuilt write sequence, every read and txn against
//! it, the lease guarantees) and the liveness phase required to pass; one seed
//! run twice for determinism; a planted bad history that must be caught; and
//! each planted server bug (`--unsafe`) caught within 20 seeds. The run's
//! watchers are judged by the v3 watch checker against the committed writes.
//!
//! A longer sweep is a command: `scripts/chaos.sh --api v3 --seeds 200 --nodes 3`.
#![cfg(madsim)]

use etcd_sim::chaos::run::ChaosConfig;
use etcd_sim::chaos::v3::check::check_v3;
use etcd_sim::chaos::v3::history::{V3History, V3Outcome, V3Response};
use etcd_sim::chaos::v3::run::{check_determinism_v3, try_run_seed_v3};
use etcd_sim::chaos::v3::watch_glue::check_v3_watch;
use etcd_sim::chaos::v3::writes::known_writes;
use etcd_sim::chaos::workload::WorkloadConfig;
use etcd_sim::member::UnsafeMode;
use std::time::Instant;

fn config(seed: u64) -> ChaosConfig {
    ChaosConfig {
        seed,
        nodes: 3,
        workload: WorkloadConfig {
            clients: 6,
            ops: OPS,
            ..Default::default()
        },
        ..Default::default()
    }
}

const SEEDS: [u64; 5] = [1, 2, 3, 5, 6];
const OPS: usize = 400;

#[test]
fn fixed_v3_seeds_have_no_violation_and_stay_live() {
    let wall = Instant::now();
    let mut failures = Vec::new();
    for seed in SEEDS {
        let cfg = config(seed);
        let r = match try_run_seed_v3(&cfg) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let mut report = check_v3(&r.history);
        report
            .violations
            .extend(check_v3_watch(&r.history, &r.watch));
        let s = &r.stats;
        eprintln!(
            "v3 seed {seed}: {} ops ({} ok, {} failed, {} unknown), faults {:?}, {} pinned, {} unexplained revisions, {:.1} virtual s, {:.1} wall s",
            s.ops(),
            s.ok,
            s.failed,
            s.unknown,
            s.faults,
            report.pinned,
            report.unexplained,
            s.virtual_time.as_secs_f64(),
            s.wall_time.as_secs_f64()
        );
        assert!(s.ops() >= OPS as u64, "every operation was recorded");
        assert!(s.ok > s.ops() / 2, "most operations got a definite answer");
        let writes = known_writes(&r.history);
        assert!(writes.len() > 20, "the run committed writes");
        assert!(
            r.watch.watchers.len() == cfg.workload.watchers && r.watch.event_count() > 20,
            "the watchers ran and saw events: {} watchers, {} events",
            r.watch.watchers.len(),
            r.watch.event_count()
        );
        if !report.is_ok() || !r.liveness.is_empty() {
            failures.push(format!(
                "seed {seed}: replay with `{}`\n{report}{:?}",
                r.history.info.replay, r.liveness
            ));
        }
        let mut file = Vec::new();
        r.history.write_jsonl(&mut file).unwrap();
        assert_eq!(V3History::read_jsonl(&file[..]).unwrap(), r.history);
    }
    eprintln!(
        "{} v3 seeds in {:.1} wall s",
        SEEDS.len(),
        wall.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_v3_seed_replays_identically() {
    let wall = Instant::now();
    let cfg = config(11);
    if let Err(e) = check_determinism_v3(&cfg) {
        panic!("{e}");
    }
    eprintln!(
        "determinism check in {:.1} wall s",
        wall.elapsed().as_secs_f64()
    );
}

#[test]
fn a_planted_stale_read_in_a_real_history_is_caught() {
    let cfg = config(4);
    let r = match try_run_seed_v3(&cfg) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    assert!(check_v3(&r.history).is_ok(), "the run itself is clean");
    // Plant a bug: a later linearizable read answers with the first value
    // ever acknowledged for a key that was overwritten since.
    let mut h = r.history.clone();
    let writes = known_writes(&h);
    let (first_rev, key, value) = writes
        .iter()
        .find_map(|(rev, events)| {
            events.iter().find_map(|e| match e {
                etcd_sim::chaos::v3::writes::V3WriteEvent::Put { key, value, .. } => {
                    Some((*rev, key.clone(), value.clone()))
                }
                _ => None,
            })
        })
        .expect("a put");
    let overwritten = writes.iter().any(|(rev, events)| {
        *rev > first_rev
            && events.iter().any(|e| {
                matches!(e, etcd_sim::chaos::v3::writes::V3WriteEvent::Put { key: k, .. } if *k == key)
            })
    });
    assert!(overwritten, "the key was written again");
    let last = h.ops.iter().map(|o| o.complete_ns).max().unwrap_or(0);
    let max_rev = *writes.keys().last().expect("writes");
    h.ops.push(etcd_sim::chaos::v3::history::V3Operation {
        id: h.ops.len() as u64,
        client: 0,
        invoke_ns: last + 1,
        complete_ns: last + 2,
        request: etcd_sim::chaos::v3::history::V3Request::Range {
            range: etcd_sim::chaos::v3::history::V3Range::key(key.clone()),
            serializable: false,
        },
        outcome: V3Outcome::Ok(V3Response::Range {
            revision: max_rev,
            kvs: vec![etcd_sim::chaos::v3::history::V3KeyValue {
                key,
                value,
                create_revision: first_rev,
                mod_revision: first_rev,
                version: 1,
                lease: 0,
            }],
            count: 1,
        }),
    });
    let report = check_v3(&h);
    assert!(!report.is_ok(), "the planted stale read is caught");
    eprintln!("{report}");
}

/// The first seed of 1..=20 whose run under `mode` the checkers reject, with
/// what they found (`None`: the mode went unnoticed for 20 seeds).
fn first_caught(mode: UnsafeMode) -> Option<(u64, String)> {
    for seed in 1..=20 {
        let cfg = ChaosConfig {
            unsafe_mode: Some(mode),
            ..config(seed)
        };
        let r = match try_run_seed_v3(&cfg) {
            Ok(r) => r,
            Err(e) => return Some((seed, format!("the run panicked: {e}"))),
        };
        let mut report = check_v3(&r.history);
        report
            .violations
            .extend(check_v3_watch(&r.history, &r.watch));
        if !report.is_ok() {
            return Some((seed, report.to_string()));
        }
    }
    None
}

/// The checkers are not vacuous: each planted server bug (`--unsafe`) is
/// caught within 20 seeds by the check that guards what it breaks.
#[test]
fn each_planted_server_bug_is_caught_within_20_seeds() {
    let wall = Instant::now();
    for (mode, kinds) in [
        (
            UnsafeMode::LocalLinearizableRanges,
            &["stale-index", "not-linearizable"][..],
        ),
        (UnsafeMode::WatchResumeSkip, &["watch-"][..]),
        (UnsafeMode::EarlyFollowerLeaseExpiry, &["lease"][..]),
    ] {
        let (seed, found) =
            first_caught(mode).unwrap_or_else(|| panic!("{mode} went unnoticed for 20 seeds"));
        eprintln!("{mode}: caught at seed {seed}\n{found}");
        assert!(
            kinds.iter().any(|k| found.contains(k)),
            "{mode} was caught by an unexpected check at seed {seed}: {found}"
        );
    }
    eprintln!("planted bugs in {:.1} wall s", wall.elapsed().as_secs_f64());
}
