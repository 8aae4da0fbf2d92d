//! raft-rs's [`Storage`] over a [`Disk`], plus log compaction.
//!
//! [`DiskStorage`] answers raft-rs's reads (hard state, membership, entries, terms,
//! first/last index, snapshot) from the disk's current contents, and is what the node
//! driver writes a `Ready` through. Compaction follows etcd: once more than
//! `snapshot_count` entries were applied since the last snapshot, the state machine is
//! snapshotted at the applied index and the log is cut `catch_up_entries` below it, so
//! that a slightly slow follower can still catch up from the log.

use super::disk::{Disk, DiskError, DiskOp};
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

/// When to snapshot and how much log to keep (etcd's `--snapshot-count` and its
/// fixed 5000 catch-up entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Snapshot once more than this many entries were applied since the last snapshot.
    pub snapshot_count: u64,
    /// Entries kept below the snapshot's index for followers that are a little behind.
    pub catch_up_entries: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            snapshot_count: 10_000,
            catch_up_entries: 5_000,
        }
    }
}

/// What a new cluster's members start from, identical on each: the initial membership,
/// and the log entries that record it (etcd writes one committed `ConfChangeAddNode`
/// entry per initial member, so that a member joining later learns the whole
/// membership by replaying the log). The entries are stored as committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// The initial membership.
    pub conf_state: ConfState,
    /// Consecutive entries from index 1, recording that membership.
    pub entries: Vec<Entry>,
}

/// raft-rs storage on a [`Disk`].
///
/// Reads see every write made through it, synced or not (raft-rs relies on that
/// between handling a `Ready` and advancing it).
#[derive(Debug)]
pub struct DiskStorage<D> {
    disk: D,
}

impl<D: Disk> DiskStorage<D> {
    /// Opens storage on `disk`. First lets the disk [recover](Disk::recover) (dropping
    /// writes a previous incarnation never synced); then, if the disk holds nothing and
    /// `bootstrap` is given, writes the initial membership and log and syncs them. A
    /// disk that holds nothing and gets no `bootstrap` starts a node that joins an
    /// existing cluster (it learns the membership from the leader's log or snapshot).
    ///
    /// # Errors
    ///
    /// The disk's error if recovery or the bootstrap writes fail.
    pub fn open(mut disk: D, bootstrap: Option<Bootstrap>) -> Result<Self, DiskError> {
        disk.recover()?;
        let bootstrap = bootstrap.filter(|_| disk.read(|s| s.is_empty()));
        if let Some(b) = bootstrap {
            let mut snap = Snapshot::default();
            snap.mut_metadata().set_conf_state(b.conf_state);
            disk.write(DiskOp::SaveSnapshot(snap))?;
            if let Some(last) = b.entries.last() {
                let hs = HardState {
                    term: last.term,
                    commit: last.index,
                    ..Default::default()
                };
                disk.write(DiskOp::Append(b.entries.clone()))?;
                disk.write(DiskOp::HardState(hs))?;
            }
            disk.sync()?;
        }
        Ok(Self { disk })
    }

    /// The disk.
    pub fn disk(&self) -> &D {
        &self.disk
    }

    /// The stored hard state.
    pub fn hard_state(&self) -> HardState {
        self.disk.read(|s| s.hard_state().clone())
    }

    /// The metadata of the latest snapshot (index 0 when there is none).
    pub fn snapshot_metadata(&self) -> SnapshotMetadata {
        self.disk.read(|s| s.snapshot().get_metadata().clone())
    }

    /// The latest snapshot, data included.
    pub fn latest_snapshot(&self) -> Snapshot {
        self.disk.read(|s| s.snapshot().clone())
    }

