//! How much simulated time, and how many client operations, one wall-clock second
//! buys: a 3-member (and a 5-member) simulated cluster under a steady write load.
//!
//! ```text
//! RUSTFLAGS="--cfg madsim" cargo run -p etcd-sim --release --example sim_throughput \
//!     --target-dir target/sim -- [simulated seconds, default 20] [writers, default 8]
//! ```
//!
//! Prints one progress line per run and a closing table.

#[cfg(madsim)]
fn main() {
    use etcd_sdk::keys::{KeysAPI, SetOptions, new_keys_api};
    use etcd_sim::cluster::{SimCluster, SimClusterConfig};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    let mut args = std::env::args().skip(1);
    let sim_secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let writers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let mut rows = Vec::new();
    for (run, nodes) in [3usize, 5].into_iter().enumerate() {
        let seed = 1 + run as u64;
        let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        let ops = Arc::new(AtomicU64::new(0));
        let counted = ops.clone();
        let wall = std::time::Instant::now();
        let simulated = rt.block_on(async move {
            let cfg = SimClusterConfig {
                nodes,
                ..Default::default()
            };
            let cluster = Arc::new(SimCluster::start(cfg).await.expect("cluster starts"));
            let start = tokio::time::Instant::now();
            let deadline = start + Duration::from_secs(sim_secs);
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let (cluster, ops) = (cluster.clone(), counted.clone());
                    tokio::spawn(async move {
                        cluster
                            .run_client(move |c| async move {
                                let kapi = new_keys_api(Arc::new(c));
                                let mut i = 0u64;
                                while tokio::time::Instant::now() < deadline {
                                    let key = format!("/bench/{w}/{}", i % 100);
                                    if kapi.set(&key, "value", SetOptions::default()).await.is_ok()
                                    {
                                        ops.fetch_add(1, Ordering::Relaxed);
                                    }
                                    i += 1;
                                }
                            })
                            .await
                    })
                })
                .collect();
            for t in tasks {
                let _ = t.await;
            }
            start.elapsed()
        });
        let wall = wall.elapsed();
        let ops = ops.load(Ordering::Relaxed);
        eprintln!(
            "run {}/2: {nodes} members, {writers} writers: {ops} writes in {:.1} simulated s, {:.2} wall s",
            run + 1,
            simulated.as_secs_f64(),
            wall.as_secs_f64()
        );
        rows.push((nodes, simulated, wall, ops));
    }
    println!();
    println!(
        "| members | writers | simulated s | wall s | simulated s / wall s | acknowledged writes | writes / wall s | writes / simulated s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (nodes, sim, wall, ops) in rows {
        let (s, w) = (sim.as_secs_f64(), wall.as_secs_f64());
        println!(
            "| {nodes} | {writers} | {s:.1} | {w:.2} | {:.2} | {ops} | {:.0} | {:.0} |",
            s / w,
            ops as f64 / w,
            ops as f64 / s
        );
    }
}

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "sim_throughput runs the simulator: build it with RUSTFLAGS=\"--cfg madsim\" --target-dir target/sim"
    );
    std::process::exit(2);
}
