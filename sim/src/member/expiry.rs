//! TTL expiry: while it leads and the store holds keys with a TTL, a member
//! proposes a `SYNC` with its clock every 500 ms; every member deletes the keys
//! expired at that time when it applies the entry (etcd's `monitorSync`).

use super::entry::Entry;
use super::handle::Inner;
use super::state_machine::lock;
use crate::server::v2_command::{V2Command, V2Proposal};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::MissedTickBehavior;

/// How often the leader sweeps (etcd: 500 ms).
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

pub(crate) async fn run(inner: Arc<Inner>) {
    let mut ticker = tokio::time::interval(SYNC_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = inner.shutdown.wait() => return,
            _ = ticker.tick() => {}
        }
        if !inner.raft.status().is_leader() || !lock(&inner.store).has_ttl_keys() {
            continue;
        }
        let time = SystemTime::now();
        let entry = Entry::V2(V2Proposal {
            command: V2Command::Sync { time },
            now: time,
        });
        if let Err(e) = inner.propose(&entry).await {
            tracing::debug!(error = %e, "member: expiry sweep not applied");
        }
    }
}
