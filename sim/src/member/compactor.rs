//! The member's automatic compaction task: it drives the
//! [`crate::server::v3_compactor::Compactor`] schedule on its interval and
//! proposes the compactions it picks through Raft (only while this member leads).

use super::entry::{Applied, Entry};
use super::proposer::Proposer;
use super::signal::Signal;
use super::state_machine::lock;
use crate::server::v3_command::{V3Applied, V3ApplyError};
use crate::server::v3_compactor::{AutoCompaction, Compactor};
use crate::server::v3_state::V3Stores;
use crate::store::v3::kv::KvError;
use etcd_sdk::v3::pb::etcdserverpb::{CompactionRequest, InternalRaftRequest};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The task.
pub(crate) struct AutoCompactor {
    pub setting: AutoCompaction,
    pub proposer: Proposer,
    pub stores: Arc<Mutex<V3Stores>>,
    pub shutdown: Arc<Signal>,
}

impl AutoCompactor {
    /// Runs until shutdown.
    pub async fn run(self) {
        let revision = lock(&self.stores).kv.current_revision();
        let mut schedule = Compactor::new(self.setting, Instant::now(), revision);
        let every = schedule.interval();
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let revision = lock(&self.stores).kv.current_revision();
            let leads = self.proposer.status().is_leader();
            let Some(target) = schedule.tick(Instant::now(), revision, leads) else {
                continue;
            };
            tracing::info!(
                capnslog = "N",
                zap_msg = "starting auto compaction",
                revision = target,
                "compactor: Starting auto-compaction at revision {target} ({:?})",
                self.setting
            );
            let entry = Entry::V3(Box::new(InternalRaftRequest {
                compaction: Some(CompactionRequest {
                    revision: target,
                    physical: false,
                }),
                ..Default::default()
            }));
            let ok = match self.proposer.propose(&entry).await {
                Ok(Applied::V3(r)) => match *r {
                    Ok(V3Applied::Compaction(_)) => true,
                    Err(V3ApplyError::Kv(KvError::Compacted { .. })) => true,
                    other => {
                        tracing::warn!(revision = target, result = ?other, "compactor: auto-compaction failed");
                        false
                    }
                },
                other => {
                    tracing::warn!(revision = target, result = ?other, "compactor: auto-compaction failed");
                    false
                }
            };
            if ok {
                tracing::info!(
                    capnslog = "N",
                    zap_msg = "completed auto compaction",
                    revision = target,
                    "compactor: Finished auto-compaction at revision {target}"
                );
            }
            schedule.done(Instant::now(), target, ok);
        }
    }
}
