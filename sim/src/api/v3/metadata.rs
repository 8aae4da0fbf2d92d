//! Request metadata the services honour (§3.2): `hasleader: true` asks the
//! server to refuse at once, with Unavailable "etcdserver: no leader", when the
//! member knows of no leader; a stream opened with it is ended with that error
//! once the member has seen no leader at [`MAX_NO_LEADER_CHECKS`] checks in a
//! row, one per [`NO_LEADER_CHECK_INTERVAL`] (etcd's `monitorLeader`).

use super::error::no_leader;
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::tonic::{Status, metadata::MetadataMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How often a `hasleader` stream checks for a leader: etcd checks once per
/// election timeout (10 ticks of 100 ms by default).
pub const NO_LEADER_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Leaderless checks in a row after which `hasleader` streams are ended.
pub const MAX_NO_LEADER_CHECKS: u32 = 3;

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

/// A future that completes when a stream opened with `meta` must end for lack
/// of a leader (checked every `interval`), or never when `meta` does not
/// require a leader.
pub fn leader_lost(
    meta_requires_leader: bool,
    backend: Arc<dyn V3Backend>,
    interval: Duration,
) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    if !meta_requires_leader {
        return Box::pin(std::future::pending());
    }
    Box::pin(async move {
        let mut misses = 0;
        loop {
            tokio::time::sleep(interval).await;
            if backend.has_leader() {
                misses = 0;
            } else {
                misses += 1;
                if misses >= MAX_NO_LEADER_CHECKS {
                    return;
                }
            }
        }
    })
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
