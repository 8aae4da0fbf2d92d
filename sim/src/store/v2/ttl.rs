//! TTL arithmetic and the index of nodes that expire (etcd's `ttlKeyHeap`).
//!
//! The index is an ordered set of (expiration, path), so expiry order is fully
//! deterministic: earliest first, ties broken by path (etcd's heap leaves ties to
//! chance). A directory sorts before its children, so when both expire at the same
//! instant the directory takes them with it in a single `expire` event.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Expirations before 2000-01-01T00:00:00Z are treated as "no TTL" by Set and Create
/// (etcd's guard against times mangled by a JavaScript round trip).
pub fn min_expire_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(946_684_800)
}

/// The `ttl` shown for a node expiring at `expiration`: `ceil((expiration - now) / 1s)`,
/// which is 0 or negative once the expiration has passed.
pub fn ttl_seconds(expiration: SystemTime, now: SystemTime) -> i64 {
    let nanos: i128 = match expiration.duration_since(now) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    let secs = nanos.div_euclid(1_000_000_000);
    let rem = nanos.rem_euclid(1_000_000_000);
    let ceil = if rem > 0 { secs + 1 } else { secs };
    ceil.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// The nodes that have an expiration, in expiry order.
#[derive(Clone, Debug, Default)]
pub(crate) struct TtlIndex {
    set: BTreeSet<(SystemTime, String)>,
}

impl TtlIndex {
    /// Records that `path` expires at `at`.
    pub(crate) fn insert(&mut self, at: SystemTime, path: &str) {
        self.set.insert((at, path.to_string()));
    }

    /// Forgets the expiration `at` of `path`.
    pub(crate) fn remove(&mut self, at: SystemTime, path: &str) {
        self.set.remove(&(at, path.to_string()));
    }

    /// The earliest entry, if any.
    pub(crate) fn first(&self) -> Option<&(SystemTime, String)> {
        self.set.first()
    }

    /// Whether any node has a TTL.
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn ttl_rounds_up() {
        let now = at(1000, 0);
        assert_eq!(ttl_seconds(at(1005, 0), now), 5);
        assert_eq!(ttl_seconds(at(1004, 200_000_000), now), 5);
        assert_eq!(ttl_seconds(at(1000, 1), now), 1);
        assert_eq!(ttl_seconds(at(1000, 0), now), 0);
        assert_eq!(
            ttl_seconds(at(999, 700_000_000), now),
            0,
            "-0.3 s rounds up to 0"
        );
        assert_eq!(
            ttl_seconds(at(998, 500_000_000), now),
            -1,
            "-1.5 s rounds up to -1"
        );
        assert_eq!(ttl_seconds(at(998, 0), now), -2);
    }

    #[test]
    fn index_orders_by_time_then_path() {
        let mut idx = TtlIndex::default();
        idx.insert(at(5, 0), "/b");
        idx.insert(at(5, 0), "/a");
        idx.insert(at(3, 0), "/z");
        assert_eq!(idx.first(), Some(&(at(3, 0), "/z".to_string())));
        idx.remove(at(3, 0), "/z");
        assert_eq!(idx.first(), Some(&(at(5, 0), "/a".to_string())));
        idx.remove(at(5, 0), "/a");
        idx.remove(at(5, 0), "/b");
        assert!(idx.is_empty());
    }

    #[test]
    fn min_expire_time_is_2000() {
        assert_eq!(
            etcd_sdk::wire::time::format_rfc3339_nano(min_expire_time()),
            "2000-01-01T00:00:00Z"
        );
    }
}
