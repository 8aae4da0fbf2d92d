//! Learning the cluster's real membership after a membership change whose outcome
//! is unknown.
//!
//! A member add or remove that the client reports failed (a timeout, a lost
//! answer) or that the caller abandons may still have been committed and applied,
//! as with any etcd request. The cluster then differs from what the simulation
//! believes: a removed member still counted as running (its Raft node has
//! stopped, so it never follows a leader again), or an added member never
//! started. [`SimCluster::sync_membership`] asks the members API, as an operator
//! would, and brings the simulation in line.

use super::{ClusterError, SimCluster};
use etcd_sdk::{HttpClient, MembersAPI};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Membership changes sent to the cluster whose outcome is not known yet.
#[derive(Debug, Default)]
pub(super) struct Uncertain {
    /// Members whose remove was sent but not confirmed.
    pub(super) removes: BTreeSet<usize>,
    /// The index of a member whose add was sent but not confirmed (its node has
    /// not been started).
    pub(super) add: Option<usize>,
}

impl Uncertain {
    fn is_empty(&self) -> bool {
        self.removes.is_empty() && self.add.is_none()
    }
}

impl SimCluster {
    /// Whether a membership change was sent whose outcome is still unknown.
    pub fn membership_uncertain(&self) -> bool {
        !self.uncertain().is_empty()
    }

    /// Resolves the membership changes whose outcome is unknown by asking the
    /// current leader for the member list (`GET /v2/members`; a leader that has
    /// applied everything it committed holds every change that took effect): a
    /// member whose remove is unconfirmed and that the list no longer holds is
    /// marked removed and its node stopped for good; a member whose add is
    /// unconfirmed and that the list holds is started. Changes the list does not
    /// show stay unknown (they may still be applied later). Only the members named
    /// in an unconfirmed change are touched, so a stale list cannot remove a member
    /// the cluster holds. Returns the fault-log lines written.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NoLeader`] when no leader has applied its commit index within
    /// `timeout`; [`ClusterError::Membership`] when the list request fails.
    pub async fn sync_membership(&self, timeout: Duration) -> Result<Vec<String>, ClusterError> {
        if !self.membership_uncertain() {
            return Ok(Vec::new());
        }
        let leader = self
            .poll_leader(timeout, |s| s.applied_index >= s.commit_index)
            .await?;
        let mut cfg = self.client_config();
        cfg.endpoints = vec![super::client_url(leader)];
        let listed = self
            .run_on_client_node(move || async move {
                let client = HttpClient::new(cfg)?;
                etcd_sdk::members::new_members_api(Arc::new(client))
                    .list()
                    .await
            })
            .await?;
        let ids: BTreeSet<u64> = listed
            .iter()
            .filter_map(|m| u64::from_str_radix(&m.id, 16).ok())
            .collect();
        let before = self.fault_log().len();
        let removes: Vec<usize> = self.uncertain().removes.iter().copied().collect();
        for i in removes {
            if !ids.contains(&self.member_id(i)) {
                self.retire(
                    i,
                    " (its remove was applied: the member list no longer holds it)",
                );
            }
        }
        let add = self.uncertain().add;
        if let Some(i) = add.filter(|&i| i == self.len() && ids.contains(&self.member_id(i))) {
            self.start_added(i, &format!("{:x}", self.member_id(i)));
        }
        Ok(self
            .fault_log()
            .into_iter()
            .skip(before)
            .map(|r| r.what)
            .collect())
    }

    /// The unconfirmed membership changes.
    pub(super) fn uncertain(&self) -> std::sync::MutexGuard<'_, Uncertain> {
        self.uncertain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
