//! [`DiscoveryError`]: why discovery failed, with the texts of etcd's
//! `v2discovery` package.

/// A failure of the v2 discovery protocol.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The registrations do not form a valid initial cluster.
    #[error("discovery: invalid URL")]
    InvalidUrl,
    /// `_config/size` is not an unsigned integer.
    #[error("discovery: size key is bad")]
    BadSizeKey,
    /// This member's key already exists: it registered before (a restart after a
    /// failed bootstrap, or two members with the same id).
    #[error("discovery: found duplicate id")]
    DuplicateId,
    /// Two of the first `size` registrations have the same name.
    #[error("discovery: found duplicate name")]
    DuplicateName,
    /// `size` members registered before this one.
    #[error("discovery: cluster is full")]
    FullCluster,
    /// The discovery service stayed unreachable through every retry.
    #[error("discovery: too many retries")]
    TooManyRetries,
    /// The discovery URL does not answer with etcd's v2 JSON.
    #[error("discovery: bad discovery endpoint")]
    BadDiscoveryEndpoint,
    /// `--discovery-proxy` is not a usable address.
    #[error("invalid proxy address {proxy:?}: {reason}")]
    InvalidProxy {
        /// The value given.
        proxy: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The discovery URL cannot be parsed.
    #[error("parse {url:?}: {reason}")]
    BadUrl {
        /// The value given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Any other failure of a request to the discovery service (etcd passes the
    /// client's error through, e.g. `100: Key not found (/tok) [5]` for a token
    /// without a `_config/size`).
    #[error(transparent)]
    Client(#[from] etcd_sdk::Error),
}

impl DiscoveryError {
    /// Whether this is [`DiscoveryError::FullCluster`].
    pub fn is_full_cluster(&self) -> bool {
        matches!(self, DiscoveryError::FullCluster)
    }
}
