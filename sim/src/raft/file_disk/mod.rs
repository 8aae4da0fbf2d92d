//! [`FileDisk`]: a [`Disk`] on real files (real builds only), laid out like etcd's data
//! directory: `<data-dir>/member/wal/%016x-%016x.wal` (or `--wal-dir`) and
//! `<data-dir>/member/snap/%016x-%016x.snap`. The names are etcd's; the contents are
//! ours, and each file starts with a magic header so that an etcd data directory (or
//! anything else) is refused with a clear error instead of being misread.
//!
//! - `record`: length- and CRC-32C-checked framing of every record.
//! - `codec`: WAL record payloads (one [`DiskOp`] each, or a checkpoint).
//! - `segment`: WAL segment files and the writer of the newest one.
//! - `snap_files`: snapshot files, written atomically, purged past a limit.
//! - `replay`: recovery, torn-tail repair and corruption detection.
//!
//! # Durability
//!
//! [`Disk::write`] applies the op to the in-memory state and appends a record to a
//! buffer; [`Disk::sync`] writes the buffer and `fdatasync`s the segment. A snapshot op
//! first writes the snapshot to its own file (temporary file, fsync, rename, directory
//! fsync) and logs a small record naming it. When the records after a segment's
//! checkpoint reach `segment_bytes`, the segment is synced and a new one begins with a
//! checkpoint of the whole state, so older segments (beyond `max_wal_files`) can go.
//! Snapshot files beyond `max_snapshot_files` are purged after a sync, never the one
//! the state refers to. A checkpoint holds every retained entry: on a node that
//! compacts (etcd's snapshot count plus catch-up entries) that stays bounded.
//!
//! After an I/O error the disk refuses every further write and sync (like etcd, which
//! stops on a failed fsync): what reached the files is then unknown.

mod codec;
mod crc;
mod dir_lock;
mod fs_util;
mod record;
mod replay;
mod segment;
mod snap_files;

use super::disk::{Disk, DiskError, DiskOp, LogState};
use codec::SnapRef;
use dir_lock::DirLock;
use segment::{SegmentName, SegmentWriter};
use std::path::{Path, PathBuf};

/// Capacity of the record scratch buffer kept between writes.
const SCRATCH_KEPT: usize = 1 << 20;

/// Where a [`FileDisk`] keeps its files and how many it keeps (etcd's flags in
/// parentheses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiskOptions {
    /// The member's data directory (`--data-dir`); the disk uses `member/wal` and
    /// `member/snap` inside it. Default `default.etcd`.
    pub data_dir: PathBuf,
    /// A separate directory for the WAL segments (`--wal-dir`); `None` (the default)
    /// means `<data_dir>/member/wal`.
    pub wal_dir: Option<PathBuf>,
    /// WAL segments to keep (`--max-wals`); 0 keeps all. Default 5. Only the newest is
    /// ever needed, as each begins with a checkpoint of the whole state.
    pub max_wal_files: usize,
    /// Snapshot files to keep (`--max-snapshots`); 0 keeps all. Default 5. The one the
    /// state refers to is always kept.
    pub max_snapshot_files: usize,
    /// Bytes of records after a segment's checkpoint that make the next write start a
    /// new segment (etcd's fixed 64 MiB segment size). Default 64 MiB; 0 starts a new
    /// segment before every write (for tests).
    pub segment_bytes: u64,
}

impl Default for FileDiskOptions {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("default.etcd"),
            wal_dir: None,
            max_wal_files: 5,
            max_snapshot_files: 5,
            segment_bytes: 64 * 1024 * 1024,
        }
    }
}

impl FileDiskOptions {
    /// The defaults with `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            ..Self::default()
        }
    }

    /// The directory holding the WAL segments.
    pub fn wal_path(&self) -> PathBuf {
        self.wal_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("member").join("wal"))
    }

    /// The directory holding the snapshot files.
    pub fn snap_path(&self) -> PathBuf {
        self.data_dir.join("member").join("snap")
    }
}

