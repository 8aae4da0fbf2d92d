//! Request metadata the services honour (§3.2): `hasleader: true` asks the
//! server to refuse at once, with Unavailable "etcdserver: no leader", when the
//! member knows of no leader.

use super::error::no_leader;
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::tonic::{Status, metadata::MetadataMap};

/// The metadata key that requires a leader.
pub const HAS_LEADER: &str = "hasleader";

/// Whether the request requires a leader (`hasleader: true`).
pub fn requires_leader(meta: &MetadataMap) -> bool {
    meta.get(HAS_LEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "true")
}

/// Refuses a request that requires a leader when `backend` has none.
///
/// # Errors
///
/// Unavailable "etcdserver: no leader".
pub fn check_leader(meta: &MetadataMap, backend: &dyn V3Backend) -> Result<(), Status> {
    if requires_leader(meta) && !backend.has_leader() {
        return Err(no_leader());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_true_requires_a_leader() {
        let mut m = MetadataMap::new();
        assert!(!requires_leader(&m));
        m.insert(HAS_LEADER, "false".parse().unwrap());
        assert!(!requires_leader(&m));
        m.insert(HAS_LEADER, "true".parse().unwrap());
        assert!(requires_leader(&m));
    }
}
