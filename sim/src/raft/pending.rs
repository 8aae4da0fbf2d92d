//! Requests a node is waiting on: proposals until their entry is applied (or replaced),
//! and read-index requests until the read state arrives and the node has applied up
//! to it.

use super::error::RaftError;
use raft::eraftpb::ConfState;
use std::collections::BTreeMap;
use tokio::sync::oneshot;

/// Identifies a proposal in its entry's context: the proposing node, that node
/// incarnation's random nonce (a restarted node must not mistake an old entry for a new
/// proposal), and a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProposalId {
    pub node: u64,
    pub nonce: u64,
    pub seq: u64,
}

impl ProposalId {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.node.to_le_bytes());
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 24 {
            return None;
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Some(Self {
            node: word(0),
            nonce: word(1),
            seq: word(2),
        })
    }
}

/// Where the answer to a proposal goes.
#[derive(Debug)]
pub(crate) enum Waiter<O> {
    Propose(oneshot::Sender<Result<O, RaftError>>),
    Conf(oneshot::Sender<Result<ConfState, RaftError>>),
}

impl<O> Waiter<O> {
    pub fn fail(self, err: RaftError) {
        match self {
            Waiter::Propose(tx) => {
                let _ = tx.send(Err(err));
            }
            Waiter::Conf(tx) => {
                let _ = tx.send(Err(err));
            }
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Waiter::Propose(tx) => tx.is_closed(),
            Waiter::Conf(tx) => tx.is_closed(),
        }
    }
}

/// Proposals waiting for their entry to be applied.
///
/// Every proposal is keyed by its sequence number. A proposal made while this node
/// leads is also keyed by the index its entry got: when that index is applied with a
/// different entry, the proposal was certainly lost (an entry never changes index).
/// A proposal forwarded to another leader has no known index; it is answered when its
/// entry is applied, or its waiter gives up (and is swept).
#[derive(Debug)]
pub(crate) struct Proposals<O> {
    next_seq: u64,
    waiters: BTreeMap<u64, Waiter<O>>,
    by_index: BTreeMap<u64, u64>,
}

impl<O> Default for Proposals<O> {
    fn default() -> Self {
        Self {
            next_seq: 1,
            waiters: BTreeMap::new(),
            by_index: BTreeMap::new(),
        }
    }
}

impl<O> Proposals<O> {
    /// Registers a waiter; returns its sequence number.
    pub fn register(&mut self, waiter: Waiter<O>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.waiters.insert(seq, waiter);
        seq
    }

    /// Records that proposal `seq` was appended at `index` by this (leading) node.
    pub fn track_index(&mut self, seq: u64, index: u64) {
        if let Some(old) = self.by_index.insert(index, seq) {
            // The entry once tracked here was replaced: that proposal is lost.
            if let Some(w) = self.waiters.remove(&old) {
                w.fail(RaftError::ProposalDropped);
            }
        }
    }

    /// Fails proposal `seq` at once.
    pub fn fail(&mut self, seq: u64, err: RaftError) {
        if let Some(w) = self.waiters.remove(&seq) {
            w.fail(err);
        }
    }

    /// The entry at `index` was applied, carrying proposal `ours` if it is one of this
    /// node's. Fails the proposals tracked at or below `index` that it is not, and
    /// returns the waiter of `ours` to be answered.
    pub fn applied(&mut self, index: u64, ours: Option<u64>) -> Option<Waiter<O>> {
        while let Some(entry) = self.by_index.first_entry() {
            if *entry.key() > index {
                break;
            }
            let seq = entry.remove();
            if Some(seq) != ours {
                self.fail(seq, RaftError::ProposalDropped);
            }
        }
        ours.and_then(|seq| self.waiters.remove(&seq))
    }

    /// A snapshot up to `index` replaced the log: the proposals tracked at or below it
    /// may or may not be in it.
    pub fn snapshot_installed(&mut self, index: u64) {
        while let Some(entry) = self.by_index.first_entry() {
            if *entry.key() > index {
                break;
            }
            let seq = entry.remove();
            self.fail(seq, RaftError::OutcomeUnknown);
        }
    }

