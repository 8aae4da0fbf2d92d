//! A v3 chaos test for YOUR code: copy this file and replace the ticket
//! service with your own. (The v2 twin is `examples/chaos_test.rs`.)
//!
//! The code under test is a tiny "ticket dispenser" on the v3 API: each call
//! reads a counter key and bumps it in a txn guarded by the key's mod
//! revision (compare-and-swap on the revision, or create-if-absent). Its
//! promise: no ticket is ever handed out twice. The test runs several
//! instances of it against a simulated 3-member etcd cluster (`SimCluster`)
//! while it kills the leader, partitions the members, stops one (SIGSTOP) and
//! adds latency, then checks the promise. Every choice comes from the seed, so
//! a failing seed replays exactly.
//!
//! Run (sim build only; seeds 1..=20 by default, or pass a count and a start):
//!
//! ```sh
//! RUSTFLAGS="--cfg madsim" cargo run --example chaos_test_v3 --target-dir target/sim -- 20 1
//! ```
//!
//! To see it catch a bug, make `next_ticket` return its ticket when the txn's
//! outcome is unknown (`Err(e) if e.is_outcome_unknown()`): some seed then
//! hands out a number twice.

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "chaos_test_v3 runs inside the madsim simulator; build it with\n  \
         RUSTFLAGS=\"--cfg madsim\" cargo run --example chaos_test_v3 --target-dir target/sim"
    );
}

#[cfg(madsim)]
fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let start: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    for seed in start..start + count {
        // Each seed on a fresh thread (as `#[madsim::test]` does), so every
        // seed replays on its own.
        let tickets = std::thread::spawn(move || {
            let rt =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.block_on(sim::one_seed())
        })
        .join()
        .unwrap_or_else(|_| panic!("seed {seed} failed; replay it with: chaos_test_v3 1 {seed}"));
        println!("seed {seed}: {tickets} tickets, none handed out twice");
    }
}

#[cfg(madsim)]
mod sim {
    use etcd_sdk::v3::{Client, Compare, CompareOp, Config, Error, GetOptions, KV, Op, PutOptions};
    use etcd_sim::cluster::{SimCluster, SimClusterConfig};
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    /// The code under test: hands out increasing ticket numbers from a
    /// counter key. (Your own service goes here.)
    pub struct TicketService {
        client: Client,
    }

    const COUNTER: &str = "app/ticket";

    impl TicketService {
        pub fn new(client: Client) -> Self {
            TicketService { client }
        }

        /// The next ticket, or an error when the cluster stays unavailable.
        pub async fn next_ticket(&self) -> Result<u64, Error> {
            let mut last = Error::Timeout;
            for _ in 0..50 {
                let read = match self.client.get(COUNTER, GetOptions::default()).await {
                    Ok(r) => r,
                    Err(e) => {
                        last = e;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (n, mod_revision) = match read.kvs.first() {
                    Some(kv) => (
                        String::from_utf8_lossy(&kv.value)
                            .parse::<u64>()
                            .unwrap_or(0),
                        kv.mod_revision,
                    ),
                    // The first ticket: the key must not exist yet (mod revision 0).
                    None => (0, 0),
                };
                let next = (n + 1).to_string();
                let txn = self
                    .client
                    .txn()
                    .when([Compare::mod_revision(
                        COUNTER,
                        CompareOp::Equal,
                        mod_revision,
                    )])
                    .and_then([Op::put(COUNTER, next, PutOptions::default())])
                    .commit()
                    .await;
                match txn {
                    Ok(r) if r.succeeded => return Ok(n + 1),
                    // Someone else took it, or we cannot know whether our txn
                    // was applied: either way this number is not ours. Try again.
                    Ok(_) => {}
                    Err(e) => last = e,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(last)
        }
    }

    /// One seed: 4 service instances take 15 tickets each while faults hit
    /// the cluster; returns how many tickets were handed out.
    pub async fn one_seed() -> usize {
        let cluster = Arc::new(
            SimCluster::start(SimClusterConfig::default())
                .await
                .expect("the cluster starts"),
        );

        // Each instance runs on a client node of its own, like a separate process.
        let instances: Vec<_> = (0..4)
            .map(|_| {
                let cluster = cluster.clone();
                let urls = cluster.client_urls();
                tokio::spawn(async move {
                    cluster
                        .run_on_client_node(move || async move {
                            let config = Config {
                                dial_timeout: Some(Duration::from_secs(1)),
                                request_timeout: Some(Duration::from_secs(5)),
                                ..Config::new(urls)
                            };
                            let mut mine = Vec::new();
                            let Ok(client) = Client::new(config).await else {
                                return mine;
                            };
                            let service = TicketService::new(client);
                            for _ in 0..15 {
                                if let Ok(t) = service.next_ticket().await {
                                    mine.push(t);
                                }
                            }
                            mine
                        })
                        .await
                })
            })
            .collect();

        // The faults, while the instances work.
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(old) = cluster.kill_leader() {
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.restart(old).expect("restart");
        }
        cluster
            .partition(&[vec![0], vec![1, 2]])
            .expect("partition");
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.heal();
        if let Some(paused) = cluster.pause_leader() {
            cluster.set_latency(Duration::from_millis(20)..Duration::from_millis(150));
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.resume(paused).expect("resume");
        }
        cluster.heal();

        // The assertion about OUR code: no ticket was handed out twice.
        let mut all = Vec::new();
        for i in instances {
            all.extend(i.await.expect("instance task"));
        }
        let distinct: BTreeSet<u64> = all.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            all.len(),
            "a ticket was handed out twice: {all:?}\nfaults: {:#?}",
            cluster.fault_log()
        );
        assert!(!all.is_empty(), "the service made progress");
        all.len()
    }
}
