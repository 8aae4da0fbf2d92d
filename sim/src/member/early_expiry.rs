//! `--unsafe early-follower-lease-expiry`, **for testing the chaos checker
//! only**: a follower keeps its own clock on every lease (from when it first
//! saw it) and, half a TTL later, believes it expired and proposes its
//! revocation. In etcd only the leader's lessor expires leases (keepalives
//! reach only the leader), so this revokes leases that are being kept alive.

use crate::store::v3::lease::LeaseId;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long after a revocation was proposed it is proposed again while the
/// lease is still there (the proposal may have been lost).
const REPROPOSE_AFTER: Duration = Duration::from_secs(1);

/// A follower's own expiry clock over the leases it knows.
#[derive(Debug, Default)]
pub(crate) struct EarlyExpiry {
    /// Lease -> (when first seen, when its revocation was last proposed).
    seen: BTreeMap<LeaseId, (Instant, Option<Instant>)>,
}

impl EarlyExpiry {
    /// Given the leases now known (id, granted TTL in seconds), returns those
    /// to revoke: seen at least half their TTL ago, and not proposed within
    /// [`REPROPOSE_AFTER`]. Forgets leases that are gone.
    pub(crate) fn due(&mut self, leases: &[(LeaseId, i64)], now: Instant) -> Vec<LeaseId> {
        self.seen
            .retain(|id, _| leases.iter().any(|(known, _)| known == id));
        let mut out = Vec::new();
        for &(id, ttl) in leases {
            let (first, proposed) = self.seen.entry(id).or_insert((now, None));
            let half = Duration::from_secs(ttl.max(0) as u64) / 2;
            let ripe = now.duration_since(*first) >= half;
            let quiet = proposed.is_none_or(|p| now.duration_since(p) >= REPROPOSE_AFTER);
            if ripe && quiet {
                *proposed = Some(now);
                out.push(id);
            }
        }
        out
    }

    /// Forgets every lease (this member leads now: its lessor is the real one).
    pub(crate) fn clear(&mut self) {
        self.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_a_ttl_after_first_seen_and_again_while_it_stays() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut e = EarlyExpiry::default();
        assert!(e.due(&[(1, 10), (2, 4)], t0).is_empty());
        assert_eq!(e.due(&[(1, 10), (2, 4)], t0 + s(2)), vec![2]);
        assert!(
            e.due(&[(1, 10), (2, 4)], t0 + s(2)).is_empty(),
            "just proposed"
        );
        assert_eq!(e.due(&[(1, 10), (2, 4)], t0 + s(5)), vec![1, 2]);
        // Gone, then granted again under the same id: a new clock.
        assert_eq!(e.due(&[(1, 10)], t0 + s(6)), vec![1], "still there: again");
        let later = t0 + Duration::from_millis(6500);
        assert!(e.due(&[(1, 10), (2, 4)], later).is_empty());
        assert_eq!(e.due(&[(2, 4)], later + s(2)), vec![2]);
        e.clear();
        assert!(e.due(&[(1, 10)], t0 + s(20)).is_empty());
    }
}
