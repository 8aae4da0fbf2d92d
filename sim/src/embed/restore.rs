//! `etcd-sim snapshot restore` (etcdctl's `snapshot restore`, real builds): a
//! saved snapshot file (a database image and its SHA-256 trailer, as `etcdctl
//! snapshot save` writes it from our Snapshot stream) becomes a new data dir
//! from which `etcd-sim` starts a new cluster holding the snapshot's v3 data. As
//! etcdctl's restore, it keeps the v3 data only (no v2 data, no members) and
//! refuses a file whose trailer does not match, and a data dir that exists.
//!
//! The data dir gets the image's v3 blob at [`RESTORE_FILE`]; a member started
//! on that data dir (with the same `--name`, `--initial-cluster`,
//! `--initial-cluster-token` and `--initial-advertise-peer-urls`: unlike
//! etcd's restored WAL, our data dir does not record them) loads it as its
//! initial v3 state before it applies its log, so every member restored from
//! one file starts from the same state.

use crate::server::v3_snapshot_file::{ImageError, blob_of, verified_image};
use crate::server::v3_state::V3Stores;
use crate::store::v3::lease::LessorConfig;
use crate::store::v3::watch::WatchConfig;
use std::path::{Path, PathBuf};

/// Where a restored data dir holds the v3 state to start from.
pub const RESTORE_FILE: &str = "member/v3-restore.db";

/// What `snapshot restore` is given (etcdctl's flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOptions {
    /// The saved snapshot file.
    pub file: PathBuf,
    /// `--name` (default `default`).
    pub name: String,
    /// `--initial-cluster` (default `default=http://localhost:2380`).
    pub initial_cluster: String,
    /// `--initial-cluster-token` (default `etcd-cluster`).
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls` (default `http://localhost:2380`).
    pub initial_advertise_peer_urls: String,
    /// `--data-dir` (default `<name>.etcd`).
    pub data_dir: Option<PathBuf>,
    /// `--skip-hash-check`.
    pub skip_hash_check: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            file: PathBuf::new(),
            name: "default".into(),
            initial_cluster: "default=http://localhost:2380".into(),
            initial_cluster_token: "etcd-cluster".into(),
            initial_advertise_peer_urls: "http://localhost:2380".into(),
            data_dir: None,
            skip_hash_check: false,
        }
    }
}

impl RestoreOptions {
    /// The data dir to write.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.etcd", self.name)))
    }
}

/// Why a restore (or loading a restored data dir) failed, in etcdctl's words
/// where it has some.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The data dir exists.
    #[error("data-dir {0:?} exists")]
    DataDirExists(String),
    /// `--name` is not in `--initial-cluster`.
    #[error("couldn't find local name {0:?} in the initial cluster configuration")]
    NameNotInCluster(String),
    /// The member's advertised peer URLs differ from its `--initial-cluster` entry.
    #[error(
        "--initial-cluster has {name}={in_cluster} but missing from --initial-advertise-peer-urls={advertised}"
    )]
    PeerUrlMismatch {
        /// The member's name.
        name: String,
        /// Its URL in `--initial-cluster`.
        in_cluster: String,
        /// `--initial-advertise-peer-urls`.
        advertised: String,
    },
    /// The file's trailer or image is not valid.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The v3 state in the image does not restore.
    #[error("snapshot: {0}")]
    State(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RestoreError + '_ {
    move |source| RestoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Checks `--name` against `--initial-cluster` and the advertised peer URLs.
fn check_cluster(opts: &RestoreOptions) -> Result<(), RestoreError> {
    let urls: Vec<&str> = opts
        .initial_cluster
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| *name == opts.name)
        .map(|(_, url)| url)
        .collect();
    if urls.is_empty() {
        return Err(RestoreError::NameNotInCluster(opts.name.clone()));
    }
    let advertised: Vec<&str> = opts.initial_advertise_peer_urls.split(',').collect();
    if let Some(missing) = urls.iter().find(|u| !advertised.contains(u)) {
        return Err(RestoreError::PeerUrlMismatch {
            name: opts.name.clone(),
            in_cluster: (*missing).to_string(),
            advertised: opts.initial_advertise_peer_urls.clone(),
        });
    }
    Ok(())
}

