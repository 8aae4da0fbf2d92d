//! etcd's initial election tick advance, measured over a fixed block of seeds (so
//! the comparison is deterministic): booting members fast-forward their election
//! clocks, so the first leader comes sooner than after a whole randomized election
//! timeout. A lone member always advances (as etcd's does); bigger clusters do
//! once their peers are connected, unless `initial_election_tick_advance` is off.
//!
//! Plain tests that build one madsim runtime per seed, each on a thread of its own
//! (rand's thread-local state must not carry over between seeds).
#![cfg(madsim)]

use etcd_test_support::sim::member::Cluster;
use std::time::Duration;
use tokio::time::Instant;

const SEEDS: std::ops::Range<u64> = 1..13;

/// Mean virtual time from boot until `n` members are ready and agree on a leader.
fn mean_boot_time(n: u8, advance: bool) -> Duration {
    let total: Duration = SEEDS
        .map(|seed| {
            std::thread::spawn(move || {
                let rt =
                    madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
                rt.block_on(async move {
                    let start = Instant::now();
                    let c = Cluster::start_with(n, |cfg| {
                        cfg.initial_election_tick_advance = advance;
                    })
                    .await;
                    c.wait_leader(Duration::from_secs(10)).await;
                    start.elapsed()
                })
            })
            .join()
            .expect("seed thread")
        })
        .sum();
    total / SEEDS.count() as u32
}

#[test]
fn booting_members_elect_sooner_with_the_tick_advance() {
    let with = mean_boot_time(3, true);
    let without = mean_boot_time(3, false);
    // Without it the first election waits a randomized 10–20 ticks (1–2 s); with
    // it, 2–12 ticks after the peers connect.
    assert!(
        with + Duration::from_millis(300) < without,
        "mean boot with the advance {with:?}, without {without:?}"
    );
}

#[test]
fn a_lone_member_boots_well_within_an_election_timeout_on_average() {
    // One member always advances election-1 ticks: it campaigns 1–11 ticks later,
    // against 10–20 without.
    let lone = mean_boot_time(1, true);
    assert!(
        lone < Duration::from_millis(1000),
        "a lone member's mean boot {lone:?}"
    );
}
