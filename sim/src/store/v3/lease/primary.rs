//! The primary's duties: promotion and demotion, renewals (keepalive) and finding
//! expired leases.

use super::LeaseId;
use super::error::LeaseError;
use super::lessor::Lessor;
use std::time::{Duration, Instant};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// What a renewal (one keepalive request) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The lease now expires its full TTL from now; the keepalive answers `TTL = ttl`
    /// (the granted TTL).
    Renewed {
        /// The granted TTL in seconds.
        ttl: i64,
        /// Checkpoints are on and the lease carries a checkpointed remaining TTL: the
        /// server must propose `LeaseCheckpoint { ID, remaining_TTL: 0 }` through Raft
        /// (etcd waits for it before answering) so every member forgets the stale
        /// remaining TTL. The expiry here already counts from the full TTL.
        clear_checkpoint: bool,
    },
    /// No such lease: the keepalive answers `TTL = 0`, no error.
    NotFound,
    /// The lease is past its expiry and awaits its revoke. etcd holds the renewal until
    /// either the revoke is applied (then answers `TTL = 0`) or this member stops being
    /// primary (then forwards the keepalive to the new leader). The server waits and asks
    /// again.
    AwaitingRevoke,
}

impl Renewal {
    /// The TTL the keepalive response carries, or `None` while the answer must wait.
    pub fn keepalive_ttl(self) -> Option<i64> {
        match self {
            Renewal::Renewed { ttl, .. } => Some(ttl),
            Renewal::NotFound => Some(0),
            Renewal::AwaitingRevoke => None,
        }
    }
}

impl Lessor {
    /// Makes this lessor primary (this member is leader and has applied its term's first
    /// entry). Every lease then expires at `now` + `extend` + its TTL (its checkpointed
    /// remaining TTL when it has one); etcd's server passes the election timeout as
    /// `extend`. When at least [`LessorConfig::revoke_rate`] leases exist, expiries that
    /// pile up are spread out so that no more than 3/4 of the revoke rate expire per
    /// second (etcd 3.4's rule).
    ///
    /// [`LessorConfig::revoke_rate`]: super::LessorConfig::revoke_rate
    pub fn promote(&mut self, now: Instant, extend: Duration) {
        self.primary = true;
        let extend_nanos = i64::try_from(extend.as_nanos()).unwrap_or(i64::MAX);
        let ids: Vec<LeaseId> = self.leases.keys().copied().collect();
        for &id in &ids {
            self.refresh_for_promotion(id, now, extend_nanos);
        }
        if ids.len() < self.config.revoke_rate {
            return;
        }
        self.spread_expiries(now, extend_nanos);
    }

    /// etcd's pile-up rule: walk the leases soonest first in one-second windows; past
    /// `3/4 × revoke rate` leases in a window, each further lease is pushed back in
    /// proportion to how far over the target the window is.
    fn spread_expiries(&mut self, now: Instant, extend_nanos: i64) {
        let target = (3 * self.config.revoke_rate) / 4;
        if target == 0 {
            return;
        }
        let mut order: Vec<(i64, LeaseId)> = self
            .leases
            .values()
            .map(|l| (l.remaining_nanos(now), l.id))
            .collect();
        order.sort_unstable();
        let Some(&(first, _)) = order.first() else {
            return;
        };
        let mut base = first;
        let mut next = base.saturating_add(NANOS_PER_SEC);
        let mut expires: usize = 0;
        for (remaining, id) in order {
            if remaining > next {
                base = remaining;
                next = base.saturating_add(NANOS_PER_SEC);
                expires = 1;
                continue;
            }
            expires += 1;
            if expires <= target {
                continue;
            }
            let mut rate_delay = 1e9 * (expires as f64 / target as f64);
            rate_delay -= remaining.saturating_sub(base) as f64;
            let delay = rate_delay as i64;
            next = base.saturating_add(delay);
            self.refresh_for_promotion(id, now, delay.saturating_add(extend_nanos));
        }
    }

