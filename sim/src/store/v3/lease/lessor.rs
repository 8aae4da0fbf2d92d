//! The [`Lessor`]: every lease by ID, grant, revoke and lookups.

use super::config::{LessorConfig, MAX_LEASE_TTL};
use super::error::LeaseError;
use super::queue::{CheckpointQueue, ExpiryQueue};
use super::record::Lease;
use super::{LeaseId, NO_LEASE};
use std::collections::BTreeMap;
use std::time::Instant;

/// etcd's lessor as a value: the leases, whether this member is primary (the leader's
/// lessor), and the primary's expiry queue and checkpoint schedule.
///
/// Every member applies the same Raft entries to its lessor, so the lease set, TTLs,
/// attached keys and checkpoints agree everywhere; expiries exist only on the primary.
#[derive(Clone, Debug)]
pub struct Lessor {
    pub(super) config: LessorConfig,
    pub(super) leases: BTreeMap<LeaseId, Lease>,
    pub(super) primary: bool,
    pub(super) expiry_queue: ExpiryQueue,
    pub(super) checkpoints: CheckpointQueue,
}

/// What a grant created: the lease's ID and its TTL after raising it to the minimum (the
/// `ID` and `TTL` of etcd's `LeaseGrantResponse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The lease's ID.
    pub id: LeaseId,
    /// The granted TTL in seconds.
    pub ttl: i64,
}

