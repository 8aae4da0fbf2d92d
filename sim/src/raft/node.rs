//! [`RaftNode`]: the handle the server uses to talk to its Raft driver task, and the
//! [`NodeStatus`] it publishes.

use super::config::RaftConfig;
use super::disk::Disk;
use super::driver::{self, Command};
use super::error::RaftError;
use super::membership::MembershipChange;
use super::peer_activity::PeerActivity;
use super::state_machine::StateMachine;
use super::status::{NodeStatus, StatusBoard};
use bytes::Bytes;
use raft::eraftpb::ConfState;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};

/// A handle to a running Raft node. Cheap to clone; the node stops when asked to
/// ([`RaftNode::stop`]), when every handle is dropped, when it is removed from the
/// cluster, or when its disk fails.
#[derive(Debug)]
pub struct RaftNode<O> {
    id: u64,
    cmds: mpsc::UnboundedSender<Command<O>>,
    status: StatusBoard,
    activity: PeerActivity,
}

impl<O> Clone for RaftNode<O> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            cmds: self.cmds.clone(),
            status: self.status.clone(),
            activity: self.activity.clone(),
        }
    }
}

impl<O: Send + 'static> RaftNode<O> {
    /// Starts a node on `disk` (recovering whatever it holds: hard state, log, snapshot,
    /// which is restored into `state_machine`), binds its peer transport on
    /// `config.listen`, and spawns its driver task on the current runtime (under madsim:
    /// on the current simulated node).
    ///
    /// # Errors
    ///
    /// [`RaftError::Disk`] if the disk cannot be recovered, [`RaftError::Raft`] if
    /// raft-rs rejects the configuration or the stored snapshot cannot be restored,
    /// [`RaftError::Transport`] if the listen address cannot be bound.
    pub async fn start<S, D>(
        config: RaftConfig,
        disk: D,
        state_machine: S,
    ) -> Result<Self, RaftError>
    where
        S: StateMachine<Output = O>,
        D: Disk,
    {
        let (id, cmds, status, activity) = driver::start(config, disk, state_machine).await?;
        Ok(Self {
            id,
            cmds,
            status,
            activity,
        })
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Which peers this node has heard from recently, and since when.
    pub fn peer_activity(&self) -> &PeerActivity {
        &self.activity
    }

    /// The latest published status.
    pub fn status(&self) -> NodeStatus {
        self.status.get()
    }

    /// Waits until the status satisfies `pred`, returning that status (intermediate
    /// statuses may be skipped).
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`] if the node stops first (its final status does not satisfy
    /// `pred`).
    pub async fn wait_for(
        &self,
        mut pred: impl FnMut(&NodeStatus) -> bool,
    ) -> Result<NodeStatus, RaftError> {
        let status = self
            .status
            .wait_for(|s| s.stopped.is_some() || pred(s))
            .await;
        if status.stopped.is_some() && !pred(&status) {
            return Err(RaftError::Stopped);
        }
        Ok(status)
    }

    fn send(&self, cmd: Command<O>) -> Result<(), RaftError> {
        self.cmds.send(cmd).map_err(|_| RaftError::Stopped)
    }

    /// Proposes `data` and waits until its entry is applied here, returning what the
    /// state machine produced. A follower forwards the proposal to its leader.
    ///
    /// There is no timeout: wrap the call in one. A caller that gives up leaves the
    /// outcome unknown (the entry may still commit).
    ///
    /// # Errors
    ///
    /// [`RaftError::NoLeader`] or [`RaftError::ProposalDropped`] (certainly not applied),
    /// [`RaftError::OutcomeUnknown`], [`RaftError::Stopped`].
    ///
    /// `data` becomes the entry's data as it is (a `Bytes` is shared, not copied),
    /// so a caller may keep a clone for a retry at no cost.
    pub async fn propose(&self, data: impl Into<Bytes>) -> Result<O, RaftError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Propose {
            data: data.into(),
            tx,
        })?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Proposes a membership change and waits until it is applied here, returning the
    /// new membership. Raft takes one change at a time: a change proposed while another
    /// is pending is dropped.
    ///
    /// # Errors
    ///
    /// As [`RaftNode::propose`], plus [`RaftError::ConfChange`] if the change is invalid
    /// (rejected when applied, e.g. removing the last voter).
    pub async fn change_membership(
        &self,
        change: MembershipChange,
    ) -> Result<ConfState, RaftError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::ChangeMembership { change, tx })?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Linearizable read barrier: confirms with a quorum that the leader is still the
    /// leader, then waits until this node has applied up to the leader's commit index at
    /// that moment, and returns that index. A read of the local state machine after this
    /// returns sees every write committed before the call. Unanswered rounds are retried
    /// every `read_retry_ticks`; wrap the call in a timeout.
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub async fn read_index(&self) -> Result<u64, RaftError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::ReadIndex { tx })?;
        rx.await.map_err(|_| RaftError::Stopped)?
    }

    /// Asks the leader (if this node is it) to hand leadership to `to`.
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub fn transfer_leader(&self, to: u64) -> Result<(), RaftError> {
        self.send(Command::TransferLeader { to })
    }

    /// The leader's match index of every node it replicates to, itself included
    /// (voters and learners, by id), or `None` when this node does not lead
    /// (etcd's `raftStatus().Progress`, which only a leader has).
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub async fn match_indexes(&self) -> Result<Option<BTreeMap<u64, u64>>, RaftError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::MatchIndexes { tx })?;
        rx.await.map_err(|_| RaftError::Stopped)
    }

    /// Starts an election now (as if the election timeout had passed).
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub fn campaign(&self) -> Result<(), RaftError> {
        self.send(Command::Campaign)
    }

    /// Fast-forwards the logical clock by `ticks` ticks at once (etcd's
    /// `advanceTicks`, used at boot so the first election comes sooner).
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub fn advance_ticks(&self, ticks: u64) -> Result<(), RaftError> {
        self.send(Command::AdvanceTicks(ticks))
    }

    /// Records where node `id` listens (for a member learned outside the log, e.g. from
    /// the server's own membership store).
    ///
    /// # Errors
    ///
    /// [`RaftError::Stopped`].
    pub fn set_peer_addr(&self, id: u64, addr: SocketAddr) -> Result<(), RaftError> {
        self.send(Command::SetPeerAddr { id, addr })
    }

    /// Stops the node and waits until its driver has stopped (waiting requests fail with
    /// [`RaftError::Stopped`]).
    pub async fn stop(&self) {
        let _ = self.send(Command::Stop);
        self.status.wait_for(|s| s.stopped.is_some()).await;
    }
}
