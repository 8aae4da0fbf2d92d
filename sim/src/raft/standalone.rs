//! etcd's `--force-new-cluster` on a node's disk (etcd's `restartAsStandaloneNode`):
//! before the node starts, the entries it never saw committed are dropped, and
//! conf changes are appended that leave this node the only member: first adding
//! itself as a voter when it is not one, then removing every other member. The
//! new entries are stored as committed, so the node applies them at once when
//! it starts (its state machine drops the other members as for any removal)
//! and, the only voter left, elects itself. Every applied write is kept.
//!
//! The membership is read as etcd reads it: the stored snapshot's membership,
//! then every conf change in the committed log after it. Unlike etcd, which
//! counts only the snapshot's voters and keeps a learner self a learner, learners
//! count as members here, and a learner self is promoted, so the cluster that
//! results always has a voter.

use super::disk::{Disk, DiskError, DiskOp};
use super::membership::{ChangeKind, MembershipChange, changes_of};
use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeSingle, ConfChangeV2, Entry, EntryType};
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// What forcing a new cluster did to a disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standalone {
    /// Uncommitted entries dropped from the log.
    pub discarded: u64,
    /// The members the log named (voters and learners), before the change.
    pub members: Vec<u64>,
    /// Whether this node was added (or promoted) as a voter.
    pub added_self: bool,
    /// The members removed.
    pub removed: Vec<u64>,
    /// The new commit index (the last appended entry).
    pub commit: u64,
}

/// Why a disk could not be turned into a one-member cluster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StandaloneError {
    /// The disk refused a write.
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// A committed conf change could not be read.
    #[error("force-new-cluster: undecodable conf change at index {index}: {reason}")]
    Decode {
        /// Its index.
        index: u64,
        /// The decoder's message.
        reason: String,
    },
    /// The conf change entries could not be encoded.
    #[error("force-new-cluster: cannot encode a conf change: {0}")]
    Encode(String),
}

