//! The medium a Raft node persists to: the [`Disk`] trait, the [`LogState`] every disk
//! holds, a plain in-memory [`MemDisk`] for unit tests, and the simulated [`SimDisk`]
//! that loses unsynced writes when its node is killed.
//!
//! A disk holds exactly what Raft needs to survive a restart, the way etcd's WAL and
//! snapshot directory do: the hard state (term, vote, commit), the latest snapshot
//! (its metadata carries the membership as of its index), and the log entries after a
//! compaction point.
//!
//! # Durability contract
//!
//! Writes ([`Disk::write`]) are visible to reads at once, but are durable only after
//! [`Disk::sync`] returns `Ok`. A crash may lose any suffix of the writes made since the
//! last successful sync, never a write made before it, and never reorders writes: what
//! survives is always a prefix of the write sequence. A node must therefore sync before
//! it sends a message that promises what it wrote (a vote, an append acknowledgement).

use raft::StorageError;
use raft::eraftpb::{Entry, HardState, Snapshot};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Why a disk refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// Appended entries would leave a hole after the last stored entry.
    #[error("disk: entries from index {first} leave a gap after last index {last}")]
    Gap {
        /// Index of the first appended entry.
        first: u64,
        /// Index of the last stored entry.
        last: u64,
    },
    /// Appended entries would overwrite entries already compacted away.
    #[error("disk: entry {index} is at or below the compaction point {compacted}")]
    Compacted {
        /// Index of the first appended entry.
        index: u64,
        /// Index of the last compacted entry.
        compacted: u64,
    },
    /// Appended entries are not numbered consecutively.
    #[error("disk: appended entries are not consecutive at index {index}")]
    NotContiguous {
        /// Index of the first entry out of sequence.
        index: u64,
    },
    /// A snapshot is older than the one already stored.
    #[error("disk: snapshot at index {index} is older than the stored snapshot at {stored}")]
    SnapshotOutOfDate {
        /// Index of the rejected snapshot.
        index: u64,
        /// Index of the stored snapshot.
        stored: u64,
    },
    /// A local snapshot or a compaction names an index the log does not hold (or,
    /// for a compaction, one beyond the stored snapshot).
    #[error("disk: index {index} is outside the allowed range [{low}, {high}]")]
    OutOfRange {
        /// The index asked for.
        index: u64,
        /// Lowest allowed index.
        low: u64,
        /// Highest allowed index.
        high: u64,
    },
    /// A local snapshot's term disagrees with the log's term at its index.
    #[error("disk: snapshot term {term} at index {index} does not match the log's term {log_term}")]
    TermMismatch {
        /// The snapshot's index.
        index: u64,
        /// The snapshot's term.
        term: u64,
        /// The term the log holds at that index.
        log_term: u64,
    },
    /// The medium failed (an injected fault on a [`SimDisk`]; on a file disk the message
    /// names the file or directory).
    #[error("disk: I/O error: {0}")]
    Io(String),
    /// Stored data is damaged where it cannot be a torn last write: a bad record followed
    /// by valid data, a bad record in an older WAL segment, a missing or damaged snapshot
    /// file. Nothing is recovered from such a disk rather than something wrong.
    #[error("disk: {}: corrupt at offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file (or the directory missing a file).
        path: std::path::PathBuf,
        /// Byte offset of the damage in that file (0 when it concerns the whole file).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file in the data directory was not written by this simulator (etcd's own data
    /// directories use the same file names but another format).
    #[error(
        "{}: not an etcd-sim {kind} (etcd's own data directories are not readable)",
        path.display()
    )]
    Foreign {
        /// The file.
        path: std::path::PathBuf,
        /// What it should have been: "WAL" or "snapshot".
        kind: &'static str,
    },
}

