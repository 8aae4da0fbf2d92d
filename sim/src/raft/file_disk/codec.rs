//! The payloads of WAL records: one [`DiskOp`] each (snapshots by reference to their
//! file), or a checkpoint of the whole state that starts every segment.
//!
//! Raft's messages (entries, hard state, snapshot metadata) are encoded with raft-rs's
//! protobuf types; the rest is little-endian integers:
//!
//! ```text
//! Append        1 | count: u32 | count x (len: u32 | Entry)
//! HardState     2 | len: u32 | HardState
//! Install/Save  3/4 | file crc: u32 | len: u32 | SnapshotMetadata
//! CompactTo     5 | index: u64
//! Checkpoint    6 | len: u32 | HardState | has snapshot: u8 [| crc: u32 | len: u32 | SnapshotMetadata]
//!                 | compacted index: u64 | compacted term: u64 | count: u32 | count x (len: u32 | Entry)
//! ```

use crate::raft::disk::{DiskError, DiskOp, LogState};
use protobuf::Message;
use raft::eraftpb::{Entry, HardState, Snapshot, SnapshotMetadata};

const APPEND: u8 = 1;
const HARD_STATE: u8 = 2;
const INSTALL_SNAPSHOT: u8 = 3;
const SAVE_SNAPSHOT: u8 = 4;
const COMPACT_TO: u8 = 5;
const CHECKPOINT: u8 = 6;

/// A snapshot as the WAL names it: its metadata (which also names its file) and the
/// checksum of the record in that file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SnapRef {
    /// The snapshot's metadata.
    pub(crate) meta: SnapshotMetadata,
    /// CRC-32C of the snapshot file's record payload.
    pub(crate) crc: u32,
}

impl SnapRef {
    /// The snapshot without its data, as replay applies it.
    pub(crate) fn hollow(&self) -> Snapshot {
        let mut s = Snapshot::default();
        s.set_metadata(self.meta.clone());
        s
    }
}

/// One decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WalRecord {
    /// [`DiskOp::Append`].
    Append(Vec<Entry>),
    /// [`DiskOp::HardState`].
    HardState(HardState),
    /// [`DiskOp::InstallSnapshot`], the data in the named file.
    InstallSnapshot(SnapRef),
    /// [`DiskOp::SaveSnapshot`], the data in the named file.
    SaveSnapshot(SnapRef),
    /// [`DiskOp::CompactTo`].
    CompactTo(u64),
    /// The whole state (its snapshot without data) and the reference to the snapshot.
    Checkpoint(Box<LogState>, Option<SnapRef>),
}

