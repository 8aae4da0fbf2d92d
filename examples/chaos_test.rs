//! A chaos test for YOUR code: copy this file and replace the ticket service with
//! your own.
//!
//! The code under test is a tiny "ticket dispenser": each call hands out the next
//! number of a counter kept in etcd, using a read and a compare-and-swap. Its
//! promise: no ticket is ever handed out twice. The test runs several instances
//! of it against a simulated 3-member etcd cluster (`SimCluster`) while it kills
//! the leader, partitions the members, stops one (SIGSTOP) and adds latency,
//! then checks the promise. Every choice (scheduling, network delays, which
//! member fails) comes from the seed, so a failing seed replays exactly.
//!
//! Run (sim build only; seeds 1..=20 by default, or pass a count and a start):
//!
//! ```sh
//! RUSTFLAGS="--cfg madsim" cargo run --example chaos_test --target-dir target/sim -- 20 1
//! ```
//!
//! To see it catch a bug, make `next_ticket` return its ticket when the CAS
//! outcome is unknown (`Err(e) if e.is_outcome_unknown()`): some seed then hands
//! out a number twice. The same structure works as a `#[madsim::test]` in your
//! test suite: put the body of `one_seed` in the test and let `MADSIM_TEST_SEED`
//! / `MADSIM_TEST_NUM` pick the seeds.

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "chaos_test runs inside the madsim simulator; build it with\n  \
         RUSTFLAGS=\"--cfg madsim\" cargo run --example chaos_test --target-dir target/sim"
    );
}

#[cfg(madsim)]
fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let start: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    for seed in start..start + count {
        // Each seed on a fresh thread (as `#[madsim::test]` does), so no
        // thread-local state of one seed leaks into the next and every seed
        // replays on its own.
        let tickets = std::thread::spawn(move || {
            let rt =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.block_on(sim::one_seed())
        })
        .join()
        .unwrap_or_else(|_| panic!("seed {seed} failed; replay it with: chaos_test 1 {seed}"));
        println!("seed {seed}: {tickets} tickets, none handed out twice");
    }
}

#[cfg(madsim)]
mod sim {
    use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
    use etcd_sdk::{Config, Error, HttpClient};
    use etcd_sim::cluster::{SimCluster, SimClusterConfig};
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    /// The code under test: hands out increasing ticket numbers from a counter
    /// key. (Your own service goes here.)
    pub struct TicketService {
        kapi: Arc<dyn KeysAPI>,
    }

    const COUNTER: &str = "/app/ticket";

    impl TicketService {
        pub fn new(client: HttpClient) -> Self {
            TicketService {
                kapi: Arc::new(new_keys_api(Arc::new(client))),
            }
        }

        /// The next ticket, or an error when the cluster stays unavailable.
        pub async fn next_ticket(&self) -> Result<u64, Error> {
            let quorum = GetOptions {
                quorum: true,
                ..Default::default()
            };
            for _ in 0..50 {
                let current = match self.kapi.get(COUNTER, quorum).await {
                    Ok(r) => r.node.and_then(|n| n.value),
                    Err(e) if e.is_key_not_found() => None,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let n: u64 = current.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
                let next = (n + 1).to_string();
                let written = match current {
                    // The first ticket: the key must not exist yet.
                    None => self.kapi.create(COUNTER, &next).await,
                    Some(prev) => {
                        let cas = SetOptions {
                            prev_value: Some(prev),
                            ..Default::default()
                        };
                        self.kapi.set(COUNTER, &next, cas).await
                    }
                };
                match written {
                    Ok(_) => return Ok(n + 1),
                    // Someone else took it, or we cannot know whether our write
                    // was applied: either way this number is not ours. Try again.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
            Err(Error::Timeout)
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
                let cfg = Config {
                    request_timeout: Some(Duration::from_secs(5)),
                    ..cluster.client_config()
                };
                tokio::spawn(async move {
                    cluster
                        .run_on_client_node(move || async move {
                            let service = TicketService::new(HttpClient::new(cfg).unwrap());
                            let mut mine = Vec::new();
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
            cluster.restart(old).unwrap();
        }
        cluster.partition(&[vec![0], vec![1, 2]]).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.heal();
        if let Some(paused) = cluster.pause_leader() {
            cluster.set_latency(Duration::from_millis(20)..Duration::from_millis(150));
            tokio::time::sleep(Duration::from_secs(2)).await;
            cluster.resume(paused).unwrap();
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
