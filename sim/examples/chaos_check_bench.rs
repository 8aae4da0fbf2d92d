//! How long the chaos checkers take: synthetic, valid, concurrent histories (8
//! clients, 10 keys, a few percent failed and unknown outcomes, 4 watchers) of
//! 10,000 and 50,000 operations, each checked once.
//!
//! ```text
//! cargo run -p etcd-sim --release --example chaos_check_bench -- [seed, default 1]
//! ```
//!
//! Prints one row per history: operations, partitions, search steps, check time
//! and operations checked per second.

use etcd_sim::chaos::check::{CheckOptions, check};
use etcd_sim::chaos::synthetic::{SyntheticConfig, generate};
use etcd_sim::chaos::{index_check, phantom_check, watch_check};
use std::time::Instant;

/// Milliseconds `f` takes.
fn timed(f: impl FnOnce() -> usize) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f());
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    println!(
        "{:>8} {:>10} {:>12} {:>14} {:>10} {:>12}  verdict",
        "ops", "partitions", "watch events", "search steps", "check ms", "ops/s"
    );
    for ops in [10_000, 50_000] {
        let cfg = SyntheticConfig {
            seed,
            ops,
            ..SyntheticConfig::default()
        };
        let history = generate(&cfg);
        let report = check(&history, &CheckOptions::default());
        let secs = report.duration.as_secs_f64();
        let verdict = match (report.is_ok(), report.is_conclusive()) {
            (true, true) => "ok",
            (true, false) => "undecided",
            (false, _) => "VIOLATIONS",
        };
        println!(
            "{:>8} {:>10} {:>12} {:>14} {:>10.1} {:>12.0}  {verdict}",
            report.ops,
            report.partitions,
            report.watch_events,
            report.search_steps,
            secs * 1e3,
            report.ops as f64 / secs.max(1e-9)
        );
        println!(
            "{:>8} of which: index {:.1} ms, local reads {:.1} ms, watches {:.1} ms",
            "",
            timed(|| index_check::check(&history).len()),
            timed(|| phantom_check::check(&history).len()),
            timed(|| watch_check::check(&history).len()),
        );
        if !report.is_ok() {
            println!("{report}");
        }
    }
}
