//! Which keys hang on which lease: attach, detach, the kv store's [`LeaseChange`]s, and
//! rebuilding the attachments from the kv store after a restore.

use super::change::LeaseChange;
use super::error::LeaseError;
use super::lessor::Lessor;
use super::{LeaseId, NO_LEASE};

impl Lessor {
    /// Attaches `key` to lease `id` (a Put with that lease). Unknown lease →
    /// [`LeaseError::NotFound`] (the kv store checks existence before writing, so this
    /// means the two disagree).
    pub fn attach(&mut self, id: LeaseId, key: Vec<u8>) -> Result<(), LeaseError> {
        let lease = self.leases.get_mut(&id).ok_or(LeaseError::NotFound)?;
        lease.keys.insert(key);
        Ok(())
    }

    /// Detaches `key` from lease `id` (a Put with another lease or none, or a delete).
    /// Unknown lease → [`LeaseError::NotFound`]; a key that was not attached is fine.
    pub fn detach(&mut self, id: LeaseId, key: &[u8]) -> Result<(), LeaseError> {
        let lease = self.leases.get_mut(&id).ok_or(LeaseError::NotFound)?;
        lease.keys.remove(key);
        Ok(())
    }

    /// Mirrors one kv write's lease bookkeeping, in order: for each change, detach the
    /// key from `old_lease` and attach it to `new_lease` (0 = none), as etcd's kv store
    /// does on every Put and delete.
    ///
    /// Detaching from a lease that no longer exists is a no-op: it is what deleting a
    /// revoked lease's keys produces, since [`Lessor::revoke`] forgets the lease first
    /// (etcd only logs a detach failure). Attaching to an unknown lease is a bug in the
    /// caller (etcd panics): every other change is still applied and the first such
    /// lease is reported as `Err(`[`LeaseError::NotFound`]`)`.
    pub fn apply_lease_changes(&mut self, changes: &[LeaseChange]) -> Result<(), LeaseError> {
        let mut first_error = Ok(());
        for change in changes {
            if change.old_lease != NO_LEASE && self.detach(change.old_lease, &change.key).is_err() {
                tracing::trace!(
                    lease = format_args!("{:016x}", change.old_lease),
                    "detach from a lease that is gone"
                );
            }
            if change.new_lease != NO_LEASE {
                if let Err(e) = self.attach(change.new_lease, change.key.clone()) {
                    tracing::error!(
                        lease = format_args!("{:016x}", change.new_lease),
                        "kv write attached a key to an unknown lease"
                    );
                    if first_error.is_ok() {
                        first_error = Err(e);
                    }
                }
            }
        }
        first_error
    }

    /// After [`Lessor::restore`], re-attaches every live key that carries a lease, as
    /// etcd rebuilds them from the kv store (the lessor's snapshot holds no keys). Pairs
    /// naming an unknown lease are skipped with a warning, as in etcd; returns how many.
    /// Pairs with lease 0 are ignored.
    pub fn rebuild_attachments<I>(&mut self, pairs: I) -> usize
    where
        I: IntoIterator<Item = (Vec<u8>, LeaseId)>,
    {
        let mut skipped = 0;
        for (key, id) in pairs {
            if id == NO_LEASE {
                continue;
            }
            if self.attach(id, key).is_err() {
                tracing::warn!(
                    lease = format_args!("{:016x}", id),
                    "failed to attach a restored key: lease not found"
                );
                skipped += 1;
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use std::time::Instant;

    fn change(key: &str, old_lease: i64, new_lease: i64) -> LeaseChange {
        LeaseChange {
            key: key.as_bytes().to_vec(),
            old_lease,
            new_lease,
        }
    }

    fn keys(le: &Lessor, id: LeaseId) -> Vec<Vec<u8>> {
        le.get(id)
            .map(|l| l.keys().iter().cloned().collect())
            .unwrap_or_default()
    }

    fn lessor_with(ids: &[LeaseId]) -> Lessor {
        let now = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        for &id in ids {
            le.grant(id, 10, now).unwrap();
        }
        le
    }

    #[test]
    fn attach_and_detach_directly() {
        let mut le = lessor_with(&[1]);
        le.attach(1, b"a".to_vec()).unwrap();
        le.attach(1, b"b".to_vec()).unwrap();
        assert_eq!(keys(&le, 1), vec![b"a".to_vec(), b"b".to_vec()]);
        le.detach(1, b"a").unwrap();
        le.detach(1, b"never-attached").unwrap();
        assert_eq!(keys(&le, 1), vec![b"b".to_vec()]);
        assert_eq!(le.attach(2, b"x".to_vec()), Err(LeaseError::NotFound));
        assert_eq!(le.detach(2, b"x"), Err(LeaseError::NotFound));
    }

    #[test]
    fn lease_changes_attach_move_and_detach() {
        let mut le = lessor_with(&[1, 2]);
        le.apply_lease_changes(&[change("k1", 0, 1), change("k2", 0, 1), change("k3", 0, 2)])
            .unwrap();
        assert_eq!(keys(&le, 1), vec![b"k1".to_vec(), b"k2".to_vec()]);
        // Move k1 to lease 2, put k2 again with the same lease, delete k3.
        le.apply_lease_changes(&[change("k1", 1, 2), change("k2", 1, 1), change("k3", 2, 0)])
            .unwrap();
        assert_eq!(keys(&le, 1), vec![b"k2".to_vec()]);
        assert_eq!(keys(&le, 2), vec![b"k1".to_vec()]);
    }

    #[test]
    fn detaching_from_a_revoked_lease_is_a_no_op() {
        let mut le = lessor_with(&[1]);
        le.attach(1, b"a".to_vec()).unwrap();
        let deleted = le.revoke(1).unwrap();
        let changes: Vec<_> = deleted
            .into_iter()
            .map(|key| LeaseChange {
                key,
                old_lease: 1,
                new_lease: 0,
            })
            .collect();
        assert_eq!(le.apply_lease_changes(&changes), Ok(()));
        assert!(le.is_empty());
    }

    #[test]
    fn attaching_to_an_unknown_lease_reports_it_and_applies_the_rest() {
        let mut le = lessor_with(&[1]);
        let result =
            le.apply_lease_changes(&[change("x", 0, 7), change("y", 0, 1), change("z", 0, 8)]);
        assert_eq!(result, Err(LeaseError::NotFound));
        assert_eq!(keys(&le, 1), vec![b"y".to_vec()]);
    }

    #[test]
    fn rebuild_attaches_known_leases_and_counts_the_rest() {
        let mut le = lessor_with(&[1, -4]);
        let skipped = le.rebuild_attachments(vec![
            (b"b".to_vec(), 1),
            (b"a".to_vec(), 1),
            (b"n".to_vec(), -4),
            (b"plain".to_vec(), 0),
            (b"orphan".to_vec(), 99),
        ]);
        assert_eq!(skipped, 1);
        assert_eq!(keys(&le, 1), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(keys(&le, -4), vec![b"n".to_vec()]);
    }
}
