//! TimeToLive: a lease's remaining and granted TTL, and its keys.

use super::LeaseId;
use super::lessor::Lessor;
use super::record::go_seconds_truncated;
use std::time::Instant;

/// The body of a `LeaseTimeToLiveResponse` (without the header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeToLive {
    /// The lease asked about.
    pub id: LeaseId,
    /// Whether the lease exists. When it does not, etcd answers `TTL = -1`,
    /// `grantedTTL = 0`, no keys, and no error; note that an existing lease past its
    /// expiry can also show `-1` (or less) until it is revoked.
    pub found: bool,
    /// Remaining seconds, truncated toward zero as etcd computes it
    /// (`int64(Remaining().Seconds())`). On a lessor that is not primary the lease never
    /// expires and this is 9223372036 (Go's longest duration).
    pub ttl: i64,
    /// The granted TTL in seconds.
    pub granted_ttl: i64,
    /// The attached keys in byte order, when asked for (empty otherwise).
    pub keys: Vec<Vec<u8>>,
}

impl Lessor {
    /// The TimeToLive answer for lease `id` at `now`, keys included when `with_keys`.
    /// etcd serves this on the leader (followers forward it), whether or not its lessor
    /// is primary yet.
    pub fn time_to_live(&self, id: LeaseId, now: Instant, with_keys: bool) -> TimeToLive {
        match self.leases.get(&id) {
            None => TimeToLive {
                id,
                found: false,
                ttl: -1,
                granted_ttl: 0,
                keys: Vec::new(),
            },
            Some(lease) => TimeToLive {
                id,
                found: true,
                ttl: go_seconds_truncated(lease.remaining_nanos(now)),
                granted_ttl: lease.ttl,
                keys: if with_keys {
                    lease.keys.iter().cloned().collect()
                } else {
                    Vec::new()
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::lease::lessor::tests::primary_lessor;
    use std::time::Duration;

    #[test]
    fn remaining_is_floored_and_keys_are_sorted() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(7, 60, t0).unwrap();
        le.attach(7, b"lk2".to_vec()).unwrap();
        le.attach(7, b"lk".to_vec()).unwrap();
        let at = t0 + Duration::from_millis(500);
        assert_eq!(
            le.time_to_live(7, at, true),
            TimeToLive {
                id: 7,
                found: true,
                ttl: 59,
                granted_ttl: 60,
                keys: vec![b"lk".to_vec(), b"lk2".to_vec()],
            }
        );
        let without = le.time_to_live(7, t0 + Duration::from_millis(59_999), false);
        assert_eq!((without.ttl, without.keys.len()), (0, 0));
        assert_eq!(le.time_to_live(7, t0, false).ttl, 60);
    }

    #[test]
    fn unknown_lease_answers_minus_one() {
        let le = Lessor::new(LessorConfig::default());
        assert_eq!(
            le.time_to_live(42, Instant::now(), true),
            TimeToLive {
                id: 42,
                found: false,
                ttl: -1,
                granted_ttl: 0,
                keys: vec![],
            }
        );
    }

    #[test]
    fn past_expiry_and_never_expiring() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(1, 2, t0).unwrap();
        // Truncation toward zero: -0.5 s shows 0, -1.5 s shows -1.
        assert_eq!(
            le.time_to_live(1, t0 + Duration::from_millis(2500), false)
                .ttl,
            0
        );
        assert_eq!(
            le.time_to_live(1, t0 + Duration::from_millis(3500), false)
                .ttl,
            -1
        );
        le.demote();
        let ttl = le.time_to_live(1, t0, false);
        assert_eq!(
            (ttl.found, ttl.ttl, ttl.granted_ttl),
            (true, 9_223_372_036, 2)
        );
    }
}
