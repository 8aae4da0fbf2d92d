//! Section `failover`: SIGSTOP the leader of a three-process cluster (etcd 3.4.23,
//! then our `etcd-sim`), and time until the SDK gets its first acknowledged
//! write; SIGCONT, wait until every member is healthy again, repeat.

use crate::cli::Options;
use crate::clients::{SdkKv, SdkTransport};
use crate::harness::etcd::EtcdCluster;
use crate::harness::raw_http;
use crate::load::KvClient;
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, ServerKind};
use crate::stats::{ms, percentile};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The SDK's per-attempt header timeout during the trials.
const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
/// A trial that has not written by then counts as failed.
const TRIAL_LIMIT: Duration = Duration::from_secs(30);
/// How long the cluster may take to be healthy again after SIGCONT.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// Quiet time after recovery, longer than an election timeout (1 s).
const SETTLE: Duration = Duration::from_millis(1500);

/// The trials of one server.
#[derive(Serialize)]
struct Row {
    server: ServerKind,
    trials: usize,
    failed: usize,
    /// Milliseconds from SIGSTOP to the first acknowledged write, per trial.
    millis: Vec<u64>,
}

/// Runs the section and publishes its table.
pub async fn run(opts: &Options, bins: &Binaries) -> Result<(), String> {
    let mut rows = Vec::new();
    for kind in [ServerKind::Etcd, ServerKind::EtcdSim] {
        let cluster = bins.start(kind, 3, Storage::Disk).await?;
        let mut row = Row {
            server: kind,
            trials: opts.trials,
            failed: 0,
            millis: Vec::new(),
        };
        for trial in 0..opts.trials {
            match one_trial(&cluster, trial).await {
                Ok(d) => {
                    eprintln!(
                        "[failover] {} trial {trial}: {} ms",
                        kind.name(),
                        d.as_millis()
                    );
                    row.millis
                        .push(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                }
                Err(e) => {
                    eprintln!("[failover] {} trial {trial} failed: {e}", kind.name());
                    row.failed += 1;
                }
            }
            wait_recovered(&cluster).await?;
        }
        rows.push(row);
    }
    publish("failover", opts, &[table(&rows)], &rows)
}

/// One trial: the time from the leader's SIGSTOP to the first acknowledged write.
/// The leader is resumed before returning.
async fn one_trial(cluster: &EtcdCluster, trial: usize) -> Result<Duration, String> {
    let leader = agreed_leader(cluster)
        .await
        .ok_or("the members do not agree on a leader")?;
    // A fresh client per trial (an application that has just started), pinned
    // at random among the three endpoints.
    let sdk = SdkKv::new(
        &cluster.client_urls(),
        SdkTransport::Default,
        Some(HEADER_TIMEOUT),
    )?;
    let key = "/bench/failover";
    sdk.set(key, "before").await?;
    let member = cluster.member(leader);
    member.pause();
    let stopped = Instant::now();
    let outcome = loop {
        let left = TRIAL_LIMIT.saturating_sub(stopped.elapsed());
        if left.is_zero() {
            break Err(format!("no acknowledged write within {TRIAL_LIMIT:?}"));
        }
        match tokio::time::timeout(left, sdk.set(key, &format!("trial-{trial}"))).await {
            Ok(Ok(())) => break Ok(stopped.elapsed()),
            Ok(Err(_)) | Err(_) => continue,
        }
    };
    member.resume();
    outcome
}

/// The member every member names as leader (`/v2/stats/self` `leaderInfo.leader`)
/// and that calls itself leader; `None` while they disagree.
async fn agreed_leader(cluster: &EtcdCluster) -> Option<usize> {
    let mut named = None;
    let mut leader = None;
    for (i, url) in cluster.client_urls().iter().enumerate() {
        let r = raw_http::get(url, "/v2/stats/self", Duration::from_secs(1))
            .await
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
        let says = v.pointer("/leaderInfo/leader")?.as_str()?.to_string();
        if named.get_or_insert_with(|| says.clone()) != &says {
            return None;
        }
        if v.get("id")?.as_str()? == says && v.get("state")?.as_str()? == "StateLeader" {
            leader = Some(i);
        }
    }
    leader
}

/// Waits until every member answers `/health` with `true` and one is leader.
pub async fn wait_recovered(cluster: &EtcdCluster) -> Result<(), String> {
    let deadline = Instant::now() + RECOVERY_LIMIT;
    loop {
        let mut healthy = 0;
        for url in cluster.client_urls() {
            let ok = raw_http::get(&url, "/health", Duration::from_secs(1))
                .await
                .is_ok_and(|r| r.status == 200 && r.text().contains("true"));
            healthy += usize::from(ok);
        }
        if healthy == cluster.size() && agreed_leader(cluster).await.is_some() {
            // The resumed old leader may still call itself leader until the new
            // leader's first heartbeat reaches it: let that happen before the next
            // trial picks whom to stop.
            tokio::time::sleep(SETTLE).await;
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "cluster not healthy {RECOVERY_LIMIT:?} after SIGCONT\n{}",
                cluster.log_tails()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(
        "Failover: leader SIGSTOP to first acknowledged SDK write, 3 processes, data on disk",
        &[
            "server", "trials", "failed", "p50 ms", "p90 ms", "p99 ms", "max ms", "< 100 ms",
        ],
    );
    for row in rows {
        let mut sorted: Vec<u64> = row.millis.iter().map(|m| m * 1000).collect();
        sorted.sort_unstable();
        t.row(vec![
            row.server.name().to_string(),
            row.trials.to_string(),
            row.failed.to_string(),
            ms(percentile(&sorted, 0.50)),
            ms(percentile(&sorted, 0.90)),
            ms(percentile(&sorted, 0.99)),
            ms(sorted.last().copied().unwrap_or(0)),
            row.millis.iter().filter(|&&m| m < 100).count().to_string(),
        ]);
    }
    t.note("< 100 ms: acknowledged before any election could finish (the stopped member had already lost the lead)");
    t.note(format!(
        "SDK: a fresh client per trial over all three endpoints, header timeout {HEADER_TIMEOUT:?}; writes retried back to back"
    ));
    t
}
