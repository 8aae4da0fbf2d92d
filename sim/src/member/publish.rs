//! What a member does once after it starts: publish its name and client URLs
//! (after which it is ready), and, while it leads, decide the cluster version once
//! every member has published.

use super::entry::{Applied, Entry};
use super::membership::Cluster;
use super::proposer::Proposer;
use super::signal::Signal;
use super::state_machine::lock;
use crate::api::v2::members::MembersError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::MissedTickBehavior;

/// The cluster version the leader sets (etcd 3.4's).
pub const CLUSTER_VERSION: &str = "3.4.0";
/// How often the leader checks whether the cluster version can be decided.
pub const VERSION_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// The publishing task: what it publishes and where it says it is done.
pub(crate) struct Publisher {
    /// This member's id, name and client URLs.
    pub id: u64,
    pub name: String,
    pub client_urls: Vec<String>,
    pub proposer: Proposer,
    /// Set once published.
    pub ready: Arc<Signal>,
    pub shutdown: Arc<Signal>,
}

impl Publisher {
    /// Proposes this member's attributes until they are applied (etcd's `publish`).
    pub async fn run(self) {
        loop {
            if self.shutdown.is_triggered() {
                return;
            }
            let entry = Entry::Publish {
                id: self.id,
                name: self.name.clone(),
                client_urls: self.client_urls.clone(),
                now: SystemTime::now(),
            };
            match self.proposer.propose(&entry).await {
                Ok(Applied::Membership(Ok(()))) => {
                    self.ready.trigger();
                    tracing::info!(name = %self.name, id = %format!("{:x}", self.id), "member: published");
                    return;
                }
                Ok(Applied::Membership(Err(MembersError::IdRemoved))) => {
                    tracing::warn!(id = %format!("{:x}", self.id), "member: removed, not publishing");
                    return;
                }
                Ok(other) => {
                    tracing::debug!(?other, "member: publish not applied; retrying");
                    tokio::time::sleep(VERSION_CHECK_INTERVAL).await;
                }
                Err(e) => tracing::debug!(error = %e, "member: publish failed; retrying"),
            }
        }
    }
}

/// The task that sets the cluster version.
pub(crate) struct VersionDecider {
    pub proposer: Proposer,
    pub cluster: Arc<Mutex<Cluster>>,
    pub shutdown: Arc<Signal>,
}

impl VersionDecider {
    /// While this member leads and no version is set, sets it once every member has
    /// published.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(VERSION_CHECK_INTERVAL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = ticker.tick() => {}
            }
            let (decided, ready) = {
                let c = lock(&self.cluster);
                (c.version().is_some(), c.all_started())
            };
            if decided {
                return;
            }
            if !ready || !self.proposer.status().is_leader() {
                continue;
            }
            let entry = Entry::ClusterVersion {
                version: CLUSTER_VERSION.into(),
                now: SystemTime::now(),
            };
            if let Err(e) = self.proposer.propose(&entry).await {
                tracing::debug!(error = %e, "member: cluster version not set");
            }
        }
    }
}
