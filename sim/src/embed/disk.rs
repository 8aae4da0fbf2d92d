//! [`open_disk`]: the Raft disk a [`Config`] asks for.
//!
//! For now this is an in-memory [`MemDisk`] (nothing survives a restart); the data
//! directory is still created so the layout matches etcd's. The durable file disk
//! (`FileDisk`: WAL and snapshots under `<data-dir>/member`, `--wal-dir`,
//! `--max-wals`, `--max-snapshots`) replaces it here and only here.

use super::config::Config;
use super::error::EmbedError;
use crate::raft::MemDisk;

/// The disk type [`open_disk`] returns.
pub type EmbedDisk = MemDisk;

/// Whether the disk [`open_disk`] returns keeps its contents across restarts.
pub const DURABLE: bool = false;

/// Prepares the data directory (and the WAL directory, if separate) and opens the
/// member's disk there.
///
/// # Errors
///
/// [`EmbedError::DataDir`] when a directory cannot be created.
pub fn open_disk(cfg: &Config) -> Result<EmbedDisk, EmbedError> {
    let dirs = std::iter::once(cfg.data_dir().join("member")).chain(cfg.wal_dir.clone());
    for dir in dirs {
        std::fs::create_dir_all(&dir).map_err(|e| EmbedError::DataDir {
            path: dir.display().to_string(),
            error: e.to_string(),
        })?;
    }
    Ok(MemDisk::new())
}