/// One write to a disk. Every write is atomic: it happens entirely or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum DiskOp {
    /// Store entries, first overwriting every stored entry at or after the first one's
    /// index (a new leader's log replacing a conflicting suffix).
    Append(Vec<Entry>),
    /// Replace the hard state.
    HardState(HardState),
    /// Install a snapshot received from the leader: it replaces the whole log, which
    /// then continues from the snapshot's index; the stored commit index and term are
    /// raised to at least the snapshot's.
    InstallSnapshot(Snapshot),
    /// Store a snapshot taken locally of the applied state; the log is kept. The
    /// stored commit index is raised to at least the snapshot's index.
    SaveSnapshot(Snapshot),
    /// Discard the entries up to and including this index (which must not be above
    /// the stored snapshot's index); the index and term of the last discarded entry
    /// are kept so the log still matches there.
    CompactTo(u64),
}

/// What a disk holds: hard state, latest snapshot and the log after the compaction point.
///
/// Invariants kept by [`LogState::apply`]: the entries are consecutive and start right
/// after the compaction point; the compaction point is at or below the snapshot's index;
/// the snapshot's index is at or below the last index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogState {
    hard_state: HardState,
    snapshot: Snapshot,
    /// Index and term of the entry just before `entries[0]`.
    compacted: (u64, u64),
    entries: Vec<Entry>,
}

impl LogState {
    /// The stored hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The latest snapshot (index 0 when there is none; its metadata's conf state is
    /// then the bootstrap membership, if any).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Index of the first entry available through [`LogState::entries`].
    pub fn first_index(&self) -> u64 {
        self.compacted.0 + 1
    }

    /// Index of the last entry (the compaction point when the log is empty).
    pub fn last_index(&self) -> u64 {
        self.compacted.0 + self.entries.len() as u64
    }

    /// Index and term of the last compacted entry (the entry just before
    /// [`LogState::first_index`]; `(0, 0)` before any compaction).
    pub fn compacted(&self) -> (u64, u64) {
        self.compacted
    }

    /// Every entry after the compaction point.
    pub fn retained_entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Rebuilds a state from its parts (as [`LogState::compacted`] and
    /// [`LogState::retained_entries`] give them), checking the invariants.
    #[cfg(not(madsim))]
    pub(crate) fn from_parts(
        hard_state: HardState,
        snapshot: Snapshot,
        compacted: (u64, u64),
        entries: Vec<Entry>,
    ) -> Result<Self, String> {
        let first = compacted.0 + 1;
        for (i, e) in entries.iter().enumerate() {
            if e.index != first + i as u64 {
                return Err(format!(
                    "entry {} where {} was expected",
                    e.index,
                    first + i as u64
                ));
            }
        }
        let state = Self {
            hard_state,
            snapshot,
            compacted,
            entries,
        };
        let snap_index = state.snapshot.get_metadata().index;
        if compacted.0 > snap_index || snap_index > state.last_index() {
            return Err(format!(
                "compaction point {} and snapshot {snap_index} disagree with last index {}",
                compacted.0,
                state.last_index()
            ));
        }
        Ok(state)
    }

    /// Replaces the stored snapshot's data (a file disk replays snapshot metadata from
    /// its log and loads the data of the latest snapshot last).
    #[cfg(not(madsim))]
    pub(crate) fn set_snapshot_data(&mut self, data: bytes::Bytes) {
        self.snapshot.data = data;
    }

    /// True when nothing was ever written.
    pub fn is_empty(&self) -> bool {
        *self == LogState::default()
    }

    /// The term of the entry at `index`, which may be the compaction point.
    ///
    /// # Errors
    ///
    /// [`StorageError::Compacted`] below the compaction point and
    /// [`StorageError::Unavailable`] above the last index.
    pub fn term(&self, index: u64) -> Result<u64, StorageError> {
        if index == self.compacted.0 {
            return Ok(self.compacted.1);
        }
        if index < self.compacted.0 {
            return Err(StorageError::Compacted);
        }
        self.entry(index)
            .map(|e| e.term)
            .ok_or(StorageError::Unavailable)
    }

    /// The entries in `[low, high)`, cut short once their encoded size passes
    /// `max_size` (but always at least one entry when the range is not empty).
    ///
    /// # Errors
    ///
    /// [`StorageError::Compacted`] if `low` is below [`LogState::first_index`], and
    /// [`StorageError::Unavailable`] if `high` is above `last_index + 1` or below `low`.
    pub fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: Option<u64>,
    ) -> Result<Vec<Entry>, StorageError> {
        if low < self.first_index() {
            return Err(StorageError::Compacted);
        }
        if high > self.last_index() + 1 || low > high {
            return Err(StorageError::Unavailable);
        }
        let start = (low - self.first_index()) as usize;
        let end = (high - self.first_index()) as usize;
        let mut out = Vec::with_capacity(end - start);
        let mut size = 0u64;
        for e in &self.entries[start..end] {
            size += u64::from(protobuf::Message::compute_size(e));
            if !out.is_empty() && max_size.is_some_and(|max| size > max) {
                break;
            }
            out.push(e.clone());
        }
        Ok(out)
    }

