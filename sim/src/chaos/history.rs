//! What a chaos run records: every client operation with its invocation and
//! completion times (virtual, since the run started) and its outcome, every watch
//! with the events it saw, and the faults the nemesis injected.
//!
//! A [`History`] is saved as JSON lines (one header line, then one line per
//! operation, watch or fault; see [`History::write_jsonl`]) so users can keep the
//! history of a failing seed next to the bug report and check it again later.
//!
//! # Outcomes
//!
//! An operation either has a definite result ([`Outcome::Ok`]: the server answered
//! and the answer says what happened, including etcd's semantic errors such as
//! "Key not found" or "Compare failed", which say something about the state), or it
//! certainly did not take effect ([`Outcome::Failed`]: e.g. the connection was
//! refused, or the server rejected it before proposing), or it may or may not have
//! taken effect ([`Outcome::Unknown`]: a timeout after the request was sent). A
//! checker treats an unknown write as one that may have taken effect at any time
//! after its invocation, or never.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// One operation a workload client issued against the v2 keys API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// `GET key` (`quorum=true` when `quorum`).
    Get {
        /// The key.
        key: String,
        /// A linearizable (quorum) read; otherwise served from the member's local
        /// store, which may be stale and is not checked for linearizability.
        quorum: bool,
    },
    /// `PUT key value` with no conditions.
    Set {
        /// The key.
        key: String,
        /// The value written (unique per write in a workload).
        value: String,
    },
    /// `PUT key value prevExist=false`.
    Create {
        /// The key.
        key: String,
        /// The value written.
        value: String,
    },
    /// `PUT key value prevValue=prev`.
    CompareAndSwap {
        /// The key.
        key: String,
        /// The value the key must hold.
        prev: String,
        /// The value written.
        value: String,
    },
    /// `DELETE key prevValue=prev`.
    CompareAndDelete {
        /// The key.
        key: String,
        /// The value the key must hold.
        prev: String,
    },
    /// `DELETE key`.
    Delete {
        /// The key.
        key: String,
    },
    /// `POST dir value` (a new key whose name is the index it was created at).
    CreateInOrder {
        /// The directory.
        dir: String,
        /// The value written.
        value: String,
    },
}

impl Op {
    /// The key the operation acts on (the directory, for [`Op::CreateInOrder`]).
    pub fn key(&self) -> &str {
        match self {
            Op::Get { key, .. }
            | Op::Set { key, .. }
            | Op::Create { key, .. }
            | Op::CompareAndSwap { key, .. }
            | Op::CompareAndDelete { key, .. }
            | Op::Delete { key } => key,
            Op::CreateInOrder { dir, .. } => dir,
        }
    }

    /// Whether the operation can change the store.
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }
}

/// A definite answer from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// The operation succeeded.
    Done {
        /// The key's value after the operation (`None` after a delete; for a get,
        /// the value read).
        value: Option<String>,
        /// The value the key held before, when the server reported it (`prevNode`).
        prev: Option<String>,
        /// The key of the node the server returned (for a create-in-order: the key
        /// it created).
        node_key: String,
        /// The node's `modifiedIndex` (for a get: the index of the write read).
        modified_index: u64,
        /// The `X-Etcd-Index` header of the answer.
        etcd_index: u64,
    },
    /// etcd error 100, "Key not found".
    NotFound {
        /// The `index` field of the error.
        index: u64,
    },
    /// etcd error 101, "Compare failed".
    CompareFailed {
        /// The `index` field of the error.
        index: u64,
    },
    /// etcd error 105, "Key already exists".
    AlreadyExists {
        /// The `index` field of the error.
        index: u64,
    },
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The server answered definitely.
    Ok(Response),
    /// The operation certainly did not take effect; the text says why.
    Failed {
        /// The error, as the SDK printed it.
        error: String,
    },
    /// The operation may or may not have taken effect.
    Unknown {
        /// The error, as the SDK printed it.
        error: String,
    },
}

