//! One member's simulated node: its madsim node, disk and current incarnation.

use super::{SimClusterConfig, client_url, member_ip, member_name, peer_url};
use crate::member::{Member, MemberConfig, run_member};
use crate::raft::SimDisk;
use madsim::runtime::{Handle, NodeHandle};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Where a member is in its simulated life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running normally.
    Running,
    /// Paused (SIGSTOP): connections stay open, nothing answers.
    Paused,
    /// Killed (power loss); its disk kept what was synced.
    Killed,
    /// Removed from the cluster and stopped for good.
    Removed,
}

pub(super) struct SimNode {
    pub(super) name: String,
    pub(super) client_url: String,
    pub(super) handle: NodeHandle,
    pub(super) disk: SimDisk,
    /// The configuration each (re)start of the member runs with.
    member_cfg: Arc<Mutex<MemberConfig>>,
    /// Why the member last failed to start or stopped on its own.
    last_error: Arc<Mutex<Option<String>>>,
    incarnation: Arc<Mutex<Option<Member>>>,
    state: Mutex<NodeState>,
    /// The cluster's change signal: notified when the state or incarnation changes.
    changed: Arc<Notify>,
}

impl SimNode {
    /// Creates the madsim node for member `i`; its init runs the member (again on
    /// every restart, over the same disk). `changed` is notified whenever the node's
    /// state or incarnation changes.
    pub(super) fn spawn(
        i: usize,
        cfg: &SimClusterConfig,
        initial_cluster: Vec<(String, String)>,
        existing: bool,
        changed: Arc<Notify>,
    ) -> SimNode {
        let member_cfg = MemberConfig {
            name: member_name(i),
            client_url: client_url(i),
            peer_url: peer_url(i),
            initial_cluster,
            cluster_token: cfg.cluster_token.clone(),
            existing,
            tick: cfg.tick,
            election_ticks: cfg.election_ticks,
            snapshot_count: cfg.snapshot_count,
            request_timeout: cfg.request_timeout,
            member_id: None,
            unsafe_mode: cfg.unsafe_mode,
            corrupt_check_time: cfg.corrupt_check_time,
            ..MemberConfig::default()
        };
        let member_cfg = Arc::new(Mutex::new(member_cfg));
        let last_error: Arc<Mutex<Option<String>>> = Arc::default();
        let disk = SimDisk::new();
        let incarnation: Arc<Mutex<Option<Member>>> = Arc::new(Mutex::new(None));
        let handle = {
            let (disk, incarnation, notify) = (disk.clone(), incarnation.clone(), changed.clone());
            let member_cfg = member_cfg.clone();
            let last_error = last_error.clone();
            Handle::current()
                .create_node()
                .name(member_name(i))
                .ip(member_ip(i))
                .init(move || {
                    let cfg = member_cfg.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let (disk, slot) = (disk.clone(), incarnation.clone());
                    let last_error = last_error.clone();
                    let notify = notify.clone();
                    async move {
                        let name = cfg.name.clone();
                        let started = move |m: Member| {
                            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
                            notify.notify_waiters();
                        };
                        if let Err(e) = run_member(cfg, disk, started).await {
                            tracing::error!(member = %name, error = %e, "member stopped");
                            *last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(e.to_string());
                        }
                    }
                })
                .build()
        };
        SimNode {
            name: member_name(i),
            client_url: client_url(i),
            handle,
            disk,
            member_cfg,
            last_error,
            incarnation,
            state: Mutex::new(NodeState::Running),
            changed,
        }
    }

    /// Changes the configuration later restarts run with.
    pub(super) fn reconfigure(&self, f: impl FnOnce(&mut MemberConfig)) {
        f(&mut self.member_cfg.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Why the member last failed to start or stopped on its own, if it did.
    pub(super) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn state(&self) -> NodeState {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_state(&self, s: NodeState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = s;
        self.changed.notify_waiters();
    }

    /// The running incarnation's handle.
    pub(super) fn member(&self) -> Option<Member> {
        self.incarnation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the incarnation (after a kill).
    pub(super) fn clear_member(&self) {
        self.incarnation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.changed.notify_waiters();
    }
}
