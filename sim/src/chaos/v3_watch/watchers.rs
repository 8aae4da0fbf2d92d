//! The run's v3 watchers (sim builds): each on a client node of its own with
//! a v3 client over every member, watching a key or a prefix from a revision
//! (the beginning, now, or a future one), with prev_kv or filters, sending
//! progress requests, and logging every response.
//!
//! A watcher survives member failures through the SDK, which re-creates its
//! watch on a new stream from the revision after the last one it delivered
//! (those resumes are inside one start of the log). On top, some watchers
//! drop their watch now and then and watch again from their last revision + 1
//! (a [`StartReason::Resume`] in the log), as an application that restarts
//! would; a compaction ends a watch, and the watcher starts again at the
//! compaction revision.

use super::log::{
    EventKind, EventRecord, KvRecord, ResponseRecord, StartReason, WatchStart, WatcherLog,
    WatcherSpec,
};
use super::stream_check::is_progress;
use crate::chaos::stop_signal::StopSignal;
use crate::cluster::SimCluster;
use etcd_sdk::v3::{
    Client, Config, Error, Event, EventType, KeyRange, KeyValue, WatchOptions, WatchResponse,
    Watcher,
};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// One watcher of a run: what it watches and how it behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatcherPlan {
    /// Its number.
    pub id: u64,
    /// What it watches.
    pub spec: WatcherSpec,
    /// Drop the watch and resume from the last revision + 1 this often.
    pub restart_every: Option<Duration>,
    /// Send a progress request this often (when `spec.progress_requests`).
    pub progress_every: Duration,
}

/// The watchers of the run with `seed` over `keys` (all starting with
/// `prefix`): watcher 0 watches the whole prefix from revision 1 with
/// prev_kv and restarts; the others are drawn from the seed.
pub fn plan_watchers(seed: u64, count: usize, prefix: &str, keys: &[String]) -> Vec<WatcherPlan> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7633_7761_7463_6800);
    let prefix_end = prefix_end(prefix);
    (0..count)
        .map(|i| {
            let whole = i == 0 || keys.is_empty() || rng.random_bool(0.4);
            let (key, range_end) = if whole {
                (prefix.to_string(), Some(prefix_end.clone()))
            } else {
                (keys[rng.random_range(0..keys.len())].clone(), None)
            };
            let start_revision = match (i, rng.random_range(0..4)) {
                (0, _) => 1,
                (_, 0) => 0,
                (_, 1) => rng.random_range(1..20),
                (_, 2) => rng.random_range(40..160),
                _ => 0,
            };
            let filter = if i == 0 { 0 } else { rng.random_range(0..6) };
            let spec = WatcherSpec {
                key,
                range_end,
                start_revision,
                prev_kv: i == 0 || rng.random_bool(0.5),
                filter_put: filter == 0 && i != 0,
                filter_delete: filter == 1,
                progress_notify: false,
                progress_requests: i != 0 && rng.random_bool(0.5),
            };
            let restart_every = (i == 0 || rng.random_bool(0.5))
                .then(|| Duration::from_millis(rng.random_range(700..3000)));
            WatcherPlan {
                id: i as u64,
                spec,
                restart_every,
                progress_every: Duration::from_millis(rng.random_range(200..900)),
            }
        })
        .collect()
}

/// The exclusive end of the keys starting with `prefix` (`""`: every key).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    String::new()
}

/// The wait before watching again after an error.
const RETRY: Duration = Duration::from_millis(200);
/// The client's call deadline.
const CALL: Duration = Duration::from_secs(5);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn kv_record(kv: &KeyValue) -> KvRecord {
    KvRecord {
        key: text(&kv.key),
        value: text(&kv.value),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
    }
}

fn event_record(e: &Event) -> EventRecord {
    EventRecord {
        kind: match e.kind {
            EventType::Put => EventKind::Put,
            EventType::Delete => EventKind::Delete,
        },
        kv: kv_record(&e.kv),
        prev_kv: e.prev_kv.as_ref().map(kv_record),
    }
}

fn response_record(r: &WatchResponse, start: usize, received_ns: u64) -> ResponseRecord {
    let mut rec = ResponseRecord {
        received_ns,
        start,
        header_revision: r.revision(),
        events: r.events.iter().map(event_record).collect(),
        compact_revision: r.compact_revision,
        canceled: r.canceled,
        created: r.created,
        progress_notify: false,
        fragment: false,
    };
    rec.progress_notify = is_progress(&rec);
    rec
}

fn options(spec: &WatcherSpec, revision: i64) -> WatchOptions {
    WatchOptions {
        range: match &spec.range_end {
            None => KeyRange::Single,
            Some(end) if end.is_empty() => KeyRange::FromKey,
            Some(end) => KeyRange::End(end.as_bytes().to_vec()),
        },
        revision,
        prev_kv: spec.prev_kv,
        filter_put: spec.filter_put,
        filter_delete: spec.filter_delete,
        progress_notify: spec.progress_notify,
        created_notify: true,
        ..WatchOptions::default()
    }
}

