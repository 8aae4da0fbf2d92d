//! [`Member`]: start a member (Raft node, store, HTTP server), look at it, stop it.

use super::config::{MemberConfig, url_socket_addr};
use super::drain::Connections;
use super::entry::Applied;
use super::ids::cluster_id;
use super::membership::Cluster;
use super::shutdown::Shutdown;
use super::state_machine::{MemberStateMachine, lock};
use super::stats::StatsTracker;
use super::{expiry, publish, server, tick_advance};
use crate::raft::{Disk, NodeStatus, RaftConfig, RaftError, RaftNode};
use crate::store::v2::Store;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Why a member could not start, or stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberError {
    /// The configuration is invalid.
    #[error("member: invalid configuration: {0}")]
    Config(String),
    /// The Raft node could not start.
    #[error(transparent)]
    Raft(#[from] RaftError),
    /// The client URL could not be listened on.
    #[error("member: cannot listen on {addr}: {error}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The socket error.
        error: String,
    },
    /// The member stopped on its own (its Raft node failed).
    #[error("member: stopped: {0}")]
    Stopped(String),
}

/// The state a member's tasks and handlers share.
pub(crate) struct Inner {
    pub cfg: MemberConfig,
    pub id: u64,
    /// The cluster id until the bootstrap membership has been applied.
    pub provisional_cluster_id: u64,
    pub raft: RaftNode<Applied>,
    pub store: Arc<Mutex<Store>>,
    pub cluster: Arc<Mutex<Cluster>>,
    /// Set once this member's attributes were published.
    pub ready: AtomicBool,
    pub stats: Mutex<StatsTracker>,
    pub shutdown: Shutdown,
    /// Open client connections (a graceful stop waits for them).
    pub connections: Connections,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    /// The cluster id: from the bootstrap members once known.
    pub fn cluster_id(&self) -> u64 {
        lock(&self.cluster)
            .cluster_id()
            .unwrap_or(self.provisional_cluster_id)
    }
}

/// A running member: a cheap handle (clones share the member).
#[derive(Clone)]
pub struct Member {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.inner.cfg.name)
            .field("id", &format_args!("{:x}", self.inner.id))
            .finish()
    }
}