    fn refresh_for_promotion(&mut self, id: LeaseId, now: Instant, extend_nanos: i64) {
        let Some(lease) = self.leases.get_mut(&id) else {
            return;
        };
        lease.refresh(now, extend_nanos);
        match lease.expiry {
            Some(expiry) => self.expiry_queue.register_or_update(id, expiry),
            None => self.expiry_queue.remove(id),
        }
        let effective_ttl = lease.effective_ttl();
        self.schedule_checkpoint(id, effective_ttl, now);
    }

    /// Stops being primary (this member is no longer leader): no lease expires any more,
    /// and the expiry queue and checkpoint schedule are dropped.
    pub fn demote(&mut self) {
        for lease in self.leases.values_mut() {
            lease.set_forever();
        }
        self.expiry_queue.clear();
        self.checkpoints.clear();
        self.primary = false;
    }

    /// A keepalive for lease `id` at `now`. Only the primary renews: elsewhere
    /// `Err(`[`LeaseError::NotPrimary`]`)`, and the server forwards the request to the
    /// leader (answering the leader's reply, `TTL = 0` when it says not found).
    ///
    /// See [`Renewal`] for the outcomes; [`Renewal::keepalive_ttl`] gives the TTL the
    /// keepalive response carries.
    pub fn renew(&mut self, id: LeaseId, now: Instant) -> Result<Renewal, LeaseError> {
        if !self.primary {
            return Err(LeaseError::NotPrimary);
        }
        let checkpoints_on = self.config.checkpoint.is_some();
        let Some(lease) = self.leases.get_mut(&id) else {
            return Ok(Renewal::NotFound);
        };
        if lease.is_expired(now) {
            return Ok(Renewal::AwaitingRevoke);
        }
        let clear_checkpoint = checkpoints_on && lease.remaining_ttl > 0;
        if clear_checkpoint {
            // As after the clearing checkpoint has applied: count from the full TTL.
            lease.refresh_with(now, 0, lease.ttl);
        } else {
            lease.refresh(now, 0);
        }
        let ttl = lease.ttl;
        match lease.expiry {
            Some(expiry) => self.expiry_queue.register_or_update(id, expiry),
            None => self.expiry_queue.remove(id),
        }
        Ok(Renewal::Renewed {
            ttl,
            clear_checkpoint,
        })
    }

