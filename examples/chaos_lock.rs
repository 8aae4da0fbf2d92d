//! A chaos test of code that uses a distributed lock: copy it and put your
//! own critical section in `increment`.
//!
//! The code under test: N clients each add 1 to a counter key, several
//! times, under a `concurrency::Mutex` (lock, read the counter, sleep, write
//! it back, unlock). Its promise: no increment is lost, because no two
//! critical sections overlap. The test runs it against a simulated 3-member
//! cluster (`SimCluster`) while members are stopped (SIGSTOP), killed and
//! restarted, and partitioned, then checks the promise from what etcd
//! recorded:
//! - each increment's write also creates a log key
//!   `chaos/log/<client>/<n>` holding the revision its critical section
//!   started at (the lock's) and the value it wrote; its mod revision is
//!   when the section ended;
//! - sorted by end, no section may start before the previous one ended
//!   (no overlap), the values written must be 1, 2, 3, … (nothing lost),
//!   and the counter must equal the number of increments applied;
//! - every increment a client saw acknowledged is applied; none is applied
//!   twice (the write is guarded by its log key not existing, so a retry
//!   after an unknown outcome cannot apply it again).
//!
//! Why the write compares [`Mutex::is_owner`] (fencing): a client can
//! believe it holds the lock after its session expired (a pause, a
//! partition) while another client already got it. Two critical sections
//! can overlap in real time; what must never happen is that both write.
//! The check is in revisions, the order etcd applied things in, not in
//! wall-clock time.
//!
//! Run (sim build only; seeds 1..=5 by default, or pass a count and a
//! start), and see the check catch a planted bug (clients skip the lock):
//!
//! ```sh
//! RUSTFLAGS="--cfg madsim" cargo run --example chaos_lock --target-dir target/sim -- 5 1
//! CHAOS_LOCK_SKIP_LOCK=1 RUSTFLAGS="--cfg madsim" cargo run --example chaos_lock --target-dir target/sim -- 5 1
//! ```
//!
//! `sim/tests/chaos_lock.rs` runs this file as a test both ways: the correct
//! clients pass a few seeds, the planted bug is caught within 20.
//!
//! [`Mutex::is_owner`]: etcd_sdk::v3::concurrency::Mutex::is_owner

#[cfg(not(madsim))]
fn main() {
    eprintln!(
        "chaos_lock runs inside the madsim simulator; build it with\n  \
         RUSTFLAGS=\"--cfg madsim\" cargo run --example chaos_lock --target-dir target/sim"
    );
}