    /// Stores entries, overwriting any conflicting suffix.
    ///
    /// # Errors
    ///
    /// See [`DiskOp::Append`] and [`Disk::write`].
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), DiskError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.disk.write(DiskOp::Append(entries.to_vec()))
    }

    /// Stores a hard state.
    ///
    /// # Errors
    ///
    /// See [`Disk::write`].
    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<(), DiskError> {
        self.disk.write(DiskOp::HardState(hs.clone()))
    }

    /// Raises the stored commit index (the only change a `LightReady` brings; it need
    /// not be synced: a lost commit index is recovered from the leader).
    ///
    /// # Errors
    ///
    /// See [`Disk::write`].
    pub fn set_commit(&mut self, commit: u64) -> Result<(), DiskError> {
        let mut hs = self.hard_state();
        if commit <= hs.commit {
            return Ok(());
        }
        hs.commit = commit;
        self.disk.write(DiskOp::HardState(hs))
    }

    /// Installs a snapshot received from the leader (replacing the log).
    ///
    /// # Errors
    ///
    /// See [`DiskOp::InstallSnapshot`] and [`Disk::write`].
    pub fn install_snapshot(&mut self, snap: &Snapshot) -> Result<(), DiskError> {
        self.disk.write(DiskOp::InstallSnapshot(snap.clone()))
    }

    /// Makes every earlier write durable.
    ///
    /// # Errors
    ///
    /// See [`Disk::sync`].
    pub fn sync(&mut self) -> Result<(), DiskError> {
        self.disk.sync()
    }

    /// Snapshots and compacts if `policy` says it is time: when more than
    /// `snapshot_count` entries were applied since the stored snapshot, stores a snapshot
    /// at `applied` with membership `conf_state` and data `data()`, cuts the log at
    /// `applied - catch_up_entries`, and syncs. Returns the new snapshot's index, or
    /// `None` when it was not time.
    ///
    /// `applied` must be an index this node has applied (so at or below the commit index
    /// and present in the log).
    ///
    /// # Errors
    ///
    /// [`DiskError::OutOfRange`] if `applied` is not in the log, or the disk's error.
    pub fn maybe_compact(
        &mut self,
        applied: u64,
        conf_state: &ConfState,
        policy: &CompactionPolicy,
        data: impl FnOnce() -> Vec<u8>,
    ) -> Result<Option<u64>, DiskError> {
        let (snap_index, compacted, last, term) = self.disk.read(|s| {
            (
                s.snapshot().get_metadata().index,
                s.first_index() - 1,
                s.last_index(),
                s.term(applied),
            )
        });
        if applied <= snap_index || applied - snap_index <= policy.snapshot_count {
            return Ok(None);
        }
        let term = term.map_err(|_| DiskError::OutOfRange {
            index: applied,
            low: compacted,
            high: last,
        })?;
        let mut snap = Snapshot {
            data: data().into(),
            ..Default::default()
        };
        let meta = snap.mut_metadata();
        meta.index = applied;
        meta.term = term;
        meta.set_conf_state(conf_state.clone());
        self.disk.write(DiskOp::SaveSnapshot(snap))?;
        let cut = applied.saturating_sub(policy.catch_up_entries);
        if cut > compacted {
            self.disk.write(DiskOp::CompactTo(cut))?;
        }
        self.disk.sync()?;
        Ok(Some(applied))
    }
}

fn store_err(e: StorageError) -> raft::Error {
    raft::Error::Store(e)
}