    fn entry(&self, index: u64) -> Option<&Entry> {
        let pos = index.checked_sub(self.first_index())?;
        self.entries.get(usize::try_from(pos).ok()?)
    }

    /// Applies one write.
    ///
    /// # Errors
    ///
    /// The [`DiskError`] that names the violated rule; the state is then unchanged.
    pub fn apply(&mut self, op: &DiskOp) -> Result<(), DiskError> {
        match op {
            DiskOp::Append(entries) => self.append(entries),
            DiskOp::HardState(hs) => {
                self.hard_state = hs.clone();
                Ok(())
            }
            DiskOp::InstallSnapshot(snap) => self.install_snapshot(snap),
            DiskOp::SaveSnapshot(snap) => self.save_snapshot(snap),
            DiskOp::CompactTo(index) => self.compact_to(*index),
        }
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), DiskError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        for pair in entries.windows(2) {
            if pair[1].index != pair[0].index + 1 {
                return Err(DiskError::NotContiguous {
                    index: pair[1].index,
                });
            }
        }
        if first.index <= self.compacted.0 {
            return Err(DiskError::Compacted {
                index: first.index,
                compacted: self.compacted.0,
            });
        }
        if first.index > self.last_index() + 1 {
            return Err(DiskError::Gap {
                first: first.index,
                last: self.last_index(),
            });
        }
        let keep = (first.index - self.first_index()) as usize;
        self.entries.truncate(keep);
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    fn check_newer(&self, snap: &Snapshot) -> Result<(), DiskError> {
        let (index, stored) = (
            snap.get_metadata().index,
            self.snapshot.get_metadata().index,
        );
        if index < stored {
            return Err(DiskError::SnapshotOutOfDate { index, stored });
        }
        Ok(())
    }

    fn raise_commit(&mut self, index: u64, term: u64) {
        self.hard_state.commit = self.hard_state.commit.max(index);
        self.hard_state.term = self.hard_state.term.max(term);
    }

    fn install_snapshot(&mut self, snap: &Snapshot) -> Result<(), DiskError> {
        self.check_newer(snap)?;
        let meta = snap.get_metadata();
        self.entries.clear();
        self.compacted = (meta.index, meta.term);
        self.raise_commit(meta.index, meta.term);
        self.snapshot = snap.clone();
        Ok(())
    }

    fn save_snapshot(&mut self, snap: &Snapshot) -> Result<(), DiskError> {
        self.check_newer(snap)?;
        let meta = snap.get_metadata();
        let log_term = self.term(meta.index).map_err(|_| DiskError::OutOfRange {
            index: meta.index,
            low: self.compacted.0,
            high: self.last_index(),
        })?;
        if log_term != meta.term {
            return Err(DiskError::TermMismatch {
                index: meta.index,
                term: meta.term,
                log_term,
            });
        }
        self.raise_commit(meta.index, 0);
        self.snapshot = snap.clone();
        Ok(())
    }

