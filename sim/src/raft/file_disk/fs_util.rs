//! File-system steps every part of the file disk shares: private directories, directory
//! fsync, atomic file creation, and I/O errors that name their path.

use crate::raft::disk::DiskError;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Suffix of a file still being written; such files are removed when a disk opens.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// An I/O error naming the path and the step that failed.
pub(crate) fn io_err(path: &Path, what: &str, e: &io::Error) -> DiskError {
    DiskError::Io(format!("{}: {what}: {e}", path.display()))
}

/// Makes the directory entry changes in `dir` (created, renamed, removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DiskError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, "fsync directory", &e))
}

/// Creates `dir` and any missing parents with mode 0700 (as etcd does), syncing each
/// parent that gained an entry.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), DiskError> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        ensure_private_dir(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(io_err(dir, "create directory", &e)),
    }
    sync_dir(parent.unwrap_or(Path::new(".")))
}

/// Writes `bytes` to `dir/name` atomically: to a temporary file first, fsynced, then
/// renamed into place and the directory fsynced. Returns the final path.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, DiskError> {
    write_atomic_parts(dir, name, &[bytes])
}

/// [`write_atomic`] of the concatenation of `parts`, written one after the other
/// (a large part is not copied into a joined buffer first).
pub(crate) fn write_atomic_parts(
    dir: &Path,
    name: &str,
    parts: &[&[u8]],
) -> Result<PathBuf, DiskError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| io_err(&tmp, "create", &e))?;
    parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err(&tmp, "write", &e))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(|e| io_err(&path, "rename into place", &e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Removes leftover temporary files in `dir` (writes a crash cut short).
pub(crate) fn remove_tmp_files(dir: &Path) -> Result<(), DiskError> {
    let mut removed = false;
    for name in list_names(dir)? {
        if name.ends_with(TMP_SUFFIX) {
            let path = dir.join(&name);
            tracing::warn!(path = %path.display(), "file disk: removing an unfinished file");
            fs::remove_file(&path).map_err(|e| io_err(&path, "remove", &e))?;
            removed = true;
        }
    }
    if removed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The names of the entries in `dir` (names that are not UTF-8 are skipped).
pub(crate) fn list_names(dir: &Path) -> Result<Vec<String>, DiskError> {
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, "list directory", &e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, "list directory", &e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Parses `%016x-%016x<suffix>` into its two numbers.
pub(crate) fn parse_pair(name: &str, suffix: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(suffix)?;
    let (a, b) = stem.split_once('-')?;
    if a.len() != 16 || b.len() != 16 {
        return None;
    }
    Some((
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(
            parse_pair("0000000000000001-00000000000000ff.wal", ".wal"),
            Some((1, 255))
        );
        assert_eq!(parse_pair("1-2.wal", ".wal"), None);
        assert_eq!(
            parse_pair("0000000000000001-00000000000000ff.snap", ".wal"),
            None
        );
    }

    #[test]
    fn private_dirs_and_atomic_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/c");
        ensure_private_dir(&dir).unwrap();
        ensure_private_dir(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let path = write_atomic(&dir, "x", b"hello").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello");
        fs::write(dir.join("y.tmp"), b"partial").unwrap();
        remove_tmp_files(&dir).unwrap();
        assert_eq!(list_names(&dir).unwrap(), vec!["x".to_string()]);
    }
}
