//! WAL segment files: their names (`%016x-%016x.wal`, sequence number and the index of
//! the first entry they may hold, as etcd names them), their header, and the writer that
//! appends records to the newest one.
//!
//! A segment is the 12-byte header (`ESIMWAL\0` and a version) followed by records
//! ([`super::record`]); the first record is always a checkpoint of the whole state, so
//! a segment never needs the ones before it. New segments are written to a temporary
//! file with their checkpoint, fsynced and renamed into place: a segment that exists
//! always has its header and checkpoint.

use super::fs_util::{io_err, list_names, parse_pair, sync_dir, write_atomic_parts};
use super::record;
use crate::raft::disk::DiskError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"ESIMWAL\0";
const VERSION: u32 = 1;
/// Bytes before the first record.
pub(crate) const HEADER_LEN: usize = 12;
/// Buffered bytes that make a write go to the OS before the next sync.
const FLUSH_AT: usize = 1 << 20;

/// The name of a segment: `%016x-%016x.wal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SegmentName {
    /// Position in the sequence of segments (0 for the first).
    pub(crate) seq: u64,
    /// Index of the first entry the segment may hold (the last index + 1 when it began).
    pub(crate) index: u64,
}

impl SegmentName {
    /// The file name.
    pub(crate) fn file_name(&self) -> String {
        format!("{:016x}-{:016x}.wal", self.seq, self.index)
    }

    fn parse(name: &str) -> Option<Self> {
        parse_pair(name, ".wal").map(|(seq, index)| Self { seq, index })
    }
}

/// The segments in `dir`, oldest first.
///
/// # Errors
///
/// [`DiskError::Corrupt`] if their sequence numbers have a gap (a segment is missing);
/// [`DiskError::Io`] if the directory cannot be listed.
pub(crate) fn list(dir: &Path) -> Result<Vec<SegmentName>, DiskError> {
    let mut out: Vec<SegmentName> = list_names(dir)?
        .iter()
        .filter_map(|n| SegmentName::parse(n))
        .collect();
    out.sort();
    for pair in out.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(DiskError::Corrupt {
                path: dir.join(pair[1].file_name()),
                offset: 0,
                reason: format!("WAL segment {} is missing", pair[0].seq + 1),
            });
        }
    }
    Ok(out)
}

fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Checks the header of a segment's contents.
///
/// # Errors
///
/// [`DiskError::Foreign`] if the file does not start with our magic;
/// [`DiskError::Corrupt`] for a version this build does not read.
pub(crate) fn check_header(path: &Path, bytes: &[u8]) -> Result<(), DiskError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(DiskError::Foreign {
            path: path.to_path_buf(),
            kind: "WAL",
        });
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[8..HEADER_LEN]);
    let version = u32::from_le_bytes(v);
    if version != VERSION {
        return Err(DiskError::Corrupt {
            path: path.to_path_buf(),
            offset: 8,
            reason: format!("WAL format version {version} is not supported (want {VERSION})"),
        });
    }
    Ok(())
}

/// Appends records to the newest segment: records collect in a buffer that goes to the
/// file when it grows large and on [`SegmentWriter::sync`].
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    /// Bytes of records after the segment's checkpoint (buffered ones included).
    since_checkpoint: u64,
}

impl SegmentWriter {
    /// Creates segment `name` in `dir` holding the header and the `checkpoint` record,
    /// durably (temporary file, fsync, rename, directory fsync).
    pub(crate) fn create(
        dir: &Path,
        name: SegmentName,
        checkpoint: &[u8],
    ) -> Result<Self, DiskError> {
        // Written in parts: a checkpoint holds every retained entry, and joining it
        // behind the headers would hold it twice.
        let head = header();
        let framing = record::header(checkpoint);
        let parts: [&[u8]; 3] = [&head, &framing, checkpoint];
        let path = write_atomic_parts(dir, &name.file_name(), &parts)?;
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        Self::open(path, len as u64, 0)
    }