impl Lessor {
    /// An empty, non-primary lessor.
    pub fn new(config: LessorConfig) -> Self {
        Lessor {
            config,
            leases: BTreeMap::new(),
            primary: false,
            expiry_queue: ExpiryQueue::default(),
            checkpoints: CheckpointQueue::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LessorConfig {
        &self.config
    }

    /// Whether this lessor is primary (manages expiry and renewals).
    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// Applies a `LeaseGrant` entry (on every member). The TTL is raised to
    /// [`LessorConfig::min_ttl`]; on the primary the lease expires `ttl` seconds after
    /// `now`, elsewhere never (until promotion).
    ///
    /// IDs: the server picks a non-zero ID before proposing when the client gave 0
    /// (etcd: its request-ID generator masked to a positive value), so ID 0 never reaches
    /// here in practice; if it does, it fails with [`LeaseError::NotFound`] as in etcd.
    /// Negative IDs are ordinary leases (etcd accepts a client's `ID: -7`).
    ///
    /// Errors, checked in etcd's order: ID 0 → [`LeaseError::NotFound`]; `ttl` above
    /// [`MAX_LEASE_TTL`] → [`LeaseError::TtlTooLarge`]; ID in use →
    /// [`LeaseError::AlreadyExists`].
    pub fn grant(&mut self, id: LeaseId, ttl: i64, now: Instant) -> Result<Granted, LeaseError> {
        if id == NO_LEASE {
            return Err(LeaseError::NotFound);
        }
        if ttl > MAX_LEASE_TTL {
            return Err(LeaseError::TtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(LeaseError::AlreadyExists);
        }
        let mut lease = Lease::new(id, ttl.max(self.config.min_ttl));
        if self.primary {
            lease.refresh(now, 0);
        }
        let granted = Granted { id, ttl: lease.ttl };
        if self.primary {
            if let Some(expiry) = lease.expiry {
                self.expiry_queue.register_or_update(id, expiry);
            }
            self.schedule_checkpoint(id, lease.effective_ttl(), now);
        }
        self.leases.insert(id, lease);
        Ok(granted)
    }

    /// Applies a `LeaseRevoke` entry: forgets the lease and returns its attached keys in
    /// byte order. The server deletes exactly those keys through kv in one write (one
    /// revision), in this order, and feeds that write's lease changes back (detaching
    /// from a forgotten lease is a no-op). Unknown ID → [`LeaseError::NotFound`].
    pub fn revoke(&mut self, id: LeaseId) -> Result<Vec<Vec<u8>>, LeaseError> {
        let lease = self.leases.remove(&id).ok_or(LeaseError::NotFound)?;
        self.expiry_queue.remove(id);
        Ok(lease.keys.into_iter().collect())
    }

    /// Whether the lease exists (what the kv store's lease lookup asks before a Put).
    pub fn contains(&self, id: LeaseId) -> bool {
        self.leases.contains_key(&id)
    }

    /// The lease, if it exists.
    pub fn get(&self, id: LeaseId) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Every lease ID, soonest expiry first as etcd's `Leases()` sorts them (leases that
    /// never expire last), ties by ID. (etcd's own order among equal expiries, and so on
    /// a follower, is arbitrary; this one is deterministic.)
    pub fn leases(&self) -> Vec<LeaseId> {
        let mut ids: Vec<(Option<Instant>, LeaseId)> =
            self.leases.values().map(|l| (l.expiry, l.id)).collect();
        ids.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.cmp(&y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// The number of leases.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether there are no leases.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::time::Duration;

    /// A default lessor (min TTL 2 s), primary since `now`.
    pub(in super::super) fn primary_lessor(now: Instant) -> Lessor {
        let mut le = Lessor::new(LessorConfig::default());
        le.promote(now, Duration::ZERO);
        le
    }

    #[test]
    fn grant_raises_ttl_to_the_minimum() {
        let now = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        for (id, ttl) in [(1, 1), (2, 0), (3, -5)] {
            assert_eq!(le.grant(id, ttl, now), Ok(Granted { id, ttl: 2 }));
            assert_eq!(le.get(id).map(Lease::ttl), Some(2));
        }
        assert_eq!(le.grant(4, 3, now), Ok(Granted { id: 4, ttl: 3 }));
        assert_eq!(le.len(), 4);
    }

    #[test]
    fn grant_refuses_too_large_ttl() {
        let now = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        assert_eq!(
            le.grant(1, MAX_LEASE_TTL + 1, now),
            Err(LeaseError::TtlTooLarge)
        );
        assert!(le.is_empty());
        assert_eq!(
            le.grant(1, MAX_LEASE_TTL, now),
            Ok(Granted {
                id: 1,
                ttl: MAX_LEASE_TTL
            })
        );
    }

    #[test]
    fn grant_refuses_a_duplicate_id_and_id_zero() {
        let now = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        le.grant(12345, 10, now).unwrap();
        assert_eq!(le.grant(12345, 20, now), Err(LeaseError::AlreadyExists));
        assert_eq!(le.get(12345).map(Lease::ttl), Some(10));
        assert_eq!(le.grant(0, 10, now), Err(LeaseError::NotFound));
        // Too large is checked before existence, as in etcd.
        assert_eq!(
            le.grant(12345, MAX_LEASE_TTL + 1, now),
            Err(LeaseError::TtlTooLarge)
        );
    }

    #[test]
    fn negative_ids_are_ordinary_leases() {
        let now = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        assert_eq!(le.grant(-7, 5, now), Ok(Granted { id: -7, ttl: 5 }));
        assert!(le.contains(-7));
        assert_eq!(le.revoke(-7), Ok(vec![]));
    }

    #[test]
    fn grant_expires_only_on_the_primary() {
        let now = Instant::now();
        let mut follower = Lessor::new(LessorConfig::default());
        follower.grant(1, 10, now).unwrap();
        assert_eq!(follower.get(1).and_then(Lease::expiry), None);

        let mut leader = primary_lessor(now);
        leader.grant(1, 10, now).unwrap();
        assert_eq!(
            leader.get(1).and_then(Lease::expiry),
            Some(now + Duration::from_secs(10))
        );
    }

    #[test]
    fn revoke_returns_attached_keys_in_order_and_forgets() {
        let now = Instant::now();
        let mut le = primary_lessor(now);
        le.grant(1, 10, now).unwrap();
        le.grant(2, 10, now).unwrap();
        for key in [&b"zeta"[..], b"alpha", b"mid"] {
            le.attach(1, key.to_vec()).unwrap();
        }
        le.attach(2, b"other".to_vec()).unwrap();
        assert_eq!(
            le.revoke(1),
            Ok(vec![b"alpha".to_vec(), b"mid".to_vec(), b"zeta".to_vec()])
        );
        assert!(!le.contains(1));
        assert_eq!(le.leases(), vec![2]);
        assert_eq!(le.revoke(1), Err(LeaseError::NotFound));
        // A revoked lease is never reported as expired.
        assert_eq!(le.expired(now + Duration::from_secs(60), 500), vec![2]);
    }

    #[test]
    fn revoke_unknown_lease() {
        let mut le = Lessor::new(LessorConfig::default());
        assert_eq!(le.revoke(99), Err(LeaseError::NotFound));
    }

    #[test]
    fn leases_soonest_expiry_first_then_id() {
        let now = Instant::now();
        let mut le = primary_lessor(now);
        le.grant(5, 30, now).unwrap();
        le.grant(9, 10, now).unwrap();
        le.grant(-3, 20, now).unwrap();
        le.grant(2, 10, now).unwrap();
        assert_eq!(le.leases(), vec![2, 9, -3, 5]);
        le.demote();
        assert_eq!(le.leases(), vec![-3, 2, 5, 9]);
    }
}