    fn compact_to(&mut self, index: u64) -> Result<(), DiskError> {
        if index <= self.compacted.0 {
            return Ok(());
        }
        let high = self.snapshot.get_metadata().index.min(self.last_index());
        if index > high {
            return Err(DiskError::OutOfRange {
                index,
                low: self.compacted.0,
                high,
            });
        }
        let term = self.term(index).map_err(|_| DiskError::OutOfRange {
            index,
            low: self.compacted.0,
            high,
        })?;
        let drop = (index - self.compacted.0) as usize;
        self.entries.drain(..drop);
        self.compacted = (index, term);
        Ok(())
    }
}

/// Stable storage for one Raft node. See the module docs for the durability contract.
pub trait Disk: Send + 'static {
    /// Runs `f` on the current contents (including writes not yet synced).
    fn read<R>(&self, f: impl FnOnce(&LogState) -> R) -> R;

    /// Performs one write; it is visible to [`Disk::read`] at once and durable after the
    /// next successful [`Disk::sync`].
    ///
    /// # Errors
    ///
    /// A [`DiskError`] if the write breaks a rule of [`DiskOp`] or the medium fails; the
    /// contents are then unchanged.
    fn write(&mut self, op: DiskOp) -> Result<(), DiskError>;

    /// Makes every earlier write durable.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] if the medium fails; nothing written since the previous sync is
    /// then known to be durable.
    fn sync(&mut self) -> Result<(), DiskError>;

    /// Called once when a node starts on this disk, before anything is read: the writes
    /// a previous incarnation made but never synced are gone now (a [`SimDisk`] drops
    /// them here if its owner did not already call [`SimDisk::crash`]).
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] if the medium fails.
    fn recover(&mut self) -> Result<(), DiskError>;
}

/// A disk that lives in memory and never loses anything (for unit tests).
#[derive(Debug, Clone, Default)]
pub struct MemDisk {
    state: LogState,
}

impl MemDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Disk for MemDisk {
    fn read<R>(&self, f: impl FnOnce(&LogState) -> R) -> R {
        f(&self.state)
    }

    fn write(&mut self, op: DiskOp) -> Result<(), DiskError> {
        self.state.apply(&op)
    }

    fn sync(&mut self) -> Result<(), DiskError> {
        Ok(())
    }

    fn recover(&mut self) -> Result<(), DiskError> {
        Ok(())
    }
}

/// Counters a [`SimDisk`] keeps for tests and reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimDiskStats {
    /// Writes accepted.
    pub writes: u64,
    /// Successful syncs.
    pub syncs: u64,
    /// Crashes (explicit or detected at recovery) that found unsynced writes.
    pub crashes: u64,
    /// Unsynced writes lost in crashes.
    pub lost_writes: u64,
}

#[derive(Debug, Default)]
struct SimDiskInner {
    durable: LogState,
    current: LogState,
    pending: Vec<DiskOp>,
    fail_io: bool,
    stats: SimDiskStats,
}

impl SimDiskInner {
    fn crash_keeping(&mut self, keep: usize) {
        let keep = keep.min(self.pending.len());
        let lost = self.pending.len() - keep;
        for op in self.pending.drain(..keep) {
            // Each op was valid on `current`, which started as `durable`, in this order.
            if let Err(e) = self.durable.apply(&op) {
                tracing::error!(error = %e, "sim disk: a kept unsynced write no longer applies");
            }
        }
        self.pending.clear();
        if lost > 0 {
            self.stats.crashes += 1;
            self.stats.lost_writes += lost as u64;
        }
        self.current = self.durable.clone();
    }
}