fn encode_err(e: protobuf::ProtobufError) -> DiskError {
    DiskError::Io(format!("encoding a WAL record: {e}"))
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Result<(), DiskError> {
    let len = u32::try_from(len)
        .map_err(|_| DiskError::Io(format!("a {len}-byte message is too large for the WAL")))?;
    put_u32(out, len);
    Ok(())
}

fn put_msg(out: &mut Vec<u8>, msg: &impl Message) -> Result<(), DiskError> {
    put_len(out, msg.compute_size() as usize)?;
    msg.write_to_vec(out).map_err(encode_err)
}

fn put_entries(out: &mut Vec<u8>, entries: &[Entry]) -> Result<(), DiskError> {
    put_len(out, entries.len())?;
    entries.iter().try_for_each(|e| put_msg(out, e))
}

fn put_snap_ref(out: &mut Vec<u8>, meta: &SnapshotMetadata, crc: u32) -> Result<(), DiskError> {
    put_u32(out, crc);
    put_msg(out, meta)
}

/// Encodes `op` as a record payload into `out`; `snap_crc` is the checksum of the
/// snapshot file written for a snapshot op.
///
/// # Errors
///
/// [`DiskError::Io`] if a message cannot be encoded.
pub(crate) fn encode_op(op: &DiskOp, snap_crc: u32, out: &mut Vec<u8>) -> Result<(), DiskError> {
    match op {
        DiskOp::Append(entries) => {
            out.push(APPEND);
            put_entries(out, entries)
        }
        DiskOp::HardState(hs) => {
            out.push(HARD_STATE);
            put_msg(out, hs)
        }
        DiskOp::InstallSnapshot(s) => {
            out.push(INSTALL_SNAPSHOT);
            put_snap_ref(out, s.get_metadata(), snap_crc)
        }
        DiskOp::SaveSnapshot(s) => {
            out.push(SAVE_SNAPSHOT);
            put_snap_ref(out, s.get_metadata(), snap_crc)
        }
        DiskOp::CompactTo(index) => {
            out.push(COMPACT_TO);
            put_u64(out, *index);
            Ok(())
        }
    }
}

/// Encodes a checkpoint of `state` (whose snapshot's file has checksum `snap_crc`, if
/// it has a snapshot) into `out`.
///
/// # Errors
///
/// [`DiskError::Io`] if a message cannot be encoded.
pub(crate) fn encode_checkpoint(
    state: &LogState,
    snap_crc: Option<u32>,
    out: &mut Vec<u8>,
) -> Result<(), DiskError> {
    out.push(CHECKPOINT);
    put_msg(out, state.hard_state())?;
    match snap_crc {
        Some(crc) => {
            out.push(1);
            put_snap_ref(out, state.snapshot().get_metadata(), crc)?;
        }
        None => out.push(0),
    }
    let (index, term) = state.compacted();
    put_u64(out, index);
    put_u64(out, term);
    // Sized up front: the entries may hold large values, and a growing buffer
    // would copy them at every doubling.
    let entries = state.retained_entries();
    let size: usize = entries.iter().map(|e| e.compute_size() as usize + 4).sum();
    out.reserve(size + 4);
    put_entries(out, entries)
}

/// A cursor over a payload being decoded.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(format!("record ends {} bytes early", n - self.buf.len()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn msg<M: Message>(&mut self) -> Result<M, String> {
        let len = self.u32()? as usize;
        M::parse_from_bytes(self.take(len)?).map_err(|e| e.to_string())
    }

    fn entries(&mut self) -> Result<Vec<Entry>, String> {
        let count = self.u32()? as usize;
        // Every entry takes at least its 4-byte length: do not trust a count beyond that.
        let mut out = Vec::with_capacity(count.min(self.buf.len() / 4));
        for _ in 0..count {
            out.push(self.msg()?);
        }
        Ok(out)
    }

    fn snap_ref(&mut self) -> Result<SnapRef, String> {
        let crc = self.u32()?;
        Ok(SnapRef {
            meta: self.msg()?,
            crc,
        })
    }

    fn checkpoint(&mut self) -> Result<WalRecord, String> {
        let hs = self.msg()?;
        let snap = match self.u8()? {
            0 => None,
            1 => Some(self.snap_ref()?),
            other => return Err(format!("bad snapshot flag {other}")),
        };
        let compacted = (self.u64()?, self.u64()?);
        let entries = self.entries()?;
        let hollow = snap.as_ref().map(SnapRef::hollow).unwrap_or_default();
        let state = LogState::from_parts(hs, hollow, compacted, entries)?;
        Ok(WalRecord::Checkpoint(Box::new(state), snap))
    }
}

