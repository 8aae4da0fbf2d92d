//! Remaining-TTL checkpoints (`--experimental-enable-lease-checkpoint`, etcd 3.4).
//!
//! With checkpoints on, the primary schedules every lease whose TTL exceeds the
//! checkpoint interval for a checkpoint one interval later. The server collects due
//! checkpoints ([`Lessor::due_checkpoints`]) and proposes them as `LeaseCheckpoint`
//! entries; every member applies them with [`Lessor::checkpoint`], which records the
//! lease's remaining TTL. A later promotion counts the expiry from that remaining TTL
//! instead of the full TTL. Renewing clears it (see [`Renewal::Renewed`]).
//!
//! [`Renewal::Renewed`]: super::Renewal::Renewed

use super::LeaseId;
use super::lessor::Lessor;
use super::record::{go_seconds_ceiled, go_seconds_truncated, signed_nanos};
use std::time::Instant;

/// One lease's remaining TTL to replicate (an entry of etcd's `LeaseCheckpointRequest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The lease.
    pub id: LeaseId,
    /// Its remaining TTL in whole seconds, rounded up.
    pub remaining_ttl: i64,
}

impl Lessor {
    /// Applies one checkpoint of a `LeaseCheckpoint` entry (on every member): records
    /// `remaining_ttl` as the lease's remaining TTL (0 clears it). With persistence on,
    /// the snapshot records it too. On the primary the lease's next checkpoint is
    /// scheduled from `now`. An unknown lease is ignored, as in etcd.
    pub fn checkpoint(&mut self, id: LeaseId, remaining_ttl: i64, now: Instant) {
        let persist = self.config.checkpoint.is_some_and(|c| c.persist);
        let Some(lease) = self.leases.get_mut(&id) else {
            return;
        };
        lease.remaining_ttl = remaining_ttl;
        if persist {
            lease.persisted_remaining_ttl = remaining_ttl;
        }
        let effective_ttl = lease.effective_ttl();
        if self.primary {
            self.schedule_checkpoint(id, effective_ttl, now);
        }
    }

    /// The checkpoints due at `now`, at most `limit` (the server passes
    /// [`MAX_CHECKPOINT_BATCH`](super::MAX_CHECKPOINT_BATCH) and proposes each non-empty
    /// batch as one entry, asking again while batches come back full). Taken
    /// checkpoints leave the schedule; applying them schedules the next ones. Leases
    /// gone, past expiry, or with their full TTL still left are skipped. Empty unless
    /// primary with checkpoints on.
    pub fn due_checkpoints(&mut self, now: Instant, limit: usize) -> Vec<Checkpoint> {
        let mut due = Vec::new();
        if !self.primary || self.config.checkpoint.is_none() {
            return due;
        }
        while due.len() < limit {
            let Some((at, id)) = self.checkpoints.first() else {
                break;
            };
            if at > now {
                break;
            }
            self.checkpoints.pop_first();
            let Some(lease) = self.leases.get(&id) else {
                continue;
            };
            let Some(expiry) = lease.expiry else {
                continue;
            };
            if now >= expiry {
                continue;
            }
            let remaining_ttl = go_seconds_ceiled(signed_nanos(now, expiry));
            if remaining_ttl >= lease.ttl {
                continue;
            }
            due.push(Checkpoint { id, remaining_ttl });
        }
        due
    }

