//! [`DirLock`]: one process per WAL directory. etcd locks its WAL files so that a
//! second member started on the same data dir fails at once instead of writing
//! into a log another process is appending to; this takes an exclusive `flock` on
//! a lock file in the WAL directory, held as long as the disk is open (the kernel
//! drops it when the process dies, SIGKILL included).

use super::super::disk::DiskError;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

/// The lock file's name inside the WAL directory.
pub const LOCK_FILE: &str = ".etcd-sim.lock";

/// An exclusive lock on a WAL directory; released when dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, without waiting.
    ///
    /// # Errors
    ///
    /// [`DiskError::Io`] naming the directory if another process holds it, or if the
    /// lock file cannot be opened.
    pub fn acquire(dir: &Path) -> Result<DirLock, DiskError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DiskError::Io(format!("{}: {e}", path.display())))?;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            return Err(DiskError::Io(
                if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    format!(
                        "{}: the WAL directory is in use by another process (is another member \
                     running on this data dir?)",
                        dir.display()
                    )
                } else {
                    format!("{}: {err}", path.display())
                },
            ));
        }
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("in use by another process"),
            "{err}"
        );
        drop(first);
        DirLock::acquire(dir.path()).expect("free again");
    }
}
