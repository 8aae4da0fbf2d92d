//! Failover in the simulator: pause (SIGSTOP) the leader of a 3-member simulated
//! cluster and measure the virtual time until a fresh SDK client (header timeout
//! 1 s, every endpoint) gets its first acknowledged write; one trial per seed.
//! The same measurement as `cargo run --release --example bench -- failover`
//! against real processes.
//!
//! ```text
//! RUSTFLAGS="--cfg madsim" cargo run -p etcd-sim --release --example failover_bench \
//!     --target-dir target/sim -- [seeds, default 50] [first seed, default 1]
//! ```
//!
//! Prints one line per seed, then p50/p90/p99/max, and writes the per-seed times
//! to `target/bench/failover_sim.json` and the table to `failover_sim.txt`.

#[cfg(madsim)]
fn main() {
    use etcd_sdk::keys::{KeysAPI, SetOptions, new_keys_api};
    use etcd_sim::cluster::{SimCluster, SimClusterConfig};
    use std::sync::Arc;
    use std::time::Duration;

    /// A trial that has not written by then counts as failed (virtual time).
    const TRIAL_LIMIT: Duration = Duration::from_secs(30);

    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let first: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let wall = std::time::Instant::now();
    let mut millis = Vec::new();
    let mut failed = Vec::new();
    for seed in first..first + seeds {
        let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        let outcome: Result<Duration, String> = rt.block_on(async move {
            let cluster = SimCluster::start(SimClusterConfig::default())
                .await
                .map_err(|e| e.to_string())?;
            cluster
                .run_client(|c| async move {
                    new_keys_api(Arc::new(c))
                        .set("/bench/failover", "before", SetOptions::default())
                        .await
                        .map(|_| ())
                })
                .await
                .map_err(|e| format!("write before the pause: {e}"))?;
            cluster.pause_leader().ok_or("no leader to pause")?;
            let stopped = tokio::time::Instant::now();
            cluster
                .run_client(move |c| async move {
                    let kapi = new_keys_api(Arc::new(c));
                    loop {
                        let left = TRIAL_LIMIT.saturating_sub(stopped.elapsed());
                        if left.is_zero() {
                            return Err(format!("no acknowledged write within {TRIAL_LIMIT:?}"));
                        }
                        let write = kapi.set("/bench/failover", "after", SetOptions::default());
                        if let Ok(Ok(_)) = tokio::time::timeout(left, write).await {
                            return Ok(stopped.elapsed());
                        }
                    }
                })
                .await
        });
        match outcome {
            Ok(d) => {
                eprintln!("[failover-sim] seed {seed}: {} ms", d.as_millis());
                millis.push(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            }
            Err(e) => {
                eprintln!("[failover-sim] seed {seed} failed: {e}");
                failed.push(seed);
            }
        }
    }
    let wall = wall.elapsed().as_secs_f64();
    let mut sorted = millis.clone();
    sorted.sort_unstable();
    let pct = |q: f64| -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    };
    let table = format!(
        "== Failover in the simulator: leader pause to first acknowledged SDK write, 3 members ==\n\
         {:<10}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}\n\
         {:<10}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6}  {:>6.1}\n  \
         virtual milliseconds; header timeout 1 s, a fresh client per seed; wall: seconds for all seeds\n",
        "server",
        "seeds",
        "failed",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "wall s",
        "sim",
        seeds,
        failed.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        sorted.last().copied().unwrap_or(0),
        wall,
    );
    println!("{table}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let json = serde_json::json!({
        "section": "failover_sim",
        "first_seed": first,
        "seeds": seeds,
        "failed_seeds": failed,
        "millis": millis,
        "wall_secs": wall,
    });
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("failover_sim.json"), json.to_string()))
        .and_then(|()| std::fs::write(dir.join("failover_sim.txt"), &table));
    if let Err(e) = written {
        eprintln!("failover_bench: writing {}: {e}", dir.display());
    }
}

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "failover_bench runs the simulator: build it with RUSTFLAGS=\"--cfg madsim\" --target-dir target/sim"
    );
    std::process::exit(2);
}
