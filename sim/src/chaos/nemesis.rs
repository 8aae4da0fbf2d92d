//! The nemesis executor: applies a [`NemesisPlan`] to a running [`SimCluster`]
//! one fault at a time (inject, hold, undo) until the workload is done, then
//! heals everything for the liveness phase. Every fault and every undo is
//! recorded as a [`super::history::FaultEntry`] whose text is the cluster's own
//! fault-log line.

use super::fault_kind::FaultKind;
use super::nemesis_plan::{
    NemesisPlan, NemesisStep, choose, choose_pair, latency_range, loss_rate, split_groups,
};
use super::recorder::Recorder;
use super::stop_signal::StopSignal;
use crate::cluster::{NodeState, SimCluster};
use std::collections::BTreeMap;
use std::time::Duration;

/// How to undo an injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Undo {
    Resume(usize),
    Restart(usize),
    Heal,
    Nothing,
}

/// How long a membership change may take before the nemesis gives up on it.
const MEMBERSHIP_TIMEOUT: Duration = Duration::from_secs(40);
/// How long an add waits for the members to accept it (see
/// [`SimCluster::wait_members_may_add`]) before trying anyway.
const ADD_READY_WAIT: Duration = Duration::from_secs(10);
/// How long the final heal waits for a leader and for every member to be ready.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long learning the outcome of an uncertain membership change waits for a
/// leader to ask (see [`SimCluster::sync_membership`]).
const SYNC_WAIT: Duration = Duration::from_secs(10);

/// Applies faults from a plan to a cluster, recording each.
pub struct Nemesis<'a> {
    cluster: &'a SimCluster,
    recorder: &'a Recorder,
    /// The cluster's initial size: membership changes keep it within
    /// `[initial, initial + 1]`.
    initial: usize,
    counts: BTreeMap<FaultKind, u64>,
}

impl<'a> Nemesis<'a> {
    /// A nemesis for `cluster` (of `initial` members), recording into `recorder`.
    pub fn new(cluster: &'a SimCluster, recorder: &'a Recorder, initial: usize) -> Self {
        Nemesis {
            cluster,
            recorder,
            initial,
            counts: BTreeMap::new(),
        }
    }

    /// How many faults of each kind were injected.
    pub fn counts(&self) -> &BTreeMap<FaultKind, u64> {
        &self.counts
    }

    /// Runs `plan` until `done` is set: each step waits its gap, injects, holds
    /// and undoes (the undo also happens when `done` interrupts the hold).
    pub async fn run(&mut self, plan: NemesisPlan, done: &StopSignal) {
        for step in plan {
            tokio::select! {
                biased;
                _ = done.wait() => return,
                _ = tokio::time::sleep(step.gap) => {}
            }
            let undo = self.inject(&step).await;
            tokio::select! {
                biased;
                _ = done.wait() => {}
                _ = tokio::time::sleep(step.hold) => {}
            }
            self.undo(undo);
            if done.is_set() {
                return;
            }
        }
        // No fault kind selected: nothing to do until the workload ends.
        done.wait().await;
    }

    /// Members not removed from the cluster.
    fn active(&self) -> Vec<usize> {
        (0..self.cluster.len())
            .filter(|&i| {
                self.cluster
                    .state(i)
                    .is_some_and(|s| s != NodeState::Removed)
            })
            .collect()
    }

    fn in_state(&self, state: NodeState) -> Vec<usize> {
        (0..self.cluster.len())
            .filter(|&i| self.cluster.state(i) == Some(state))
            .collect()
    }

    /// Records the cluster's fault-log lines written since `before` under `kind`.
    fn record_since(&self, before: usize, kind: &str) {
        for rec in self.cluster.fault_log().into_iter().skip(before) {
            self.recorder.fault(kind, rec.what);
        }
    }

    fn count(&mut self, kind: FaultKind) {
        *self.counts.entry(kind).or_default() += 1;
    }