/// A [`Disk`] on files: a write-ahead log of segments and a directory of snapshots.
/// See the module docs.
#[derive(Debug)]
pub struct FileDisk {
    /// Held while open: no other process may use the WAL directory.
    _lock: DirLock,
    opts: FileDiskOptions,
    wal_dir: PathBuf,
    snap_dir: PathBuf,
    /// Everything written, synced or not, the snapshot with its data.
    state: LogState,
    /// The record naming the state's snapshot file (`None` while there is none).
    snap: Option<SnapRef>,
    /// Retained segments, oldest first; the writer appends to the last.
    segments: Vec<SegmentName>,
    writer: SegmentWriter,
    /// A snapshot file was written since the last sync (purge after the next one).
    snap_written: bool,
    /// The I/O error that stopped the disk.
    failed: Option<String>,
    scratch: Vec<u8>,
}

impl FileDisk {
    /// Opens the disk in `opts`' directories, creating them (mode 0700) and a first
    /// segment if there is none, else recovering what the files hold: the state every
    /// synced write left (and possibly some unsynced ones), minus a torn last record.
    ///
    /// # Errors
    ///
    /// [`DiskError::Foreign`] for files not written by this disk (an etcd data
    /// directory), [`DiskError::Corrupt`] for damaged ones (see the `replay` module),
    /// [`DiskError::Io`] if a file or directory cannot be used.
    pub fn open(opts: FileDiskOptions) -> Result<FileDisk, DiskError> {
        let (wal_dir, snap_dir) = (opts.wal_path(), opts.snap_path());
        fs_util::ensure_private_dir(&wal_dir)?;
        fs_util::ensure_private_dir(&snap_dir)?;
        let lock = DirLock::acquire(&wal_dir)?;
        fs_util::remove_tmp_files(&wal_dir)?;
        fs_util::remove_tmp_files(&snap_dir)?;
        let segments = segment::list(&wal_dir)?;
        let mut scratch = Vec::new();
        let (state, snap, writer, segments) = if segments.is_empty() {
            snap_files::remove_orphans(&snap_dir, None)?;
            let name = SegmentName { seq: 0, index: 0 };
            let state = LogState::default();
            codec::encode_checkpoint(&state, None, &mut scratch)?;
            let writer = SegmentWriter::create(&wal_dir, name, &scratch)?;
            (state, None, writer, vec![name])
        } else {
            let r = replay::replay(&wal_dir, &segments)?;
            let mut state = r.state;
            if let Some(s) = &r.snap {
                state.set_snapshot_data(snap_files::read(&snap_dir, s)?.data);
            }
            snap_files::remove_orphans(&snap_dir, r.snap.as_ref().map(|s| &s.meta))?;
            let last = segments[segments.len() - 1];
            let path = wal_dir.join(last.file_name());
            let writer = SegmentWriter::open(path, r.valid_len, r.since_checkpoint)?;
            (state, r.snap, writer, segments)
        };
        tracing::debug!(
            wal = %wal_dir.display(),
            segments = segments.len(),
            last_index = state.last_index(),
            "file disk: opened"
        );
        Ok(FileDisk {
            _lock: lock,
            opts,
            wal_dir,
            snap_dir,
            state,
            snap,
            segments,
            writer,
            snap_written: false,
            failed: None,
            scratch,
        })
    }

    /// The options the disk was opened with.
    pub fn options(&self) -> &FileDiskOptions {
        &self.opts
    }

    /// The directory of the WAL segments.
    pub fn wal_dir(&self) -> &Path {
        &self.wal_dir
    }

    /// The directory of the snapshot files.
    pub fn snap_dir(&self) -> &Path {
        &self.snap_dir
    }

    fn check_usable(&self) -> Result<(), DiskError> {
        match &self.failed {
            Some(e) => Err(DiskError::Io(format!(
                "disk stopped after an earlier error: {e}"
            ))),
            None => Ok(()),
        }
    }