    /// Schedules lease `id`'s next checkpoint one interval after `now` when checkpoints
    /// are on and its TTL to count from (`effective_ttl`: the checkpointed remaining TTL
    /// or the granted TTL) is longer than the interval in whole seconds.
    pub(super) fn schedule_checkpoint(&mut self, id: LeaseId, effective_ttl: i64, now: Instant) {
        let Some(interval) = self.config.effective_checkpoint_interval() else {
            return;
        };
        let interval_secs =
            go_seconds_truncated(i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX));
        if effective_ttl <= interval_secs {
            return;
        }
        if let Some(at) = now.checked_add(interval) {
            self.checkpoints.push(at, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::{CheckpointConfig, LessorConfig};
    use std::time::Duration;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn checkpointing(interval: Duration, persist: bool) -> Lessor {
        Lessor::new(LessorConfig {
            checkpoint: Some(CheckpointConfig { interval, persist }),
            ..LessorConfig::default()
        })
    }

    #[test]
    fn a_promoted_lease_gets_checkpointed_after_the_interval() {
        let t0 = Instant::now();
        let mut le = checkpointing(secs(1), false);
        le.grant(1, 2, t0).unwrap();
        le.promote(t0, Duration::ZERO);
        assert!(le.due_checkpoints(t0, 1000).is_empty());
        let t1 = t0 + secs(1);
        assert_eq!(
            le.due_checkpoints(t1, 1000),
            vec![Checkpoint {
                id: 1,
                remaining_ttl: 1
            }]
        );
        // Taken: not due again until the checkpoint is applied and rescheduled.
        assert!(le.due_checkpoints(t1, 1000).is_empty());
    }

    #[test]
    fn remaining_ttl_rounds_up_and_short_leases_are_not_scheduled() {
        let t0 = Instant::now();
        let mut le = checkpointing(secs(3), false);
        le.promote(t0, Duration::ZERO);
        le.grant(1, 10, t0).unwrap();
        le.grant(2, 3, t0).unwrap(); // not longer than the interval
        assert_eq!(le.checkpoints.len(), 1);
        let t1 = t0 + Duration::from_millis(3500);
        assert_eq!(
            le.due_checkpoints(t1, 1000),
            vec![Checkpoint {
                id: 1,
                remaining_ttl: 7
            }]
        );
        le.checkpoint(1, 7, t1);
        assert_eq!(le.get(1).map(|l| l.checkpointed_remaining_ttl()), Some(7));
        assert_eq!(le.checkpoints.len(), 1);
        assert_eq!(
            le.due_checkpoints(t1 + secs(3), 1000),
            vec![Checkpoint {
                id: 1,
                remaining_ttl: 4
            }]
        );
    }

    #[test]
    fn due_checkpoints_respects_the_limit_and_skips_gone_leases() {
        let t0 = Instant::now();
        let mut le = checkpointing(secs(1), false);
        le.promote(t0, Duration::ZERO);
        for id in 1..=4 {
            le.grant(id, 10, t0).unwrap();
        }
        le.revoke(2).unwrap();
        let t1 = t0 + secs(1);
        let first: Vec<_> = le.due_checkpoints(t1, 2).iter().map(|c| c.id).collect();
        assert_eq!(first, vec![1, 3]);
        let rest: Vec<_> = le.due_checkpoints(t1, 2).iter().map(|c| c.id).collect();
        assert_eq!(rest, vec![4]);
    }

    #[test]
    fn nothing_due_when_not_primary_or_off() {
        let t0 = Instant::now();
        let mut le = checkpointing(secs(1), false);
        le.grant(1, 10, t0).unwrap();
        assert!(le.due_checkpoints(t0 + secs(5), 1000).is_empty());
        le.promote(t0, Duration::ZERO);
        le.demote();
        assert!(le.due_checkpoints(t0 + secs(5), 1000).is_empty());

        let mut off = Lessor::new(LessorConfig::default());
        off.promote(t0, Duration::ZERO);
        off.grant(1, 1000, t0).unwrap();
        assert!(off.due_checkpoints(t0 + secs(600), 1000).is_empty());
    }

    #[test]
    fn checkpoints_restored_on_promote() {
        let t0 = Instant::now();
        let mut le = Lessor::new(LessorConfig::default());
        le.grant(1, 10, t0).unwrap();
        le.checkpoint(1, 5, t0);
        le.checkpoint(99, 5, t0); // unknown: ignored
        le.promote(t0, Duration::ZERO);
        assert_eq!(le.get(1).and_then(|l| l.expiry()), Some(t0 + secs(5)));
    }

    #[test]
    fn persistence_decides_what_the_snapshot_keeps() {
        let t0 = Instant::now();
        for (persist, kept) in [(false, 0), (true, 5)] {
            let mut le = checkpointing(Duration::ZERO, persist);
            le.grant(2, 10, t0).unwrap();
            le.checkpoint(2, 5, t0);
            assert_eq!(le.get(2).map(|l| l.effective_ttl()), Some(5));
            let mut restored = Lessor::new(*le.config());
            restored.restore(&le.snapshot()).unwrap();
            assert_eq!(
                restored.get(2).map(|l| l.checkpointed_remaining_ttl()),
                Some(kept)
            );
        }
    }
}
