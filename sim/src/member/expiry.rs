//! TTL expiry: while it leads and the store holds keys with a TTL, a member
//! proposes a `SYNC` with its clock every 500 ms; every member deletes the keys
//! expired at that time when it applies the entry (etcd's `monitorSync`).

use super::entry::Entry;
use super::proposer::Proposer;
use super::signal::Signal;
use super::state_machine::lock;
use crate::server::v2_command::{V2Command, V2Proposal};
use crate::store::v2::Store;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::MissedTickBehavior;

/// How often the leader sweeps (etcd: 500 ms).
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// The expiry task.
pub(crate) struct Expiry {
    pub proposer: Proposer,
    /// The local store (does it hold TTL keys?).
    pub store: Arc<Mutex<Store>>,
    pub shutdown: Arc<Signal>,
}

impl Expiry {
    /// Sweeps every [`SYNC_INTERVAL`] while leading, until shutdown.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(SYNC_INTERVAL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            if !self.proposer.status().is_leader() || !lock(&self.store).has_ttl_keys() {
                continue;
            }
            let time = SystemTime::now();
            let entry = Entry::V2(V2Proposal {
                command: V2Command::Sync { time },
                now: time,
            });
            if let Err(e) = self.proposer.propose(&entry).await {
                tracing::debug!(error = %e, "member: expiry sweep not applied");
            }
        }
    }
}
