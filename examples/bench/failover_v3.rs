//! Section `failover-v3`: in a three-process etcd 3.4.23 cluster, SIGSTOP the
//! member serving a client's watch, and time (from the SIGSTOP) the first
//! acknowledged put and the first watch event after it; SIGCONT, wait until
//! the cluster is healthy, repeat. Two clients take turns on the same
//! cluster: our v3 SDK (a fresh `v3::Client` per trial over all three
//! endpoints, keepalive 0.5 s + 1 s, each put bounded by 1 s), and Go's
//! `etcdctl` (an `etcdctl watch` process, and an `etcdctl put` loop with
//! `--command-timeout=1s`, all three endpoints). Not part of `all`: run it
//! with `cargo run --release --example bench -- failover-v3 [--trials n]`.

use crate::cli::Options;
use crate::failover::wait_recovered;
use crate::harness::etcd::EtcdCluster;
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::stats::{ms, percentile};
use etcd_sdk::v3::{Client, Config, KV, PutOptions, WatchOptions, Watcher};
use etcd_test_support::metrics::Metrics;
use futures_util::StreamExt;
use serde::Serialize;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The bound on each put attempt (the SDK's per-call timeout, etcdctl's
/// `--command-timeout`).
const PUT_TIMEOUT: Duration = Duration::from_secs(1);
/// The SDK's keepalive: a ping after this much silence...
const KEEPALIVE_TIME: Duration = Duration::from_millis(500);
/// ...answered within this.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(1);
/// A trial whose put (or watch event) has not come by then counts as failed.
const TRIAL_LIMIT: Duration = Duration::from_secs(30);
/// Go's etcdctl.
const ETCDCTL: &str = "/usr/bin/etcdctl";

/// The trials of one client.
#[derive(Serialize)]
struct Row {
    client: &'static str,
    trials: usize,
    /// Trials without an acknowledged put within the limit.
    failed: usize,
    /// Trials whose watch did not deliver the put within the limit.
    watch_missed: usize,
    /// Milliseconds from SIGSTOP to the first acknowledged put.
    put_millis: Vec<u64>,
    /// Milliseconds from SIGSTOP to the watch event of that put.
    watch_millis: Vec<u64>,
}

impl Row {
    fn new(client: &'static str, trials: usize) -> Row {
        Row {
            client,
            trials,
            failed: 0,
            watch_missed: 0,
            put_millis: Vec::new(),
            watch_millis: Vec::new(),
        }
    }

    fn record(&mut self, trial: usize, r: Result<(Duration, Option<Duration>), String>) {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match r {
            Ok((put, watch)) => {
                eprintln!(
                    "[failover-v3] {} trial {trial}: put {} ms, watch {}",
                    self.client,
                    put.as_millis(),
                    watch.map_or("missed".to_string(), |w| format!("{} ms", w.as_millis()))
                );
                self.put_millis.push(millis(put));
                match watch {
                    Some(w) => self.watch_millis.push(millis(w)),
                    None => self.watch_missed += 1,
                }
            }
            Err(e) => {
                eprintln!("[failover-v3] {} trial {trial} failed: {e}", self.client);
                self.failed += 1;
            }
        }
    }
}

/// Runs the section and publishes its table.
pub async fn run(opts: &Options) -> Result<(), String> {
    if !std::path::Path::new(ETCDCTL).exists() {
        return Err(format!("{ETCDCTL} is missing: run scripts/install-deps.sh"));
    }
    let cluster = EtcdCluster::try_start_in(&opts.etcd, 3, &Storage::Disk.parent()?).await?;
    let mut sdk = Row::new("etcd-sdk v3", opts.trials);
    let mut go = Row::new("etcdctl 3.4 (Go)", opts.trials);
    for trial in 0..opts.trials {
        sdk.record(trial, sdk_trial(&cluster, trial).await);
        wait_recovered(&cluster).await?;
        go.record(trial, etcdctl_trial(&cluster, trial).await);
        wait_recovered(&cluster).await?;
    }
    let rows = [sdk, go];
    publish("failover-v3", opts, &[table(&rows)], &rows)
}

/// Every member's count of open watch streams.
async fn watch_streams(cluster: &EtcdCluster) -> Vec<u64> {
    let mut counts = Vec::new();
    for url in cluster.client_urls() {
        let n = Metrics::scrape(&url, Duration::from_secs(2))
            .await
            .map_or(0, |m| m.watch_streams());
        counts.push(n);
    }
    counts
}

/// The member whose watch-stream count rose above `before`.
async fn new_watch_member(cluster: &EtcdCluster, before: &[u64]) -> Result<usize, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = watch_streams(cluster).await;
        if let Some(i) = (0..now.len()).find(|&i| now[i] > before.get(i).copied().unwrap_or(0)) {
            return Ok(i);
        }
        if Instant::now() > deadline {
            return Err("no member shows the new watch stream".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sdk_trial(
    cluster: &EtcdCluster,
    trial: usize,
) -> Result<(Duration, Option<Duration>), String> {
    let client = Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        keep_alive_time: Some(KEEPALIVE_TIME),
        keep_alive_timeout: Some(KEEPALIVE_TIMEOUT),
        ..Config::new(cluster.client_urls())
    })
    .await
    .map_err(|e| e.to_string())?;
    let key = format!("/bench/failover-v3/sdk/{trial}");
    let before = watch_streams(cluster).await;
    let mut w = client
        .watch(key.as_str(), WatchOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let serving = new_watch_member(cluster, &before).await?;
    client
        .with_timeout(Duration::from_secs(5))
        .put(key.as_str(), "before", PutOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(5), w.next()).await {
        Ok(Some(Ok(_))) => {}
        other => return Err(format!("the watch before the fault: {other:?}")),
    }

    let member = cluster.member(serving);
    member.pause();
    let stopped = Instant::now();
    let put = loop {
        if stopped.elapsed() > TRIAL_LIMIT {
            break None;
        }
        let r = client
            .with_timeout(PUT_TIMEOUT)
            .put(key.as_str(), "after", PutOptions::default())
            .await;
        if let Ok(r) = r {
            break Some((stopped.elapsed(), r.header.map_or(0, |h| h.revision)));
        }
    };
    let outcome = match put {
        None => Err(format!("no acknowledged put within {TRIAL_LIMIT:?}")),
        Some((put, rev)) => {
            let mut watched = None;
            while let Some(left) = TRIAL_LIMIT.checked_sub(stopped.elapsed()) {
                match tokio::time::timeout(left, w.next()).await {
                    Ok(Some(Ok(r))) if r.events.iter().any(|e| e.kv.mod_revision >= rev) => {
                        watched = Some(stopped.elapsed());
                        break;
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            Ok((put, watched))
        }
    };
    member.resume();
    client.close();
    outcome
}

async fn etcdctl_trial(
    cluster: &EtcdCluster,
    trial: usize,
) -> Result<(Duration, Option<Duration>), String> {
    let endpoints = cluster.client_urls().join(",");
    let key = format!("/bench/failover-v3/etcdctl/{trial}");
    let before = watch_streams(cluster).await;
    let mut watch = Command::new(ETCDCTL)
        .env("ETCDCTL_API", "3")
        .args([&format!("--endpoints={endpoints}"), "watch", &key])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("start etcdctl watch: {e}"))?;
    let stdout = watch.stdout.take().ok_or("etcdctl watch has no stdout")?;
    // Its output lines, as they come (a blocking reader on the blocking pool).
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(l) = line else { return };
            if lines_tx.send(l).is_err() {
                return;
            }
        }
    });
    let outcome = async {
        let serving = new_watch_member(cluster, &before).await?;
        if !etcdctl_put(&endpoints, &key, "before", Duration::from_secs(5)).await {
            return Err("etcdctl put before the fault failed".to_string());
        }
        wait_line(&mut lines, "before", Duration::from_secs(5))
            .await
            .ok_or("etcdctl watch did not show the put before the fault")?;
        let member = cluster.member(serving);
        member.pause();
        let stopped = Instant::now();
        let put = loop {
            if stopped.elapsed() > TRIAL_LIMIT {
                break None;
            }
            if etcdctl_put(&endpoints, &key, "after", PUT_TIMEOUT).await {
                break Some(stopped.elapsed());
            }
        };
        let result = match put {
            None => Err(format!(
                "no acknowledged etcdctl put within {TRIAL_LIMIT:?}"
            )),
            Some(put) => {
                let left = TRIAL_LIMIT.saturating_sub(stopped.elapsed());
                let watched = wait_line(&mut lines, "after", left)
                    .await
                    .map(|()| stopped.elapsed());
                Ok((put, watched))
            }
        };
        member.resume();
        result
    }
    .await;
    let _ = watch.kill();
    let _ = tokio::task::spawn_blocking(move || watch.wait()).await;
    outcome
}

/// One `etcdctl put` with this `--command-timeout`; true when it succeeded.
async fn etcdctl_put(endpoints: &str, key: &str, value: &str, timeout: Duration) -> bool {
    let args = vec![
        format!("--endpoints={endpoints}"),
        format!("--command-timeout={}ms", timeout.as_millis()),
        "put".to_string(),
        key.to_string(),
        value.to_string(),
    ];
    tokio::task::spawn_blocking(move || {
        Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
    .await
    .unwrap_or(false)
}

/// Waits up to `limit` for the line `want`.
async fn wait_line(
    lines: &mut mpsc::UnboundedReceiver<String>,
    want: &str,
    limit: Duration,
) -> Option<()> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(l)) if l == want => return Some(()),
            Ok(Some(_)) => {}
            _ => return None,
        }
    }
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(
        "Failover (v3): SIGSTOP of the member serving the client's watch, 3 etcd 3.4.23 processes",
        &[
            "client",
            "trials",
            "failed",
            "put p50",
            "put p90",
            "put p99",
            "watch missed",
            "watch p50",
            "watch p90",
            "watch p99",
        ],
    );
    let pct = |v: &[u64], q: f64| {
        let mut sorted: Vec<u64> = v.iter().map(|m| m * 1000).collect();
        sorted.sort_unstable();
        ms(percentile(&sorted, q))
    };
    for row in rows {
        t.row(vec![
            row.client.to_string(),
            row.trials.to_string(),
            row.failed.to_string(),
            pct(&row.put_millis, 0.50),
            pct(&row.put_millis, 0.90),
            pct(&row.put_millis, 0.99),
            row.watch_missed.to_string(),
            pct(&row.watch_millis, 0.50),
            pct(&row.watch_millis, 0.90),
            pct(&row.watch_millis, 0.99),
        ]);
    }
    t.note("times in ms from the SIGSTOP: to the first acknowledged put, and to the watch event of that put");
    t.note(format!(
        "each put attempt bounded by {PUT_TIMEOUT:?} (SDK with_timeout, etcdctl --command-timeout) and retried at once; SDK keepalive {KEEPALIVE_TIME:?} + {KEEPALIVE_TIMEOUT:?}; a trial gives up after {TRIAL_LIMIT:?}"
    ));
    t.note(
        "watch missed: no event within the trial limit (the watch stayed on the stopped member)",
    );
    t
}
