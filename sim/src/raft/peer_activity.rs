//! Which peers this node is connected to, and since when (etcd's
//! `rafthttp.Transport.ActiveSince`).
//!
//! etcd keeps a stream to every peer and knows since when each one has been up;
//! its strict reconfiguration check refuses a membership change unless this member
//! has been connected to every voting member for 5 s. Our transport keeps a stream to
//! every peer too, and "connected" is modelled as "heard from recently": every frame
//! received from a peer (Raft traffic, the pings the dialer sends on its stream and
//! their answers, which also flow between followers that Raft never makes
//! talk) renews the contact. A gap of more than
//! [`INACTIVE_AFTER`] without hearing from the peer ends the contact; the next message
//! starts a new one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// How long a peer may stay silent before it counts as disconnected: many ping
/// intervals ([`super::transport::PING_INTERVAL`]), so a redialed stream or a few
/// late pings do not break the contact.
pub const INACTIVE_AFTER: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct Contact {
    since: Instant,
    last: Instant,
}

/// When each peer was last heard from, and since when without a gap. Clones share
/// one record.
#[derive(Debug, Clone, Default)]
pub struct PeerActivity {
    inner: Arc<Mutex<BTreeMap<u64, Contact>>>,
}

impl PeerActivity {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Contact>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that something arrived from peer `id` at `now`.
    pub fn heard_from(&self, id: u64, now: Instant) {
        let mut contacts = self.lock();
        match contacts.get_mut(&id) {
            Some(c) if now.saturating_duration_since(c.last) <= INACTIVE_AFTER => c.last = now,
            _ => {
                contacts.insert(
                    id,
                    Contact {
                        since: now,
                        last: now,
                    },
                );
            }
        }
    }

    /// Since when peer `id` has been connected, as of `now`; `None` if it is not
    /// (never heard from, or silent for more than [`INACTIVE_AFTER`]).
    pub fn active_since(&self, id: u64, now: Instant) -> Option<Instant> {
        self.lock()
            .get(&id)
            .filter(|c| now.saturating_duration_since(c.last) <= INACTIVE_AFTER)
            .map(|c| c.since)
    }

    /// How many peers are connected as of `now` (etcd's `ActivePeers`).
    pub fn active_peers(&self, now: Instant) -> usize {
        self.lock()
            .values()
            .filter(|c| now.saturating_duration_since(c.last) <= INACTIVE_AFTER)
            .count()
    }

    /// How many of `peers` have been connected since `since` or earlier, counting
    /// `me` as connected (etcd's `numConnectedSince`).
    pub fn connected_since(
        &self,
        me: u64,
        peers: impl IntoIterator<Item = u64>,
        since: Instant,
        now: Instant,
    ) -> usize {
        peers
            .into_iter()
            .filter(|&p| p == me || self.active_since(p, now).is_some_and(|t| t <= since))
            .count()
    }

    /// Whether every peer in `peers` (other than `me`) has been connected since
    /// `since` or earlier (etcd's `isConnectedFullySince`).
    pub fn connected_fully_since(
        &self,
        me: u64,
        peers: impl IntoIterator<Item = u64>,
        since: Instant,
        now: Instant,
    ) -> bool {
        peers
            .into_iter()
            .filter(|&p| p != me)
            .all(|p| self.active_since(p, now).is_some_and(|t| t <= since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn contact_lasts_while_heard_from_and_restarts_after_a_gap() {
        let t0 = Instant::now();
        let a = PeerActivity::default();
        assert_eq!(a.active_since(2, t0), None, "never heard from");
        a.heard_from(2, t0);
        a.heard_from(2, t0 + secs(2));
        a.heard_from(2, t0 + secs(4));
        assert_eq!(a.active_since(2, t0 + secs(5)), Some(t0));
        assert_eq!(
            a.active_since(2, t0 + secs(4) + INACTIVE_AFTER + secs(1)),
            None,
            "silent for too long"
        );
        // A message after the gap starts a new contact.
        a.heard_from(2, t0 + secs(10));
        assert_eq!(a.active_since(2, t0 + secs(10)), Some(t0 + secs(10)));
    }

    #[test]
    fn connected_fully_since_needs_every_other_peer_long_enough() {
        let t0 = Instant::now();
        let a = PeerActivity::default();
        a.heard_from(2, t0);
        a.heard_from(2, t0 + secs(3));
        a.heard_from(3, t0 + secs(3));
        let now = t0 + secs(6);
        a.heard_from(2, now);
        a.heard_from(3, now);
        let since = now - secs(5);
        // Member 1 (me) is never heard from by itself: it does not count.
        assert!(a.connected_fully_since(1, [1, 2], since, now));
        assert!(
            !a.connected_fully_since(1, [1, 2, 3], since, now),
            "3 for 3 s only"
        );
        assert!(a.connected_fully_since(1, [1, 2, 3], now - secs(3), now));
        assert!(
            !a.connected_fully_since(1, [1, 2, 4], since, now),
            "4 never heard from"
        );
        assert!(a.connected_fully_since(1, [], since, now));
        // Counted as etcd's numConnectedSince does: me, and 2 (3 is too recent, 4
        // never heard from).
        assert_eq!(a.connected_since(1, [1, 2, 3, 4], since, now), 2);
        assert_eq!(a.connected_since(1, [1, 2, 3, 4], now - secs(3), now), 3);
    }
}