/// One recorded operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique within the history, in invocation order.
    pub id: u64,
    /// Which workload client issued it.
    pub client: usize,
    /// The member the client sent it to first (its pinned endpoint), if known.
    pub endpoint: Option<usize>,
    /// Virtual nanoseconds since the run started, when the client invoked it.
    pub invoke_ns: u64,
    /// Virtual nanoseconds since the run started, when the client saw the outcome.
    /// For an [`Outcome::Unknown`] operation this is when the client gave up; the
    /// operation may take effect later than that.
    pub complete_ns: u64,
    /// What was asked.
    pub op: Op,
    /// What happened.
    pub outcome: Outcome,
}

/// One event a watcher received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    /// The event's action (`set`, `create`, `compareAndSwap`, `delete`,
    /// `compareAndDelete`, `expire`, `update`).
    pub action: String,
    /// The node's key.
    pub key: String,
    /// The node's value after the event (`None` for deletions).
    pub value: Option<String>,
    /// The node's `modifiedIndex`: the index of the change.
    pub modified_index: u64,
    /// Virtual nanoseconds since the run started, when the watcher received it.
    pub received_ns: u64,
}

/// One watcher's life: where it started and every event it received, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRecord {
    /// Unique within the history.
    pub id: u64,
    /// Which workload client ran it.
    pub client: usize,
    /// The watched key (or directory, when `recursive`).
    pub key: String,
    /// Whether the watch covers the key's subtree.
    pub recursive: bool,
    /// The `waitIndex` of its first request: the first index it must report.
    pub start_index: u64,
    /// Virtual nanoseconds since the run started, when it was created.
    pub started_ns: u64,
    /// Virtual nanoseconds since the run started, when it stopped.
    pub ended_ns: u64,
    /// Why it stopped (e.g. `run finished`, or an error such as
    /// "The event in requested index is outdated and cleared", which ends a watch
    /// legitimately).
    pub end: String,
    /// The events in the order received.
    pub events: Vec<WatchEvent>,
}

/// One fault the nemesis injected (or healed), as the cluster logged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEntry {
    /// Virtual nanoseconds since the run started.
    pub at_ns: u64,
    /// The fault's kind, e.g. `pause`, `kill`, `partition`, `heal`.
    pub kind: String,
    /// The cluster's description of it, e.g. `partition [m0 m1] [m2]`.
    pub what: String,
}

/// What describes a run, enough to replay it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The madsim seed.
    pub seed: u64,
    /// Number of members.
    pub nodes: usize,
    /// Number of workload clients.
    pub clients: usize,
    /// Which fault kinds the nemesis used (`all`, or a comma-separated list).
    pub faults: String,
    /// The server's unsafe mode, if the run used one (only for checking the
    /// checker).
    pub unsafe_mode: Option<String>,
    /// The command line that replays this run.
    pub replay: String,
}

/// A whole run's record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// How the run was made.
    pub info: RunInfo,
    /// Every operation, in invocation order.
    pub ops: Vec<Operation>,
    /// Every watcher.
    pub watches: Vec<WatchRecord>,
    /// Every fault, in time order.
    pub faults: Vec<FaultEntry>,
}

/// One line of the JSON-lines file.
#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Line {
    Run(RunInfo),
    Op(Operation),
    Watch(WatchRecord),
    Fault(FaultEntry),
}

/// Why a history file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be read or written.
    #[error("history: {0}")]
    Io(#[from] io::Error),
    /// A line is not a history record.
    #[error("history: line {line}: {error}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        error: String,
    },
    /// The file does not start with its `run` record.
    #[error("history: the first line is not a run record")]
    NoHeader,
}