/// The v3 blob of a saved snapshot file, checked (trailer unless skipped, and
/// that the state restores).
fn blob_of_file(file: &[u8], skip_hash_check: bool) -> Result<Vec<u8>, RestoreError> {
    let image = if skip_hash_check && file.len() % 512 != 32 {
        file
    } else {
        verified_image(file)?
    };
    let blob = blob_of(image)?;
    let mut scratch = V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20));
    scratch
        .restore(blob)
        .map_err(|e| RestoreError::State(e.to_string()))?;
    Ok(blob.to_vec())
}

/// Restores `opts.file` into a new data dir; returns the data dir.
///
/// # Errors
///
/// [`RestoreError`].
pub fn restore(opts: &RestoreOptions) -> Result<PathBuf, RestoreError> {
    check_cluster(opts)?;
    let dir = opts.data_dir();
    if dir.exists() {
        return Err(RestoreError::DataDirExists(dir.display().to_string()));
    }
    let file = std::fs::read(&opts.file).map_err(io(&opts.file))?;
    let blob = blob_of_file(&file, opts.skip_hash_check)?;
    let target = dir.join(RESTORE_FILE);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(&target, &blob).map_err(io(&target))?;
    tracing::info!(data_dir = %dir.display(), bytes = blob.len(), "restored snapshot");
    Ok(dir)
}

/// The v3 state a restored data dir starts from, if it is one.
///
/// # Errors
///
/// [`RestoreError::Io`] when the file exists and cannot be read.
pub fn load(data_dir: &Path) -> Result<Option<Vec<u8>>, RestoreError> {
    let path = data_dir.join(RESTORE_FILE);
    match std::fs::read(&path) {
        Ok(blob) => Ok(Some(blob)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::v3_snapshot_file::{image, sha256};
    use crate::store::v3::lease::Lessor;
    use etcd_sdk::v3::pb::etcdserverpb::PutRequest;

    fn saved_file() -> Vec<u8> {
        let mut s = V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20));
        let lessor = Lessor::new(LessorConfig::default());
        s.kv.put(
            &PutRequest {
                key: b"k".to_vec(),
                value: b"v".to_vec(),
                ..Default::default()
            },
            &lessor,
        )
        .unwrap();
        let img = image(&s);
        let mut file = img.clone();
        file.extend_from_slice(&sha256(&img));
        file
    }

    #[test]
    fn a_saved_file_restores_into_a_new_data_dir_once() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("snap.db");
        std::fs::write(&file, saved_file()).unwrap();
        let opts = RestoreOptions {
            file: file.clone(),
            data_dir: Some(tmp.path().join("m0.etcd")),
            ..RestoreOptions::default()
        };
        let dir = restore(&opts).unwrap();
        let blob = load(&dir).unwrap().unwrap();
        let mut s = V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20));
        s.restore(&blob).unwrap();
        assert_eq!(s.kv.current_revision(), 2);
        let again = restore(&opts).unwrap_err();
        assert!(again.to_string().starts_with("data-dir "), "{again}");
        assert_eq!(load(tmp.path()).unwrap(), None);
    }

    #[test]
    fn a_bad_trailer_and_a_foreign_name_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("snap.db");
        let mut bytes = saved_file();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        let opts = RestoreOptions {
            file,
            data_dir: Some(tmp.path().join("d")),
            ..RestoreOptions::default()
        };
        let e = restore(&opts).unwrap_err();
        assert!(e.to_string().starts_with("expected sha256 ["), "{e}");
        assert!(!tmp.path().join("d").exists());
        let e = restore(&RestoreOptions {
            name: "x".into(),
            ..opts
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "couldn't find local name \"x\" in the initial cluster configuration"
        );
    }
}