/// A simulated disk: a durable part and a pending part. Writes go to the pending part
/// (and are visible to reads), [`Disk::sync`] moves them to the durable part, and a
/// crash drops them.
///
/// Clones share the same contents: create the disk outside a madsim node's `init`
/// closure and give each incarnation of the node a clone, so that the contents survive
/// `Handle::kill` + `Handle::restart`. Call [`SimDisk::crash`] when killing the node (or
/// rely on [`Disk::recover`] at the next start to drop what was not synced).
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    inner: Arc<Mutex<SimDiskInner>>,
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, SimDiskInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Power loss: every write since the last successful sync is lost.
    pub fn crash(&self) {
        self.lock().crash_keeping(0);
    }

    /// Power loss that happened to persist the first `keep` unsynced writes (a disk may
    /// write back some of its cache before it dies); the rest are lost.
    pub fn crash_keeping(&self, keep: usize) {
        self.lock().crash_keeping(keep);
    }

    /// How many writes are not yet synced.
    pub fn pending_writes(&self) -> usize {
        self.lock().pending.len()
    }

    /// A copy of what would survive a crash now.
    pub fn durable(&self) -> LogState {
        self.lock().durable.clone()
    }

    /// Makes every later write and sync fail with [`DiskError::Io`] (or succeed again).
    pub fn set_fail_io(&self, fail: bool) {
        self.lock().fail_io = fail;
    }

    /// The disk's counters.
    pub fn stats(&self) -> SimDiskStats {
        self.lock().stats
    }
}

impl Disk for SimDisk {
    fn read<R>(&self, f: impl FnOnce(&LogState) -> R) -> R {
        f(&self.lock().current)
    }

    fn write(&mut self, op: DiskOp) -> Result<(), DiskError> {
        let mut inner = self.lock();
        if inner.fail_io {
            return Err(DiskError::Io("injected write failure".into()));
        }
        inner.current.apply(&op)?;
        inner.pending.push(op);
        inner.stats.writes += 1;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), DiskError> {
        let mut inner = self.lock();
        if inner.fail_io {
            return Err(DiskError::Io("injected sync failure".into()));
        }
        let n = inner.pending.len();
        inner.crash_keeping(n);
        inner.stats.syncs += 1;
        Ok(())
    }

