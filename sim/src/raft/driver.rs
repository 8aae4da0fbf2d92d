//! The driver task: the one owner of a node's raft-rs `RawNode`, its disk and its state
//! machine. It ticks the logical clock, steps peer messages, takes requests from
//! [`super::RaftNode`] handles, and handles each `Ready` in the order Raft requires:
//!
//! 1. a leader's messages go out at once (they depend on nothing unpersisted);
//! 2. a snapshot from the leader is installed and restored into the state machine;
//! 3. committed entries (already durable on a quorum) are applied and their proposers
//!    answered;
//! 4. new entries and the hard state are written, and synced when raft-rs says so
//!    (after the configured fsync delay, during which a kill loses them);
//! 5. only then go the messages that promise what was persisted (votes, append acks);
//! 6. `advance`, then the `LightReady`: commit index, messages, committed entries;
//! 7. read states are matched to read requests, which are answered once applied;
//! 8. the log is compacted when the snapshot count is reached.

use super::config::PeerTransportKind;
use super::config::RaftConfig;
use super::datagram::DatagramTransport;
use super::disk::Disk;
use super::error::RaftError;
use super::logger::raft_logger;
use super::membership::{
    AddressBook, ChangeKind, MembershipChange, MembershipEvent, bootstrap_entries, changes_of,
    decode_context, decode_snapshot, encode_snapshot,
};
use super::panic_scope;
use super::peer_activity::PeerActivity;
use super::pending::{ProposalId, Proposals, Reads, Waiter, read_ctx, read_seq};
use super::state_machine::StateMachine;
use super::status::{NodeStatus, StatusBoard};
use super::storage::{Bootstrap, DiskStorage};
use super::transport::{PeerReport, PeerTransport};
use bytes::Bytes;
use protobuf::Message as _;
use raft::eraftpb::{
    ConfChange, ConfChangeSingle, ConfChangeV2, ConfState, Entry, EntryType, Message, MessageType,
    Snapshot,
};
use raft::{RawNode, ReadState, SnapshotStatus, StateRole};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

/// Requests from handles to the driver task.
#[derive(Debug)]
pub(crate) enum Command<O> {
    Propose {
        data: Bytes,
        tx: oneshot::Sender<Result<O, RaftError>>,
    },
    ChangeMembership {
        change: MembershipChange,
        tx: oneshot::Sender<Result<ConfState, RaftError>>,
    },
    ReadIndex {
        tx: oneshot::Sender<Result<u64, RaftError>>,
    },
    TransferLeader {
        to: u64,
    },
    /// The leader's view of every peer's match index (`None` when not leading).
    MatchIndexes {
        tx: oneshot::Sender<Option<BTreeMap<u64, u64>>>,
    },
    Campaign,
    AdvanceTicks(u64),
    SetPeerAddr {
        id: u64,
        addr: SocketAddr,
    },
    Stop,
}

/// Most queued peer messages stepped per loop iteration before handling a `Ready`.
const STEP_BATCH: usize = 64;
/// Most queued commands (proposals, reads) taken per loop iteration into one Ready.
const COMMAND_BATCH: usize = 256;
/// Ticks between sweeps of abandoned proposal waiters.
const SWEEP_TICKS: u64 = 10;

type Started<O> = (
    u64,
    mpsc::UnboundedSender<Command<O>>,
    StatusBoard,
    PeerActivity,
);

