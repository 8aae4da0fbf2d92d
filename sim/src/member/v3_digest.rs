//! [`V3Digest`]: what a member's durable v3 state amounts to — revisions, etcd's
//! HashKV over the whole history, and the leases with their keys — for tests that
//! compare members with each other, or one member before a crash and after.

use crate::server::v3_state::V3Stores;

/// A member's durable v3 state in brief. Two members (or one member before a
/// crash and after its recovery) that applied the same log prefix have equal
/// digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Digest {
    /// The kv store's current revision.
    pub revision: i64,
    /// The kv store's compact revision.
    pub compact_revision: i64,
    /// etcd's HashKV at the current revision (every retained change).
    pub hash: u32,
    /// Every lease: its id, granted TTL and attached keys (in id order).
    pub leases: Vec<(i64, i64, Vec<Vec<u8>>)>,
}

impl V3Digest {
    /// The digest of `stores`.
    pub fn of(stores: &V3Stores) -> V3Digest {
        let mut leases: Vec<(i64, i64, Vec<Vec<u8>>)> = stores
            .lessor
            .leases()
            .into_iter()
            .filter_map(|id| stores.lessor.get(id))
            .map(|l| (l.id(), l.ttl(), l.keys().iter().cloned().collect()))
            .collect();
        // `leases()` orders by expiry, which only the primary lessor knows.
        leases.sort_by_key(|l| l.0);
        V3Digest {
            revision: stores.kv.current_revision(),
            compact_revision: stores.kv.compact_revision(),
            // At the current revision HashKV cannot fail (neither compacted nor
            // in the future); 0 would only say that it did.
            hash: stores.kv.hash_kv(0).map_or(0, |h| h.hash),
            leases,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::watch::WatchConfig;
    use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, PutRequest};
    use std::time::Instant;

    fn stores() -> V3Stores {
        V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20))
    }

    fn put(s: &mut V3Stores, key: &str, lease: i64) {
        let req = InternalRaftRequest {
            put: Some(PutRequest {
                key: key.into(),
                value: b"v".to_vec(),
                lease,
                ..Default::default()
            }),
            ..Default::default()
        };
        crate::server::v3_command::apply(s, &req, Instant::now()).unwrap();
    }

    #[test]
    fn equal_histories_give_equal_digests_and_a_snapshot_keeps_it() {
        let (mut a, mut b) = (stores(), stores());
        for s in [&mut a, &mut b] {
            s.lessor.grant(7, 60, Instant::now()).unwrap();
            put(s, "x", 7);
            put(s, "y", 0);
        }
        let d = V3Digest::of(&a);
        assert_eq!(d, V3Digest::of(&b));
        assert_eq!((d.revision, d.compact_revision), (3, 0));
        assert_eq!(d.leases, vec![(7, 60, vec![b"x".to_vec()])]);
        put(&mut b, "y", 0);
        assert_ne!(V3Digest::of(&b).hash, d.hash, "one more change");
        let mut c = stores();
        c.restore(&a.snapshot()).unwrap();
        assert_eq!(V3Digest::of(&c), d);
    }
}
