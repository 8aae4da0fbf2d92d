//! The v3 workload (sim builds): concurrent `etcd_sdk::v3` clients, each on a
//! client node of its own with a channel over every member's client URL,
//! issuing the seed's requests ([`V3OpGenerator`]) and recording each with its
//! virtual invoke and completion times and its outcome ([`V3Recorder`]).

use super::history::{
    V3CompareTarget, V3Operation, V3Outcome, V3Range, V3Request, V3Response, V3TxnOp, V3TxnResult,
};
use super::op_gen::V3OpGenerator;
use super::outcome::{classify_error, kv_of};
use crate::chaos::recorder::Recorder;
use crate::chaos::workload::WorkloadConfig;
use crate::cluster::SimCluster;
use etcd_sdk::v3::{
    Client, CompactOptions, Compare, CompareOp, Config, DeleteOptions, GetOptions, KV, KeyRange,
    Lease, Op, OpResponse, PutOptions, ResponseHeader,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the v3 clients record their operations; the clock (and the faults)
/// are the run's [`Recorder`]'s.
#[derive(Debug)]
pub struct V3Recorder {
    /// The run's recorder (clock, faults).
    pub base: Arc<Recorder>,
    next: AtomicU64,
    ops: Mutex<Vec<V3Operation>>,
}

impl V3Recorder {
    /// A recorder on `base`'s clock.
    pub fn new(base: Arc<Recorder>) -> Self {
        V3Recorder {
            base,
            next: AtomicU64::new(0),
            ops: Mutex::new(Vec::new()),
        }
    }

    /// Records an operation invoked at `invoke_ns` that completes now.
    pub fn complete(
        &self,
        id: u64,
        client: usize,
        invoke_ns: u64,
        request: V3Request,
        outcome: V3Outcome,
    ) -> V3Operation {
        let op = V3Operation {
            id,
            client,
            invoke_ns,
            complete_ns: self.base.now_ns(),
            request,
            outcome,
        };
        self.ops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(op.clone());
        op
    }

    /// A fresh operation id (ids follow invocation order).
    pub fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::SeqCst)
    }

    /// The operations so far, by id.
    pub fn ops(&self) -> Vec<V3Operation> {
        let mut ops = self.ops.lock().unwrap_or_else(|p| p.into_inner()).clone();
        ops.sort_by_key(|o| o.id);
        ops
    }
}

fn rev(h: &Option<ResponseHeader>) -> i64 {
    h.as_ref().map_or(0, |h| h.revision)
}

fn range_opt(r: &V3Range) -> KeyRange {
    if r.prefix {
        KeyRange::Prefix
    } else {
        KeyRange::Single
    }
}

fn txn_op(o: &V3TxnOp) -> Op {
    match o {
        V3TxnOp::Put { key, value, lease } => Op::put(
            key.as_bytes(),
            value.as_bytes(),
            PutOptions {
                lease: *lease,
                prev_kv: true,
                ..Default::default()
            },
        ),
        V3TxnOp::Delete { range } => Op::delete(
            range.key.as_bytes(),
            DeleteOptions {
                range: range_opt(range),
                prev_kv: true,
            },
        ),
    }
}