impl History {
    /// Writes the history as JSON lines: a `run` record, then the operations, the
    /// watches and the faults, one JSON object per line, each tagged with `record`.
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
            line(Line::Op(op.clone()))?;
        }
        for w in &self.watches {
            line(Line::Watch(w.clone()))?;
        }
        for f in &self.faults {
            line(Line::Fault(f.clone()))?;
        }
        Ok(())
    }

    /// Reads a history written by [`History::write_jsonl`]. Blank lines are skipped.
    ///
    /// # Errors
    ///
    /// [`HistoryError`] on an I/O error, a malformed line, or a missing header.
    pub fn read_jsonl(input: impl BufRead) -> Result<History, HistoryError> {
        let mut history: Option<History> = None;
        for (n, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(&line).map_err(|e| HistoryError::Parse {
                line: n + 1,
                error: e.to_string(),
            })?;
            match (parsed, history.as_mut()) {
                (Line::Run(info), None) => {
                    history = Some(History {
                        info,
                        ..History::default()
                    })
                }
                (_, None) => return Err(HistoryError::NoHeader),
                (Line::Run(_), Some(_)) => {
                    return Err(HistoryError::Parse {
                        line: n + 1,
                        error: "a second run record".into(),
                    });
                }
                (Line::Op(op), Some(h)) => h.ops.push(op),
                (Line::Watch(w), Some(h)) => h.watches.push(w),
                (Line::Fault(f), Some(h)) => h.faults.push(f),
            }
        }
        history.ok_or(HistoryError::NoHeader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> History {
        History {
            info: RunInfo {
                seed: 7,
                nodes: 3,
                clients: 2,
                faults: "all".into(),
                unsafe_mode: None,
                replay: "etcd-sim chaos --seed 7".into(),
            },
            ops: vec![
                Operation {
                    id: 0,
                    client: 0,
                    endpoint: Some(1),
                    invoke_ns: 10,
                    complete_ns: 20,
                    op: Op::Set {
                        key: "/k".into(),
                        value: "v0".into(),
                    },
                    outcome: Outcome::Ok(Response::Done {
                        value: Some("v0".into()),
                        prev: None,
                        node_key: "/k".into(),
                        modified_index: 8,
                        etcd_index: 8,
                    }),
                },
                Operation {
                    id: 1,
                    client: 1,
                    endpoint: None,
                    invoke_ns: 15,
                    complete_ns: 40,
                    op: Op::Get {
                        key: "/k".into(),
                        quorum: true,
                    },
                    outcome: Outcome::Unknown {
                        error: "timeout".into(),
                    },
                },
            ],
            watches: vec![WatchRecord {
                id: 0,
                client: 1,
                key: "/k".into(),
                recursive: false,
                start_index: 8,
                started_ns: 1,
                ended_ns: 50,
                end: "run finished".into(),
                events: vec![WatchEvent {
                    action: "set".into(),
                    key: "/k".into(),
                    value: Some("v0".into()),
                    modified_index: 8,
                    received_ns: 21,
                }],
            }],
            faults: vec![FaultEntry {
                at_ns: 12,
                kind: "pause".into(),
                what: "pause m1".into(),
            }],
        }
    }

    #[test]
    fn jsonl_round_trip() {
        let h = sample();
        let mut buf = Vec::new();
        h.write_jsonl(&mut buf).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.starts_with("{\"record\":\"run\""));
        let back = History::read_jsonl(&buf[..]).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn rejects_missing_header_and_garbage() {
        let no_header = "{\"record\":\"fault\",\"at_ns\":1,\"kind\":\"heal\",\"what\":\"heal\"}\n";
        assert!(matches!(
            History::read_jsonl(no_header.as_bytes()),
            Err(HistoryError::NoHeader)
        ));
        assert!(matches!(
            History::read_jsonl("".as_bytes()),
            Err(HistoryError::NoHeader)
        ));
        let garbage = "{\"record\":\"run\",\"seed\":1,\"nodes\":3,\"clients\":1,\"faults\":\"\",\"unsafe_mode\":null,\"replay\":\"\"}\nnot json\n";
        assert!(matches!(
            History::read_jsonl(garbage.as_bytes()),
            Err(HistoryError::Parse { line: 2, .. })
        ));
    }
}
