//! The [`Recorder`]: where the workload, the watchers and the nemesis write what
//! happened, with virtual times measured from the start of the run.

use super::history::{FaultEntry, History, Op, Operation, Outcome, RunInfo, WatchRecord};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

/// Collects a run's operations, watches and faults; shared by every task of the
/// run (behind an `Arc`).
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    next_op: AtomicU64,
    next_watch: AtomicU64,
    ops: Mutex<Vec<Operation>>,
    watches: Mutex<Vec<WatchRecord>>,
    faults: Mutex<Vec<FaultEntry>>,
}

/// An operation that was invoked and has not completed yet.
#[derive(Debug)]
#[must_use = "complete the operation to record it"]
pub struct Pending {
    id: u64,
    client: usize,
    endpoint: Option<usize>,
    invoke_ns: u64,
    op: Op,
}

impl Pending {
    /// The operation's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What was asked.
    pub fn op(&self) -> &Op {
        &self.op
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        Recorder {
            start: Instant::now(),
            next_op: AtomicU64::new(0),
            next_watch: AtomicU64::new(0),
            ops: Mutex::new(Vec::new()),
            watches: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
        }
    }

    /// Virtual nanoseconds since the recorder was made.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records the invocation of `op` by `client` (sent first to member
    /// `endpoint`); ids follow invocation order.
    pub fn invoke(&self, client: usize, endpoint: Option<usize>, op: Op) -> Pending {
        Pending {
            id: self.next_op.fetch_add(1, Ordering::SeqCst),
            client,
            endpoint,
            invoke_ns: self.now_ns(),
            op,
        }
    }

    /// Records the completion of `pending` with `outcome`; returns the record.
    pub fn complete(&self, pending: Pending, outcome: Outcome) -> Operation {
        let op = Operation {
            id: pending.id,
            client: pending.client,
            endpoint: pending.endpoint,
            invoke_ns: pending.invoke_ns,
            complete_ns: self.now_ns(),
            op: pending.op,
            outcome,
        };
        lock(&self.ops).push(op.clone());
        op
    }

    /// A fresh watch id.
    pub fn watch_id(&self) -> u64 {
        self.next_watch.fetch_add(1, Ordering::SeqCst)
    }

    /// Records a finished watcher.
    pub fn watch(&self, record: WatchRecord) {
        lock(&self.watches).push(record);
    }

    /// Records a fault (or a heal) of `kind` described as `what`, now.
    pub fn fault(&self, kind: &str, what: impl Into<String>) {
        let entry = FaultEntry {
            at_ns: self.now_ns(),
            kind: kind.to_string(),
            what: what.into(),
        };
        lock(&self.faults).push(entry);
    }

    /// The history so far: operations in invocation order, watches by id,
    /// faults in time order.
    pub fn history(&self, info: RunInfo) -> History {
        let mut ops = lock(&self.ops).clone();
        ops.sort_by_key(|o| o.id);
        let mut watches = lock(&self.watches).clone();
        watches.sort_by_key(|w| w.id);
        let faults = lock(&self.faults).clone();
        History {
            info,
            ops,
            watches,
            faults,
        }
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_come_back_in_invocation_order() {
        let r = Recorder::new();
        let get = |k: &str| Op::Get {
            key: k.into(),
            quorum: true,
        };
        let a = r.invoke(0, Some(0), get("/a"));
        let b = r.invoke(1, None, get("/b"));
        assert_eq!((a.id(), b.id()), (0, 1));
        // b completes first.
        r.complete(b, Outcome::Failed { error: "x".into() });
        let done = r.complete(a, Outcome::Unknown { error: "y".into() });
        assert!(done.complete_ns >= done.invoke_ns);
        r.fault("pause", "pause m1");
        let h = r.history(RunInfo::default());
        assert_eq!(h.ops.iter().map(|o| o.id).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(h.ops[0].op, get("/a"));
        assert_eq!(h.faults.len(), 1);
        assert_eq!(h.faults[0].kind, "pause");
    }
}