/// Makes `disk` hold a one-member cluster of node `id` (see the module docs);
/// `own_addr` is recorded with a self-addition. Returns `None` for an empty disk
/// (nothing to restart: etcd ignores the flag for a new member), else what was
/// done. Synced before it returns.
///
/// # Errors
///
/// [`StandaloneError`].
pub fn force_standalone<D: Disk>(
    disk: &mut D,
    id: u64,
    own_addr: Option<SocketAddr>,
) -> Result<Option<Standalone>, StandaloneError> {
    if disk.read(|s| s.is_empty()) {
        return Ok(None);
    }
    let (hs, snap_index, mut voters, mut learners, last, committed) = disk.read(|s| {
        let meta = s.snapshot().get_metadata();
        let cs = meta.get_conf_state();
        let committed: Vec<Entry> = s
            .retained_entries()
            .iter()
            .filter(|e| e.index > meta.index && e.index <= s.hard_state().commit)
            .cloned()
            .collect();
        (
            s.hard_state().clone(),
            meta.index,
            cs.voters.iter().copied().collect::<BTreeSet<u64>>(),
            cs.learners.iter().copied().collect::<BTreeSet<u64>>(),
            s.last_index(),
            committed,
        )
    });
    for e in &committed {
        let cc = match e.get_entry_type() {
            EntryType::EntryNormal => continue,
            EntryType::EntryConfChange => ConfChange::parse_from_bytes(&e.data).map(|v1| {
                let mut single = ConfChangeSingle::default();
                single.set_change_type(v1.get_change_type());
                single.node_id = v1.node_id;
                let mut v2 = ConfChangeV2::default();
                v2.set_changes(vec![single].into());
                v2
            }),
            EntryType::EntryConfChangeV2 => ConfChangeV2::parse_from_bytes(&e.data),
        }
        .map_err(|err| StandaloneError::Decode {
            index: e.index,
            reason: err.to_string(),
        })?;
        for (kind, node) in changes_of(&cc) {
            match kind {
                ChangeKind::AddVoter => {
                    learners.remove(&node);
                    voters.insert(node);
                }
                ChangeKind::AddLearner => {
                    voters.remove(&node);
                    learners.insert(node);
                }
                ChangeKind::Remove => {
                    voters.remove(&node);
                    learners.remove(&node);
                }
            }
        }
    }
    let members: BTreeSet<u64> = voters.union(&learners).copied().collect();
    let mut changes = Vec::new();
    // Self first: Raft refuses a membership without voters.
    let added_self = !voters.contains(&id);
    if added_self {
        changes.push(MembershipChange {
            kind: ChangeKind::AddVoter,
            node_id: id,
            peer_addr: own_addr,
            context: Vec::new(),
        });
    }
    let removed: Vec<u64> = members.iter().copied().filter(|&m| m != id).collect();
    changes.extend(removed.iter().map(|&m| MembershipChange {
        kind: ChangeKind::Remove,
        node_id: m,
        peer_addr: None,
        context: Vec::new(),
    }));
    let commit = hs.commit.max(snap_index);
    let entries: Vec<Entry> = changes
        .iter()
        .zip(commit + 1..)
        .map(|(change, index)| {
            let data = change
                .to_conf_change()
                .write_to_bytes()
                .map_err(|e| StandaloneError::Encode(e.to_string()))?;
            let mut e = Entry {
                term: hs.term,
                index,
                data: data.into(),
                ..Default::default()
            };
            e.set_entry_type(EntryType::EntryConfChangeV2);
            Ok(e)
        })
        .collect::<Result<_, StandaloneError>>()?;
    let discarded = last.saturating_sub(commit);
    let new_commit = entries.last().map_or(commit, |e| e.index);
    if entries.is_empty() {
        // Already alone: only the uncommitted tail goes (an empty append at the
        // commit index + 1 cannot express that, so rewrite the committed tail).
        if discarded > 0 {
            let tail: Vec<Entry> = disk.read(|s| {
                s.retained_entries()
                    .iter()
                    .filter(|e| e.index == commit)
                    .cloned()
                    .collect()
            });
            if tail.is_empty() {
                // The commit index is the compaction point: nothing to rewrite
                // from; the uncommitted entries stay (Raft may still drop them).
                tracing::warn!(
                    commit,
                    "force-new-cluster: uncommitted entries after the compaction point kept"
                );
            } else {
                disk.write(DiskOp::Append(tail))?;
            }
        }
    } else {
        disk.write(DiskOp::Append(entries))?;
    }
    let mut hs = hs;
    hs.commit = new_commit;
    disk.write(DiskOp::HardState(hs))?;
    disk.sync()?;
    Ok(Some(Standalone {
        discarded,
        members: members.into_iter().collect(),
        added_self,
        removed,
        commit: new_commit,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::disk::MemDisk;
    use crate::raft::membership::bootstrap_entries;
    use raft::eraftpb::{ConfState, HardState, Snapshot};

    /// A disk bootstrapped with `ids` (entries 1..=n) plus `normal` normal entries
    /// in term 2, of which the first `committed` are committed.
    fn disk(ids: &[u64], normal: u64, committed: u64) -> MemDisk {
        let mut d = MemDisk::new();
        let mut snap = Snapshot::default();
        snap.mut_metadata()
            .set_conf_state(ConfState::from((ids.to_vec(), Vec::<u64>::new())));
        d.write(DiskOp::SaveSnapshot(snap)).unwrap();
        let members: Vec<_> = ids.iter().map(|&i| (i, None)).collect();
        let mut entries = bootstrap_entries(&members).unwrap();
        let n = entries.len() as u64;
        entries.extend((1..=normal).map(|i| Entry {
            term: 2,
            index: n + i,
            data: vec![1].into(),
            ..Default::default()
        }));
        d.write(DiskOp::Append(entries)).unwrap();
        d.write(DiskOp::HardState(HardState {
            term: 2,
            vote: 1,
            commit: n + committed,
            ..Default::default()
        }))
        .unwrap();
        d
    }

    fn conf_changes(d: &MemDisk, from: u64) -> Vec<(ChangeKind, u64)> {
        d.read(|s| {
            s.retained_entries()
                .iter()
                .filter(|e| e.index >= from)
                .flat_map(|e| changes_of(&ConfChangeV2::parse_from_bytes(&e.data).unwrap()))
                .collect()
        })
    }

    #[test]
    fn drops_the_uncommitted_tail_and_every_other_member() {
        let mut d = disk(&[1, 2, 3], 5, 3);
        let r = force_standalone(&mut d, 2, None).unwrap().unwrap();
        assert_eq!(
            r,
            Standalone {
                discarded: 2,
                members: vec![1, 2, 3],
                added_self: false,
                removed: vec![1, 3],
                commit: 8,
            }
        );
        // 3 bootstrap entries, 3 committed writes, then the two removals.
        assert_eq!(d.read(|s| s.last_index()), 8);
        assert_eq!(d.read(|s| s.hard_state().commit), 8);
        assert_eq!(d.read(|s| s.hard_state().term), 2);
        assert_eq!(
            conf_changes(&d, 7),
            vec![(ChangeKind::Remove, 1), (ChangeKind::Remove, 3)]
        );
        d.read(|s| assert!(s.retained_entries().iter().all(|e| e.term <= 2)));
    }

    #[test]
    fn later_conf_changes_count_and_a_missing_self_is_added_first() {
        let mut d = disk(&[1, 2, 3], 0, 0);
        // Member 3 removed, learner 4 added, both committed.
        let extra: Vec<Entry> = [(ChangeKind::Remove, 3), (ChangeKind::AddLearner, 4)]
            .iter()
            .zip(4u64..)
            .map(|(&(kind, node_id), index)| {
                let cc = MembershipChange {
                    kind,
                    node_id,
                    peer_addr: None,
                    context: Vec::new(),
                }
                .to_conf_change();
                let mut e = Entry {
                    term: 2,
                    index,
                    data: cc.write_to_bytes().unwrap().into(),
                    ..Default::default()
                };
                e.set_entry_type(EntryType::EntryConfChangeV2);
                e
            })
            .collect();
        d.write(DiskOp::Append(extra)).unwrap();
        let mut hs = d.read(|s| s.hard_state().clone());
        hs.commit = 5;
        d.write(DiskOp::HardState(hs)).unwrap();
        let r = force_standalone(&mut d, 4, None).unwrap().unwrap();
        assert_eq!(r.members, vec![1, 2, 4]);
        assert!(r.added_self, "a learner self is promoted");
        assert_eq!(
            conf_changes(&d, 6),
            vec![
                (ChangeKind::AddVoter, 4),
                (ChangeKind::Remove, 1),
                (ChangeKind::Remove, 2)
            ]
        );
        assert_eq!(r.commit, 8);
    }

    #[test]
    fn an_empty_disk_is_left_alone_and_a_lone_member_keeps_its_log() {
        let mut empty = MemDisk::new();
        assert_eq!(force_standalone(&mut empty, 1, None).unwrap(), None);
        let mut d = disk(&[1], 3, 3);
        let r = force_standalone(&mut d, 1, None).unwrap().unwrap();
        assert_eq!((r.removed.len(), r.discarded, r.commit), (0, 0, 4));
        assert_eq!(d.read(|s| s.last_index()), 4);
        let mut d = disk(&[1], 3, 1);
        let r = force_standalone(&mut d, 1, None).unwrap().unwrap();
        assert_eq!((r.discarded, r.commit), (2, 2));
        assert_eq!(d.read(|s| s.last_index()), 2);
    }
}
