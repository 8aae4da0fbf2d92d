//! Snapshot files: `%016x-%016x.snap` (term, index, as etcd names them) holding a
//! 12-byte header (`ESIMSNAP` and a version) and one record whose payload is the whole
//! raft-rs `Snapshot` (metadata and data). The WAL names a snapshot by its metadata and
//! the checksum of that record.

use super::codec::SnapRef;
use super::crc::crc32c;
use super::fs_util::{io_err, list_names, parse_pair, sync_dir, write_atomic};
use super::record::{self, Next};
use crate::raft::disk::DiskError;
use protobuf::Message;
use raft::eraftpb::{Snapshot, SnapshotMetadata};
use std::fs;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ESIMSNAP";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 12;

/// The file name of the snapshot with this metadata.
pub(crate) fn file_name(meta: &SnapshotMetadata) -> String {
    format!("{:016x}-{:016x}.snap", meta.term, meta.index)
}

/// Writes `snap` durably to its file in `dir` (replacing a file of the same name) and
/// returns the checksum the WAL records for it.
pub(crate) fn write(dir: &Path, snap: &Snapshot) -> Result<u32, DiskError> {
    let payload = snap
        .write_to_bytes()
        .map_err(|e| DiskError::Io(format!("encoding a snapshot: {e}")))?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + record::HEADER_LEN + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    record::encode(&payload, &mut bytes);
    write_atomic(dir, &file_name(snap.get_metadata()), &bytes)?;
    Ok(crc32c(&payload))
}

fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> DiskError {
    DiskError::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason: reason.into(),
    }
}

/// Reads the snapshot `r` names from `dir`, checking it is exactly that snapshot.
///
/// # Errors
///
/// [`DiskError::Corrupt`] if the file is missing, damaged, or holds another snapshot;
/// [`DiskError::Foreign`] if it is not ours.
pub(crate) fn read(dir: &Path, r: &SnapRef) -> Result<Snapshot, DiskError> {
    let path = dir.join(file_name(&r.meta));
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(corrupt(
                &path,
                0,
                "the snapshot file the WAL names is missing",
            ));
        }
        Err(e) => return Err(io_err(&path, "read", &e)),
    };
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(DiskError::Foreign {
            path,
            kind: "snapshot",
        });
    }
    if bytes[8..HEADER_LEN] != VERSION.to_le_bytes() {
        return Err(corrupt(&path, 8, "unsupported snapshot format version"));
    }
    let payload = match record::next(&bytes, HEADER_LEN) {
        Next::Record { payload, end } if end == bytes.len() => payload,
        Next::Record { end, .. } => return Err(corrupt(&path, end as u64, "stray bytes")),
        Next::End => return Err(corrupt(&path, HEADER_LEN as u64, "no snapshot record")),
        Next::Torn(why) | Next::Bad(why) => return Err(corrupt(&path, HEADER_LEN as u64, why)),
    };
    if crc32c(payload) != r.crc {
        return Err(corrupt(
            &path,
            HEADER_LEN as u64,
            format!(
                "checksum {:08x} differs from the WAL's {:08x}",
                crc32c(payload),
                r.crc
            ),
        ));
    }
    let snap = Snapshot::parse_from_bytes(payload)
        .map_err(|e| corrupt(&path, HEADER_LEN as u64, e.to_string()))?;
    if *snap.get_metadata() != r.meta {
        return Err(corrupt(&path, 0, "metadata differs from the WAL's"));
    }
    Ok(snap)
}

/// The snapshot files in `dir` as (index, term, path), oldest first.
fn list(dir: &Path) -> Result<Vec<(u64, u64, PathBuf)>, DiskError> {
    let mut out: Vec<_> = list_names(dir)?
        .iter()
        .filter_map(|n| parse_pair(n, ".snap").map(|(term, index)| (index, term, dir.join(n))))
        .collect();
    out.sort();
    Ok(out)
}

/// Removes `paths`, refusing (before removing anything) if one is not our snapshot file.
fn remove_all(dir: &Path, paths: Vec<PathBuf>) -> Result<usize, DiskError> {
    for path in &paths {
        let mut magic = [0u8; 8];
        let ours = fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok_and(|()| &magic == MAGIC);
        if !ours {
            return Err(DiskError::Foreign {
                path: path.clone(),
                kind: "snapshot",
            });
        }
    }
    let n = paths.len();
    for path in paths {
        fs::remove_file(&path).map_err(|e| io_err(&path, "remove", &e))?;
    }
    if n > 0 {
        sync_dir(dir)?;
    }
    Ok(n)
}