    /// Injects one step's fault; returns how to undo it.
    async fn inject(&mut self, step: &NemesisStep) -> Undo {
        if step.kind == FaultKind::Membership {
            // An earlier change whose outcome was unknown may have been applied
            // since (recorded apart, before this step's own lines).
            self.sync_membership(SYNC_WAIT).await;
        }
        let before = self.cluster.fault_log().len();
        let c = self.cluster;
        let undo = match step.kind {
            FaultKind::Pause => match choose(&self.in_state(NodeState::Running), step.pick) {
                Some(i) if c.pause(i).is_ok() => Some(Undo::Resume(i)),
                _ => None,
            },
            FaultKind::Kill => match choose(&self.in_state(NodeState::Running), step.pick) {
                Some(i) if c.kill(i).is_ok() => Some(Undo::Restart(i)),
                _ => None,
            },
            FaultKind::PauseLeader => c.pause_leader().map(Undo::Resume),
            FaultKind::KillLeader => c.kill_leader().map(Undo::Restart),
            FaultKind::Partition => {
                let groups = split_groups(&self.active(), step.pick);
                (groups.len() > 1 && c.partition(&groups).is_ok()).then_some(Undo::Heal)
            }
            FaultKind::Cut => match choose_pair(&self.active(), step.pick) {
                Some((a, b)) if c.cut_link(a, b).is_ok() => Some(Undo::Heal),
                _ => None,
            },
            FaultKind::Isolate => match choose(&self.active(), step.pick) {
                Some(i) if c.isolate(i).is_ok() => Some(Undo::Heal),
                _ => None,
            },
            FaultKind::Latency => {
                c.set_latency(latency_range(step.pick));
                Some(Undo::Heal)
            }
            FaultKind::Loss => {
                c.set_packet_loss(loss_rate(step.pick));
                Some(Undo::Heal)
            }
            FaultKind::Membership => self.change_membership(step.pick).await,
        };
        match undo {
            Some(u) => {
                self.count(step.kind);
                self.record_since(before, step.kind.name());
                u
            }
            None => Undo::Nothing,
        }
    }

    /// Adds a member when the cluster has its initial size, removes one when it
    /// has one more; `None` when neither applies or the change failed (the
    /// failure is recorded).
    async fn change_membership(&mut self, pick: u64) -> Option<Undo> {
        let active = self.active();
        let change = if active.len() <= self.initial {
            tokio::time::timeout(MEMBERSHIP_TIMEOUT, async {
                // etcd's strict reconfiguration check refuses an add until every
                // member has been connected to all its peers for a while.
                let _ =
                    tokio::time::timeout(ADD_READY_WAIT, self.cluster.wait_members_may_add()).await;
                self.cluster.add_member().await.map(|_| ())
            })
            .await
        } else {
            let i = choose(&active, pick)?;
            tokio::time::timeout(MEMBERSHIP_TIMEOUT, self.cluster.remove_member(i)).await
        };
        let failed = match change {
            Ok(Ok(())) => return Some(Undo::Nothing),
            Ok(Err(e)) => format!("membership change failed: {e}"),
            Err(_) => format!("membership change still running after {MEMBERSHIP_TIMEOUT:?}"),
        };
        self.recorder.fault("membership-failed", failed);
        // A change reported failed may still have been applied: ask the cluster.
        self.sync_membership(SYNC_WAIT).await;
        None
    }

    /// Learns the outcome of membership changes reported failed by asking the
    /// cluster's member list ([`SimCluster::sync_membership`]); records what it
    /// learned, or why it could not ask.
    async fn sync_membership(&self, wait: Duration) {
        if !self.cluster.membership_uncertain() {
            return;
        }
        match self.cluster.sync_membership(wait).await {
            Ok(lines) => {
                for line in lines {
                    self.recorder.fault("membership-sync", line);
                }
            }
            Err(e) => self
                .recorder
                .fault("membership-sync", format!("membership still unknown: {e}")),
        }
    }

    fn undo(&self, undo: Undo) {
        let before = self.cluster.fault_log().len();
        let (kind, result) = match undo {
            Undo::Resume(i) => ("resume", self.cluster.resume(i)),
            Undo::Restart(i) => ("restart", self.cluster.restart(i)),
            Undo::Heal => {
                self.cluster.heal();
                ("heal", Ok(()))
            }
            Undo::Nothing => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "nemesis undo failed");
        }
        self.record_since(before, kind);
    }

    /// Undoes everything: resumes paused members, restarts killed ones, heals the
    /// network and resets latency and loss; learns the outcome of membership
    /// changes reported failed; then waits until every member follows one leader
    /// and every member is ready. Returns what failed to recover (empty when the
    /// cluster recovered).
    pub async fn final_heal(&self) -> Vec<String> {
        let before = self.cluster.fault_log().len();
        for i in self.in_state(NodeState::Paused) {
            let _ = self.cluster.resume(i);
        }
        for i in self.in_state(NodeState::Killed) {
            let _ = self.cluster.restart(i);
        }
        self.cluster.heal();
        self.record_since(before, "final-heal");
        // Judge the members really in the cluster: a change reported failed may
        // have been applied.
        self.sync_membership(RECOVERY_TIMEOUT).await;
        let mut problems = Vec::new();
        if let Err(e) = self.cluster.wait_converged(RECOVERY_TIMEOUT).await {
            problems.push(format!("after the final heal: {e}"));
        } else if let Err(e) = self.cluster.wait_ready(RECOVERY_TIMEOUT).await {
            problems.push(format!("after the final heal: {e}"));
        }
        problems
    }
}
