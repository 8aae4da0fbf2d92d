//! The fault API: pause/resume (SIGSTOP/SIGCONT), kill/restart (power loss),
//! partitions and one-way cuts, latency and loss, leader loss, membership changes.

use super::node::{NodeState, SimNode};
use super::{ClusterError, SimCluster, member_name, peer_url};
use crate::member::MemberConfig;
use etcd_sdk::{HttpClient, MembersAPI};
use madsim::net::NetSim;
use madsim::runtime::Handle;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

impl SimCluster {
    /// Pauses member `i` (SIGSTOP): its connections stay open, nothing answers,
    /// timers fire late on resume.
    pub fn pause(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        if node.state() == NodeState::Running {
            Handle::current().pause(node.handle.id());
            node.set_state(NodeState::Paused);
            self.log.record(format!("pause {}", node.name));
        }
        Ok(())
    }

    /// Resumes a paused member (SIGCONT).
    pub fn resume(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        if node.state() == NodeState::Paused {
            Handle::current().resume(node.handle.id());
            node.set_state(NodeState::Running);
            self.log.record(format!("resume {}", node.name));
        }
        Ok(())
    }

    /// Kills member `i` like a power loss: its tasks stop and every disk write it
    /// had not synced is lost.
    pub fn kill(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        if matches!(node.state(), NodeState::Running | NodeState::Paused) {
            Handle::current().kill(node.handle.id());
            let lost = node.disk.pending_writes();
            node.disk.crash();
            node.clear_member();
            node.set_state(NodeState::Killed);
            self.log.record(format!(
                "kill {} ({lost} unsynced disk writes lost)",
                node.name
            ));
        }
        Ok(())
    }

    /// Restarts a killed member from its disk (a running one is killed first).
    pub fn restart(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        match node.state() {
            NodeState::Removed => return Ok(()),
            NodeState::Running | NodeState::Paused => self.kill(i)?,
            NodeState::Killed => {}
        }
        Handle::current().restart(node.handle.id());
        node.set_state(NodeState::Running);
        self.log.record(format!("restart {}", node.name));
        Ok(())
    }

    /// Restarts member `i` as [`SimCluster::restart`] does, its configuration
    /// first changed by `f` (for this restart and every later one), e.g. to
    /// turn on etcd's initial corruption check.
    pub fn restart_with(
        &self,
        i: usize,
        f: impl FnOnce(&mut MemberConfig),
    ) -> Result<(), ClusterError> {
        self.node(i)?.reconfigure(f);
        self.restart(i)
    }

    /// etcd's `--force-new-cluster`: restarts member `i` (killed first if it
    /// runs) with the flag, so that it comes up from its disk as a one-member
    /// cluster, every other member removed from the membership. The members
    /// killed at that moment are marked removed here too (they are no longer
    /// members; etcd would refuse them as removed). Later restarts of `i` run
    /// without the flag, as an operator drops it once the cluster is up.
    pub fn restart_force_new_cluster(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        node.reconfigure(|c| c.force_new_cluster = true);
        self.restart(i)?;
        node.reconfigure(|c| c.force_new_cluster = false);
        for j in 0..self.len() {
            if j != i && self.state(j) == Some(NodeState::Killed) {
                self.retire(j, " (force-new-cluster)");
            }
        }
        self.log
            .record(format!("{} restarted with --force-new-cluster", node.name));
        Ok(())
    }

    /// Pauses the current leader; returns its index.
    pub fn pause_leader(&self) -> Option<usize> {
        let l = self.leader()?;
        self.pause(l).ok()?;
        Some(l)
    }

    /// Kills the current leader; returns its index.
    pub fn kill_leader(&self) -> Option<usize> {
        let l = self.leader()?;
        self.kill(l).ok()?;
        Some(l)
    }

