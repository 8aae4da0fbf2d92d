//! What a v3 chaos run records: every client operation against the v3 API
//! (KV, txn, lease, compaction) with its virtual invoke and completion times,
//! its outcome and, for a definite answer, the header revision and what was
//! read. Plain data in both builds; saved as JSON lines like the v2 history
//! (one `run` record, then one line per operation or fault).
//!
//! Outcomes follow the v2 rules ([`super::super::outcome`]): a definite answer
//! is [`V3Outcome::Ok`] (including etcd's "requested lease not found", which
//! says the write had no effect), [`V3Outcome::Failed`] when the operation
//! certainly had no effect, and [`V3Outcome::Unknown`] when it may have taken
//! effect (a deadline or an unavailable member after the request was sent).

use crate::chaos::history::{FaultEntry, RunInfo};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// One key-value as the server returned it (`mvccpb.KeyValue`, keys and values
/// as text: the workload writes only UTF-8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3KeyValue {
    /// The key.
    pub key: String,
    /// The value (unique per put in a workload).
    pub value: String,
    /// The revision of the put that created the key in its current life.
    pub create_revision: i64,
    /// The revision of the key's last put.
    pub mod_revision: i64,
    /// Puts since creation.
    pub version: i64,
    /// The attached lease (`0`: none).
    pub lease: i64,
}

/// Which keys an operation covers: one key, or every key with a prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Range {
    /// The key, or the prefix.
    pub key: String,
    /// Whether `key` is a prefix.
    pub prefix: bool,
}

impl V3Range {
    /// One key.
    pub fn key(key: impl Into<String>) -> Self {
        V3Range {
            key: key.into(),
            prefix: false,
        }
    }

    /// Every key starting with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        V3Range {
            key: prefix.into(),
            prefix: true,
        }
    }

    /// Whether the range covers `key`.
    pub fn contains(&self, key: &str) -> bool {
        if self.prefix {
            key.starts_with(&self.key)
        } else {
            key == self.key
        }
    }
}

/// What a compare looks at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum V3CompareTarget {
    /// The key's value (false when the key is absent).
    Value {
        /// The value compared with.
        value: String,
    },
    /// The key's mod revision (0 when absent).
    ModRevision {
        /// The revision compared with.
        revision: i64,
    },
    /// The key's version (0 when absent).
    Version {
        /// The version compared with.
        version: i64,
    },
}

/// One compare of a txn: `key`'s target `==` (or `!=`) the given one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Compare {
    /// The key compared.
    pub key: String,
    /// Whether the compare is `!=` (otherwise `==`).
    pub not_equal: bool,
    /// What is compared.
    pub target: V3CompareTarget,
}

/// One write op inside a txn branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum V3TxnOp {
    /// A put (with `prev_kv`).
    Put {
        /// The key.
        key: String,
        /// The value (unique).
        value: String,
        /// The lease to attach (`0`: none).
        lease: i64,
    },
    /// A delete (with `prev_kv`).
    Delete {
        /// The keys.
        range: V3Range,
    },
}

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum V3Request {
    /// A put with `prev_kv`.
    Put {
        /// The key.
        key: String,
        /// The value (unique).
        value: String,
        /// The lease to attach (`0`: none).
        lease: i64,
    },
    /// A range at the latest revision.
    Range {
        /// The keys.
        range: V3Range,
        /// Served locally (`serializable`), otherwise linearizable.
        serializable: bool,
    },
    /// A delete with `prev_kv`.
    Delete {
        /// The keys.
        range: V3Range,
    },
    /// A txn of writes.
    Txn {
        /// The compares, ANDed.
        compares: Vec<V3Compare>,
        /// The `then` branch.
        success: Vec<V3TxnOp>,
        /// The `else` branch.
        failure: Vec<V3TxnOp>,
    },
    /// A lease grant.
    LeaseGrant {
        /// The TTL asked, in seconds.
        ttl: i64,
    },
    /// A lease revoke.
    LeaseRevoke {
        /// The lease.
        id: i64,
    },
    /// One keepalive of a lease.
    LeaseKeepAlive {
        /// The lease.
        id: i64,
    },
    /// A compaction.
    Compact {
        /// The revision to compact at.
        revision: i64,
    },
}

impl V3Request {
    /// Whether the request can change the keyspace or the leases.
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            V3Request::Range { .. } | V3Request::LeaseKeepAlive { .. }
        )
    }

    /// The puts the request may make: `(key, value, lease)`.
    pub fn puts(&self) -> Vec<(&str, &str, i64)> {
        match self {
            V3Request::Put { key, value, lease } => vec![(key, value, *lease)],
            V3Request::Txn {
                success, failure, ..
            } => {
                let mut p = put_ops(success);
                p.extend(put_ops(failure));
                p
            }
            _ => Vec::new(),
        }
    }
}