/// Runs watcher `plan` on a client node of its own until `stop` is set;
/// returns its log. Times are virtual ns since `t0`.
pub async fn run_watcher(
    cluster: &SimCluster,
    plan: WatcherPlan,
    t0: Instant,
    stop: Arc<StopSignal>,
) -> WatcherLog {
    let urls = cluster.client_urls();
    cluster
        .run_on_client_node(move || async move { watch_loop(urls, plan, t0, stop).await })
        .await
}

async fn watch_loop(
    urls: Vec<String>,
    plan: WatcherPlan,
    t0: Instant,
    stop: Arc<StopSignal>,
) -> WatcherLog {
    let now_ns = move || t0.elapsed().as_nanos() as u64;
    let mut log = WatcherLog {
        id: plan.id,
        spec: plan.spec.clone(),
        ..WatcherLog::default()
    };
    let config = Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(CALL),
        keep_alive_time: Some(Duration::from_secs(1)),
        keep_alive_timeout: Some(Duration::from_secs(2)),
        ..Config::new(urls)
    };
    let client = loop {
        match Client::new(config.clone()).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::debug!(watcher = plan.id, error = %e, "v3 watcher: client");
                tokio::select! {
                    biased;
                    _ = stop.wait() => {
                        log.end = "run finished before a client connected".into();
                        return log;
                    }
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    };
    let mut rng = StdRng::seed_from_u64(plan.id ^ 0x5eed);
    let mut next = plan.spec.start_revision;
    let mut reason = StartReason::Initial;
    'watch: loop {
        let created = tokio::select! {
            biased;
            _ = stop.wait() => break 'watch,
            r = client.watch(plan.spec.key.clone(), options(&plan.spec, next)) => r,
        };
        let mut stream = match created {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(watcher = plan.id, error = %e, "v3 watcher: watch refused");
                if let Error::WatchCompacted { compact_revision } = e {
                    next = compact_revision;
                    reason = StartReason::AfterCompaction;
                }
                tokio::select! {
                    biased;
                    _ = stop.wait() => break 'watch,
                    _ = tokio::time::sleep(RETRY) => continue 'watch,
                }
            }
        };
        let start = log.starts.len();
        log.starts.push(WatchStart {
            at_ns: now_ns(),
            start_revision: next,
            reason,
        });
        let restart_at = plan
            .restart_every
            .map(|d| Instant::now() + d.mul_f64(rng.random_range(0.5..1.5)));
        let mut progress_at = Instant::now() + plan.progress_every;
        loop {
            let wake = match restart_at {
                Some(r) if plan.spec.progress_requests => r.min(progress_at),
                Some(r) => r,
                None if plan.spec.progress_requests => progress_at,
                None => Instant::now() + Duration::from_secs(3600),
            };
            let item = tokio::select! {
                biased;
                _ = stop.wait() => break 'watch,
                item = stream.next() => item,
                _ = tokio::time::sleep_until(wake) => {
                    if restart_at.is_some_and(|r| Instant::now() >= r) {
                        reason = StartReason::Resume;
                        continue 'watch;
                    }
                    if let Err(e) = client.request_progress().await {
                        tracing::debug!(watcher = plan.id, error = %e, "v3 watcher: progress");
                    }
                    progress_at = Instant::now() + plan.progress_every;
                    continue;
                }
            };
            match item {
                Some(Ok(resp)) => {
                    let rec = response_record(&resp, start, now_ns());
                    if let Some(last) = rec.events.last() {
                        next = last.kv.mod_revision + 1;
                    } else if rec.created && next == 0 {
                        next = rec.header_revision + 1;
                    }
                    log.responses.push(rec);
                }
                Some(Err(Error::WatchCompacted { compact_revision })) => {
                    log.responses.push(ResponseRecord {
                        received_ns: now_ns(),
                        start,
                        compact_revision,
                        canceled: true,
                        ..ResponseRecord::default()
                    });
                    next = next.max(compact_revision);
                    reason = StartReason::AfterCompaction;
                    continue 'watch;
                }
                Some(Err(e)) => {
                    tracing::debug!(watcher = plan.id, error = %e, "v3 watcher: watch ended");
                    reason = StartReason::Resume;
                    tokio::select! {
                        biased;
                        _ = stop.wait() => break 'watch,
                        _ = tokio::time::sleep(RETRY) => continue 'watch,
                    }
                }
                None => {
                    reason = StartReason::Resume;
                    continue 'watch;
                }
            }
        }
    }
    log.end = "run finished".into();
    client.close();
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_seeded() {
        let keys: Vec<String> = (0..4).map(|i| format!("w/k{i}")).collect();
        let a = plan_watchers(7, 6, "w/", &keys);
        assert_eq!(a, plan_watchers(7, 6, "w/", &keys));
        assert_eq!(a[0].spec.range_end.as_deref(), Some("w0"));
        assert_eq!(a[0].spec.start_revision, 1);
        assert!(
            a.iter()
                .all(|p| p.spec.range_end.is_some() || keys.contains(&p.spec.key))
        );
        assert_eq!(prefix_end("w/"), "w0");
        assert_eq!(prefix_end(""), "");
    }
}
