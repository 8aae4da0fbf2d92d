//! The workload: concurrent SDK clients, each on a client node of its own and
//! pinned to one member, issuing a seed-derived mix of reads and writes over a
//! small key set, and recording every operation with its virtual invoke and
//! completion times and its outcome.
//!
//! Each client sends every write at-most-once
//! ([`etcd_sdk::Config::at_most_once_writes`]): one call has at most one effect,
//! which is what the linearizability checker assumes.

use super::history::{Op, Outcome, Response};
use super::op_mix::OpGenerator;
use super::outcome::classify;
use super::recorder::Recorder;
use crate::cluster::SimCluster;
use etcd_sdk::keys::{
    CreateInOrderOptions, DeleteOptions, GetOptions, KeysAPI, SetOptions, new_keys_api,
};
use etcd_sdk::{Config, HttpClient};
use std::sync::Arc;
use std::time::Duration;

/// What the workload does. `Default`: 8 clients, 2000 operations over 5 keys
/// under `/chaos`, in-order creates under `/chaos-queue`, 3 watchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Concurrent clients (client `i` pins member `i % nodes`).
    pub clients: usize,
    /// Operations in all, shared out among the clients.
    pub ops: usize,
    /// Number of keys (`/chaos/k0` ..).
    pub keys: usize,
    /// The directory the keys live in.
    pub key_dir: String,
    /// The directory in-order creates go to.
    pub queue_dir: String,
    /// Watchers started at the beginning and stopped at the end of the run.
    pub watchers: usize,
    /// Each client waits a random time below this between operations.
    pub think_time: Duration,
    /// The clients' per-request header timeout.
    pub header_timeout: Duration,
    /// The clients' overall per-call timeout.
    pub request_timeout: Duration,
    /// Operations each client issues after the final heal (the liveness phase).
    pub liveness_ops: usize,
    /// How long after the heal every liveness operation must have completed.
    pub liveness_deadline: Duration,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            clients: 8,
            ops: 2000,
            keys: 5,
            key_dir: "/chaos".into(),
            queue_dir: "/chaos-queue".into(),
            watchers: 3,
            think_time: Duration::from_millis(20),
            header_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            liveness_ops: 3,
            liveness_deadline: Duration::from_secs(30),
        }
    }
}

impl WorkloadConfig {
    /// The keys the clients use.
    pub fn key_names(&self) -> Vec<String> {
        (0..self.keys.max(1))
            .map(|i| format!("{}/k{i}", self.key_dir))
            .collect()
    }

    /// How many operations client `i` issues in the main phase.
    pub fn ops_of(&self, i: usize) -> usize {
        let clients = self.clients.max(1);
        self.ops / clients + usize::from(i < self.ops % clients)
    }

    /// The SDK configuration of client `i` over `urls` (the members' client
    /// URLs): rotated so that `urls[i % n]` comes first and stays pinned, with
    /// at-most-once writes and the workload's timeouts.
    pub fn client_config(&self, urls: &[String], i: usize) -> Config {
        let mut endpoints = urls.to_vec();
        if !endpoints.is_empty() {
            let n = endpoints.len();
            endpoints.rotate_left(i % n);
        }
        Config {
            endpoints,
            header_timeout_per_request: Some(self.header_timeout),
            request_timeout: Some(self.request_timeout),
            at_most_once_writes: true,
            keep_endpoint_order: true,
            ..Default::default()
        }
    }
}

/// Sends `op` through `kapi`.
pub async fn perform(kapi: &dyn KeysAPI, op: &Op) -> etcd_sdk::Result<etcd_sdk::keys::Response> {
    match op {
        Op::Get { key, quorum } => {
            let opts = GetOptions {
                quorum: *quorum,
                ..Default::default()
            };
            kapi.get(key, opts).await
        }
        Op::Set { key, value } => kapi.set(key, value, SetOptions::default()).await,
        Op::Create { key, value } => kapi.create(key, value).await,
        Op::CompareAndSwap { key, prev, value } => {
            let opts = SetOptions {
                prev_value: Some(prev.clone()),
                ..Default::default()
            };
            kapi.set(key, value, opts).await
        }
        Op::CompareAndDelete { key, prev } => {
            let opts = DeleteOptions {
                prev_value: Some(prev.clone()),
                ..Default::default()
            };
            kapi.delete(key, opts).await
        }
        Op::Delete { key } => kapi.delete(key, DeleteOptions::default()).await,
        Op::CreateInOrder { dir, value } => {
            kapi.create_in_order(dir, value, CreateInOrderOptions::default())
                .await
        }
    }
}