/// The puts among txn ops: `(key, value, lease)`.
fn put_ops(ops: &[V3TxnOp]) -> Vec<(&str, &str, i64)> {
    ops.iter()
        .filter_map(|o| match o {
            V3TxnOp::Put { key, value, lease } => Some((key.as_str(), value.as_str(), *lease)),
            V3TxnOp::Delete { .. } => None,
        })
        .collect()
}

/// What one op of a txn's chosen branch returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum V3TxnResult {
    /// A put: the previous key-value, if the key existed.
    Put {
        /// The previous key-value.
        prev: Option<V3KeyValue>,
    },
    /// A delete: the key-values it deleted.
    Delete {
        /// The deleted key-values.
        prev: Vec<V3KeyValue>,
    },
}

/// A definite answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum V3Response {
    /// A put's answer.
    Put {
        /// The header revision: the put's.
        revision: i64,
        /// The previous key-value, if the key existed.
        prev: Option<V3KeyValue>,
    },
    /// A range's answer.
    Range {
        /// The header revision: the store's when it read.
        revision: i64,
        /// What it read, in key order.
        kvs: Vec<V3KeyValue>,
        /// The `count` field.
        count: i64,
    },
    /// A delete's answer.
    Delete {
        /// The header revision (the delete's when it deleted something).
        revision: i64,
        /// The deleted key-values (`deleted` is their number).
        prev: Vec<V3KeyValue>,
    },
    /// A txn's answer.
    Txn {
        /// The header revision (the txn's when it changed something).
        revision: i64,
        /// Whether every compare held.
        succeeded: bool,
        /// One result per op of the chosen branch.
        results: Vec<V3TxnResult>,
    },
    /// A grant's answer.
    LeaseGrant {
        /// The header revision.
        revision: i64,
        /// The new lease.
        id: i64,
        /// Its TTL in seconds.
        ttl: i64,
    },
    /// A revoke's answer.
    LeaseRevoke {
        /// The header revision (the deletion's, when the lease had keys).
        revision: i64,
    },
    /// A keepalive's answer.
    LeaseKeepAlive {
        /// The header revision.
        revision: i64,
        /// The TTL the lease was renewed for.
        ttl: i64,
    },
    /// A compaction's answer.
    Compact {
        /// The header revision.
        revision: i64,
    },
    /// etcd's "requested lease not found": the lease does not exist (a put, txn,
    /// revoke or keepalive naming it had no effect).
    LeaseNotFound,
}

impl V3Response {
    /// The header revision (`None` for [`V3Response::LeaseNotFound`]).
    pub fn revision(&self) -> Option<i64> {
        match self {
            V3Response::Put { revision, .. }
            | V3Response::Range { revision, .. }
            | V3Response::Delete { revision, .. }
            | V3Response::Txn { revision, .. }
            | V3Response::LeaseGrant { revision, .. }
            | V3Response::LeaseRevoke { revision }
            | V3Response::LeaseKeepAlive { revision, .. }
            | V3Response::Compact { revision } => Some(*revision),
            V3Response::LeaseNotFound => None,
        }
    }
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum V3Outcome {
    /// The server answered definitely.
    Ok(V3Response),
    /// Certainly no effect; the text says why.
    Failed {
        /// The error as the SDK printed it.
        error: String,
    },
    /// May or may not have taken effect.
    Unknown {
        /// The error as the SDK printed it.
        error: String,
    },
}

/// One recorded v3 operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3Operation {
    /// Unique within the history, in invocation order.
    pub id: u64,
    /// Which workload client issued it.
    pub client: usize,
    /// Virtual nanoseconds since the run started, at invocation.
    pub invoke_ns: u64,
    /// Virtual nanoseconds since the run started, at completion (for an
    /// unknown outcome: when the client gave up).
    pub complete_ns: u64,
    /// What was asked.
    pub request: V3Request,
    /// What happened.
    pub outcome: V3Outcome,
}

impl V3Operation {
    /// The definite answer, if any.
    pub fn response(&self) -> Option<&V3Response> {
        match &self.outcome {
            V3Outcome::Ok(r) => Some(r),
            _ => None,
        }
    }
}

/// A whole v3 run's record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V3History {
    /// How the run was made (its `replay` names `--api v3`).
    pub info: RunInfo,
    /// Every operation, in invocation order.
    pub ops: Vec<V3Operation>,
    /// Every fault, in time order.
    pub faults: Vec<FaultEntry>,
}

/// One line of the JSON-lines file.
#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Line {
    Run(RunInfo),
    V3Op(V3Operation),
    Fault(FaultEntry),
}

/// Why a v3 history file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum V3HistoryError {
    /// The file could not be read.
    #[error("v3 history: {0}")]
    Io(#[from] io::Error),
    /// A line is not a v3 history record.
    #[error("v3 history: line {line}: {error}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        error: String,
    },
    /// The file does not start with its `run` record.
    #[error("v3 history: the first line is not a run record")]
    NoHeader,
}