/// Removes the oldest snapshot files beyond the newest `keep` (0 keeps all), never the
/// one named by `current`. Returns how many were removed.
pub(crate) fn purge(
    dir: &Path,
    keep: usize,
    current: &SnapshotMetadata,
) -> Result<usize, DiskError> {
    if keep == 0 {
        return Ok(0);
    }
    let files = list(dir)?;
    let excess = files.len().saturating_sub(keep);
    let doomed = files
        .into_iter()
        .take(excess)
        .filter(|(index, term, _)| (*index, *term) != (current.index, current.term))
        .map(|(_, _, p)| p)
        .collect();
    remove_all(dir, doomed)
}

/// Removes snapshot files newer than `current` (`None`: every one): written by a
/// previous run whose WAL record naming them was never synced.
pub(crate) fn remove_orphans(
    dir: &Path,
    current: Option<&SnapshotMetadata>,
) -> Result<usize, DiskError> {
    let newest = current.map(|m| (m.index, m.term));
    let doomed = list(dir)?
        .into_iter()
        .filter(|(index, term, _)| newest.is_none_or(|n| (*index, *term) > n))
        .map(|(_, _, p)| {
            tracing::warn!(path = %p.display(), "file disk: removing a snapshot the WAL does not name");
            p
        })
        .collect();
    remove_all(dir, doomed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(index: u64, term: u64) -> Snapshot {
        let mut s = Snapshot::default();
        s.mut_metadata().index = index;
        s.mut_metadata().term = term;
        s.mut_metadata().mut_conf_state().voters = vec![1];
        s.data = vec![index as u8; 64].into();
        s
    }

    fn names(dir: &Path) -> Vec<String> {
        list_names(dir).unwrap()
    }

    #[test]
    fn write_read_and_checks() {
        let tmp = tempfile::tempdir().unwrap();
        let s = snap(10, 2);
        let crc = write(tmp.path(), &s).unwrap();
        let r = SnapRef {
            meta: s.get_metadata().clone(),
            crc,
        };
        assert_eq!(read(tmp.path(), &r).unwrap(), s);
        let wrong = SnapRef {
            crc: crc ^ 1,
            ..r.clone()
        };
        assert!(matches!(
            read(tmp.path(), &wrong),
            Err(DiskError::Corrupt { .. })
        ));
        let path = tmp.path().join(file_name(&r.meta));
        let mut bytes = fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            read(tmp.path(), &r),
            Err(DiskError::Corrupt { .. })
        ));
        fs::remove_file(&path).unwrap();
        let err = read(tmp.path(), &r).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        fs::write(&path, b"etcd's snappb").unwrap();
        assert!(matches!(
            read(tmp.path(), &r),
            Err(DiskError::Foreign { .. })
        ));
    }

    #[test]
    fn purge_keeps_the_newest_and_the_current() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 1..=6 {
            write(tmp.path(), &snap(i * 10, 1)).unwrap();
        }
        // The current snapshot is an older one (newer files are orphans of a crash).
        let current = snap(20, 1);
        assert_eq!(purge(tmp.path(), 3, current.get_metadata()).unwrap(), 2);
        assert_eq!(
            names(tmp.path()),
            vec![
                file_name(current.get_metadata()),
                file_name(snap(40, 1).get_metadata()),
                file_name(snap(50, 1).get_metadata()),
                file_name(snap(60, 1).get_metadata()),
            ]
        );
        assert_eq!(purge(tmp.path(), 0, current.get_metadata()).unwrap(), 0);
        assert_eq!(
            remove_orphans(tmp.path(), Some(current.get_metadata())).unwrap(),
            3
        );
        assert_eq!(names(tmp.path()), vec![file_name(current.get_metadata())]);
        assert_eq!(remove_orphans(tmp.path(), None).unwrap(), 1);
        assert!(names(tmp.path()).is_empty());
        // A snapshot file that is not ours is never removed.
        fs::write(tmp.path().join(file_name(current.get_metadata())), b"etcd").unwrap();
        assert!(matches!(
            remove_orphans(tmp.path(), None),
            Err(DiskError::Foreign { .. })
        ));
        assert_eq!(names(tmp.path()).len(), 1);
    }
}
