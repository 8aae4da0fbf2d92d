//! How long the chaos checkers take: synthetic, valid, concurrent histories (8
//! clients, 10 keys, 3% failed and 3% unknown outcomes, 4 watchers) of 10,000
//! and 50,000 operations, and 10,000 with 10% unknown, each checked once.
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
        "{:>8} {:>8} {:>10} {:>12} {:>14} {:>10} {:>12}  verdict",
        "ops", "unknown", "partitions", "watch events", "search steps", "check ms", "ops/s"
    );
    // The last row: many more unknown outcomes (the search's hard case).
    for (ops, unknown) in [(10_000, 0.03), (50_000, 0.03), (10_000, 0.10)] {
        let cfg = SyntheticConfig {
            seed,
            ops,
            unknown,
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
            "{:>8} {:>7.0}% {:>10} {:>12} {:>14} {:>10.1} {:>12.0}  {verdict}",
            report.ops,
            unknown * 100.0,
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