    /// Forgets waiters whose caller stopped waiting.
    pub fn sweep(&mut self) {
        self.waiters.retain(|_, w| !w.is_closed());
        let waiters = &self.waiters;
        self.by_index.retain(|_, seq| waiters.contains_key(seq));
    }

    /// Number of waiting proposals.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Fails every waiting proposal.
    pub fn fail_all(&mut self, err: &RaftError) {
        self.by_index.clear();
        for (_, w) in std::mem::take(&mut self.waiters) {
            w.fail(err.clone());
        }
    }
}

type ReadTx = oneshot::Sender<Result<u64, RaftError>>;

#[derive(Debug)]
struct Batch {
    waiters: Vec<ReadTx>,
    asked_at_tick: u64,
}

/// Read-index requests. Requests that arrive together share one read-index round
/// (etcd batches them the same way); a round with no answer after a while is asked
/// again, since raft-rs drops read requests it cannot serve (no leader yet, or a leader
/// that has not committed in its term).
#[derive(Debug, Default)]
pub(crate) struct Reads {
    next_seq: u64,
    queued: Vec<ReadTx>,
    asked: BTreeMap<u64, Batch>,
    /// Read index → requests to answer once applied reaches it.
    ready: BTreeMap<u64, Vec<ReadTx>>,
}

impl Reads {
    pub fn queue(&mut self, tx: ReadTx) {
        self.queued.push(tx);
    }

    /// Turns the queued requests into a new round; returns its context sequence.
    pub fn start_round(&mut self, tick: u64) -> Option<u64> {
        if self.queued.is_empty() {
            return None;
        }
        self.next_seq += 1;
        let batch = Batch {
            waiters: std::mem::take(&mut self.queued),
            asked_at_tick: tick,
        };
        self.asked.insert(self.next_seq, batch);
        Some(self.next_seq)
    }

    /// Rounds asked at or before `tick - retry_ticks`, now asked again at `tick`.
    pub fn due_for_retry(&mut self, tick: u64, retry_ticks: u64) -> Vec<u64> {
        let mut due = Vec::new();
        for (seq, batch) in &mut self.asked {
            batch.waiters.retain(|tx| !tx.is_closed());
            if tick.saturating_sub(batch.asked_at_tick) >= retry_ticks {
                batch.asked_at_tick = tick;
                due.push(*seq);
            }
        }
        self.asked.retain(|_, b| !b.waiters.is_empty());
        due
    }

    /// The read state for round `seq` arrived with `index`.
    pub fn answered(&mut self, seq: u64, index: u64) {
        if let Some(batch) = self.asked.remove(&seq) {
            self.ready.entry(index).or_default().extend(batch.waiters);
        }
    }

    /// Answers every request whose read index is at or below `applied`.
    pub fn applied(&mut self, applied: u64) {
        while let Some(entry) = self.ready.first_entry() {
            if *entry.key() > applied {
                break;
            }
            let index = *entry.key();
            for tx in entry.remove() {
                let _ = tx.send(Ok(index));
            }
        }
    }

    /// Number of requests not yet answered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queued.len()
            + self.asked.values().map(|b| b.waiters.len()).sum::<usize>()
            + self.ready.values().map(Vec::len).sum::<usize>()
    }

    /// Fails every request.
    pub fn fail_all(&mut self, err: &RaftError) {
        let asked = std::mem::take(&mut self.asked)
            .into_values()
            .flat_map(|b| b.waiters);
        let ready = std::mem::take(&mut self.ready).into_values().flatten();
        for tx in std::mem::take(&mut self.queued)
            .into_iter()
            .chain(asked)
            .chain(ready)
        {
            let _ = tx.send(Err(err.clone()));
        }
    }
}

/// Read-index round context: the node incarnation's nonce and the round's sequence.
pub(crate) fn read_ctx(nonce: u64, seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&nonce.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out
}