    /// Opens an existing segment for appending after its first `valid_len` bytes,
    /// cutting off (durably) whatever follows them; `since_checkpoint` is how many of
    /// those bytes are records after the checkpoint.
    pub(crate) fn open(
        path: PathBuf,
        valid_len: u64,
        since_checkpoint: u64,
    ) -> Result<Self, DiskError> {
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, "open", &e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err(&path, "stat", &e))?
            .len();
        if len != valid_len {
            file.set_len(valid_len)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_err(&path, "truncate", &e))?;
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
        }
        Ok(Self {
            path,
            file,
            buf: Vec::new(),
            since_checkpoint,
        })
    }

    /// The segment's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of records written after the checkpoint.
    pub(crate) fn since_checkpoint(&self) -> u64 {
        self.since_checkpoint
    }

    /// Appends one record.
    pub(crate) fn append(&mut self, payload: &[u8]) -> Result<(), DiskError> {
        if payload.len() > record::MAX_PAYLOAD {
            return Err(DiskError::Io(format!(
                "{}: a {}-byte record is too large",
                self.path.display(),
                payload.len()
            )));
        }
        self.since_checkpoint += (record::HEADER_LEN + payload.len()) as u64;
        if payload.len() >= FLUSH_AT {
            // A large record goes to the OS from where it lies: the buffer would
            // only copy it (and keep the capacity afterwards).
            self.flush()?;
            let header = record::header(payload);
            return self
                .file
                .write_all(&header)
                .and_then(|()| self.file.write_all(payload))
                .map_err(|e| io_err(&self.path, "write", &e));
        }
        record::encode(payload, &mut self.buf);
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the buffered records to the OS (no fsync).
    pub(crate) fn flush(&mut self) -> Result<(), DiskError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buf)
            .map_err(|e| io_err(&self.path, "write", &e))?;
        self.buf.clear();
        if self.buf.capacity() > 2 * FLUSH_AT {
            self.buf = Vec::new();
        }
        Ok(())
    }

    /// Writes the buffered records and waits until the file's data is durable.
    pub(crate) fn sync(&mut self) -> Result<(), DiskError> {
        self.flush()?;
        self.file
            .sync_data()
            .map_err(|e| io_err(&self.path, "fdatasync", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_gaps_are_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let a = SegmentName { seq: 0, index: 0 };
        let b = SegmentName { seq: 1, index: 40 };
        assert_eq!(b.file_name(), "0000000000000001-0000000000000028.wal");
        SegmentWriter::create(tmp.path(), b, b"cp").unwrap();
        SegmentWriter::create(tmp.path(), a, b"cp").unwrap();
        std::fs::write(tmp.path().join("notes.txt"), b"x").unwrap();
        assert_eq!(list(tmp.path()).unwrap(), vec![a, b]);
        let d = SegmentName { seq: 3, index: 90 };
        SegmentWriter::create(tmp.path(), d, b"cp").unwrap();
        assert!(matches!(list(tmp.path()), Err(DiskError::Corrupt { .. })));
    }

    #[test]
    fn large_records_go_out_in_order_without_the_buffer() {
        let tmp = tempfile::tempdir().unwrap();
        let name = SegmentName { seq: 0, index: 0 };
        let mut w = SegmentWriter::create(tmp.path(), name, b"checkpoint").unwrap();
        let path = w.path().to_path_buf();
        let big = vec![7u8; FLUSH_AT + 5];
        w.append(b"before").unwrap();
        w.append(&big).unwrap();
        assert!(
            w.buf.capacity() < FLUSH_AT,
            "the large record was not buffered"
        );
        w.append(b"after").unwrap();
        w.sync().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut at = HEADER_LEN;
        let mut payloads = Vec::new();
        while let record::Next::Record { payload, end } = record::next(&bytes, at) {
            payloads.push(payload.to_vec());
            at = end;
        }
        assert_eq!(at, bytes.len(), "nothing torn or left over");
        let want: Vec<Vec<u8>> = vec![
            b"checkpoint".to_vec(),
            b"before".to_vec(),
            big,
            b"after".to_vec(),
        ];
        assert_eq!(payloads, want);
        let records: u64 = ["before".len(), FLUSH_AT + 5, "after".len()]
            .iter()
            .map(|n| (record::HEADER_LEN + n) as u64)
            .sum();
        assert_eq!(w.since_checkpoint(), records);
    }

    #[test]
    fn writer_buffers_until_sync_and_truncates_on_open() {
        let tmp = tempfile::tempdir().unwrap();
        let name = SegmentName { seq: 0, index: 0 };
        let mut w = SegmentWriter::create(tmp.path(), name, b"checkpoint").unwrap();
        let path = w.path().to_path_buf();
        let base = std::fs::metadata(&path).unwrap().len();
        w.append(b"one").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), base);
        assert_eq!(w.since_checkpoint(), (record::HEADER_LEN + 3) as u64);
        w.sync().unwrap();
        let synced = std::fs::metadata(&path).unwrap().len();
        assert_eq!(synced, base + w.since_checkpoint());
        let bytes = std::fs::read(&path).unwrap();
        check_header(&path, &bytes).unwrap();
        drop(w);
        SegmentWriter::open(path.clone(), base, 0).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), base);
    }

    #[test]
    fn foreign_files_are_named() {
        let p = Path::new("/x/0000000000000000-0000000000000000.wal");
        let err = check_header(p, b"\x00\x00\x00\x00garbage garbage").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/x/0000000000000000-0000000000000000.wal: not an etcd-sim WAL \
             (etcd's own data directories are not readable)"
        );
    }
}