impl<D: Disk> Storage for DiskStorage<D> {
    /// The stored hard state, and the membership recorded with the latest snapshot (or
    /// at bootstrap). Membership changes after the snapshot are re-applied from the log.
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(self.disk.read(|s| {
            RaftState::new(
                s.hard_state().clone(),
                s.snapshot().get_metadata().get_conf_state().clone(),
            )
        }))
    }

    /// Entries in `[low, high)`, limited by `max_size` (at least one entry).
    ///
    /// Unlike raft-rs's `MemStorage` this never panics: a `high` beyond
    /// `last_index + 1` is [`StorageError::Unavailable`]; a `low` below the first
    /// index is [`StorageError::Compacted`].
    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let max_size = max_size.into();
        self.disk
            .read(|s| s.entries(low, high, max_size))
            .map_err(store_err)
    }

    /// The term at `idx` (`first_index - 1` included).
    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.disk.read(|s| s.term(idx)).map_err(store_err)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.disk.read(|s| s.first_index()))
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.disk.read(|s| s.last_index()))
    }

    /// The latest stored snapshot; [`StorageError::SnapshotTemporarilyUnavailable`] if
    /// there is none yet or it is older than `request_index` (raft-rs retries later).
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        self.disk.read(|s| {
            let index = s.snapshot().get_metadata().index;
            if index == 0 || index < request_index {
                Err(store_err(StorageError::SnapshotTemporarilyUnavailable))
            } else {
                Ok(s.snapshot().clone())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::disk::{MemDisk, SimDisk};

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            ..Default::default()
        }
    }

    fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
        range.map(|i| entry(i, term)).collect()
    }

    fn voters(v: &[u64]) -> ConfState {
        ConfState::from((v.to_vec(), Vec::<u64>::new()))
    }

    fn boot(v: &[u64]) -> Option<Bootstrap> {
        Some(Bootstrap {
            conf_state: voters(v),
            entries: vec![],
        })
    }

    fn ctx() -> GetEntriesContext {
        GetEntriesContext::empty(false)
    }

    #[test]
    fn bootstrap_records_membership_once() {
        let s = DiskStorage::open(MemDisk::new(), boot(&[1, 2, 3])).unwrap();
        let st = s.initial_state().unwrap();
        assert_eq!(st.conf_state.voters, vec![1, 2, 3]);
        assert!(st.initialized());
        assert_eq!(s.first_index().unwrap(), 1);
        assert_eq!(s.last_index().unwrap(), 0);
        assert_eq!(s.term(0).unwrap(), 0);
        // An index-0 snapshot is not a snapshot raft can send.
        assert_eq!(
            s.snapshot(0, 2),
            Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable
            ))
        );
        // Re-opening a non-empty disk ignores the bootstrap.
        let disk = s.disk().clone();
        let s = DiskStorage::open(disk, boot(&[9])).unwrap();
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
    }

    #[test]
    fn bootstrap_entries_are_stored_committed() {
        let b = Bootstrap {
            conf_state: voters(&[1, 2]),
            entries: entries(1..=2, 1),
        };
        let s = DiskStorage::open(SimDisk::new(), Some(b)).unwrap();
        assert_eq!(s.disk().pending_writes(), 0);
        let st = s.initial_state().unwrap();
        assert_eq!(st.hard_state.commit, 2);
        assert_eq!(st.hard_state.term, 1);
        assert_eq!(s.last_index().unwrap(), 2);
        assert_eq!(s.term(2).unwrap(), 1);
    }

    #[test]
    fn joining_node_starts_uninitialized() {
        let s = DiskStorage::open(MemDisk::new(), None).unwrap();
        assert!(!s.initial_state().unwrap().initialized());
    }

    #[test]
    fn storage_reads_and_errors() {
        let mut s = DiskStorage::open(MemDisk::new(), boot(&[1])).unwrap();
        s.append(&entries(1..=5, 1)).unwrap();
        s.append(&entries(6..=8, 2)).unwrap();
        assert_eq!(s.last_index().unwrap(), 8);
        assert_eq!(s.term(6).unwrap(), 2);
        assert_eq!(
            s.term(9),
            Err(raft::Error::Store(StorageError::Unavailable))
        );
        let got = s.entries(2, 7, None, ctx()).unwrap();
        assert_eq!(
            got.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6]
        );
        assert_eq!(
            s.entries(2, 10, None, ctx()),
            Err(raft::Error::Store(StorageError::Unavailable))
        );
        s.set_hard_state(&HardState {
            term: 2,
            vote: 1,
            commit: 3,
            ..Default::default()
        })
        .unwrap();
        s.set_commit(6).unwrap();
        s.set_commit(4).unwrap();
        assert_eq!(s.initial_state().unwrap().hard_state.commit, 6);
        assert_eq!(s.initial_state().unwrap().hard_state.vote, 1);
    }

    #[test]
    fn compaction_follows_snapshot_count_and_keeps_catch_up_entries() {
        let policy = CompactionPolicy {
            snapshot_count: 10,
            catch_up_entries: 4,
        };
        let mut s = DiskStorage::open(MemDisk::new(), boot(&[1, 2])).unwrap();
        s.append(&entries(1..=30, 1)).unwrap();
        let cs = voters(&[1, 2, 3]);
        // 10 applied entries are not more than snapshot_count: nothing happens.
        let mut called = false;
        let r = s.maybe_compact(10, &cs, &policy, || {
            called = true;
            vec![]
        });
        assert_eq!(r, Ok(None));
        assert!(!called);
        assert_eq!(
            s.maybe_compact(11, &cs, &policy, || b"at11".to_vec()),
            Ok(Some(11))
        );
        assert_eq!(s.first_index().unwrap(), 8);
        assert_eq!(s.term(7).unwrap(), 1);
        assert_eq!(
            s.entries(6, 9, None, ctx()),
            Err(raft::Error::Store(StorageError::Compacted))
        );
        assert_eq!(s.term(6), Err(raft::Error::Store(StorageError::Compacted)));
        let snap = s.snapshot(0, 2).unwrap();
        assert_eq!(snap.get_metadata().index, 11);
        assert_eq!(snap.get_metadata().term, 1);
        assert_eq!(&snap.data[..], b"at11");
        assert_eq!(snap.get_metadata().get_conf_state().voters, vec![1, 2, 3]);
        // The membership of a restarted node comes from the snapshot.
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
        assert_eq!(s.initial_state().unwrap().hard_state.commit, 11);
        // A snapshot older than what a follower asks for is not offered.
        assert!(s.snapshot(12, 2).is_err());
        // The next snapshot is due 10 entries later.
        assert_eq!(s.maybe_compact(21, &cs, &policy, Vec::new), Ok(None));
        assert_eq!(s.maybe_compact(22, &cs, &policy, Vec::new), Ok(Some(22)));
        assert_eq!(s.first_index().unwrap(), 19);
        // Applied beyond the log is refused.
        assert!(matches!(
            s.maybe_compact(40, &cs, &policy, Vec::new),
            Err(DiskError::OutOfRange { index: 40, .. })
        ));
    }

    #[test]
    fn compaction_is_synced_and_survives_a_crash() {
        let policy = CompactionPolicy {
            snapshot_count: 2,
            catch_up_entries: 0,
        };
        let disk = SimDisk::new();
        let mut s = DiskStorage::open(disk.clone(), boot(&[1])).unwrap();
        s.append(&entries(1..=5, 1)).unwrap();
        s.maybe_compact(5, &voters(&[1]), &policy, || vec![7])
            .unwrap();
        s.append(&entries(6..=6, 1)).unwrap();
        disk.crash();
        let s = DiskStorage::open(disk, None).unwrap();
        assert_eq!(s.last_index().unwrap(), 5);
        assert_eq!(s.first_index().unwrap(), 6);
        assert_eq!(&s.snapshot(0, 1).unwrap().data[..], &[7]);
    }

    #[test]
    fn installed_snapshot_replaces_log() {
        let mut s = DiskStorage::open(MemDisk::new(), None).unwrap();
        let mut snap = Snapshot {
            data: vec![1].into(),
            ..Default::default()
        };
        snap.mut_metadata().index = 50;
        snap.mut_metadata().term = 4;
        snap.mut_metadata().set_conf_state(voters(&[1, 2, 3]));
        s.install_snapshot(&snap).unwrap();
        assert_eq!(s.first_index().unwrap(), 51);
        assert_eq!(s.last_index().unwrap(), 50);
        assert_eq!(s.term(50).unwrap(), 4);
        assert_eq!(s.hard_state().commit, 50);
        assert_eq!(s.snapshot(0, 1).unwrap(), snap);
        s.append(&entries(51..=52, 4)).unwrap();
        assert_eq!(s.last_index().unwrap(), 52);
    }
}