#[cfg(madsim)]
fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let start: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let skip_lock = std::env::var_os(sim::SKIP_LOCK_ENV).is_some();
    let mut failed = 0;
    for seed in start..start + count {
        match sim::run_seed(seed, skip_lock) {
            Ok(report) => println!("seed {seed}: {report}"),
            Err(violation) => {
                failed += 1;
                println!("seed {seed}: VIOLATION\n{violation}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {count} seeds broke the promise");
        std::process::exit(1);
    }
}

#[cfg(madsim)]
/// The simulated run: the cluster, its faults, the clients and the check.
pub mod sim {
    use etcd_sdk::v3::concurrency::{Context, Mutex, Session, SessionOptions};
    use etcd_sdk::v3::{Client, Compare, CompareOp, Config, GetOptions, KV, Op, OpResponse};
    use etcd_sdk::v3::{PutOptions, ResponseHeader};
    use etcd_sim::cluster::{SimCluster, SimClusterConfig};
    use std::sync::Arc;
    use std::time::Duration;

    /// Set (to anything) to plant the bug: clients skip the lock.
    pub const SKIP_LOCK_ENV: &str = "CHAOS_LOCK_SKIP_LOCK";

    const CLIENTS: usize = 4;
    const INCREMENTS: usize = 10;
    /// The pause between a client's increments (so the work spans the faults).
    const THINK: Duration = Duration::from_millis(600);
    /// Tries of one increment before the client gives up on it.
    const TRIES: usize = 40;
    const COUNTER: &str = "chaos/counter";
    const LOCK: &str = "chaos/lock";
    const LOG: &str = "chaos/log/";

    /// What one seed did, when the promise held.
    #[derive(Debug)]
    pub struct Report {
        /// Increments applied (the counter's final value).
        pub applied: usize,
        /// Increments the clients saw acknowledged.
        pub acknowledged: usize,
        /// Increments given up after an unknown outcome (applied or not).
        pub unknown: usize,
        /// Writes refused by the fence (the lock was lost meanwhile).
        pub fenced: usize,
        /// The faults injected.
        pub faults: usize,
        /// How long (virtual time) the clients ran, from the cluster's start.
        pub ran: Duration,
    }

    impl std::fmt::Display for Report {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "{} increments applied ({} acknowledged, {} unknown), {} fenced writes, {} faults over the clients' {:.1?}: no overlap, nothing lost",
                self.applied, self.acknowledged, self.unknown, self.fenced, self.faults, self.ran
            )
        }
    }

    /// Runs one seed on a fresh thread (each seed on its own, so no
    /// thread-local state leaks between seeds and every seed replays).
    pub fn run_seed(seed: u64, skip_lock: bool) -> Result<Report, String> {
        std::thread::spawn(move || {
            let rt =
                madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
            rt.block_on(one_seed(skip_lock))
        })
        .join()
        .unwrap_or_else(|_| Err(format!("seed {seed} panicked")))
    }

    /// What one client saw.
    #[derive(Default)]
    struct Seen {
        /// (client, n) of each increment acknowledged.
        acked: Vec<(usize, usize)>,
        unknown: Vec<(usize, usize)>,
        fenced: usize,
    }

    enum Outcome {
        Applied,
        /// The fence refused it: the lock was lost; try again.
        Fenced,
        /// Something failed before the write; try again.
        Retry,
        /// The write failed after it may have reached the cluster.
        Unknown,
    }

    async fn client(urls: Vec<String>) -> Client {
        loop {
            let cfg = Config {
                dial_timeout: Some(Duration::from_secs(1)),
                request_timeout: Some(Duration::from_secs(2)),
                keep_alive_time: Some(Duration::from_millis(500)),
                keep_alive_timeout: Some(Duration::from_millis(1000)),
                ..Config::new(urls.clone())
            };
            match Client::new(cfg).await {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    fn rev(h: &Option<ResponseHeader>) -> i64 {
        h.as_ref().map_or(0, |h| h.revision)
    }

    /// The code under test: one increment under the lock (or, with the
    /// planted bug, without it). The log key makes the write happen once.
    async fn increment(
        c: &Client,
        mutex: &mut Mutex<Client>,
        log_key: &str,
        skip_lock: bool,
    ) -> Outcome {
        let start = if skip_lock {
            None
        } else {
            let ctx = Context::with_timeout(Duration::from_secs(5));
            if mutex.lock(&ctx).await.is_err() {
                return Outcome::Retry;
            }
            Some(mutex.header().map(|h| h.revision))
        };
        let Ok(current) = c.get(COUNTER, GetOptions::default()).await else {
            return Outcome::Retry;
        };
        // Where the section began: the lock's revision (or, without the
        // lock, the read's).
        let enter = start.flatten().unwrap_or_else(|| rev(&current.header));
        let n: u64 = current
            .kvs
            .first()
            .and_then(|kv| std::str::from_utf8(&kv.value).ok()?.parse().ok())
            .unwrap_or(0);
        // The "work" of the critical section.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut guards = vec![Compare::version(log_key, CompareOp::Equal, 0)];
        if !skip_lock {
            guards.push(mutex.is_owner());
        }
        let written = c
            .txn()
            .when(guards)
            .and_then([
                Op::put(COUNTER, (n + 1).to_string(), PutOptions::default()),
                Op::put(log_key, format!("{enter},{}", n + 1), PutOptions::default()),
            ])
            .or_else([Op::get(log_key, GetOptions::default())])
            .commit()
            .await;
        let outcome = match written {
            Ok(r) if r.succeeded => Outcome::Applied,
            // An earlier try whose outcome was unknown did apply.
            Ok(r) if matches!(r.responses.first(), Some(OpResponse::Get(g)) if !g.kvs.is_empty()) => {
                Outcome::Applied
            }
            Ok(_) => Outcome::Fenced,
            Err(e) if e.is_outcome_unknown() || e.is_timeout() => Outcome::Unknown,
            Err(_) => Outcome::Retry,
        };
        if !skip_lock && !matches!(outcome, Outcome::Unknown) {
            // Best effort: a key left behind goes with the session.
            let _ = mutex
                .unlock(&Context::with_timeout(Duration::from_secs(2)))
                .await;
        }
        outcome
    }

    /// One client: `INCREMENTS` increments, each tried until it is applied
    /// (a new session when the old one is gone).
    async fn worker(id: usize, urls: Vec<String>, skip_lock: bool) -> Seen {
        let c = client(urls).await;
        let mut seen = Seen::default();
        let mut session: Option<(Session<Client>, Mutex<Client>)> = None;
        for n in 0..INCREMENTS {
            let log_key = format!("{LOG}{id}/{n}");
            let mut unknown = false;
            let mut applied = false;
            for _ in 0..TRIES {
                if session.as_ref().is_none_or(|(s, _)| s.is_done()) {
                    let opts = SessionOptions::new()
                        .with_ttl(3)
                        .with_context(Context::background());
                    match Session::with_options(c.clone(), opts).await {
                        Ok(s) => {
                            let m = Mutex::new(&s, LOCK);
                            session = Some((s, m));
                        }
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    }
                }
                let Some((_, mutex)) = session.as_mut() else {
                    continue;
                };
                match increment(&c, mutex, &log_key, skip_lock).await {
                    Outcome::Applied => {
                        applied = true;
                        break;
                    }
                    Outcome::Fenced => seen.fenced += 1,
                    Outcome::Unknown => unknown = true,
                    Outcome::Retry => {}
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(THINK).await;
            if applied {
                seen.acked.push((id, n));
            } else if unknown {
                seen.unknown.push((id, n));
            }
        }
        if let Some((s, _)) = session {
            let _ = s.close().await;
        }
        seen
    }

    /// One seed: the clients work while the faults hit; then the check.
    pub async fn one_seed(skip_lock: bool) -> Result<Report, String> {
        let cluster = Arc::new(
            SimCluster::start(SimClusterConfig::default())
                .await
                .map_err(|e| format!("the cluster did not start: {e}"))?,
        );
        let started = tokio::time::Instant::now();
        let workers: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let cluster = cluster.clone();
                let urls = cluster.client_urls();
                tokio::spawn(async move {
                    cluster
                        .run_on_client_node(move || worker(id, urls, skip_lock))
                        .await
                })
            })
            .collect();

        // The faults, while the clients work.
        tokio::time::sleep(Duration::from_millis(400)).await;
        if let Some(paused) = cluster.pause_leader() {
            tokio::time::sleep(Duration::from_secs(4)).await;
            let _ = cluster.resume(paused);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(killed) = cluster.kill_leader() {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = cluster.restart(killed);
        }
        if let Some(leader) = cluster.leader() {
            let others: Vec<usize> = (0..cluster.len()).filter(|&i| i != leader).collect();
            let _ = cluster.partition(&[vec![leader], others]);
            cluster.set_latency(Duration::from_millis(10)..Duration::from_millis(80));
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        cluster.heal();

        let mut seen = Seen::default();
        for w in workers {
            let s = w.await.map_err(|e| format!("a client task failed: {e}"))?;
            seen.acked.extend(s.acked);
            seen.unknown.extend(s.unknown);
            seen.fenced += s.fenced;
        }
        let ran = started.elapsed();
        let faults = cluster.fault_log();
        let urls = cluster.client_urls();
        let verdict = cluster.run_on_client_node(move || check(urls, seen)).await;
        verdict
            .map_err(|v| {
                let log: Vec<String> = faults.iter().map(ToString::to_string).collect();
                format!("{v}\nfaults:\n  {}", log.join("\n  "))
            })
            .map(|mut r| {
                r.faults = faults.len();
                r.ran = ran;
                r
            })
    }

    /// One critical section as etcd recorded it.
    #[derive(Debug)]
    struct Section {
        who: String,
        enter: i64,
        exit: i64,
        wrote: u64,
    }

    /// Reads what etcd recorded and checks the promise.
    async fn check(urls: Vec<String>, seen: Seen) -> Result<Report, String> {
        let c = client(urls).await;
        let (counter, log) = loop {
            let counter = c.get(COUNTER, GetOptions::default()).await;
            let log = c.get(LOG, GetOptions::prefix()).await;
            if let (Ok(counter), Ok(log)) = (counter, log) {
                break (counter, log);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let counter: u64 = counter
            .kvs
            .first()
            .and_then(|kv| std::str::from_utf8(&kv.value).ok()?.parse().ok())
            .unwrap_or(0);
        let mut sections = Vec::new();
        for kv in &log.kvs {
            let who = String::from_utf8_lossy(&kv.key).into_owned();
            let value = String::from_utf8_lossy(&kv.value).into_owned();
            let parsed = value
                .split_once(',')
                .and_then(|(e, w)| Some((e.parse().ok()?, w.parse().ok()?)));
            let Some((enter, wrote)) = parsed else {
                return Err(format!("{who}: unreadable log value {value:?}"));
            };
            sections.push(Section {
                who,
                enter,
                exit: kv.mod_revision,
                wrote,
            });
        }
        sections.sort_by_key(|s| s.exit);
        // A section's start is the revision of the state it began from, its
        // end the revision of its write: the next one must begin from a
        // state at or after that write.
        for pair in sections.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if b.enter < a.exit {
                return Err(format!(
                    "critical sections overlap: {} ran [{}, {}] and {} ran [{}, {}]",
                    a.who, a.enter, a.exit, b.who, b.enter, b.exit
                ));
            }
        }
        for (i, s) in sections.iter().enumerate() {
            if s.wrote != i as u64 + 1 {
                return Err(format!(
                    "lost update: {} wrote {} as increment {} (at revision {})",
                    s.who,
                    s.wrote,
                    i + 1,
                    s.exit
                ));
            }
        }
        if counter != sections.len() as u64 {
            return Err(format!(
                "the counter is {counter} but {} increments were applied",
                sections.len()
            ));
        }
        let applied: std::collections::BTreeSet<String> =
            sections.iter().map(|s| s.who.clone()).collect();
        for (id, n) in &seen.acked {
            let key = format!("{LOG}{id}/{n}");
            if !applied.contains(&key) {
                return Err(format!("{key} was acknowledged but is not applied"));
            }
        }
        let may_apply = seen.acked.len() + seen.unknown.len();
        if applied.len() > may_apply {
            return Err(format!(
                "{} increments applied, but only {may_apply} were acknowledged or unknown",
                applied.len()
            ));
        }
        if seen.acked.is_empty() {
            return Err("no increment was acknowledged: the clients made no progress".into());
        }
        Ok(Report {
            applied: sections.len(),
            acknowledged: seen.acked.len(),
            unknown: seen.unknown.len(),
            fenced: seen.fenced,
            faults: 0,
            ran: Duration::ZERO,
        })
    }
}