/// Opens the disk, restores the state machine, binds the transport and spawns the
/// driver task.
pub(crate) async fn start<S: StateMachine, D: Disk>(
    cfg: RaftConfig,
    disk: D,
    mut sm: S,
) -> Result<Started<S::Output>, RaftError> {
    crate::sim_rand::install();
    let bootstrap = if cfg.bootstrap {
        let voters = cfg.initial_voters();
        let members: Vec<_> = voters
            .iter()
            .map(|id| {
                let addr = if *id == cfg.id {
                    Some(cfg.listen)
                } else {
                    cfg.peers.get(id).copied()
                };
                (*id, addr)
            })
            .collect();
        let entries = bootstrap_entries(&members).map_err(|e| RaftError::Raft(e.to_string()))?;
        Some(Bootstrap {
            conf_state: ConfState::from((voters, Vec::<u64>::new())),
            entries,
        })
    } else {
        None
    };
    let mut disk = disk;
    if cfg.force_new_cluster {
        disk.recover()?;
        if let Some(done) = super::standalone::force_standalone(&mut disk, cfg.id, Some(cfg.listen))
            .map_err(|e| RaftError::Raft(e.to_string()))?
        {
            tracing::info!(
                id = %format_args!("{:x}", cfg.id),
                commit = done.commit,
                discarded = done.discarded,
                removed = ?done.removed.iter().map(|m| format!("{m:x}")).collect::<Vec<_>>(),
                "forcing restart of member {:x} at commit index {}",
                cfg.id,
                done.commit
            );
        }
    }
    let storage = DiskStorage::open(disk, bootstrap)?;
    let snap = storage.latest_snapshot();
    let meta = snap.get_metadata().clone();
    let book = AddressBook::new(cfg.peers.clone());
    if meta.index > 0 {
        let (peers, state) = decode_snapshot(&snap.data).map_err(RaftError::Raft)?;
        for (id, addr) in peers {
            book.insert(id, addr);
        }
        sm.restore(meta.index, state).map_err(RaftError::Raft)?;
        book.set_removed(sm.removed_ids());
    }
    let raw = RawNode::new(&cfg.raft_config(meta.index), storage, &raft_logger())?;
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let (rep_tx, rep_rx) = mpsc::unbounded_channel();
    let activity = PeerActivity::default();
    let transport = match cfg.peer_transport {
        PeerTransportKind::Streams => PeerTransport::start(
            cfg.id,
            cfg.listen,
            book.clone(),
            activity.clone(),
            in_tx,
            rep_tx,
        )
        .await
        .map(Transport::Streams),
        PeerTransportKind::Datagrams => DatagramTransport::start(
            cfg.id,
            cfg.listen,
            book.clone(),
            activity.clone(),
            in_tx,
            rep_tx,
        )
        .await
        .map(Transport::Datagrams),
    }
    .map_err(|e| RaftError::Transport(format!("{}: {e}", cfg.listen)))?;
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let driver = Driver {
        raw,
        sm,
        transport,
        book,
        conf_state: sorted(meta.get_conf_state().clone()),
        applied: meta.index,
        nonce: rand::random(),
        proposals: Proposals::default(),
        reads: Reads::default(),
        status: StatusBoard::new(NodeStatus::initial(cfg.id)),
        ticks: 0,
        stop_at_tick: None,
        forget_at: Vec::new(),
        cfg,
    };
    let board = driver.status.clone();
    driver.publish_status(None);
    let id = driver.cfg.id;
    let on_panic = {
        let board = board.clone();
        Box::new(move |message: String| {
            // etcd exits on a broken invariant so that a supervisor restarts it; the
            // stopped status takes the member (and the process) down the same way
            // a fatal disk error does.
            tracing::error!(
                member = %format_args!("{id:x}"),
                panic = %message,
                "raft: the member's Raft task panicked; stopping the member"
            );
            board.mark_stopped(&format!("the Raft task panicked: {message}"));
        })
    };
    tokio::spawn(panic_scope::scoped(
        id,
        driver.run(cmd_rx, in_rx, rep_rx),
        on_panic,
    ));
    Ok((id, cmd_tx, board, activity))
}

/// The peer transport in use ([`PeerTransportKind`]).
enum Transport {
    Streams(PeerTransport),
    Datagrams(DatagramTransport),
}

impl Transport {
    fn send(&self, msg: Message) {
        match self {
            Transport::Streams(t) => t.send(msg),
            Transport::Datagrams(t) => t.send(msg),
        }
    }
}