impl Member {
    /// Starts a member on `disk`: recovers and starts its Raft node (listening on the
    /// peer URL), binds the client URL and serves etcd's v2 HTTP API there, and
    /// spawns its background tasks (publishing its attributes, expiry sweeps and
    /// the cluster version while it leads, statistics). Everything runs on the
    /// current runtime (under madsim: the current node).
    ///
    /// # Errors
    ///
    /// [`MemberError::Config`], [`MemberError::Raft`] (disk, snapshot or peer
    /// transport), [`MemberError::Listen`].
    pub async fn start<D: Disk + 'static>(
        cfg: MemberConfig,
        disk: D,
    ) -> Result<Member, MemberError> {
        cfg.validate().map_err(MemberError::Config)?;
        let client_addr = url_socket_addr(&cfg.client_url).map_err(MemberError::Config)?;
        let listener = TcpListener::bind(client_addr)
            .await
            .map_err(|e| MemberError::Listen {
                addr: client_addr,
                error: e.to_string(),
            })?;
        Self::start_with_listeners(cfg, disk, vec![listener]).await
    }

    /// As [`Member::start`], serving clients on `listeners` (bound by the caller, e.g.
    /// on etcd's `--listen-client-urls`, which may differ from the advertised
    /// [`MemberConfig::client_url`]) instead of binding the client URL.
    ///
    /// # Errors
    ///
    /// [`MemberError::Config`], [`MemberError::Raft`].
    pub async fn start_with_listeners<D: Disk + 'static>(
        cfg: MemberConfig,
        disk: D,
        listeners: Vec<TcpListener>,
    ) -> Result<Member, MemberError> {
        cfg.validate().map_err(MemberError::Config)?;
        let id = cfg.id();
        let initial = cfg.initial_members().map_err(MemberError::Config)?;
        let peer_addr = match cfg.listen_peer {
            Some(addr) => addr,
            None => url_socket_addr(&cfg.peer_url).map_err(MemberError::Config)?,
        };
        let peers: BTreeMap<u64, SocketAddr> = initial
            .iter()
            .filter(|m| m.id != id)
            .map(|m| (m.id, m.addr))
            .collect();
        let bootstrap_ids: Vec<u64> = initial
            .iter()
            .map(|m| m.id)
            .filter(|m| !cfg.existing || *m != id)
            .collect();
        let mut rc = RaftConfig::new(id, peer_addr, peers);
        rc.bootstrap = !cfg.existing;
        rc.tick = cfg.tick;
        rc.election_ticks = cfg.election_ticks;
        rc.compaction.snapshot_count = cfg.snapshot_count;
        rc.pre_vote = cfg.pre_vote;
        let store = Arc::new(Mutex::new(Store::new()));
        let cluster = Arc::new(Mutex::new(Cluster::default()));
        let (peer_tx, peer_rx) = mpsc::unbounded_channel();
        let sm = MemberStateMachine::new(store.clone(), cluster.clone(), &initial, peer_tx);
        let raft = RaftNode::start(rc, disk, sm).await?;
        let client_addrs: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let inner = Arc::new(Inner {
            id,
            provisional_cluster_id: cluster_id(&bootstrap_ids),
            raft,
            store,
            cluster,
            ready: AtomicBool::new(false),
            stats: Mutex::new(StatsTracker::new(SystemTime::now())),
            shutdown: Shutdown::default(),
            connections: Connections::default(),
            tasks: Mutex::new(Vec::new()),
            cfg,
        });
        tracing::info!(name = %inner.cfg.name, id = %format!("{id:x}"), ?client_addrs, %peer_addr, "member: started");
        let mut tasks: Vec<JoinHandle<()>> = listeners
            .into_iter()
            .map(|l| tokio::spawn(server::serve(inner.clone(), l)))
            .collect();
        tasks.extend([
            tokio::spawn(peer_addresses(inner.clone(), peer_rx)),
            tokio::spawn(publish::publish_attributes(inner.clone())),
            tokio::spawn(tick_advance::adjust_ticks(inner.clone())),
            tokio::spawn(publish::decide_cluster_version(inner.clone())),
            tokio::spawn(expiry::run(inner.clone())),
            tokio::spawn(observe_status(inner.clone())),
        ]);
        lock(&inner.tasks).extend(tasks);
        Ok(Member { inner })
    }

    /// The member id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.inner.cluster_id()
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.inner.cfg.name
    }

    /// The Raft node's latest status (role, leader, term, commit and applied index).
    pub fn status(&self) -> NodeStatus {
        self.inner.raft.status()
    }

    /// If this member leads, asks Raft to hand leadership to member `to` (etcd's
    /// `MoveLeader`); returns at once, a follower ignores it. Tests use it to put a
    /// chosen member in the lead.
    ///
    /// # Errors
    ///
    /// [`MemberError::Raft`] when the Raft node has stopped.
    pub fn transfer_leader(&self, to: u64) -> Result<(), MemberError> {
        Ok(self.inner.raft.transfer_leader(to)?)
    }

    /// Whether the member has published its attributes (etcd's `ReadyNotify`).
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }

    /// Whether the member would pass etcd's strict reconfiguration check for adding
    /// a member: enough started members, and connected to every other member for
    /// [`super::HEALTH_INTERVAL`] (5 s); always true with the check off.
    pub fn may_add_member(&self) -> bool {
        self.inner.may_add_member().is_ok()
    }

    /// Waits until the member is ready (or has stopped).
    pub async fn wait_ready(&self) -> bool {
        while !self.is_ready() {
            if self.inner.shutdown.is_triggered() || self.status().stopped.is_some() {
                return false;
            }
            tokio::time::sleep(self.inner.cfg.tick).await;
        }
        true
    }

    /// The cluster version, once the leader has decided it (`3.4.0`).
    pub fn cluster_version(&self) -> Option<String> {
        lock(&self.inner.cluster).version().map(str::to_string)
    }

    /// The v2 store's current index.
    pub fn store_index(&self) -> u64 {
        lock(&self.inner.store).index()
    }

    /// Stops the member: its HTTP server (open connections included), its tasks and
    /// its Raft node.
    pub async fn stop(&self) {
        self.inner.shutdown.trigger();
        self.inner.raft.stop().await;
        for t in lock(&self.inner.tasks).drain(..) {
            t.abort();
        }
    }

    /// Stops the member gracefully: stops accepting clients, lets the requests in
    /// flight finish (idle connections close at once) for up to `grace`, then stops
    /// as [`Member::stop`] does. Requests still running after `grace` are cut off.
    pub async fn stop_gracefully(&self, grace: Duration) {
        self.inner.connections.set_grace(grace);
        self.inner.shutdown.trigger();
        if tokio::time::timeout(grace, self.inner.connections.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(name = %self.inner.cfg.name, ?grace, "member: connections still open after the grace period; closing them");
        }
        self.stop().await;
    }

    /// Waits until the member's Raft node stops (removed, stopped, or failed).
    /// Returns `Ok` for a removal or a requested stop.
    ///
    /// # Errors
    ///
    /// [`MemberError::Stopped`] with the Raft node's reason otherwise.
    pub async fn wait_stopped(&self) -> Result<(), MemberError> {
        let status = match self.inner.raft.wait_for(|_| false).await {
            Ok(s) => s,
            Err(_) => self.status(),
        };
        if status.removed || self.inner.shutdown.is_triggered() {
            Ok(())
        } else {
            Err(MemberError::Stopped(
                status.stopped.unwrap_or_else(|| "unknown".into()),
            ))
        }
    }
}

/// Starts a member, hands it to `on_start`, and runs until it stops: the body of a
/// madsim node's init closure (a node whose init future returns is gone, so this
/// returns only when the member has stopped: removed from the cluster, stopped with
/// [`Member::stop`], or failed).
///
/// # Errors
///
/// As [`Member::start`], or [`MemberError::Stopped`] when the Raft node failed.
pub async fn run_member<D: Disk + 'static>(
    cfg: MemberConfig,
    disk: D,
    on_start: impl FnOnce(Member) + Send,
) -> Result<(), MemberError> {
    let member = Member::start(cfg, disk).await?;
    on_start(member.clone());
    let result = member.wait_stopped().await;
    member.stop().await;
    result
}

/// Hands peer addresses learned by the state machine to the Raft node.
async fn peer_addresses(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<(u64, SocketAddr)>) {
    while let Some((id, addr)) = rx.recv().await {
        if id != inner.id && inner.raft.set_peer_addr(id, addr).is_err() {
            return;
        }
    }
}

/// Feeds every status change to the statistics.
async fn observe_status(inner: Arc<Inner>) {
    let mut last = inner.raft.status();
    loop {
        let next = tokio::select! {
            biased;
            _ = inner.shutdown.wait() => return,
            s = inner.raft.wait_for(|s| *s != last) => s,
        };
        let Ok(next) = next else { return };
        lock(&inner.stats).observe(&last, &next, SystemTime::now(), tokio::time::Instant::now());
        last = next;
    }
}
