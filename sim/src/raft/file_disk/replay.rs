//! Recovery: replays the WAL segments, oldest first, into a [`LogState`].
//!
//! Each segment starts with a checkpoint; the first segment's sets the state, every
//! later one must equal the state its predecessor's records led to. A damaged record at
//! the very end of the newest segment, with nothing but zeros after it, is a write a
//! crash cut short: replay stops before it and the segment is cut there (as etcd's WAL
//! repair does). Any other damage is [`DiskError::Corrupt`].

use super::codec::{self, SnapRef, WalRecord};
use super::fs_util::io_err;
use super::record::{self, Next};
use super::segment::{self, SegmentName};
use crate::raft::disk::{DiskError, DiskOp, LogState};
use std::path::Path;

/// What the WAL holds.
#[derive(Debug)]
pub(crate) struct Replayed {
    /// The state, its snapshot without data.
    pub(crate) state: LogState,
    /// The file holding the snapshot's data, if there is a snapshot.
    pub(crate) snap: Option<SnapRef>,
    /// Length of the intact part of the newest segment.
    pub(crate) valid_len: u64,
    /// Bytes of records after the newest segment's checkpoint.
    pub(crate) since_checkpoint: u64,
}

/// The state being rebuilt.
#[derive(Default)]
struct Replay {
    state: Option<(LogState, Option<SnapRef>)>,
}

fn corrupt(path: &Path, offset: usize, reason: impl Into<String>) -> DiskError {
    DiskError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.into(),
    }
}

impl Replay {
    /// Applies the record at `offset`; `first` says it opens its segment.
    fn apply(
        &mut self,
        path: &Path,
        offset: usize,
        rec: WalRecord,
        first: bool,
    ) -> Result<(), DiskError> {
        let bad = |reason: &str| corrupt(path, offset, reason);
        if first {
            let WalRecord::Checkpoint(cp, snap) = rec else {
                return Err(bad("segment does not start with a checkpoint"));
            };
            let cp = (*cp, snap);
            if self.state.as_ref().is_some_and(|prev| *prev != cp) {
                return Err(bad("checkpoint differs from the previous segment's state"));
            }
            self.state = Some(cp);
            return Ok(());
        }
        let Some((state, snap)) = self.state.as_mut() else {
            return Err(bad("record before any checkpoint"));
        };
        let (op, new_snap) = match rec {
            WalRecord::Append(e) => (DiskOp::Append(e), None),
            WalRecord::HardState(hs) => (DiskOp::HardState(hs), None),
            WalRecord::CompactTo(i) => (DiskOp::CompactTo(i), None),
            WalRecord::InstallSnapshot(r) => (DiskOp::InstallSnapshot(r.hollow()), Some(r)),
            WalRecord::SaveSnapshot(r) => (DiskOp::SaveSnapshot(r.hollow()), Some(r)),
            WalRecord::Checkpoint(..) => return Err(bad("checkpoint inside a segment")),
        };
        state
            .apply(&op)
            .map_err(|e| corrupt(path, offset, format!("record does not apply: {e}")))?;
        if new_snap.is_some() {
            *snap = new_snap;
        }
        Ok(())
    }
}

/// Replays `segments` (oldest first, at least one) of `dir`.
///
/// # Errors
///
/// [`DiskError::Corrupt`] or [`DiskError::Foreign`] as described in the module docs;
/// [`DiskError::Io`] if a segment cannot be read.
pub(crate) fn replay(dir: &Path, segments: &[SegmentName]) -> Result<Replayed, DiskError> {
    let mut replay = Replay::default();
    let (mut valid_len, mut since_checkpoint) = (0, 0);
    for (i, name) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let path = dir.join(name.file_name());
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, "read", &e))?;
        segment::check_header(&path, &bytes)?;
        let mut at = segment::HEADER_LEN;
        let mut checkpoint_end = None;
        loop {
            match record::next(&bytes, at) {
                Next::Record { payload, end } => {
                    let rec = codec::decode(payload).map_err(|e| corrupt(&path, at, e))?;
                    replay.apply(&path, at, rec, checkpoint_end.is_none())?;
                    checkpoint_end.get_or_insert(end);
                    at = end;
                }
                Next::End => break,
                Next::Torn(why) if last && checkpoint_end.is_some() => {
                    tracing::warn!(
                        path = %path.display(),
                        offset = at,
                        dropped = bytes.len() - at,
                        reason = why,
                        "file disk: dropping a torn write at the end of the WAL"
                    );
                    break;
                }
                Next::Torn(why) | Next::Bad(why) => return Err(corrupt(&path, at, why)),
            }
        }
        let Some(cp_end) = checkpoint_end else {
            return Err(corrupt(&path, at, "segment has no checkpoint"));
        };
        valid_len = at as u64;
        since_checkpoint = (at - cp_end) as u64;
    }
    let Some((state, snap)) = replay.state else {
        return Err(DiskError::Corrupt {
            path: dir.to_path_buf(),
            offset: 0,
            reason: "no WAL segment".into(),
        });
    };
    Ok(Replayed {
        state,
        snap,
        valid_len,
        since_checkpoint,
    })
}
