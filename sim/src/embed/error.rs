//! [`EmbedError`]: why a configuration was refused or a server could not start or
//! kept running.

use crate::member::MemberError;

/// Errors of the embed API and the `etcd-sim` command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// The command line does not parse (Go's flag package: exit status 2, usage).
    #[error("{0}")]
    Usage(String),
    /// Flags or `ETCD_*` variables that parse but cannot be used (etcd: "error
    /// verifying flags", exit status 1).
    #[error("{0}")]
    Flags(String),
    /// A setting or combination etcd's `embed.Config.Validate` rejects (etcd's text).
    #[error("{0}")]
    Invalid(String),
    /// A bootstrap configuration etcd's server rejects (initial cluster vs. name
    /// and advertised peer URLs; etcd's text).
    #[error("{0}")]
    Bootstrap(String),
    /// A setting of etcd's that etcd-sim does not implement, set to a non-default
    /// value.
    #[error("--{setting}: {reason}")]
    Unsupported {
        /// The flag name.
        setting: String,
        /// Why, and what would work.
        reason: String,
    },
    /// The YAML configuration file could not be read or used.
    #[error("{path}: {error}")]
    ConfigFile {
        /// The file.
        path: String,
        /// What went wrong.
        error: String,
    },
    /// The data or WAL directory could not be prepared.
    #[error("data dir {path}: {error}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        error: String,
    },
    /// The client port's TLS could not be set up (a certificate, key, CA or
    /// CRL file, or `--auto-tls`'s certificate).
    #[error("{0}")]
    Tls(String),
    /// A listen URL could not be bound.
    #[error("listen tcp {addr}: {error}")]
    Listen {
        /// The address.
        addr: String,
        /// The socket error.
        error: String,
    },
    /// Bootstrapping by `--discovery` failed: etcd's report of the protocol's
    /// error (its `v2discovery` text) with etcd's advice.
    #[error("{0}")]
    Discovery(String),
    /// The member failed to start.
    #[error(transparent)]
    Member(#[from] MemberError),
    /// The server stopped on its own (its Raft node failed or it was removed).
    #[error("etcd-sim: server stopped: {0}")]
    Stopped(String),
}

impl EmbedError {
    /// The exit status etcd uses for this error: 2 for usage errors, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            EmbedError::Usage(_) => 2,
            _ => 1,
        }
    }
}