    /// The leases past their expiry at `now`, soonest first, at most `limit` (the server
    /// passes [`LessorConfig::revoke_limit_per_check`], 500). Only the primary reports;
    /// elsewhere the list is empty.
    ///
    /// A reported lease is not reported again until
    /// [`LessorConfig::expired_retry_interval`] has passed (its revoke is on its way
    /// through Raft), then again at every such interval until it is revoked or renewed.
    ///
    /// [`LessorConfig::revoke_limit_per_check`]: super::LessorConfig::revoke_limit_per_check
    /// [`LessorConfig::expired_retry_interval`]: super::LessorConfig::expired_retry_interval
    pub fn expired(&mut self, now: Instant, limit: usize) -> Vec<LeaseId> {
        let mut found = Vec::new();
        if !self.primary || limit == 0 {
            return found;
        }
        let retry = self.config.effective_retry_interval();
        while let Some((at, id)) = self.expiry_queue.first() {
            let Some(lease) = self.leases.get(&id) else {
                self.expiry_queue.remove(id);
                continue;
            };
            if now < at {
                break;
            }
            match now.checked_add(retry) {
                Some(again) => self.expiry_queue.register_or_update(id, again),
                None => self.expiry_queue.remove(id),
            }
            if lease.is_expired(now) {
                found.push(id);
                if found.len() == limit {
                    break;
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::lessor::tests::primary_lessor;
    use crate::store::v3::lease::{CheckpointConfig, LessorConfig};

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn renew_resets_the_expiry() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(1, 10, t0).unwrap();
        let t1 = t0 + secs(6);
        assert_eq!(
            le.renew(1, t1),
            Ok(Renewal::Renewed {
                ttl: 10,
                clear_checkpoint: false
            })
        );
        assert_eq!(le.get(1).and_then(|l| l.expiry()), Some(t1 + secs(10)));
        // The old expiry passed: nothing expired.
        assert!(le.expired(t0 + secs(11), 500).is_empty());
        assert_eq!(le.expired(t1 + secs(10), 500), vec![1]);
    }

    #[test]
    fn renew_unknown_expired_and_not_primary() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        assert_eq!(le.renew(999, t0), Ok(Renewal::NotFound));
        assert_eq!(Renewal::NotFound.keepalive_ttl(), Some(0));
        le.grant(1, 2, t0).unwrap();
        assert_eq!(le.renew(1, t0 + secs(2)), Ok(Renewal::AwaitingRevoke));
        assert_eq!(Renewal::AwaitingRevoke.keepalive_ttl(), None);
        // Still expired: the renewal did not extend it.
        assert_eq!(le.expired(t0 + secs(2), 500), vec![1]);
        le.revoke(1).unwrap();
        assert_eq!(le.renew(1, t0 + secs(3)), Ok(Renewal::NotFound));

        let mut follower = Lessor::new(LessorConfig::default());
        follower.grant(5, 10, t0).unwrap();
        assert_eq!(follower.renew(5, t0), Err(LeaseError::NotPrimary));
        assert_eq!(follower.renew(6, t0), Err(LeaseError::NotPrimary));
    }

    #[test]
    fn renew_with_checkpoints_asks_to_clear_the_remaining_ttl() {
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig {
            checkpoint: Some(CheckpointConfig::default()),
            ..LessorConfig::default()
        });
        le.promote(t0, Duration::ZERO);
        le.grant(1, 10, t0).unwrap();
        le.checkpoint(1, 4, t0);
        let r = le.renew(1, t0 + secs(1)).unwrap();
        assert_eq!(
            r,
            Renewal::Renewed {
                ttl: 10,
                clear_checkpoint: true
            }
        );
        assert_eq!(r.keepalive_ttl(), Some(10));
        assert_eq!(le.get(1).and_then(|l| l.expiry()), Some(t0 + secs(11)));
        // Once the clearing checkpoint applied, renewals need no clearing.
        le.checkpoint(1, 0, t0 + secs(1));
        assert_eq!(
            le.renew(1, t0 + secs(2)),
            Ok(Renewal::Renewed {
                ttl: 10,
                clear_checkpoint: false
            })
        );
    }

    #[test]
    fn renew_without_checkpointing_counts_from_an_applied_checkpoint() {
        // Checkpoint entries can come from a leader with checkpoints on; etcd's refresh
        // then counts from the remaining TTL.
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(1, 10, t0).unwrap();
        le.checkpoint(1, 4, t0);
        assert_eq!(
            le.renew(1, t0),
            Ok(Renewal::Renewed {
                ttl: 10,
                clear_checkpoint: false
            })
        );
        assert_eq!(le.get(1).and_then(|l| l.expiry()), Some(t0 + secs(4)));
    }

    #[test]
    fn expiry_only_when_primary() {
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        le.grant(1, 2, t0).unwrap();
        assert!(le.expired(t0 + secs(100), 500).is_empty());
        le.promote(t0 + secs(100), Duration::ZERO);
        assert!(le.expired(t0 + secs(101), 500).is_empty());
        assert_eq!(le.expired(t0 + secs(102), 500), vec![1]);
        le.demote();
        assert!(le.expired(t0 + secs(200), 500).is_empty());
    }

    #[test]
    fn expired_soonest_first_and_limited() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(10, 5, t0).unwrap();
        le.grant(20, 3, t0).unwrap();
        le.grant(30, 4, t0).unwrap();
        le.grant(40, 3, t0).unwrap();
        le.grant(50, 60, t0).unwrap();
        let now = t0 + secs(5);
        assert_eq!(le.expired(now, 3), vec![20, 40, 30]);
        assert_eq!(le.expired(now, 3), vec![10]);
        assert!(le.expired(now, 3).is_empty());
        assert!(le.expired(now, 0).is_empty());
    }

