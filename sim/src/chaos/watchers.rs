//! The run's watchers: each on a client node of its own, watching one key or the
//! whole key directory from a known index, recording every event it receives
//! until the run ends (or the server's history no longer holds the next index,
//! error 401, which ends a watch legitimately).

use super::history::{WatchEvent, WatchRecord};
use super::recorder::Recorder;
use super::stop_signal::StopSignal;
use super::workload::WorkloadConfig;
use crate::cluster::SimCluster;
use etcd_sdk::keys::{GetOptions, KeysAPI, WatcherOptions, new_keys_api};
use etcd_sdk::{Error, HttpClient};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

/// What one watcher watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchSpec {
    /// The watcher's number.
    pub index: usize,
    /// The client it is attributed to (`index % clients`).
    pub client: usize,
    /// The key or directory.
    pub key: String,
    /// Whether it watches the subtree.
    pub recursive: bool,
}

/// The watchers of the run with `seed`: alternately (seed-derived) the whole
/// key directory, recursively, or one key.
pub fn watch_specs(seed: u64, cfg: &WorkloadConfig) -> Vec<WatchSpec> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0077_6174_6368);
    let keys = cfg.key_names();
    (0..cfg.watchers)
        .map(|index| {
            let recursive = index == 0 || rng.random_bool(0.5);
            let key = if recursive {
                cfg.key_dir.clone()
            } else {
                keys[rng.random_range(0..keys.len())].clone()
            };
            WatchSpec {
                index,
                client: index % cfg.clients.max(1),
                key,
                recursive,
            }
        })
        .collect()
}

/// How often a watcher probes the member serving its long poll.
const LIVENESS_PROBE: Duration = Duration::from_millis(500);
/// The wait before retrying after a watch error.
const RETRY: Duration = Duration::from_millis(200);

/// Runs watcher `spec` on a client node of its own until `stop` is set, and
/// records it.
pub async fn run_watcher(
    cluster: &SimCluster,
    cfg: &WorkloadConfig,
    spec: WatchSpec,
    recorder: Arc<Recorder>,
    stop: Arc<StopSignal>,
) {
    let config = cfg.client_config(&cluster.client_urls(), spec.index);
    cluster
        .run_on_client_node(move || async move {
            let client = match HttpClient::new(config) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(watcher = spec.index, error = %e, "chaos watcher config");
                    return;
                }
            };
            let kapi = new_keys_api(Arc::new(client)).with_watch_liveness(LIVENESS_PROBE);
            let id = recorder.watch_id();
            let Some(after) = start_index(&kapi, &spec.key, &stop).await else {
                return;
            };
            let mut record = WatchRecord {
                id,
                client: spec.client,
                key: spec.key.clone(),
                recursive: spec.recursive,
                start_index: after + 1,
                started_ns: recorder.now_ns(),
                ended_ns: 0,
                end: String::new(),
                events: Vec::new(),
            };
            let mut watcher = kapi.watcher(
                &spec.key,
                WatcherOptions {
                    after_index: after,
                    recursive: spec.recursive,
                },
            );
            record.end = loop {
                let next = tokio::select! {
                    biased;
                    _ = stop.wait() => break "run finished".to_string(),
                    r = watcher.next() => r,
                };
                match next {
                    Ok(ev) => {
                        let node = ev.node.unwrap_or_default();
                        record.events.push(WatchEvent {
                            action: ev.action.as_str().to_string(),
                            key: node.key,
                            value: node.value,
                            modified_index: node.modified_index,
                            received_ns: recorder.now_ns(),
                        });
                    }
                    Err(e) if e.is_event_index_cleared() => break e.to_string(),
                    Err(e) => {
                        // The SDK watcher keeps its index: the next poll resumes at
                        // the last event's index + 1.
                        tracing::debug!(watcher = spec.index, error = %e, "chaos watch error; resuming");
                        tokio::select! {
                            biased;
                            _ = stop.wait() => break "run finished".to_string(),
                            _ = tokio::time::sleep(RETRY) => {}
                        }
                    }
                }
            };
            record.ended_ns = recorder.now_ns();
            recorder.watch(record);
        })
        .await
}

/// The index to watch after: the `X-Etcd-Index` of a quorum read of `key` (or of
/// its key-not-found error), retried until it succeeds or the run ends.
async fn start_index(kapi: &dyn KeysAPI, key: &str, stop: &StopSignal) -> Option<u64> {
    let opts = GetOptions {
        quorum: true,
        ..Default::default()
    };
    loop {
        let r = tokio::select! {
            biased;
            _ = stop.wait() => return None,
            r = kapi.get(key, opts) => r,
        };
        match r {
            Ok(resp) => return Some(resp.index),
            Err(Error::Api(e)) if e.code == etcd_sdk::wire::ErrorCode::KEY_NOT_FOUND => {
                return Some(e.index);
            }
            Err(e) => {
                tracing::debug!(key, error = %e, "chaos watcher: start index read failed");
                tokio::select! {
                    biased;
                    _ = stop.wait() => return None,
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_seeded_and_start_with_the_directory() {
        let cfg = WorkloadConfig {
            watchers: 6,
            clients: 4,
            ..Default::default()
        };
        let a = watch_specs(9, &cfg);
        assert_eq!(a, watch_specs(9, &cfg));
        assert_eq!(a.len(), 6);
        assert!(a[0].recursive && a[0].key == "/chaos");
        assert_eq!(a[5].client, 1);
        for s in &a {
            assert!(s.recursive || cfg.key_names().contains(&s.key), "{s:?}");
        }
    }
}
