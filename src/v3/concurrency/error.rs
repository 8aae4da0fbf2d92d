//! [`Error`]: what the concurrency package and its recipes fail with.

use crate::v3::error::Error as ClientError;

/// The result type of the concurrency package.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a [`super::Session`], [`super::Mutex`], [`super::Election`],
/// [`super::new_stm`] or a recipe can fail with. The texts of the package's
/// own errors are Go's (`concurrency.ErrLocked`, ...), so logs read alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to etcd failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// [`super::Mutex::try_lock`]: another session holds the lock (Go's
    /// `ErrLocked`).
    #[error("mutex: Locked by another session")]
    Locked,
    /// The session's lease ended (expired, revoked, or its keepalive
    /// stopped) while a lock or a campaign waited, so its key is gone or
    /// about to go: the lock or leadership was not obtained (Go's
    /// `ErrSessionExpired`; etcd #11408).
    #[error("mutex: session is expired")]
    SessionExpired,
    /// [`super::Election::proclaim`]: this campaign does not lead (Go's
    /// `ErrElectionNotLeader`).
    #[error("election: not leader")]
    ElectionNotLeader,
    /// [`super::Election::leader`]: nobody leads (Go's `ErrElectionNoLeader`).
    #[error("election: no leader")]
    ElectionNoLeader,
    /// The caller's cancellation future completed first (Go's
    /// `context.Canceled`).
    #[error("context canceled")]
    Canceled,
    /// The caller's deadline passed first (Go's `context.DeadlineExceeded`).
    #[error("context deadline exceeded")]
    DeadlineExceeded,
    /// A watch ended without the event waited for (Go's "lost watcher
    /// waiting for delete").
    #[error("lost watcher waiting for delete")]
    LostWatcher,
    /// A [`super::new_stm`] apply function gave up; its own error is the
    /// source.
    #[error("stm aborted: {0}")]
    Aborted(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A recipe's key already exists (Go's recipes `ErrKeyExists`).
    #[error("key already exists")]
    KeyExists,
    /// A [`super::recipes::DoubleBarrier`] has more waiters than its count
    /// (Go's recipes `ErrTooManyClients`).
    #[error("too many clients")]
    TooManyClients,
    /// A priority-queue key does not end in a sequence number.
    #[error("recipe: key {key:?} does not end in a sequence number")]
    BadSequenceKey {
        /// The key found.
        key: String,
    },
}

impl Error {
    /// Wraps an apply function's own error as [`Error::Aborted`].
    pub fn aborted(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Aborted(e.into())
    }

    /// The client error inside, if this is one.
    pub fn client(&self) -> Option<&ClientError> {
        match self {
            Error::Client(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_go_s() {
        assert_eq!(
            Error::Locked.to_string(),
            "mutex: Locked by another session"
        );
        assert_eq!(
            Error::SessionExpired.to_string(),
            "mutex: session is expired"
        );
        assert_eq!(Error::ElectionNotLeader.to_string(), "election: not leader");
        assert_eq!(Error::ElectionNoLeader.to_string(), "election: no leader");
        assert_eq!(Error::Canceled.to_string(), "context canceled");
        assert_eq!(
            Error::DeadlineExceeded.to_string(),
            "context deadline exceeded"
        );
        assert_eq!(Error::KeyExists.to_string(), "key already exists");
        assert_eq!(Error::TooManyClients.to_string(), "too many clients");
        let e = Error::from(ClientError::Closed);
        assert!(matches!(e.client(), Some(ClientError::Closed)));
        assert_eq!(
            Error::aborted("no funds").to_string(),
            "stm aborted: no funds"
        );
    }
}