/// The round sequence of a read context, if it is this incarnation's.
pub(crate) fn read_seq(nonce: u64, ctx: &[u8]) -> Option<u64> {
    if ctx.len() != 16 || ctx[..8] != nonce.to_le_bytes() {
        return None;
    }
    let mut w = [0u8; 8];
    w.copy_from_slice(&ctx[8..]);
    Some(u64::from_le_bytes(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn propose_waiter() -> (Waiter<u32>, oneshot::Receiver<Result<u32, RaftError>>) {
        let (tx, rx) = oneshot::channel();
        (Waiter::Propose(tx), rx)
    }

    fn answer(w: Option<Waiter<u32>>, v: u32) {
        match w {
            Some(Waiter::Propose(tx)) => tx.send(Ok(v)).unwrap(),
            other => panic!("unexpected waiter {other:?}"),
        }
    }

    #[test]
    fn proposal_id_round_trip() {
        let id = ProposalId {
            node: 3,
            nonce: 0xdead_beef,
            seq: 42,
        };
        assert_eq!(ProposalId::decode(&id.encode()), Some(id));
        assert_eq!(ProposalId::decode(b"short"), None);
    }

    #[test]
    fn applied_answers_ours_and_drops_replaced_entries() {
        let mut p = Proposals::default();
        let (w1, mut r1) = propose_waiter();
        let (w2, mut r2) = propose_waiter();
        let (w3, mut r3) = propose_waiter();
        let s1 = p.register(w1);
        let s2 = p.register(w2);
        let s3 = p.register(w3);
        p.track_index(s1, 10);
        p.track_index(s2, 11);
        // Forwarded proposal s3 has no index.
        answer(p.applied(10, Some(s1)), 7);
        assert_eq!(r1.try_recv().unwrap(), Ok(7));
        // Index 11 was applied with someone else's entry: s2 is lost.
        assert!(p.applied(11, None).is_none());
        assert_eq!(r2.try_recv().unwrap(), Err(RaftError::ProposalDropped));
        // s3 shows up later at any index.
        answer(p.applied(20, Some(s3)), 9);
        assert_eq!(r3.try_recv().unwrap(), Ok(9));
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn retracking_an_index_drops_the_old_proposal_and_snapshots_make_outcomes_unknown() {
        let mut p = Proposals::default();
        let (w1, mut r1) = propose_waiter();
        let (w2, mut r2) = propose_waiter();
        let s1 = p.register(w1);
        let s2 = p.register(w2);
        p.track_index(s1, 5);
        p.track_index(s2, 5);
        assert_eq!(r1.try_recv().unwrap(), Err(RaftError::ProposalDropped));
        p.snapshot_installed(5);
        assert_eq!(r2.try_recv().unwrap(), Err(RaftError::OutcomeUnknown));
    }

    #[test]
    fn sweep_forgets_abandoned_waiters() {
        let mut p = Proposals::default();
        let (w1, r1) = propose_waiter();
        let s1 = p.register(w1);
        p.track_index(s1, 3);
        drop(r1);
        p.sweep();
        assert_eq!(p.len(), 0);
        assert!(p.applied(3, Some(s1)).is_none());
    }

    #[test]
    fn reads_batch_retry_and_wait_for_apply() {
        let mut r = Reads::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        r.queue(tx1);
        r.queue(tx2);
        let seq = r.start_round(0).unwrap();
        assert_eq!(r.start_round(0), None);
        assert!(r.due_for_retry(4, 5).is_empty());
        assert_eq!(r.due_for_retry(5, 5), vec![seq]);
        assert!(r.due_for_retry(6, 5).is_empty());
        r.answered(seq, 12);
        r.applied(11);
        assert!(rx1.try_recv().is_err());
        r.applied(12);
        assert_eq!(rx1.try_recv().unwrap(), Ok(12));
        assert_eq!(rx2.try_recv().unwrap(), Ok(12));
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn read_ctx_belongs_to_one_incarnation() {
        let ctx = read_ctx(77, 5);
        assert_eq!(read_seq(77, &ctx), Some(5));
        assert_eq!(read_seq(78, &ctx), None);
        assert_eq!(read_seq(77, b"x"), None);
    }

    #[test]
    fn fail_all_answers_everyone() {
        let mut r = Reads::default();
        let (tx1, mut rx1) = oneshot::channel();
        let (tx2, mut rx2) = oneshot::channel();
        r.queue(tx1);
        let seq = r.start_round(0).unwrap();
        r.queue(tx2);
        r.answered(seq, 3);
        r.fail_all(&RaftError::Stopped);
        assert_eq!(rx1.try_recv().unwrap(), Err(RaftError::Stopped));
        assert_eq!(rx2.try_recv().unwrap(), Err(RaftError::Stopped));
    }
}