struct Driver<S: StateMachine, D: Disk> {
    cfg: RaftConfig,
    raw: RawNode<DiskStorage<D>>,
    sm: S,
    transport: Transport,
    book: AddressBook,
    /// Membership as of `applied`.
    conf_state: ConfState,
    applied: u64,
    /// Random per incarnation: tells this run's proposals and reads from a previous one's.
    nonce: u64,
    proposals: Proposals<S::Output>,
    reads: Reads,
    status: StatusBoard,
    ticks: u64,
    /// Set when this node's removal is applied: it stops at that tick.
    stop_at_tick: Option<u64>,
    /// Removed peers whose address is kept until the given tick, so that the
    /// messages telling them about their own removal (the new commit index) can
    /// still be sent; dropping the address at once left them running forever.
    forget_at: Vec<(u64, u64)>,
}

impl<S: StateMachine, D: Disk> Driver<S, D> {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Command<S::Output>>,
        mut inbound: mpsc::UnboundedReceiver<Message>,
        mut reports: mpsc::UnboundedReceiver<PeerReport>,
    ) {
        // If the task is dropped before it returns (its madsim node killed), the status
        // still ends up stopped, so nobody waits on it forever.
        let _guard = StoppedOnDrop(self.status.clone());
        // Each node's clock starts at a random phase, as independent processes' clocks
        // do: nodes that start together would otherwise tick in lockstep, and two whose
        // randomized election timeouts draw the same tick count would keep splitting the
        // vote.
        let tick_nanos = u64::try_from(self.cfg.tick.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        let phase = Duration::from_nanos(rand::random_range(0..tick_nanos));
        tracing::debug!(
            id = self.cfg.id,
            nonce = self.nonce,
            ?phase,
            "raft: driver running"
        );
        let start = tokio::time::Instant::now() + self.cfg.tick + phase;
        let mut ticker = tokio::time::interval_at(start, self.cfg.tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let reason = loop {
            tokio::select! {
                biased;
                _ = ticker.tick() => self.on_tick(),
                Some(msg) = inbound.recv() => self.step(msg),
                Some(report) = reports.recv() => self.on_report(report),
                cmd = cmds.recv() => match cmd {
                    None => break "every handle was dropped".to_string(),
                    Some(Command::Stop) => break "stopped".to_string(),
                    Some(cmd) => self.on_command(cmd),
                },
            }
            for _ in 0..STEP_BATCH {
                match inbound.try_recv() {
                    Ok(msg) => self.step(msg),
                    Err(_) => break,
                }
            }
            // Proposals queued meanwhile go into the same Ready: one disk sync and
            // one round of appends for the batch (etcd batches the same way).
            let mut stopping = false;
            for _ in 0..COMMAND_BATCH {
                match cmds.try_recv() {
                    Ok(Command::Stop) => {
                        stopping = true;
                        break;
                    }
                    Ok(cmd) => self.on_command(cmd),
                    Err(_) => break,
                }
            }
            if stopping {
                break "stopped".to_string();
            }
            if let Some(seq) = self.reads.start_round(self.ticks) {
                self.raw.read_index(read_ctx(self.nonce, seq));
            }
            if let Err(e) = self.handle_ready().await {
                tracing::error!(id = self.cfg.id, error = %e, "raft: stopping after a fatal error");
                break e.to_string();
            }
            if self.stop_at_tick.is_some_and(|t| self.ticks >= t) {
                break "removed from the cluster".to_string();
            }
            self.publish_status(None);
        };
        tracing::info!(id = self.cfg.id, %reason, "raft: node stopped");
        self.proposals.fail_all(&RaftError::Stopped);
        self.reads.fail_all(&RaftError::Stopped);
        self.publish_status(Some(reason));
    }

    fn on_tick(&mut self) {
        self.raw.tick();
        self.ticks += 1;
        for seq in self
            .reads
            .due_for_retry(self.ticks, self.cfg.read_retry_ticks)
        {
            self.raw.read_index(read_ctx(self.nonce, seq));
        }
        if self.ticks % SWEEP_TICKS == 0 {
            self.proposals.sweep();
        }
        self.forget_removed_peers();
    }

    /// Drops the addresses of removed peers whose grace period is over (unless
    /// the id was added back meanwhile).
    fn forget_removed_peers(&mut self) {
        let now = self.ticks;
        let (due, keep): (Vec<_>, Vec<_>) =
            self.forget_at.drain(..).partition(|&(at, _)| at <= now);
        self.forget_at = keep;
        for (_, id) in due {
            let member =
                self.conf_state.voters.contains(&id) || self.conf_state.learners.contains(&id);
            if !member {
                self.book.remove(id);
            }
        }
    }

    fn step(&mut self, msg: Message) {
        let (from, kind) = (msg.from, msg.get_msg_type());
        if let Err(e) = self.raw.step(msg) {
            tracing::debug!(id = self.cfg.id, from, ?kind, error = %e, "raft: message not stepped");
        }
    }

    fn on_report(&mut self, report: PeerReport) {
        match report {
            PeerReport::Removed => {
                // etcd stops a member whose peers answer 410 Gone: "the member has
                // been permanently removed from the cluster".
                if self.stop_at_tick.is_none() {
                    tracing::warn!(id = self.cfg.id, "raft: removed from the cluster; stopping");
                    self.stop_at_tick = Some(self.ticks);
                }
            }
            PeerReport::Unreachable(id) => self.raw.report_unreachable(id),
            PeerReport::Snapshot { to, ok } => {
                let status = if ok {
                    SnapshotStatus::Finish
                } else {
                    SnapshotStatus::Failure
                };
                self.raw.report_snapshot(to, status);
            }
        }
    }

    fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// Checks a proposal can go anywhere; registers its waiter and returns its context.
    fn admit(&mut self, waiter: Waiter<S::Output>) -> Option<(u64, Vec<u8>)> {
        let refuse = if self.stop_at_tick.is_some() {
            Some(RaftError::Stopped)
        } else if self.raw.raft.leader_id == raft::INVALID_ID {
            Some(RaftError::NoLeader)
        } else {
            None
        };
        if let Some(err) = refuse {
            waiter.fail(err);
            return None;
        }
        let seq = self.proposals.register(waiter);
        let id = ProposalId {
            node: self.cfg.id,
            nonce: self.nonce,
            seq,
        };
        Some((seq, id.encode()))
    }

    /// After raft-rs accepted (or refused) proposal `seq`.
    fn proposed(&mut self, seq: u64, res: raft::Result<()>) {
        match res {
            Ok(()) if self.is_leader() => {
                let index = self.raw.raft.raft_log.last_index();
                self.proposals.track_index(seq, index);
            }
            Ok(()) => {}
            Err(e) => self.proposals.fail(seq, e.into()),
        }
    }

    fn on_command(&mut self, cmd: Command<S::Output>) {
        match cmd {
            Command::Propose { data, tx } => {
                if let Some((seq, ctx)) = self.admit(Waiter::Propose(tx)) {
                    let res = self.step_proposal(ctx, data);
                    self.proposed(seq, res);
                }
            }
            Command::ChangeMembership { change, tx } => {
                if change.node_id == raft::INVALID_ID {
                    let _ = tx.send(Err(RaftError::ConfChange("node id 0 is invalid".into())));
                    return;
                }
                if let Some((seq, ctx)) = self.admit(Waiter::Conf(tx)) {
                    let res = self.raw.propose_conf_change(ctx, change.to_conf_change());
                    self.proposed(seq, res);
                }
            }
            Command::ReadIndex { tx } => {
                if self.stop_at_tick.is_some() {
                    let _ = tx.send(Err(RaftError::Stopped));
                } else {
                    self.reads.queue(tx);
                }
            }
            Command::TransferLeader { to } => self.raw.transfer_leader(to),
            Command::MatchIndexes { tx } => {
                let matched = self.is_leader().then(|| {
                    self.raw
                        .raft
                        .prs()
                        .iter()
                        .map(|(id, pr)| (*id, pr.matched))
                        .collect()
                });
                let _ = tx.send(matched);
            }
            Command::Campaign => {
                if let Err(e) = self.raw.campaign() {
                    tracing::debug!(id = self.cfg.id, error = %e, "raft: campaign refused");
                }
            }
            Command::AdvanceTicks(ticks) => {
                // Raft's clock only: the driver's own tick count (which times
                // read retries and forgotten peers) keeps real time.
                for _ in 0..ticks {
                    self.raw.tick();
                }
            }
            Command::SetPeerAddr { id, addr } => self.book.insert(id, addr),
            Command::Stop => {}
        }
    }

    /// What `RawNode::propose` does, with the data kept as the shared buffer it
    /// came in (raft-rs's method takes a `Vec`, which would copy a large entry
    /// whose bytes the proposer still shares).
    fn step_proposal(&mut self, ctx: Vec<u8>, data: Bytes) -> raft::Result<()> {
        let entry = Entry {
            data,
            context: ctx.into(),
            ..Default::default()
        };
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgPropose);
        m.from = self.raw.raft.id;
        m.set_entries(vec![entry].into());
        self.raw.raft.step(m)
    }

    fn send_all(&self, msgs: Vec<Message>) {
        for m in msgs {
            self.transport.send(m);
        }
    }

    async fn handle_ready(&mut self) -> Result<(), RaftError> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut rd = self.raw.ready();
        self.send_all(rd.take_messages());
        if !rd.snapshot().is_empty() {
            let snap = rd.snapshot().clone();
            self.install_snapshot(&snap)?;
        }
        self.apply_entries(rd.take_committed_entries())?;
        self.raw.mut_store().append(rd.entries())?;
        if let Some(hs) = rd.hs() {
            let hs = hs.clone();
            self.raw.mut_store().set_hard_state(&hs)?;
        }
        if rd.must_sync() {
            let start = tokio::time::Instant::now();
            if !self.cfg.fsync_delay.is_zero() {
                tokio::time::sleep(self.cfg.fsync_delay).await;
            }
            self.raw.mut_store().sync()?;
            self.cfg.disk_metrics.wal_fsync(start.elapsed());
        }
        self.send_all(rd.take_persisted_messages());
        self.on_read_states(rd.take_read_states());
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit)?;
        }
        self.send_all(light.take_messages());
        self.apply_entries(light.take_committed_entries())?;
        self.raw.advance_apply();
        self.reads.applied(self.applied);
        self.maybe_compact()
    }

    fn install_snapshot(&mut self, snap: &Snapshot) -> Result<(), RaftError> {
        let meta = snap.get_metadata();
        tracing::info!(
            id = self.cfg.id,
            index = meta.index,
            term = meta.term,
            "raft: installing snapshot"
        );
        self.raw.mut_store().install_snapshot(snap)?;
        let (peers, state) = decode_snapshot(&snap.data).map_err(RaftError::Raft)?;
        for (id, addr) in peers {
            self.book.insert(id, addr);
        }
        self.sm
            .restore(meta.index, state)
            .map_err(RaftError::Raft)?;
        self.book.set_removed(self.sm.removed_ids());
        self.conf_state = sorted(meta.get_conf_state().clone());
        self.applied = meta.index;
        self.proposals.snapshot_installed(meta.index);
        Ok(())
    }

    fn own_proposal(&self, entry: &Entry) -> Option<u64> {
        ProposalId::decode(&entry.context)
            .filter(|p| p.node == self.cfg.id && p.nonce == self.nonce)
            .map(|p| p.seq)
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), RaftError> {
        for entry in entries {
            if entry.index <= self.applied {
                continue;
            }
            panic_scope::failpoint_apply(entry.index);
            let ours = self.own_proposal(&entry);
            match entry.get_entry_type() {
                EntryType::EntryNormal => {
                    // A new leader's own empty entry carries neither data nor a proposal id.
                    let output = (!entry.data.is_empty() || !entry.context.is_empty())
                        .then(|| self.sm.apply(entry.index, entry.term, &entry.data));
                    self.applied = entry.index;
                    match (self.proposals.applied(entry.index, ours), output) {
                        (Some(Waiter::Propose(tx)), Some(out)) => {
                            let _ = tx.send(Ok(out));
                        }
                        (Some(w), _) => w.fail(RaftError::ProposalDropped),
                        (None, _) => {}
                    }
                }
                EntryType::EntryConfChange | EntryType::EntryConfChangeV2 => {
                    let result = self.apply_conf_change(&entry);
                    self.applied = entry.index;
                    match self.proposals.applied(entry.index, ours) {
                        Some(Waiter::Conf(tx)) => {
                            let _ = tx.send(result);
                        }
                        Some(w) => w.fail(RaftError::ProposalDropped),
                        None => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies a committed conf change to raft-rs, the address book and the state
    /// machine. Every member decodes the same bytes, so all reach the same result.
    fn apply_conf_change(&mut self, entry: &Entry) -> Result<ConfState, RaftError> {
        let decoded = if entry.get_entry_type() == EntryType::EntryConfChange {
            ConfChange::parse_from_bytes(&entry.data).map(v1_to_v2)
        } else {
            ConfChangeV2::parse_from_bytes(&entry.data)
        };
        let cc = decoded.map_err(|e| {
            RaftError::ConfChange(format!("undecodable conf change at {}: {e}", entry.index))
        })?;
        let changes = changes_of(&cc);
        let (peer_addr, context) = decode_context(&cc.context).unwrap_or_else(|e| {
            tracing::warn!(index = entry.index, error = %e, "raft: conf change context not ours");
            (None, cc.context.to_vec())
        });
        // Like etcd, a committed change that the state refuses is applied as a
        // no-op on every member alike (they all hold the same state here).
        if let Err(why) = self.sm.validate_membership(&changes, &context) {
            tracing::info!(index = entry.index, %why, "raft: membership change refused at apply");
            return Err(RaftError::ConfChange(why));
        }
        let cs = sorted(
            self.raw
                .apply_conf_change(&cc)
                .map_err(|e| RaftError::ConfChange(e.to_string()))?,
        );
        for &(kind, id) in &changes {
            match kind {
                ChangeKind::Remove if id == self.cfg.id => {
                    // Like etcd: keep running for an election timeout so the change
                    // can reach the others, then stop.
                    tracing::info!(id, index = entry.index, "raft: this node was removed");
                    self.stop_at_tick = Some(self.ticks + self.cfg.election_ticks as u64);
                }
                ChangeKind::Remove => {
                    self.book.mark_removed(id);
                    let at = self.ticks + 2 * self.cfg.election_ticks as u64;
                    self.forget_at.push((at, id));
                }
                ChangeKind::AddVoter | ChangeKind::AddLearner => {
                    if let Some(addr) = peer_addr {
                        self.book.insert(id, addr);
                    }
                }
            }
        }
        self.step_down_if_no_longer_voter(&cs);
        self.conf_state = cs.clone();
        self.sm.apply_membership(&MembershipEvent {
            index: entry.index,
            changes,
            peer_addr,
            context,
            conf_state: cs.clone(),
        });
        Ok(cs)
    }

    /// A leader whose own removal (or demotion) was just applied gives up leadership.
    ///
    /// raft-rs keeps such a node leader (its `post_conf_change` leaves stepping down
    /// as a to-do), but its progress tracker no longer holds the node itself, and every
    /// leader path that advances the commit index (`maybe_commit` on an append ack,
    /// `on_persist_entries` on its own write) unwraps the leader's own progress: the
    /// next ack that moved the commit index panicked inside raft-rs. So the leader
    /// first tells the remaining members the commit index (the change is committed;
    /// the append carries it, so they apply it and elect a leader among themselves at
    /// once), then becomes a follower without a leader in the same term. Not being a
    /// voter it never campaigns; it stops after the grace period set by the caller.
    ///
    /// This runs while a `Ready` is being handled, and raft-rs refuses a follower
    /// that produced messages before `advance`, so the appends are taken out of
    /// raft-rs and sent here, as a leader's appends may be at any time (step 1).
    fn step_down_if_no_longer_voter(&mut self, cs: &ConfState) {
        if !self.is_leader() || cs.voters.contains(&self.cfg.id) {
            return;
        }
        let term = self.raw.raft.term;
        tracing::info!(
            id = self.cfg.id,
            term,
            "raft: leader no longer a voter; stepping down"
        );
        self.raw.raft.bcast_append();
        let appends = std::mem::take(&mut self.raw.raft.msgs);
        self.send_all(appends);
        self.raw.raft.become_follower(term, raft::INVALID_ID);
    }

    fn on_read_states(&mut self, states: Vec<ReadState>) {
        for rs in states {
            if let Some(seq) = read_seq(self.nonce, &rs.request_ctx) {
                self.reads.answered(seq, rs.index);
            }
        }
    }

    fn maybe_compact(&mut self) -> Result<(), RaftError> {
        let Self {
            raw,
            sm,
            book,
            conf_state,
            applied,
            cfg,
            ..
        } = self;
        let taken = raw
            .mut_store()
            .maybe_compact(*applied, conf_state, &cfg.compaction, || {
                encode_snapshot(&book.entries(), &sm.snapshot())
            })?;
        if let Some(index) = taken {
            tracing::debug!(id = cfg.id, index, "raft: snapshot taken, log compacted");
        }
        Ok(())
    }

    fn publish_status(&self, stopped: Option<String>) {
        let raft = &self.raw.raft;
        let leader = raft.leader_id;
        let snapshot_index = self.raw.store().snapshot_metadata().index;
        let voters = self.conf_state.voters.clone();
        let learners = self.conf_state.learners.clone();
        let next = NodeStatus {
            id: self.cfg.id,
            role: raft.state.into(),
            leader_id: (leader != raft::INVALID_ID).then_some(leader),
            term: raft.term,
            commit_index: raft.raft_log.committed,
            applied_index: self.applied,
            last_index: raft.raft_log.last_index(),
            snapshot_index,
            voters,
            learners,
            removed: self.stop_at_tick.is_some(),
            stopped,
            leader_changes: 0,
        };
        self.status.publish(next);
    }
}

/// Marks a node's status stopped when the driver task ends, however it ends.
struct StoppedOnDrop(StatusBoard);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        // Unwinding from a panic of the task: its wrapper (see `panic_scope`) marks
        // the status with the panic's message instead.
        if !std::thread::panicking() {
            self.0.mark_stopped("driver task ended");
        }
    }
}

/// A single-change (version 1) conf change in version 2's form.
fn v1_to_v2(cc: ConfChange) -> ConfChangeV2 {
    let mut single = ConfChangeSingle::default();
    single.set_change_type(cc.get_change_type());
    single.node_id = cc.node_id;
    let mut v2 = ConfChangeV2::default();
    v2.set_changes(vec![single].into());
    v2.context = cc.context;
    v2
}

/// A membership with every id list in ascending order (raft-rs hands them out in hash
/// order).
fn sorted(mut cs: ConfState) -> ConfState {
    cs.voters.sort_unstable();
    cs.learners.sort_unstable();
    cs.voters_outgoing.sort_unstable();
    cs.learners_next.sort_unstable();
    cs
}