/// Decodes a record payload.
///
/// # Errors
///
/// What is wrong with it, when it is not a record this module wrote.
pub(crate) fn decode(payload: &[u8]) -> Result<WalRecord, String> {
    let mut r = Reader { buf: payload };
    let record = match r.u8()? {
        APPEND => WalRecord::Append(r.entries()?),
        HARD_STATE => WalRecord::HardState(r.msg()?),
        INSTALL_SNAPSHOT => WalRecord::InstallSnapshot(r.snap_ref()?),
        SAVE_SNAPSHOT => WalRecord::SaveSnapshot(r.snap_ref()?),
        COMPACT_TO => WalRecord::CompactTo(r.u64()?),
        CHECKPOINT => r.checkpoint()?,
        other => return Err(format!("unknown record type {other}")),
    };
    if !r.buf.is_empty() {
        return Err(format!("{} stray bytes after the record", r.buf.len()));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: vec![7; 5].into(),
            context: vec![1].into(),
            ..Default::default()
        }
    }

    fn round_trip(op: &DiskOp, crc: u32) -> WalRecord {
        let mut buf = Vec::new();
        encode_op(op, crc, &mut buf).unwrap();
        decode(&buf).unwrap()
    }

    #[test]
    fn ops_round_trip() {
        let entries = vec![entry(3, 1), entry(4, 2)];
        assert_eq!(
            round_trip(&DiskOp::Append(entries.clone()), 0),
            WalRecord::Append(entries)
        );
        let hs = HardState {
            term: 3,
            vote: 2,
            commit: 9,
            ..Default::default()
        };
        assert_eq!(
            round_trip(&DiskOp::HardState(hs.clone()), 0),
            WalRecord::HardState(hs)
        );
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = 12;
        snap.mut_metadata().term = 3;
        snap.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
        snap.data = vec![9; 100].into();
        let want = SnapRef {
            meta: snap.get_metadata().clone(),
            crc: 0xdead_beef,
        };
        assert_eq!(
            round_trip(&DiskOp::InstallSnapshot(snap.clone()), 0xdead_beef),
            WalRecord::InstallSnapshot(want.clone())
        );
        assert_eq!(
            round_trip(&DiskOp::SaveSnapshot(snap), 0xdead_beef),
            WalRecord::SaveSnapshot(want)
        );
        assert_eq!(
            round_trip(&DiskOp::CompactTo(77), 0),
            WalRecord::CompactTo(77)
        );
    }

    #[test]
    fn checkpoint_round_trips_without_snapshot_data() {
        let mut state = LogState::default();
        state
            .apply(&DiskOp::Append((1..=6).map(|i| entry(i, 1)).collect()))
            .unwrap();
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = 4;
        snap.mut_metadata().term = 1;
        snap.data = vec![1, 2, 3].into();
        state.apply(&DiskOp::SaveSnapshot(snap)).unwrap();
        state.apply(&DiskOp::CompactTo(3)).unwrap();
        let mut buf = Vec::new();
        encode_checkpoint(&state, Some(5), &mut buf).unwrap();
        let WalRecord::Checkpoint(got, Some(r)) = decode(&buf).unwrap() else {
            panic!("not a checkpoint with a snapshot");
        };
        assert_eq!(r.crc, 5);
        state.set_snapshot_data(Default::default());
        assert_eq!(*got, state);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[42]).is_err());
        assert!(decode(&[COMPACT_TO, 1, 2]).is_err());
        let mut buf = Vec::new();
        encode_op(&DiskOp::CompactTo(1), 0, &mut buf).unwrap();
        buf.push(0);
        assert!(decode(&buf).is_err());
        // A count far larger than the payload fails cleanly.
        assert!(decode(&[APPEND, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::proptest_config::proptest_config as config;

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        prop::collection::vec(
            (
                any::<u64>(),
                any::<u64>(),
                prop::collection::vec(any::<u8>(), 0..32),
            ),
            0..6,
        )
        .prop_map(|es| {
            es.into_iter()
                .map(|(index, term, data)| Entry {
                    index,
                    term,
                    data: data.into(),
                    ..Default::default()
                })
                .collect()
        })
    }

    fn snapshot() -> impl Strategy<Value = Snapshot> {
        (
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(any::<u64>(), 0..5),
        )
            .prop_map(|(index, term, voters)| {
                let mut s = Snapshot::default();
                s.mut_metadata().index = index;
                s.mut_metadata().term = term;
                s.mut_metadata().mut_conf_state().voters = voters;
                s.data = vec![3; 10].into();
                s
            })
    }

    fn op() -> impl Strategy<Value = DiskOp> {
        prop_oneof![
            entries().prop_map(DiskOp::Append),
            any::<[u64; 3]>().prop_map(|[term, vote, commit]| DiskOp::HardState(HardState {
                term,
                vote,
                commit,
                ..Default::default()
            })),
            snapshot().prop_map(DiskOp::InstallSnapshot),
            snapshot().prop_map(DiskOp::SaveSnapshot),
            any::<u64>().prop_map(DiskOp::CompactTo),
        ]
    }

    fn expected(op: &DiskOp, crc: u32) -> WalRecord {
        let snap_ref = |s: &Snapshot| SnapRef {
            meta: s.get_metadata().clone(),
            crc,
        };
        match op {
            DiskOp::Append(es) => WalRecord::Append(es.clone()),
            DiskOp::HardState(hs) => WalRecord::HardState(hs.clone()),
            DiskOp::InstallSnapshot(s) => WalRecord::InstallSnapshot(snap_ref(s)),
            DiskOp::SaveSnapshot(s) => WalRecord::SaveSnapshot(snap_ref(s)),
            DiskOp::CompactTo(i) => WalRecord::CompactTo(*i),
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_payloads_decode_or_err(
            payload in prop::collection::vec(any::<u8>(), 0..512),
            kind in 0u8..8,
        ) {
            let mut bytes = vec![kind];
            bytes.extend_from_slice(&payload);
            for input in [&payload[..], &bytes[..]] {
                if let Ok(WalRecord::Append(es)) = decode(input) {
                    // Every entry took at least its 4-byte length.
                    prop_assert!(es.len() * 4 <= input.len());
                }
            }
        }

        #[test]
        fn ops_round_trip_and_every_cut_is_an_error(op in op(), crc in any::<u32>()) {
            let mut buf = Vec::new();
            encode_op(&op, crc, &mut buf).unwrap();
            prop_assert_eq!(decode(&buf).unwrap(), expected(&op, crc));
            for cut in 0..buf.len() {
                prop_assert!(decode(&buf[..cut]).is_err(), "cut at {}", cut);
            }
        }
    }
}