/// Sends `request` through `client`.
pub async fn perform(client: &Client, request: &V3Request) -> etcd_sdk::v3::Result<V3Response> {
    Ok(match request {
        V3Request::Put { key, value, lease } => {
            let opts = PutOptions {
                lease: *lease,
                prev_kv: true,
                ..Default::default()
            };
            let r = client.put(key.as_bytes(), value.as_bytes(), opts).await?;
            V3Response::Put {
                revision: rev(&r.header),
                prev: r.prev_kv.as_ref().map(kv_of),
            }
        }
        V3Request::Range {
            range,
            serializable,
        } => {
            let opts = GetOptions {
                range: range_opt(range),
                serializable: *serializable,
                ..Default::default()
            };
            let r = client.get(range.key.as_bytes(), opts).await?;
            V3Response::Range {
                revision: rev(&r.header),
                kvs: r.kvs.iter().map(kv_of).collect(),
                count: r.count,
            }
        }
        V3Request::Delete { range } => {
            let opts = DeleteOptions {
                range: range_opt(range),
                prev_kv: true,
            };
            let r = client.delete(range.key.as_bytes(), opts).await?;
            V3Response::Delete {
                revision: rev(&r.header),
                prev: r.prev_kvs.iter().map(kv_of).collect(),
            }
        }
        V3Request::Txn {
            compares,
            success,
            failure,
        } => {
            let cmps: Vec<Compare> = compares
                .iter()
                .map(|c| {
                    let op = if c.not_equal {
                        CompareOp::NotEqual
                    } else {
                        CompareOp::Equal
                    };
                    let key = c.key.as_bytes();
                    match &c.target {
                        V3CompareTarget::Value { value } => {
                            Compare::value(key, op, value.as_bytes())
                        }
                        V3CompareTarget::ModRevision { revision } => {
                            Compare::mod_revision(key, op, *revision)
                        }
                        V3CompareTarget::Version { version } => Compare::version(key, op, *version),
                    }
                })
                .collect();
            let r = client
                .txn()
                .when(cmps)
                .and_then(success.iter().map(txn_op))
                .or_else(failure.iter().map(txn_op))
                .commit()
                .await?;
            let results = r
                .responses
                .iter()
                .filter_map(|o| match o {
                    OpResponse::Put(p) => Some(V3TxnResult::Put {
                        prev: p.prev_kv.as_ref().map(kv_of),
                    }),
                    OpResponse::Delete(d) => Some(V3TxnResult::Delete {
                        prev: d.prev_kvs.iter().map(kv_of).collect(),
                    }),
                    OpResponse::Get(_) | OpResponse::Txn(_) => None,
                })
                .collect();
            V3Response::Txn {
                revision: rev(&r.header),
                succeeded: r.succeeded,
                results,
            }
        }
        V3Request::LeaseGrant { ttl } => {
            let r = client.grant(*ttl).await?;
            V3Response::LeaseGrant {
                revision: rev(&r.header),
                id: r.id,
                ttl: r.ttl,
            }
        }
        V3Request::LeaseRevoke { id } => {
            let r = client.revoke(*id).await?;
            V3Response::LeaseRevoke {
                revision: rev(&r.header),
            }
        }
        V3Request::LeaseKeepAlive { id } => {
            let r = client.keep_alive_once(*id).await?;
            V3Response::LeaseKeepAlive {
                revision: rev(&r.header),
                ttl: r.ttl,
            }
        }
        V3Request::Compact { revision } => {
            let r = client.compact(*revision, CompactOptions::default()).await?;
            V3Response::Compact {
                revision: rev(&r.header),
            }
        }
    })
}

/// One v3 client's part of a run.
pub struct V3ClientRun {
    /// The client's number.
    pub client: usize,
    /// Its request source.
    pub generator: V3OpGenerator,
    /// Its think time bound.
    pub think_time: Duration,
    /// Its per-call deadline.
    pub request_timeout: Duration,
}

impl V3ClientRun {
    /// Client `i` of the run with `seed`.
    pub fn new(seed: u64, i: usize, cfg: &WorkloadConfig) -> Self {
        V3ClientRun {
            client: i,
            generator: V3OpGenerator::new(seed, i, cfg.keys),
            think_time: cfg.think_time,
            request_timeout: cfg.request_timeout,
        }
    }

    /// Runs `count` requests on a fresh client node over every member's
    /// client URL, recording each; returns the client (its generator
    /// advanced) and the records. `liveness`: only puts and linearizable
    /// ranges, each abandoned (unknown) at `deadline`.
    pub async fn run(
        mut self,
        cluster: &SimCluster,
        recorder: Arc<V3Recorder>,
        count: usize,
        liveness: Option<tokio::time::Instant>,
    ) -> (V3ClientRun, Vec<V3Operation>) {
        let urls = cluster.client_urls();
        cluster
            .run_on_client_node(move || async move {
                let mut done = Vec::with_capacity(count);
                let config = Config {
                    dial_timeout: Some(Duration::from_secs(1)),
                    request_timeout: Some(self.request_timeout),
                    ..Config::new(urls)
                };
                let client = match Client::new(config).await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(client = self.client, error = %e, "v3 chaos client");
                        return (self, done);
                    }
                };
                let think_ms = u64::try_from(self.think_time.as_millis()).unwrap_or(0);
                for _ in 0..count {
                    let pause = self.generator.draw(think_ms.max(1));
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    let request = match liveness {
                        None => self.generator.next_request(),
                        Some(_) => self.generator.next_liveness_request(),
                    };
                    let id = recorder.next_id();
                    let invoke_ns = recorder.base.now_ns();
                    let result = match liveness {
                        None => Some(perform(&client, &request).await),
                        Some(at) => tokio::time::timeout(
                            at.saturating_duration_since(tokio::time::Instant::now()),
                            perform(&client, &request),
                        )
                        .await
                        .ok(),
                    };
                    let outcome = match result {
                        Some(Ok(r)) => V3Outcome::Ok(r),
                        Some(Err(e)) => classify_error(&request, &e),
                        None => V3Outcome::Unknown {
                            error: "liveness deadline passed".into(),
                        },
                    };
                    self.generator.observe(&request, &outcome);
                    done.push(recorder.complete(id, self.client, invoke_ns, request, outcome));
                }
                client.close();
                (self, done)
            })
            .await
    }
}
