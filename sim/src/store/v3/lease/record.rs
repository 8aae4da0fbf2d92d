//! One lease, and the Go duration arithmetic etcd's answers depend on.
//!
//! etcd measures a lease's remaining time as a Go `time.Duration` (signed nanoseconds,
//! `math.MaxInt64` for "never expires") and turns it into seconds through a float, so
//! the helpers here work on signed nanoseconds and reproduce those conversions.

use super::LeaseId;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A lease: its granted TTL, its last checkpointed remaining TTL, its expiry and the keys
/// attached to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub(super) id: LeaseId,
    /// Granted TTL in seconds (already raised to the minimum).
    pub(super) ttl: i64,
    /// Last checkpointed remaining TTL in seconds; 0 = none (use `ttl`).
    pub(super) remaining_ttl: i64,
    /// The remaining TTL as the snapshot records it: 0 at grant, and the checkpointed
    /// value only when checkpoints are persisted (etcd writes the lease bucket then).
    pub(super) persisted_remaining_ttl: i64,
    /// When the lease expires; `None` = never (every lease of a non-primary lessor).
    pub(super) expiry: Option<Instant>,
    /// The keys attached, in byte order.
    pub(super) keys: BTreeSet<Vec<u8>>,
}

impl Lease {
    /// A new lease that never expires and has no keys.
    pub(super) fn new(id: LeaseId, ttl: i64) -> Self {
        Lease {
            id,
            ttl,
            remaining_ttl: 0,
            persisted_remaining_ttl: 0,
            expiry: None,
            keys: BTreeSet::new(),
        }
    }

    /// The lease's ID.
    pub fn id(&self) -> LeaseId {
        self.id
    }

    /// The granted TTL in seconds (what grant and keepalive answer).
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// The last applied checkpoint's remaining TTL in seconds, 0 when none.
    pub fn checkpointed_remaining_ttl(&self) -> i64 {
        self.remaining_ttl
    }

    /// The TTL an expiry refresh counts from: the checkpointed remaining TTL when set,
    /// else the granted TTL (etcd's `Lease.RemainingTTL`).
    pub fn effective_ttl(&self) -> i64 {
        if self.remaining_ttl > 0 {
            self.remaining_ttl
        } else {
            self.ttl
        }
    }

    /// When the lease expires; `None` when it never does (non-primary lessor).
    pub fn expiry(&self) -> Option<Instant> {
        self.expiry
    }

    /// The keys attached to the lease, in byte order.
    pub fn keys(&self) -> &BTreeSet<Vec<u8>> {
        &self.keys
    }

    /// The time left at `now` in signed nanoseconds, negative once past expiry and
    /// `i64::MAX` when the lease never expires (etcd's `Lease.Remaining`).
    pub fn remaining_nanos(&self, now: Instant) -> i64 {
        match self.expiry {
            None => i64::MAX,
            Some(expiry) => signed_nanos(now, expiry),
        }
    }

    /// Whether the lease is past its expiry at `now` (no time left counts as expired).
    pub fn is_expired(&self, now: Instant) -> bool {
        self.remaining_nanos(now) <= 0
    }

    /// Sets the expiry to `now` + `extend_nanos` + `ttl_secs` seconds. An expiry beyond
    /// what `Instant` can hold becomes "never".
    pub(super) fn refresh_with(&mut self, now: Instant, extend_nanos: i64, ttl_secs: i64) {
        let total = extend_nanos.saturating_add(ttl_secs.saturating_mul(NANOS_PER_SEC));
        self.expiry = offset(now, total);
    }

    /// etcd's `refresh(extend)`: expiry = now + extend + [`Lease::effective_ttl`].
    pub(super) fn refresh(&mut self, now: Instant, extend_nanos: i64) {
        self.refresh_with(now, extend_nanos, self.effective_ttl());
    }

    /// The lease never expires (until the lessor is promoted).
    pub(super) fn set_forever(&mut self) {
        self.expiry = None;
    }
}

/// `to - from` in signed nanoseconds, saturating at the `i64` bounds.
pub(super) fn signed_nanos(from: Instant, to: Instant) -> i64 {
    if to >= from {
        i64::try_from(to.duration_since(from).as_nanos()).unwrap_or(i64::MAX)
    } else {
        i64::try_from(from.duration_since(to).as_nanos())
            .map(|n| -n)
            .unwrap_or(i64::MIN)
    }
}

/// `at + nanos` (signed), `None` when `Instant` cannot represent it.
pub(super) fn offset(at: Instant, nanos: i64) -> Option<Instant> {
    let magnitude = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        at.checked_add(magnitude)
    } else {
        at.checked_sub(magnitude)
    }
}

/// A Go `Duration`'s `Seconds()` float, as Go computes it (whole seconds plus the
/// nanosecond remainder over 1e9).
pub(super) fn go_seconds(nanos: i64) -> f64 {
    let secs = nanos / NANOS_PER_SEC;
    let rest = nanos % NANOS_PER_SEC;
    secs as f64 + rest as f64 / 1e9
}

/// `int64(d.Seconds())`: the seconds float truncated toward zero.
pub(super) fn go_seconds_truncated(nanos: i64) -> i64 {
    go_seconds(nanos) as i64
}

/// `int64(math.Ceil(d.Seconds()))`.
pub(super) fn go_seconds_ceiled(nanos: i64) -> i64 {
    go_seconds(nanos).ceil() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_lease_never_expires() {
        let now = Instant::now();
        let l = Lease::new(7, 10);
        assert_eq!(l.expiry(), None);
        assert_eq!(l.remaining_nanos(now), i64::MAX);
        assert!(!l.is_expired(now));
        assert_eq!(l.effective_ttl(), 10);
    }

    #[test]
    fn refresh_counts_from_the_checkpoint_when_set() {
        let now = Instant::now();
        let mut l = Lease::new(1, 10);
        l.refresh(now, 0);
        assert_eq!(l.expiry(), Some(now + Duration::from_secs(10)));
        l.remaining_ttl = 4;
        l.refresh(now, 1_000_000_000);
        assert_eq!(l.expiry(), Some(now + Duration::from_secs(5)));
        l.set_forever();
        assert_eq!(l.expiry(), None);
    }

    #[test]
    fn expired_at_and_after_the_expiry() {
        let now = Instant::now();
        let mut l = Lease::new(1, 2);
        l.refresh(now, 0);
        assert!(!l.is_expired(now + Duration::from_millis(1999)));
        assert!(l.is_expired(now + Duration::from_secs(2)));
        assert_eq!(
            l.remaining_nanos(now + Duration::from_millis(2500)),
            -500_000_000
        );
    }

    #[test]
    fn go_conversions() {
        assert_eq!(go_seconds_truncated(4_999_999_999), 4);
        assert_eq!(go_seconds_truncated(-1_500_000_000), -1);
        assert_eq!(go_seconds_truncated(-300_000_000), 0);
        // "Forever" as TimeToLive shows it: MaxInt64 nanoseconds.
        assert_eq!(go_seconds_truncated(i64::MAX), 9_223_372_036);
        assert_eq!(go_seconds_ceiled(4_000_000_001), 5);
        assert_eq!(go_seconds_ceiled(4_000_000_000), 4);
    }

    #[test]
    fn signed_nanos_and_offset() {
        let now = Instant::now();
        let later = now + Duration::from_millis(1500);
        assert_eq!(signed_nanos(now, later), 1_500_000_000);
        assert_eq!(signed_nanos(later, now), -1_500_000_000);
        assert_eq!(offset(now, 1_500_000_000), Some(later));
        assert_eq!(offset(later, -1_500_000_000), Some(now));
    }
}