    fn recover(&mut self) -> Result<(), DiskError> {
        self.crash();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: vec![index as u8; 4].into(),
            ..Default::default()
        }
    }

    fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
        range.map(|i| entry(i, term)).collect()
    }

    fn hs(term: u64, vote: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote,
            commit,
            ..Default::default()
        }
    }

    fn snapshot(index: u64, term: u64, voters: Vec<u64>) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = term;
        s.mut_metadata().mut_conf_state().voters = voters;
        s.data = vec![1, 2, 3].into();
        s
    }

    #[test]
    fn append_overwrites_suffix_and_rejects_gaps() {
        let mut d = MemDisk::new();
        d.write(DiskOp::Append(entries(1..=5, 1))).unwrap();
        assert_eq!(d.read(|s| s.last_index()), 5);
        d.write(DiskOp::Append(entries(3..=4, 2))).unwrap();
        assert_eq!(d.read(|s| s.last_index()), 4);
        assert_eq!(d.read(|s| s.term(3)), Ok(2));
        assert_eq!(d.read(|s| s.term(2)), Ok(1));
        assert_eq!(
            d.write(DiskOp::Append(entries(7..=7, 2))),
            Err(DiskError::Gap { first: 7, last: 4 })
        );
        let bad = vec![entry(5, 2), entry(7, 2)];
        assert_eq!(
            d.write(DiskOp::Append(bad)),
            Err(DiskError::NotContiguous { index: 7 })
        );
        assert_eq!(d.read(|s| s.last_index()), 4);
        d.write(DiskOp::Append(vec![])).unwrap();
        assert_eq!(d.read(|s| s.last_index()), 4);
    }

    #[test]
    fn entries_ranges_and_errors() {
        let mut d = MemDisk::new();
        d.write(DiskOp::Append(entries(1..=10, 1))).unwrap();
        d.write(DiskOp::SaveSnapshot(snapshot(6, 1, vec![1])))
            .unwrap();
        d.write(DiskOp::CompactTo(4)).unwrap();
        d.read(|s| {
            assert_eq!(s.first_index(), 5);
            assert_eq!(s.last_index(), 10);
            assert_eq!(s.term(4), Ok(1));
            assert_eq!(s.term(3), Err(StorageError::Compacted));
            assert_eq!(s.term(11), Err(StorageError::Unavailable));
            assert_eq!(s.entries(4, 6, None), Err(StorageError::Compacted));
            assert_eq!(s.entries(5, 12, None), Err(StorageError::Unavailable));
            assert_eq!(s.entries(7, 6, None), Err(StorageError::Unavailable));
            let got: Vec<u64> = s
                .entries(5, 11, None)
                .unwrap()
                .iter()
                .map(|e| e.index)
                .collect();
            assert_eq!(got, vec![5, 6, 7, 8, 9, 10]);
            assert!(s.entries(7, 7, None).unwrap().is_empty());
            // A size limit of zero still returns one entry.
            assert_eq!(s.entries(5, 11, Some(0)).unwrap().len(), 1);
            let one = u64::from(protobuf::Message::compute_size(&entry(5, 1)));
            assert_eq!(s.entries(5, 11, Some(2 * one)).unwrap().len(), 2);
        });
    }

    #[test]
    fn compaction_is_bounded_by_the_snapshot() {
        let mut d = MemDisk::new();
        d.write(DiskOp::Append(entries(1..=10, 1))).unwrap();
        assert!(matches!(
            d.write(DiskOp::CompactTo(3)),
            Err(DiskError::OutOfRange { index: 3, .. })
        ));
        d.write(DiskOp::SaveSnapshot(snapshot(5, 1, vec![1])))
            .unwrap();
        assert!(d.write(DiskOp::CompactTo(6)).is_err());
        d.write(DiskOp::CompactTo(5)).unwrap();
        // Compacting below the compaction point is a no-op.
        d.write(DiskOp::CompactTo(2)).unwrap();
        assert_eq!(d.read(|s| s.first_index()), 6);
        assert_eq!(d.read(|s| s.hard_state().commit), 5);
        assert_eq!(
            d.write(DiskOp::Append(entries(5..=6, 2))),
            Err(DiskError::Compacted {
                index: 5,
                compacted: 5
            })
        );
    }

    #[test]
    fn local_snapshot_must_match_the_log() {
        let mut d = MemDisk::new();
        d.write(DiskOp::Append(entries(1..=4, 2))).unwrap();
        assert_eq!(
            d.write(DiskOp::SaveSnapshot(snapshot(3, 1, vec![1]))),
            Err(DiskError::TermMismatch {
                index: 3,
                term: 1,
                log_term: 2
            })
        );
        assert!(matches!(
            d.write(DiskOp::SaveSnapshot(snapshot(9, 2, vec![1]))),
            Err(DiskError::OutOfRange { index: 9, .. })
        ));
        d.write(DiskOp::SaveSnapshot(snapshot(4, 2, vec![1])))
            .unwrap();
        assert_eq!(
            d.write(DiskOp::SaveSnapshot(snapshot(3, 2, vec![1]))),
            Err(DiskError::SnapshotOutOfDate {
                index: 3,
                stored: 4
            })
        );
    }

    #[test]
    fn install_snapshot_replaces_the_log() {
        let mut d = MemDisk::new();
        d.write(DiskOp::Append(entries(1..=4, 1))).unwrap();
        d.write(DiskOp::HardState(hs(1, 1, 2))).unwrap();
        d.write(DiskOp::InstallSnapshot(snapshot(20, 3, vec![1, 2])))
            .unwrap();
        d.read(|s| {
            assert_eq!(s.first_index(), 21);
            assert_eq!(s.last_index(), 20);
            assert_eq!(s.term(20), Ok(3));
            assert_eq!(s.hard_state().commit, 20);
            assert_eq!(s.hard_state().term, 3);
            assert_eq!(
                s.snapshot().get_metadata().get_conf_state().voters,
                vec![1, 2]
            );
        });
        d.write(DiskOp::Append(entries(21..=22, 3))).unwrap();
        assert_eq!(
            d.write(DiskOp::InstallSnapshot(snapshot(10, 3, vec![1]))),
            Err(DiskError::SnapshotOutOfDate {
                index: 10,
                stored: 20
            })
        );
    }

    #[test]
    fn sim_disk_crash_drops_unsynced_writes() {
        let disk = SimDisk::new();
        let mut d = disk.clone();
        d.write(DiskOp::Append(entries(1..=3, 1))).unwrap();
        d.write(DiskOp::HardState(hs(1, 2, 1))).unwrap();
        d.sync().unwrap();
        d.write(DiskOp::Append(entries(4..=6, 1))).unwrap();
        d.write(DiskOp::HardState(hs(2, 3, 5))).unwrap();
        // Unsynced writes are readable...
        assert_eq!(d.read(|s| s.last_index()), 6);
        assert_eq!(disk.pending_writes(), 2);
        assert_eq!(disk.durable().last_index(), 3);
        // ...but a crash loses them, and a clone sees the same contents.
        disk.crash();
        assert_eq!(d.read(|s| s.last_index()), 3);
        assert_eq!(d.read(|s| s.hard_state().clone()), hs(1, 2, 1));
        assert_eq!(disk.stats().lost_writes, 2);
        assert_eq!(disk.stats().crashes, 1);
        // A crash with nothing pending is not counted.
        disk.crash();
        assert_eq!(disk.stats().crashes, 1);
    }

    #[test]
    fn sim_disk_crash_keeping_a_prefix() {
        let disk = SimDisk::new();
        let mut d = disk.clone();
        d.write(DiskOp::Append(entries(1..=3, 1))).unwrap();
        d.write(DiskOp::HardState(hs(1, 2, 3))).unwrap();
        d.write(DiskOp::Append(entries(4..=4, 1))).unwrap();
        disk.crash_keeping(1);
        assert_eq!(d.read(|s| s.last_index()), 3);
        assert_eq!(d.read(|s| s.hard_state().clone()), HardState::default());
        assert_eq!(disk.stats().lost_writes, 2);
    }

    #[test]
    fn sim_disk_recover_drops_what_a_dead_incarnation_left_pending() {
        let disk = SimDisk::new();
        let mut first = disk.clone();
        first.write(DiskOp::Append(entries(1..=2, 1))).unwrap();
        first.sync().unwrap();
        first.write(DiskOp::Append(entries(3..=3, 1))).unwrap();
        drop(first);
        let mut second = disk.clone();
        second.recover().unwrap();
        assert_eq!(second.read(|s| s.last_index()), 2);
        assert_eq!(disk.stats().syncs, 1);
    }

    #[test]
    fn sim_disk_injected_failures() {
        let disk = SimDisk::new();
        let mut d = disk.clone();
        d.write(DiskOp::Append(entries(1..=1, 1))).unwrap();
        disk.set_fail_io(true);
        assert!(matches!(d.sync(), Err(DiskError::Io(_))));
        assert!(matches!(
            d.write(DiskOp::Append(entries(2..=2, 1))),
            Err(DiskError::Io(_))
        ));
        disk.set_fail_io(false);
        d.sync().unwrap();
        assert_eq!(disk.durable().last_index(), 1);
        // A rejected write is not recorded as pending.
        assert!(d.write(DiskOp::Append(entries(5..=5, 1))).is_err());
        assert_eq!(disk.pending_writes(), 0);
    }
}