    /// Splits the members into `groups` that cannot reach each other (both
    /// directions). Members named in no group keep all their links. Clients keep
    /// reaching every member.
    pub fn partition(&self, groups: &[Vec<usize>]) -> Result<(), ClusterError> {
        let mut group_of = std::collections::BTreeMap::new();
        for (g, members) in groups.iter().enumerate() {
            for &i in members {
                self.node(i)?;
                group_of.insert(i, g);
            }
        }
        for (&a, &ga) in &group_of {
            for (&b, &gb) in &group_of {
                if ga != gb {
                    self.cut(a, b)?;
                }
            }
        }
        let names: Vec<String> = groups
            .iter()
            .map(|g| {
                format!(
                    "[{}]",
                    g.iter()
                        .map(|&i| member_name(i))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })
            .collect();
        self.log.record(format!("partition {}", names.join(" ")));
        Ok(())
    }

    /// Cuts the link from member `from` to member `to` only (messages from `to`
    /// still reach `from`).
    pub fn cut_link(&self, from: usize, to: usize) -> Result<(), ClusterError> {
        self.cut(from, to)?;
        self.log
            .record(format!("cut {} -> {}", member_name(from), member_name(to)));
        Ok(())
    }

    fn cut(&self, from: usize, to: usize) -> Result<(), ClusterError> {
        let (a, b) = (self.node(from)?, self.node(to)?);
        NetSim::current().clog_link(a.handle.id(), b.handle.id());
        self.cut_links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((from, to));
        Ok(())
    }

    /// Isolates member `i` from everyone, clients included (both directions).
    pub fn isolate(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        NetSim::current().clog_node(node.handle.id());
        self.isolated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(i);
        self.log.record(format!("isolate {}", node.name));
        Ok(())
    }

    /// Restores every cut link and isolated member, and resets latency and loss
    /// to the simulator's defaults (loss 0, latency 1–10 ms).
    pub fn heal(&self) {
        let net = NetSim::current();
        let cut: Vec<(usize, usize)> =
            std::mem::take(&mut *self.cut_links.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        for (a, b) in cut {
            if let (Ok(a), Ok(b)) = (self.node(a), self.node(b)) {
                net.unclog_link(a.handle.id(), b.handle.id());
            }
        }
        let isolated: Vec<usize> =
            std::mem::take(&mut *self.isolated.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        for i in isolated {
            if let Ok(n) = self.node(i) {
                net.unclog_node(n.handle.id());
            }
        }
        net.update_config(|c| {
            c.packet_loss_rate = 0.0;
            c.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
        });
        self.log.record("heal");
    }

    /// Sets the one-way latency of every message (the simulator draws each from `range`).
    pub fn set_latency(&self, range: Range<Duration>) {
        let what = format!("latency {range:?}");
        NetSim::current().update_config(|c| c.send_latency = range);
        self.log.record(what);
    }

    /// Loses each packet with probability `rate`. On a TCP stream (the peer transport,
    /// client connections) madsim sends a lost packet again after a backoff, so loss
    /// shows up as latency and head-of-line blocking; see `raft::transport`.
    pub fn set_packet_loss(&self, rate: f64) {
        NetSim::current().update_config(|c| c.packet_loss_rate = rate.clamp(0.0, 1.0));
        self.log.record(format!("packet loss {rate}"));
    }

    /// Adds a member through the members API (as `etcdctl member add` does), then
    /// starts it with `existing` cluster state; returns its index once it is ready.
    ///
    /// Like etcd, a member refuses the add until it has been connected to every
    /// other member for 5 s: this first waits (up to the startup timeout) until
    /// every running member would accept it.
    pub async fn add_member(&self) -> Result<usize, ClusterError> {
        self.wait_members_may_add().await;
        let i = self.len();
        // Outcome unknown until the answer: an add the client reports failed (or
        // that is abandoned) may still be applied (see `sync_membership`).
        self.uncertain().add = Some(i);
        let added = {
            let peer = peer_url(i);
            self.run_client(move |client| async move {
                etcd_sdk::members::new_members_api(Arc::new(client))
                    .add(&peer)
                    .await
            })
            .await?
        };
        self.start_added(i, &added.id);
        self.wait_ready(self.cfg.startup_timeout).await?;
        Ok(i)
    }

    /// Starts the next member (its index is returned), which the caller has had
    /// the cluster accept with id `id` (e.g. a learner added through the v3
    /// Cluster API), with `existing` cluster state; does not wait for it.
    pub fn start_accepted_member(&self, id: u64) -> usize {
        let i = self.len();
        self.start_added(i, &format!("{id:x}"));
        i
    }

    /// Starts member `i` (the next index), which the cluster has accepted with id
    /// `id`, with `existing` cluster state, as an operator does after `member add`.
    pub(super) fn start_added(&self, i: usize, id: &str) {
        let mut initial: Vec<(String, String)> = self
            .nodes()
            .iter()
            .enumerate()
            .filter(|(_, n)| n.state() != NodeState::Removed)
            .map(|(j, _)| (member_name(j), peer_url(j)))
            .collect();
        initial.push((member_name(i), peer_url(i)));
        let node = Arc::new(SimNode::spawn(
            i,
            &self.cfg,
            initial,
            true,
            self.changed.clone(),
        ));
        self.nodes().push(node);
        self.uncertain().add = None;
        self.changed.notify_waiters();
        self.log.record(format!("add {} (id {id})", member_name(i)));
    }

    /// Waits (up to the startup timeout) until every running member would accept a
    /// member add: etcd's strict reconfiguration check wants each one connected to
    /// all its peers for 5 s, so a fresh cluster refuses adds for its first seconds.
    ///
    /// This polls once a tick: the condition turns true with the passing of time
    /// (connected *for* 5 s), which nothing signals.
    pub async fn wait_members_may_add(&self) {
        let deadline = tokio::time::Instant::now() + self.cfg.startup_timeout;
        loop {
            let running: Vec<_> = (0..self.len())
                .filter(|&i| self.state(i) == Some(NodeState::Running))
                .filter_map(|i| self.member(i))
                .collect();
            if running.iter().all(|m| m.may_add_member()) {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("cluster: members still not connected to all peers; adding anyway");
                return;
            }
            tokio::time::sleep(self.cfg.tick).await;
        }
    }

    /// Removes member `i` through the members API, then stops its node for good.
    pub async fn remove_member(&self, i: usize) -> Result<(), ClusterError> {
        let node = self.node(i)?;
        let id = format!("{:x}", self.member_id(i));
        // Through the other members, as an operator would: the member being
        // removed may refuse (its strict reconfiguration check counts its own
        // connections, which a new member has not held for long).
        let mut cfg = self.client_config();
        cfg.endpoints.retain(|url| *url != node.client_url);
        // Outcome unknown until the answer: a remove the client reports failed (or
        // that is abandoned) may still be applied (see `sync_membership`).
        self.uncertain().removes.insert(i);
        self.run_on_client_node(move || async move {
            let client = HttpClient::new(cfg).map_err(ClusterError::Membership)?;
            etcd_sdk::members::new_members_api(Arc::new(client))
                .remove(&id)
                .await
                .map_err(ClusterError::Membership)
        })
        .await?;
        self.retire(i, "");
        Ok(())
    }

    /// Stops member `i`'s node for good and marks it removed; logs `remove <name>`
    /// followed by `note`.
    pub(super) fn retire(&self, i: usize, note: &str) {
        let Ok(node) = self.node(i) else { return };
        if node.state() == NodeState::Removed {
            return;
        }
        if node.state() != NodeState::Killed {
            Handle::current().kill(node.handle.id());
        }
        node.clear_member();
        node.set_state(NodeState::Removed);
        self.uncertain().removes.remove(&i);
        self.log.record(format!("remove {}{note}", node.name));
    }
}