    /// Remembers that I/O failed: the disk refuses everything from now on.
    fn fail(&mut self, e: DiskError) -> DiskError {
        tracing::error!(error = %e, "file disk: I/O failed, refusing further writes");
        self.failed = Some(e.to_string());
        e
    }

    /// Ends the current segment (synced) and starts the next with a checkpoint, then
    /// removes segments beyond `max_wal_files`.
    fn roll(&mut self) -> Result<(), DiskError> {
        self.writer.sync()?;
        let prev = self.segments[self.segments.len() - 1];
        let name = SegmentName {
            seq: prev.seq + 1,
            index: self.state.last_index() + 1,
        };
        self.scratch.clear();
        codec::encode_checkpoint(
            &self.state,
            self.snap.as_ref().map(|s| s.crc),
            &mut self.scratch,
        )?;
        self.writer = SegmentWriter::create(&self.wal_dir, name, &self.scratch)?;
        self.release_scratch();
        self.segments.push(name);
        tracing::debug!(path = %self.writer.path().display(), "file disk: new WAL segment");
        let max = self.opts.max_wal_files;
        if max > 0 && self.segments.len() > max {
            let doomed: Vec<_> = self.segments.drain(..self.segments.len() - max).collect();
            for old in doomed {
                let path = self.wal_dir.join(old.file_name());
                std::fs::remove_file(&path).map_err(|e| fs_util::io_err(&path, "remove", &e))?;
            }
            fs_util::sync_dir(&self.wal_dir)?;
        }
        Ok(())
    }

    /// Writes the op's record (and snapshot file); the state already holds the op.
    fn persist(&mut self, op: &DiskOp) -> Result<(), DiskError> {
        let crc = match op {
            DiskOp::InstallSnapshot(s) | DiskOp::SaveSnapshot(s) => {
                let crc = snap_files::write(&self.snap_dir, s)?;
                self.snap = Some(SnapRef {
                    meta: s.get_metadata().clone(),
                    crc,
                });
                self.snap_written = true;
                crc
            }
            _ => 0,
        };
        self.scratch.clear();
        codec::encode_op(op, crc, &mut self.scratch)?;
        let appended = self.writer.append(&self.scratch);
        self.release_scratch();
        appended
    }

    /// Drops the scratch buffer once a large record (an entry with a big value, a
    /// checkpoint) has grown it: kept, it would hold that much memory for good.
    fn release_scratch(&mut self) {
        if self.scratch.capacity() > SCRATCH_KEPT {
            self.scratch = Vec::new();
        }
    }
}

impl Disk for FileDisk {
    fn read<R>(&self, f: impl FnOnce(&LogState) -> R) -> R {
        f(&self.state)
    }

    fn write(&mut self, op: DiskOp) -> Result<(), DiskError> {
        self.check_usable()?;
        if self.writer.since_checkpoint() >= self.opts.segment_bytes {
            self.roll().map_err(|e| self.fail(e))?;
        }
        self.state.apply(&op)?;
        self.persist(&op).map_err(|e| self.fail(e))
    }

    fn sync(&mut self) -> Result<(), DiskError> {
        self.check_usable()?;
        self.writer.sync().map_err(|e| self.fail(e))?;
        if std::mem::take(&mut self.snap_written) {
            let current = self.state.snapshot().get_metadata();
            if let Err(e) = snap_files::purge(&self.snap_dir, self.opts.max_snapshot_files, current)
            {
                tracing::warn!(error = %e, "file disk: purging old snapshots failed");
            }
        }
        Ok(())
    }

    /// Nothing to do: [`FileDisk::open`] already recovered.
    fn recover(&mut self) -> Result<(), DiskError> {
        self.check_usable()
    }
}

impl Drop for FileDisk {
    /// Hands buffered records to the OS (a graceful close keeps them; no fsync).
    fn drop(&mut self) {
        if self.failed.is_none() {
            if let Err(e) = self.writer.flush() {
                tracing::warn!(error = %e, "file disk: flushing on close failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
