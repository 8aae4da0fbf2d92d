//! What a member does once after it starts: publish its name and client URLs
//! (after which it is ready), and, while it leads, decide the cluster version once
//! every member has published.

use super::entry::{Applied, Entry};
use super::handle::Inner;
use super::state_machine::lock;
use crate::api::v2::members::MembersError;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};
use tokio::time::MissedTickBehavior;

/// The cluster version the leader sets (etcd 3.4's).
pub const CLUSTER_VERSION: &str = "3.4.0";
/// How often the leader checks whether the cluster version can be decided.
pub const VERSION_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Proposes this member's attributes until they are applied (etcd's `publish`).
pub(crate) async fn publish_attributes(inner: Arc<Inner>) {
    loop {
        if inner.shutdown.is_triggered() {
            return;
        }
        let entry = Entry::Publish {
            id: inner.id,
            name: inner.cfg.name.clone(),
            client_urls: inner.cfg.client_urls(),
            now: SystemTime::now(),
        };
        match inner.propose(&entry).await {
            Ok(Applied::Membership(Ok(()))) => {
                inner.ready.store(true, Ordering::SeqCst);
                tracing::info!(name = %inner.cfg.name, id = %format!("{:x}", inner.id), "member: published");
                return;
            }
            Ok(Applied::Membership(Err(MembersError::IdRemoved))) => {
                tracing::warn!(id = %format!("{:x}", inner.id), "member: removed, not publishing");
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

/// While this member leads and no version is set, sets it once every member has
/// published.
pub(crate) async fn decide_cluster_version(inner: Arc<Inner>) {
    let mut ticker = tokio::time::interval(VERSION_CHECK_INTERVAL);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = inner.shutdown.wait() => return,
            _ = ticker.tick() => {}
        }
        let (decided, ready) = {
            let c = lock(&inner.cluster);
            (c.version().is_some(), c.all_started())
        };
        if decided {
            return;
        }
        if !ready || !inner.raft.status().is_leader() {
            continue;
        }
        let entry = Entry::ClusterVersion {
            version: CLUSTER_VERSION.into(),
            now: SystemTime::now(),
        };
        if let Err(e) = inner.propose(&entry).await {
            tracing::debug!(error = %e, "member: cluster version not set");
        }
    }
}
