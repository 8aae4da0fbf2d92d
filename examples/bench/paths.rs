//! Where the bench keeps its binaries, data dirs and results.

use std::path::{Path, PathBuf};

/// The workspace root (this example belongs to the root package).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Results: `target/bench/<section>.json` and `<section>.txt`.
pub fn results_dir() -> PathBuf {
    repo_root().join("target/bench")
}

/// Where a server keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    /// `/dev/shm` (fsync is nearly free).
    Tmpfs,
    /// A directory under `target/` (fsync reaches the disk).
    Disk,
}

impl Storage {
    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Storage::Tmpfs => "tmpfs",
            Storage::Disk => "disk",
        }
    }

    /// The parent of the clusters' data dirs (created if missing).
    pub fn parent(self) -> Result<PathBuf, String> {
        let dir = match self {
            Storage::Tmpfs => Path::new("/dev/shm/etcd-sdk-bench").to_path_buf(),
            Storage::Disk => results_dir().join("data"),
        };
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        Ok(dir)
    }
}
