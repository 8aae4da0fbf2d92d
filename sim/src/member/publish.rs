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
    /// The cluster's id (for the log line).
    pub cluster_id: u64,
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
                    self.log_published();
                    self.ready.trigger();
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

impl Publisher {
    /// etcd's milestone line for a published member (harnesses wait for it).
    fn log_published(&self) {
        // Go's %+v of the attributes struct: {Name:x ClientURLs:[u1 u2]}.
        let attributes = format!(
            "{{Name:{} ClientURLs:[{}]}}",
            self.name,
            self.client_urls.join(" ")
        );
        let cluster = format!("{:x}", self.cluster_id);
        tracing::info!(
            zap_msg = "published local member to cluster through raft",
            local_member_id = %format!("{:x}", self.id),
            local_member_attributes = %attributes,
            request_path = %format!("/0/members/{:x}/attributes", self.id),
            cluster_id = %cluster,
            publish_timeout = %format!("{}s", self.proposer.request_timeout().as_secs()),
            "etcdserver: published {attributes} to cluster {cluster}"
        );
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
        let mut announced = false;
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
            if !announced {
                announced = true;
                tracing::info!(
                    zap_msg = "setting up initial cluster version",
                    cluster_version = %major_minor(CLUSTER_VERSION),
                    "etcdserver: setting up the initial cluster version to {}",
                    major_minor(CLUSTER_VERSION)
                );
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

/// `3.4.0` → `3.4`: etcd logs and compares cluster versions by major.minor.
pub fn major_minor(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((at, _)) => &version[..at],
        None => version,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_logged_as_major_minor() {
        assert_eq!(super::major_minor("3.4.0"), "3.4");
        assert_eq!(super::major_minor("3.4"), "3.4");
    }
}