/// Tells `generator` what a definite outcome showed about the key.
fn observe(generator: &mut OpGenerator, op: &Op, outcome: &Outcome) {
    if matches!(op, Op::CreateInOrder { .. }) {
        return;
    }
    match outcome {
        Outcome::Ok(Response::Done { value, .. }) => generator.observe(op.key(), value.as_deref()),
        Outcome::Ok(Response::NotFound { .. }) => generator.observe(op.key(), None),
        _ => {}
    }
}

/// One client's part of a run: its identity, its generator and its SDK config.
pub struct ClientRun {
    /// The client's number.
    pub client: usize,
    /// The member it pins.
    pub pinned: usize,
    /// Its operation source.
    pub generator: OpGenerator,
    /// Its SDK configuration.
    pub config: Config,
    /// Its think time bound.
    pub think_time: Duration,
}

impl ClientRun {
    /// Client `i` of the run with `seed` against `cluster`.
    pub fn new(seed: u64, i: usize, cfg: &WorkloadConfig, cluster: &SimCluster) -> Self {
        let urls = cluster.client_urls();
        let n = urls.len().max(1);
        ClientRun {
            client: i,
            pinned: i % n,
            generator: OpGenerator::new(seed, i, cfg.key_names(), cfg.queue_dir.clone()),
            config: cfg.client_config(&urls, i),
            think_time: cfg.think_time,
        }
    }

    /// Runs `count` operations on a fresh client node, recording each; returns
    /// the client (its generator advanced) and the records, in order. With a
    /// `deadline`, an operation still running at it is abandoned and recorded
    /// as unknown.
    pub async fn run(
        mut self,
        cluster: &SimCluster,
        recorder: Arc<Recorder>,
        count: usize,
        deadline: Option<tokio::time::Instant>,
    ) -> (ClientRun, Vec<super::history::Operation>) {
        cluster
            .run_on_client_node(move || async move {
                let mut done = Vec::with_capacity(count);
                let client = match HttpClient::new(self.config.clone()) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(client = self.client, error = %e, "chaos client config");
                        return (self, done);
                    }
                };
                let kapi = new_keys_api(Arc::new(client));
                let think_ms = u64::try_from(self.think_time.as_millis()).unwrap_or(0);
                for _ in 0..count {
                    let pause = self.generator.draw(think_ms.max(1));
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    let op = self.generator.next_op();
                    let pending = recorder.invoke(self.client, Some(self.pinned), op.clone());
                    let outcome = match deadline {
                        None => classify(&op, &perform(&kapi, &op).await),
                        Some(at) => match tokio::time::timeout(
                            at.saturating_duration_since(tokio::time::Instant::now()),
                            perform(&kapi, &op),
                        )
                        .await
                        {
                            Ok(r) => classify(&op, &r),
                            Err(_) => Outcome::Unknown {
                                error: "liveness deadline passed".into(),
                            },
                        },
                    };
                    observe(&mut self.generator, &op, &outcome);
                    done.push(recorder.complete(pending, outcome));
                }
                (self, done)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_pin_member_i_mod_n_and_share_the_ops() {
        let cfg = WorkloadConfig {
            clients: 3,
            ops: 10,
            ..Default::default()
        };
        assert_eq!((0..3).map(|i| cfg.ops_of(i)).collect::<Vec<_>>(), [4, 3, 3]);
        let urls: Vec<String> = (0..3).map(|i| format!("http://m{i}:2379")).collect();
        let c = cfg.client_config(&urls, 4);
        assert_eq!(c.endpoints[0], "http://m1:2379");
        assert_eq!(c.endpoints.len(), 3);
        assert!(c.at_most_once_writes && c.keep_endpoint_order);
        assert_eq!(cfg.key_names()[4], "/chaos/k4");
    }
}
