//! The primary's two time-ordered queues: when to look at a lease for expiry (one entry
//! per lease, etcd's `LeaseExpiredNotifier`) and when to checkpoint it (a multiset,
//! etcd's checkpoint heap). Ties are broken by lease ID / insertion order, so the order
//! is deterministic.

use super::LeaseId;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// One time per lease: the next moment the lessor should check whether it expired.
#[derive(Clone, Debug, Default)]
pub(super) struct ExpiryQueue {
    by_time: BTreeSet<(Instant, LeaseId)>,
    by_id: BTreeMap<LeaseId, Instant>,
}

impl ExpiryQueue {
    /// Sets (or moves) the lease's entry to `at`.
    pub(super) fn register_or_update(&mut self, id: LeaseId, at: Instant) {
        if let Some(old) = self.by_id.insert(id, at) {
            self.by_time.remove(&(old, id));
        }
        self.by_time.insert((at, id));
    }

    /// The earliest entry.
    pub(super) fn first(&self) -> Option<(Instant, LeaseId)> {
        self.by_time.first().copied()
    }

    /// Drops the lease's entry, if any.
    pub(super) fn remove(&mut self, id: LeaseId) {
        if let Some(at) = self.by_id.remove(&id) {
            self.by_time.remove(&(at, id));
        }
    }

    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.by_time.clear();
        self.by_id.clear();
    }

    /// The number of leases queued.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }
}

/// Scheduled checkpoints: (time, lease) pairs in time order; one lease may appear more
/// than once, as in etcd's heap.
#[derive(Clone, Debug, Default)]
pub(super) struct CheckpointQueue {
    entries: BTreeMap<(Instant, u64), LeaseId>,
    next_seq: u64,
}

impl CheckpointQueue {
    /// Schedules a checkpoint of `id` at `at`.
    pub(super) fn push(&mut self, at: Instant, id: LeaseId) {
        self.entries.insert((at, self.next_seq), id);
        self.next_seq = self.next_seq.wrapping_add(1);
    }

    /// The earliest scheduled checkpoint.
    pub(super) fn first(&self) -> Option<(Instant, LeaseId)> {
        self.entries
            .first_key_value()
            .map(|(&(at, _), &id)| (at, id))
    }

    /// Removes the earliest scheduled checkpoint.
    pub(super) fn pop_first(&mut self) {
        self.entries.pop_first();
    }

    /// Drops every scheduled checkpoint.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
    }

    /// The number of scheduled checkpoints.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expiry_queue_keeps_one_entry_per_lease_in_time_order() {
        let t = Instant::now();
        let mut q = ExpiryQueue::default();
        q.register_or_update(3, t + Duration::from_secs(5));
        q.register_or_update(1, t + Duration::from_secs(9));
        q.register_or_update(2, t + Duration::from_secs(5));
        assert_eq!(q.first(), Some((t + Duration::from_secs(5), 2)));
        q.register_or_update(2, t + Duration::from_secs(1));
        q.register_or_update(3, t + Duration::from_secs(10));
        assert_eq!(q.len(), 3);
        assert_eq!(q.first(), Some((t + Duration::from_secs(1), 2)));
        q.remove(2);
        assert_eq!(q.first(), Some((t + Duration::from_secs(9), 1)));
        q.remove(42);
        q.clear();
        assert_eq!(q.first(), None);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn checkpoint_queue_is_a_multiset_in_time_then_insertion_order() {
        let t = Instant::now();
        let mut q = CheckpointQueue::default();
        q.push(t + Duration::from_secs(2), 5);
        q.push(t + Duration::from_secs(1), 9);
        q.push(t + Duration::from_secs(1), 9);
        q.push(t + Duration::from_secs(1), 4);
        assert_eq!(q.len(), 4);
        let mut order = Vec::new();
        while let Some((_, id)) = q.first() {
            order.push(id);
            q.pop_first();
        }
        assert_eq!(order, vec![9, 9, 4, 5]);
        q.push(t, 1);
        q.clear();
        assert_eq!(q.first(), None);
    }
}
