//! Saving and checking backend snapshots (Go's `clientv3/snapshot` and
//! `etcdctl snapshot save`).
//!
//! etcd streams a snapshot as its database file followed by the SHA-256 of
//! that file (32 bytes). [`save`] writes the stream to a file the way
//! `etcdctl snapshot save` does — database and digest, so `etcdctl snapshot
//! status` and `etcdctl snapshot restore` accept it — and, unlike etcdctl
//! (which only checks that the size leaves room for a digest), checks the
//! digest before the file appears: it is written to `<path>.part`, synced,
//! checked, and renamed to `<path>` (an existing file is replaced only by a
//! complete, verified snapshot). [`verify`] checks a saved file.
//!
//! ```no_run
//! use etcd_sdk::v3::{snapshot, Config};
//!
//! # async fn demo() -> Result<(), snapshot::Error> {
//! let config = Config::new(["127.0.0.1:2379"]);
//! let saved = snapshot::save_from_endpoint(&config, "127.0.0.1:2379", "backup.db").await?;
//! println!("{} bytes, sha256 {}", saved.size, saved.sha256_hex());
//! snapshot::verify("backup.db")?;
//! # Ok(()) }
//! ```
//!
//! Files are written with `std::fs` from the calling task (chunks of 32
//! KiB as they arrive), as the rest of the SDK avoids `tokio::fs` so that
//! the same code runs in the simulator.

mod digest;

pub use digest::TrailerDigest;

use super::client::Client;
use super::config::Config;
use super::maintenance::Maintenance;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The size of the SHA-256 digest that ends a snapshot.
pub const DIGEST_LEN: usize = 32;

/// Why a snapshot could not be saved or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The snapshot stream (or the client that opens it) failed.
    #[error("snapshot stream failed")]
    Client(#[source] super::error::Error),
    /// A file could not be written, synced, renamed or read.
    #[error("snapshot file {path}: {op}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The size leaves no room for the digest (Go's check: a database is a
    /// multiple of 512 bytes, so the size is 32 more than one; Go's text).
    #[error("sha256 checksum not found [bytes: {size}]")]
    NoChecksum {
        /// The bytes received or read.
        size: u64,
    },
    /// The digest at the end does not match the database before it.
    #[error(
        "snapshot sha256 mismatch: the stream ends with {expected}, the database hashes to {actual}"
    )]
    ChecksumMismatch {
        /// The digest the snapshot carries (hex).
        expected: String,
        /// The digest of the database (hex).
        actual: String,
    },
}

/// A saved or verified snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size: the database plus the 32-byte digest.
    pub size: u64,
    /// The SHA-256 of the database (the file's last 32 bytes).
    pub sha256: [u8; DIGEST_LEN],
}

impl SnapshotInfo {
    /// The size of the database alone.
    pub fn db_size(&self) -> u64 {
        self.size - DIGEST_LEN as u64
    }

    /// The digest in lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Streams a snapshot from `maintenance` (whichever member it sends the call
/// to) into `path`; see [the module](self) for how the file is written and
/// checked. To choose the member, use [`save_from_endpoint`].
pub async fn save<M>(maintenance: &M, path: impl AsRef<Path>) -> Result<SnapshotInfo, Error>
where
    M: Maintenance + ?Sized,
{
    let stream = maintenance.snapshot().await.map_err(Error::Client)?;
    save_stream(stream, path).await
}

/// Streams a snapshot of the member at `endpoint` into `path` (etcdctl's
/// `snapshot save`, which needs exactly one endpoint): a client is built
/// from `config` with `endpoint` as its only endpoint, used, and closed.
/// `config.request_timeout` bounds the whole transfer (see
/// [`Maintenance::snapshot`]): leave it `None` for a large database.
pub async fn save_from_endpoint(
    config: &Config,
    endpoint: &str,
    path: impl AsRef<Path>,
) -> Result<SnapshotInfo, Error> {
    let one = Config {
        endpoints: vec![endpoint.to_owned()],
        auto_sync_interval: None,
        ..config.clone()
    };
    let client = Client::new(one).await.map_err(Error::Client)?;
    let saved = save(&client, path).await;
    client.close();
    saved
}

/// Writes a snapshot stream (its chunks in order: the database, then the
/// digest) to `path` through `<path>.part`, which is removed if anything
/// fails.
pub async fn save_stream<S>(stream: S, path: impl AsRef<Path>) -> Result<SnapshotInfo, Error>
where
    S: Stream<Item = super::error::Result<Bytes>>,
{
    let path = path.as_ref();
    let part = PartFile::create(path)?;
    let mut digest = TrailerDigest::new();
    futures_util::pin_mut!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Error::Client)?;
        digest.update(&chunk);
        part.write(&chunk)?;
    }
    let sha256 = digest.check()?;
    let size = digest.len();
    tracing::info!(path = %path.display(), size, "snapshot: received and verified");
    part.commit()?;
    Ok(SnapshotInfo {
        path: path.to_path_buf(),
        size,
        sha256,
    })
}

/// Checks a saved snapshot: its size leaves room for the digest and its
/// last 32 bytes are the SHA-256 of the rest.
pub fn verify(path: impl AsRef<Path>) -> Result<SnapshotInfo, Error> {
    let path = path.as_ref();
    let io = |op| {
        move |source| Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    let mut file = File::open(path).map_err(io("open"))?;
    let mut digest = TrailerDigest::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io("read"))?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
    }
    let sha256 = digest.check()?;
    Ok(SnapshotInfo {
        path: path.to_path_buf(),
        size: digest.len(),
        sha256,
    })
}

/// `<path>.part` while it is written: removed on drop unless committed
/// (synced and renamed to `<path>`).
struct PartFile {
    file: Option<File>,
    part: PathBuf,
    path: PathBuf,
}

impl PartFile {
    fn create(path: &Path) -> Result<PartFile, Error> {
        let mut name = path.as_os_str().to_owned();
        name.push(".part");
        let part = PathBuf::from(name);
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Go's fileutil.PrivateFileMode: the database holds every key.
            opts.mode(0o600);
        }
        let file = opts.open(&part).map_err(|source| Error::Io {
            path: part.clone(),
            op: "create",
            source,
        })?;
        tracing::debug!(part = %part.display(), "snapshot: created the temporary file");
        Ok(PartFile {
            file: Some(file),
            part,
            path: path.to_path_buf(),
        })
    }

    fn io(&self, path: &Path, op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Io { path, op, source }
    }

    fn write(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut file = self.file.as_ref().ok_or_else(|| Error::Io {
            path: self.part.clone(),
            op: "write",
            source: std::io::Error::other("the file was already committed"),
        })?;
        file.write_all(bytes).map_err(self.io(&self.part, "write"))
    }

    /// Syncs the file, renames it over `path`, and syncs the directory so
    /// the rename survives a crash.
    fn commit(mut self) -> Result<(), Error> {
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(self.io(&self.part, "fsync"))?;
        }
        std::fs::rename(&self.part, &self.path).map_err(self.io(&self.path, "rename"))?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // The rename is done; a directory that cannot be opened for syncing
        // (some filesystems) leaves it only less durable.
        if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
            tracing::warn!(dir = %dir.display(), error = %e, "snapshot: cannot sync the directory");
        }
        // Committed: nothing to remove on drop.
        self.part = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.part.as_os_str().is_empty() {
            // Best effort: the save already failed with a better error.
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