    #[test]
    fn expired_is_reported_again_after_the_retry_interval() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        assert_eq!(le.config().expired_retry_interval, secs(7));
        le.grant(1, 2, t0).unwrap();
        let t1 = t0 + secs(2);
        assert_eq!(le.expired(t1, 500), vec![1]);
        assert!(le.expired(t1 + Duration::from_millis(500), 500).is_empty());
        assert!(le.expired(t1 + Duration::from_millis(6999), 500).is_empty());
        assert_eq!(le.expired(t1 + secs(7), 500), vec![1]);
        le.revoke(1).unwrap();
        assert!(le.expired(t1 + secs(30), 500).is_empty());
    }

    #[test]
    fn promote_extends_every_lease() {
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        le.grant(1, 10, t0).unwrap();
        le.grant(2, 5, t0).unwrap();
        le.checkpoint(2, 3, t0);
        let t1 = t0 + secs(50);
        le.promote(t1, secs(1));
        assert!(le.is_primary());
        assert_eq!(le.get(1).and_then(|l| l.expiry()), Some(t1 + secs(11)));
        // A checkpointed lease counts from its remaining TTL.
        assert_eq!(le.get(2).and_then(|l| l.expiry()), Some(t1 + secs(4)));
        assert!(le.expired(t1 + Duration::from_millis(3999), 500).is_empty());
        assert_eq!(le.expired(t1 + secs(4), 500), vec![2]);
        le.revoke(2).unwrap();
        assert_eq!(le.expired(t1 + secs(11), 500), vec![1]);
    }

    #[test]
    fn demote_makes_leases_forever() {
        let t0 = Instant::now();
        let mut le = primary_lessor(t0);
        le.grant(1, 10, t0).unwrap();
        le.grant(2, 20, t0).unwrap();
        le.demote();
        assert!(!le.is_primary());
        assert_eq!(le.get(1).and_then(|l| l.expiry()), None);
        assert_eq!(le.get(2).and_then(|l| l.expiry()), None);
        // A new grant on a follower never expires either.
        le.grant(3, 10, t0).unwrap();
        assert_eq!(le.get(3).and_then(|l| l.expiry()), None);
        // Promoted again: expiries restart from the new leader's now.
        let t1 = t0 + secs(1000);
        le.promote(t1, Duration::ZERO);
        assert_eq!(le.get(2).and_then(|l| l.expiry()), Some(t1 + secs(20)));
    }

    #[test]
    fn promote_spreads_piled_up_expiries() {
        // etcd's pile-up test, with a revoke rate of 10: 100 leases of TTL 10 and 100 of
        // TTL 11 must not expire more than 10 per second, nor fewer than 5.
        let rate = 10;
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig {
            revoke_rate: rate,
            ..LessorConfig::default()
        });
        for i in 1..=(rate as i64) * 10 {
            le.grant(2 * i, 10, t0).unwrap();
            le.grant(2 * i + 1, 11, t0).unwrap();
        }
        le.promote(t0, Duration::ZERO);
        let mut per_second = std::collections::BTreeMap::<i64, usize>::new();
        for id in le.leases() {
            let remaining = le.get(id).map(|l| l.remaining_nanos(t0)).unwrap_or(0);
            let s = (remaining as f64 / 1e9 + 0.1) as i64;
            *per_second.entry(s).or_default() += 1;
        }
        for s in 10..30 {
            let c = per_second.get(&s).copied().unwrap_or(0);
            assert!(c <= rate, "{c} leases expire at {s}s");
            assert!(c >= rate / 2, "{c} leases expire at {s}s");
        }
        assert_eq!(per_second.values().sum::<usize>(), 200);
    }

    #[test]
    fn no_spreading_below_the_revoke_rate() {
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig {
            revoke_rate: 10,
            ..LessorConfig::default()
        });
        for id in 1..=9 {
            le.grant(id, 10, t0).unwrap();
        }
        le.promote(t0, secs(1));
        for id in 1..=9 {
            assert_eq!(le.get(id).and_then(|l| l.expiry()), Some(t0 + secs(11)));
        }
    }
}
