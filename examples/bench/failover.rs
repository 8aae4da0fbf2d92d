//! Section `failover`: SIGSTOP the leader of a three-process cluster (etcd 3.4.23,
//! then our `etcd-sim`), and time until the SDK gets its first acknowledged
//! write; SIGCONT, wait until every member is healthy again, repeat.

use crate::cli::Options;
use crate::clients::SdkKv;
use crate::harness::etcd::EtcdCluster;
use crate::harness::raw_http;
use crate::load::KvClient;
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, ServerKind};
use crate::stats::{ms, percentile};
use etcd_sdk::Config;
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
    /// Milliseconds from SIGSTOP until a live member named a new leader
    /// (`/v2/members/leader`), per trial (same order as `millis`).
    election_millis: Vec<u64>,
    /// `millis - election_millis`: the client's share, per trial (0 when the
    /// write came first).
    client_millis: Vec<u64>,
}

/// One trial's times.
struct Trial {
    acked: Duration,
    elected: Option<Duration>,
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
            election_millis: Vec::new(),
            client_millis: Vec::new(),
        };
        for trial in 0..opts.trials {
            match one_trial(&cluster, trial).await {
                Ok(t) => {
                    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                    let acked = millis(t.acked);
                    // No new leader seen before the ack (the poller lost the
                    // race): the client's share is unknown, counted as 0.
                    let elected = t.elected.map_or(acked, millis);
                    eprintln!(
                        "[failover] {} trial {trial}: ack {acked} ms, election {elected} ms, client {} ms",
                        kind.name(),
                        acked.saturating_sub(elected)
                    );
                    row.millis.push(acked);
                    row.election_millis.push(elected);
                    row.client_millis.push(acked.saturating_sub(elected));
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
async fn one_trial(cluster: &EtcdCluster, trial: usize) -> Result<Trial, String> {
    let leader = agreed_leader(cluster)
        .await
        .ok_or("the members do not agree on a leader")?;
    let urls = cluster.client_urls();
    let old_id = leader_id(&urls[leader])
        .await
        .ok_or("the leader does not name itself")?;
    // A fresh client per trial (an application that has just started), pinned
    // at random among the three endpoints; writes at-most-once.
    let sdk = SdkKv::from_config(Config {
        endpoints: urls.clone(),
        header_timeout_per_request: Some(HEADER_TIMEOUT),
        at_most_once_writes: true,
        ..Default::default()
    })?;
    let key = "/bench/failover";
    sdk.set(key, "before").await?;
    let member = cluster.member(leader);
    member.pause();
    let stopped = Instant::now();
    let live: Vec<String> = (0..urls.len())
        .filter(|&i| i != leader)
        .map(|i| urls[i].clone())
        .collect();
    let mut election = tokio::spawn(async move {
        loop {
            for url in &live {
                if leader_id(url).await.is_some_and(|id| id != old_id) {
                    return stopped.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
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
    // The poller gets a moment to report an election it is about to see.
    let elected = tokio::time::timeout(Duration::from_millis(200), &mut election)
        .await
        .ok()
        .and_then(Result::ok);
    election.abort();
    member.resume();
    outcome.map(|acked| Trial { acked, elected })
}

/// The id of the member `url` names as leader (`GET /v2/members/leader`).
async fn leader_id(url: &str) -> Option<String> {
    let r = raw_http::get(url, "/v2/members/leader", Duration::from_millis(200))
        .await
        .ok()?;
    if r.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    Some(v.get("id")?.as_str()?.to_string())
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
            "server", "trials", "failed", "what", "p50 ms", "p90 ms", "p99 ms", "max ms",
        ],
    );
    for row in rows {
        for (what, millis) in [
            ("stop -> ack", &row.millis),
            ("stop -> elected", &row.election_millis),
            ("client share", &row.client_millis),
        ] {
            let mut sorted: Vec<u64> = millis.iter().map(|m| m * 1000).collect();
            sorted.sort_unstable();
            t.row(vec![
                row.server.name().to_string(),
                row.trials.to_string(),
                row.failed.to_string(),
                what.to_string(),
                ms(percentile(&sorted, 0.50)),
                ms(percentile(&sorted, 0.90)),
                ms(percentile(&sorted, 0.99)),
                ms(sorted.last().copied().unwrap_or(0)),
            ]);
        }
    }
    t.note("elected: a live member's /v2/members/leader names a member other than the stopped one (polled every 5 ms)");
    t.note("client share: ack minus elected, per trial, then the percentiles");
    t.note(format!(
        "SDK: a fresh client per trial over all three endpoints, header timeout {HEADER_TIMEOUT:?}, at-most-once writes; an OutcomeUnknown write is followed by the next one at once"
    ));
    t
}
