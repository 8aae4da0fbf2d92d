//! [`open_disk`]: the Raft disk a [`Config`] asks for: a durable [`FileDisk`] with
//! etcd's layout (`<data-dir>/member/wal` or `--wal-dir`, `<data-dir>/member/snap`),
//! keeping at most `--max-wals` WAL segments and `--max-snapshots` snapshot files.

use super::config::Config;
use super::error::EmbedError;
use crate::raft::{FileDisk, FileDiskOptions};

/// The disk type [`open_disk`] returns.
pub type EmbedDisk = FileDisk;

/// Whether the disk [`open_disk`] returns keeps its contents across restarts.
pub const DURABLE: bool = true;

/// Opens (creating if needed) the member's disk in its data directory, recovering
/// what an earlier run synced.
///
/// # Errors
///
/// [`EmbedError::DataDir`] when the directories cannot be created or the WAL or a
/// snapshot is unreadable or corrupt (the error names the file and offset).
pub fn open_disk(cfg: &Config) -> Result<EmbedDisk, EmbedError> {
    let opts = FileDiskOptions {
        data_dir: cfg.data_dir(),
        wal_dir: cfg.wal_dir.clone(),
        max_wal_files: cfg.max_wals as usize,
        max_snapshot_files: cfg.max_snapshots as usize,
        ..FileDiskOptions::default()
    };
    FileDisk::open(opts).map_err(|e| EmbedError::DataDir {
        path: cfg.data_dir().display().to_string(),
        error: e.to_string(),
    })
}