impl V3History {
    /// Writes the history as JSON lines: the `run` record, the operations
    /// (`record: v3_op`), then the faults.
    ///
    /// # Errors
    ///
    /// Any I/O error of `out`.
    pub fn write_jsonl(&self, mut out: impl Write) -> io::Result<()> {
        let mut line = |l: Line| -> io::Result<()> {
            serde_json::to_writer(&mut out, &l)?;
            out.write_all(b"\n")
        };
        line(Line::Run(self.info.clone()))?;
        for op in &self.ops {
            line(Line::V3Op(op.clone()))?;
        }
        for f in &self.faults {
            line(Line::Fault(f.clone()))?;
        }
        Ok(())
    }

    /// Reads a history written by [`V3History::write_jsonl`].
    ///
    /// # Errors
    ///
    /// [`V3HistoryError`] on an I/O error, a malformed line, or no header.
    pub fn read_jsonl(input: impl BufRead) -> Result<V3History, V3HistoryError> {
        let mut history: Option<V3History> = None;
        for (n, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(&line).map_err(|e| V3HistoryError::Parse {
                line: n + 1,
                error: e.to_string(),
            })?;
            match (parsed, history.as_mut()) {
                (Line::Run(info), None) => {
                    history = Some(V3History {
                        info,
                        ..V3History::default()
                    })
                }
                (_, None) => return Err(V3HistoryError::NoHeader),
                (Line::Run(_), Some(_)) => {
                    return Err(V3HistoryError::Parse {
                        line: n + 1,
                        error: "a second run record".into(),
                    });
                }
                (Line::V3Op(op), Some(h)) => h.ops.push(op),
                (Line::Fault(f), Some(h)) => h.faults.push(f),
            }
        }
        history.ok_or(V3HistoryError::NoHeader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str, rev: i64) -> V3KeyValue {
        V3KeyValue {
            key: key.into(),
            value: value.into(),
            create_revision: rev,
            mod_revision: rev,
            version: 1,
            lease: 0,
        }
    }

    #[test]
    fn jsonl_round_trip() {
        let h = V3History {
            info: RunInfo {
                seed: 3,
                nodes: 3,
                clients: 1,
                faults: "all".into(),
                unsafe_mode: None,
                replay: "scripts/chaos.sh --replay 3 --api v3".into(),
            },
            ops: vec![
                V3Operation {
                    id: 0,
                    client: 0,
                    invoke_ns: 1,
                    complete_ns: 2,
                    request: V3Request::Txn {
                        compares: vec![V3Compare {
                            key: "k".into(),
                            not_equal: false,
                            target: V3CompareTarget::ModRevision { revision: 0 },
                        }],
                        success: vec![V3TxnOp::Put {
                            key: "k".into(),
                            value: "c0-1".into(),
                            lease: 0,
                        }],
                        failure: vec![V3TxnOp::Delete {
                            range: V3Range::prefix("k"),
                        }],
                    },
                    outcome: V3Outcome::Ok(V3Response::Txn {
                        revision: 2,
                        succeeded: true,
                        results: vec![V3TxnResult::Put { prev: None }],
                    }),
                },
                V3Operation {
                    id: 1,
                    client: 0,
                    invoke_ns: 3,
                    complete_ns: 4,
                    request: V3Request::Range {
                        range: V3Range::key("k"),
                        serializable: true,
                    },
                    outcome: V3Outcome::Ok(V3Response::Range {
                        revision: 2,
                        kvs: vec![kv("k", "c0-1", 2)],
                        count: 1,
                    }),
                },
            ],
            faults: vec![FaultEntry {
                at_ns: 2,
                kind: "kill".into(),
                what: "kill m1".into(),
            }],
        };
        let mut buf = Vec::new();
        h.write_jsonl(&mut buf).unwrap();
        assert_eq!(String::from_utf8_lossy(&buf).lines().count(), 4);
        assert_eq!(V3History::read_jsonl(&buf[..]).unwrap(), h);
        assert!(matches!(
            V3History::read_jsonl(
                &b"{\"record\":\"fault\",\"at_ns\":1,\"kind\":\"x\",\"what\":\"y\"}\n"[..]
            ),
            Err(V3HistoryError::NoHeader)
        ));
    }

    #[test]
    fn ranges_and_puts() {
        assert!(V3Range::prefix("a/").contains("a/b"));
        assert!(!V3Range::key("a/").contains("a/b"));
        let put = V3Request::Put {
            key: "k".into(),
            value: "v".into(),
            lease: 5,
        };
        assert_eq!(put.puts(), vec![("k", "v", 5)]);
        assert!(put.is_write());
        assert!(!V3Request::LeaseKeepAlive { id: 1 }.is_write());
    }
}
