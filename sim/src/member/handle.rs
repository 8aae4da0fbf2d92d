//! [`Member`]: start a member (Raft node, store, HTTP service, background tasks),
//! look at it, stop it.
//!
//! Each task gets only what it uses (see [`Member::start_with_listeners`]): the
//! HTTP service the [`MemberBackend`], the background tasks a [`Proposer`] and the
//! piece of state they watch, every one the shutdown [`Signal`].

use super::backend::MemberBackend;
use super::compactor::AutoCompactor;
use super::config::{MemberConfig, url_socket_addr};
use super::corrupt_check::{self, CorruptMonitor};
use super::drain::Connections;
use super::entry::Applied;
use super::expiry::Expiry;
use super::hooks::ClientHooks;
use super::ids::cluster_id;
use super::lease_keeper::LeaseKeeper;
use super::membership::Cluster;
use super::metrics_probe::MemberProbe;
use super::proposer::Proposer;
use super::publish::{Publisher, VersionDecider};
use super::server::ClientListener;
use super::signal::Signal;
use super::state_machine::{MemberStateMachine, lock};
use super::stats::StatsTracker;
use super::tick_advance::TickAdvance;
use super::unsafe_mode::UnsafeMode;
use super::v3_backend::{MemberV3, RequestIds};
use super::v3_digest::V3Digest;
use super::{listen, server, tick_advance};
use crate::api::v2::members::ClusterBackend;
use crate::api::v3::V3Services;
use crate::api::v3::gateway::Gateway;
use crate::api::v3::own_client::OwnClient;
use crate::metrics::{Metrics, MetricsPage};
use crate::raft::{Disk, NodeStatus, RaftConfig, RaftError, RaftNode};
use crate::server::v3_state::V3Stores;
use crate::store::v2::Store;
use crate::store::v3::kv::{HashKv, KvError};
use crate::store::v3::lease::LessorConfig;
use crate::store::v3::watch::WatchConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
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
    /// The initial corruption check failed (etcd's text, e.g. `<id> found data
    /// inconsistency with peers`): the member refused to start.
    #[error("{0}")]
    Corrupt(String),
}

/// What the [`Member`] handle holds.
struct Running {
    name: String,
    id: u64,
    raft: Arc<RaftNode<Applied>>,
    backend: Arc<MemberBackend>,
    /// Set once this member's attributes were published.
    ready: Arc<Signal>,
    shutdown: Arc<Signal>,
    /// Open client connections (a graceful stop waits for them).
    connections: Arc<Connections>,
    /// The v3 stores (for [`Member::v3_digest`]).
    v3_stores: Arc<Mutex<V3Stores>>,
    /// The member's metrics, and the page `/metrics` serves.
    metrics: Metrics,
    page: MetricsPage,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A running member: a cheap handle (clones share the member).
#[derive(Clone)]
pub struct Member {
    inner: Arc<Running>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("name", &self.inner.name)
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
        let listener = listen::bind(client_addr)
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
        let listeners = listeners.into_iter().map(ClientListener::plain).collect();
        Self::start_with_client_listeners(cfg, disk, listeners).await
    }

    /// As [`Member::start_with_listeners`], with listeners that may serve TLS
    /// (etcd's `https://` listen client URLs; see [`ClientListener`]).
    ///
    /// # Errors
    ///
    /// [`MemberError::Config`], [`MemberError::Raft`].
    pub async fn start_with_client_listeners<D: Disk + 'static>(
        cfg: MemberConfig,
        disk: D,
        listeners: Vec<ClientListener>,
    ) -> Result<Member, MemberError> {
        Self::start_with_hooks(cfg, disk, listeners, ClientHooks::default()).await
    }

    /// As [`Member::start_with_client_listeners`], the client ports also serving
    /// an embedding application's HTTP handlers and gRPC services (`hooks`).
    ///
    /// # Errors
    ///
    /// [`MemberError::Config`], [`MemberError::Raft`].
    pub async fn start_with_hooks<D: Disk + 'static>(
        cfg: MemberConfig,
        disk: D,
        listeners: Vec<ClientListener>,
        hooks: ClientHooks,
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
        // This member's metrics: its own, never a process-wide registry.
        let metrics = Metrics::default();
        rc.disk_metrics = metrics.disk.clone();
        rc.force_new_cluster = cfg.force_new_cluster;
        rc.peer_transport = cfg.peer_transport;
        let store = Arc::new(Mutex::new(Store::new()));
        let cluster = Arc::new(Mutex::new(Cluster::default()));
        let (peer_tx, peer_rx) = mpsc::unbounded_channel();
        let mut v3 = V3Stores::new(
            LessorConfig::new(cfg.election_ticks as u64, cfg.tick),
            WatchConfig {
                // For testing the chaos checker only.
                unsafe_skip_first_replayed_event: cfg.unsafe_mode
                    == Some(UnsafeMode::WatchResumeSkip),
                ..WatchConfig::new(cfg.v3_limits.max_request_bytes)
            },
        );
        v3.set_token_provider(&cfg.auth_token, cfg.v3_limits.auth_token_ttl);
        v3.quota_backend_bytes = cfg.v3_limits.quota_backend_bytes;
        let (nospace_tx, nospace_rx) = mpsc::unbounded_channel();
        v3.nospace = Some(nospace_tx);
        v3.metrics = metrics.store.clone();
        // Entries committed before this boot are applied again from the log:
        // the simple tokens they minted are not registered again (etcd skips
        // them by its consistent index; its tokens live in memory only).
        v3.replay_until = disk.read(|s| s.hard_state().commit);
        let boot_commit = v3.replay_until;
        // etcd checks only a member that has data ("memberInitialized").
        let initialized = disk.read(|s| !s.is_empty());
        if let Some(blob) = &cfg.v3_restore {
            v3.restore(blob)
                .map_err(|e| MemberError::Config(format!("restored v3 state: {e}")))?;
            tracing::info!(
                revision = v3.kv.current_revision(),
                "member: v3 state restored from a snapshot"
            );
        }
        let v3_stores = Arc::new(Mutex::new(v3));
        let v3_activity = Arc::new(Notify::new());
        let sm = MemberStateMachine::new(
            id,
            store.clone(),
            cluster.clone(),
            (v3_stores.clone(), v3_activity.clone()),
            &initial,
            peer_tx,
        );
        let raft = Arc::new(RaftNode::start(rc, disk, sm).await?);
        if let Err(e) = boot_checks(
            &cfg,
            id,
            &raft,
            boot_commit,
            initialized,
            &v3_stores,
            &cluster,
        )
        .await
        {
            raft.stop().await;
            return Err(e);
        }
        let client_addrs: Vec<SocketAddr> = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();
        let page = MetricsPage::new(
            metrics.clone(),
            Arc::new(MemberProbe {
                id,
                raft: raft.clone(),
                cluster: cluster.clone(),
                stores: v3_stores.clone(),
            }),
        );
        let stats = Arc::new(Mutex::new(StatsTracker::new(SystemTime::now())));
        let proposer = Proposer::new(raft.clone(), &cfg, stats.clone(), metrics.proposals.clone());
        let backend = Arc::new(
            MemberBackend::new(
                &cfg,
                cluster_id(&bootstrap_ids),
                proposer.clone(),
                store.clone(),
                cluster.clone(),
                stats.clone(),
            )
            .with_v3_stores(v3_stores.clone())
            .with_metrics(page.clone()),
        );
        let shutdown = Arc::new(Signal::default());
        let ready = Arc::new(Signal::default());
        let connections = Arc::new(Connections::default());
        tracing::info!(name = %cfg.name, id = %format!("{id:x}"), ?client_addrs, %peer_addr, "member: started");
        let v3_backend: Arc<MemberV3> = Arc::new(MemberV3 {
            id,
            provisional_cluster_id: cluster_id(&bootstrap_ids),
            proposer: proposer.clone(),
            cluster: cluster.clone(),
            stores: v3_stores.clone(),
            activity: v3_activity,
            limits: cfg.v3_limits,
            ids: RequestIds::new(id),
            local_linearizable_ranges: cfg.unsafe_mode == Some(UnsafeMode::LocalLinearizableRanges),
        });
        // Lock and Election call the member's own v3 API on its first plaintext
        // client URL; a member with TLS ports only routes those calls in process
        // (the SDK client they use does not speak TLS).
        let plain_address = listeners
            .iter()
            .filter(|l| !l.is_tls())
            .find_map(|l| l.local_addr().ok());
        let own_client = OwnClient::new(plain_address.or(client_addrs.first().copied()));
        let corrupt_monitor = cfg
            .corrupt_check_time
            .filter(|t| !t.is_zero())
            .map(|interval| CorruptMonitor {
                id,
                interval,
                v3: v3_backend.clone(),
                cluster: cluster.clone(),
                timeout: cfg.request_timeout,
                shutdown: shutdown.clone(),
            });
        let nospace = tokio::spawn(super::nospace::raise_when_told(
            nospace_rx,
            v3_backend.clone(),
        ));
        let v3 = V3Services::new(v3_backend, backend.clone())
            .with_own_client(own_client.clone())
            .with_metrics(metrics.grpc.clone());
        let http2 = server::Http2Service::new(&v3, &hooks);
        let user_routes = hooks.user_handlers.filter(|r| !r.is_empty());
        #[cfg(not(madsim))]
        if plain_address.is_none()
            && let Some(channel) =
                super::tls_conn::in_process_channel(&http2, &shutdown, &connections)
        {
            own_client.route_in_process(channel);
        }
        let mut tasks: Vec<JoinHandle<()>> = listeners
            .into_iter()
            .map(|l| {
                // The /v3 gateway of each listener dials the listener itself; a
                // TLS listener's gateway calls the services in process instead.
                #[cfg(not(madsim))]
                let in_process = l
                    .is_tls()
                    .then(|| super::tls_conn::in_process_channel(&http2, &shutdown, &connections))
                    .flatten();
                #[cfg(madsim)]
                let in_process = None;
                let gateway = match in_process {
                    Some(channel) => Some(Gateway::with_channel(channel)),
                    None => l.local_addr().ok().and_then(|addr| {
                        Gateway::new(addr)
                            .inspect_err(|e| tracing::warn!(error = %e, "member: no v3 gateway"))
                            .ok()
                    }),
                };
                tokio::spawn(server::serve(
                    l,
                    backend.clone(),
                    http2.clone(),
                    gateway,
                    user_routes.clone(),
                    shutdown.clone(),
                    connections.clone(),
                ))
            })
            .collect();
        // Sim builds: madsim's gRPC serves the same addresses on its own sockets.
        #[cfg(madsim)]
        tasks.extend(client_addrs.iter().map(|&addr| {
            let (v3, shutdown) = (v3.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(e) = v3.serve(addr, shutdown.wait()).await {
                    tracing::error!(%addr, error = %e, "member: gRPC not served");
                }
            })
        }));
        let publisher = Publisher {
            id,
            cluster_id: cluster_id(&bootstrap_ids),
            name: cfg.name.clone(),
            client_urls: cfg.client_urls(),
            proposer: proposer.clone(),
            ready: ready.clone(),
            shutdown: shutdown.clone(),
        };
        let ticks = TickAdvance {
            name: cfg.name.clone(),
            raft: raft.clone(),
            cluster: cluster.clone(),
            initial_members: initial.len(),
            tick: cfg.tick,
            election_ticks: cfg.election_ticks,
            enabled: cfg.initial_election_tick_advance,
            shutdown: shutdown.clone(),
        };
        let version = VersionDecider {
            proposer: proposer.clone(),
            cluster,
            shutdown: shutdown.clone(),
        };
        let compactor = cfg.auto_compaction.map(|setting| AutoCompactor {
            setting,
            proposer: proposer.clone(),
            stores: v3_stores.clone(),
            shutdown: shutdown.clone(),
        });
        let lease_keeper = LeaseKeeper {
            proposer: proposer.clone(),
            stores: v3_stores.clone(),
            election_timeout: cfg.tick.saturating_mul(cfg.election_ticks as u32),
            shutdown: shutdown.clone(),
            early_follower_expiry: cfg.unsafe_mode == Some(UnsafeMode::EarlyFollowerLeaseExpiry),
        };
        let expiry = Expiry {
            proposer,
            store,
            shutdown: shutdown.clone(),
        };
        tasks.extend([
            tokio::spawn(peer_addresses(id, raft.clone(), peer_rx)),
            tokio::spawn(publisher.run()),
            tokio::spawn(tick_advance::adjust_ticks(ticks)),
            tokio::spawn(version.run()),
            tokio::spawn(expiry.run()),
            tokio::spawn(lease_keeper.run()),
            tokio::spawn(observe_status(raft.clone(), shutdown.clone(), stats)),
        ]);
        tasks.extend(compactor.map(|c| tokio::spawn(c.run())));
        tasks.extend(corrupt_monitor.map(|c| tokio::spawn(c.run())));
        tasks.push(nospace);
        Ok(Member {
            inner: Arc::new(Running {
                name: cfg.name,
                id,
                raft,
                backend,
                ready,
                shutdown,
                connections,
                v3_stores,
                metrics,
                page,
                tasks: Mutex::new(tasks),
            }),
        })
    }

    /// This member's metrics (e.g. to turn on `--metrics extensive`'s
    /// histograms: [`crate::metrics::GrpcMetrics::enable_handling_time`]).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The text exposition `/metrics` serves now.
    pub fn render_metrics(&self) -> String {
        self.inner.page.render()
    }

    /// Serves `/metrics` and `/health` (and nothing else) on `listener` until
    /// the member stops: etcd's `--listen-metrics-urls`.
    pub fn serve_metrics(&self, listener: TcpListener) {
        let task = tokio::spawn(super::metrics_listener::serve(
            listener,
            self.inner.backend.clone(),
            self.inner.page.clone(),
            self.inner.shutdown.clone(),
        ));
        lock(&self.inner.tasks).push(task);
    }

    /// The member id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.inner.backend.cluster_id()
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The Raft node's latest status (role, leader, term, commit and applied index).
    pub fn status(&self) -> NodeStatus {
        self.inner.raft.status()
    }

    /// Waits until the member has published its attributes; unlike
    /// [`Member::wait_ready`], not returning if it stops first.
    #[cfg(madsim)]
    pub(crate) async fn wait_published(&self) {
        self.inner.ready.wait().await
    }

    /// Waits until the Raft node's status differs from `seen` (or the node stops);
    /// returns the new status.
    pub async fn status_changed(&self, seen: &NodeStatus) -> NodeStatus {
        match self.inner.raft.wait_for(|s| s != seen).await {
            Ok(s) => s,
            Err(_) => self.status(),
        }
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
        self.inner.ready.is_triggered()
    }

    /// Whether the member would pass etcd's strict reconfiguration check for adding
    /// a member: enough started members, and connected to every other member for
    /// [`super::HEALTH_INTERVAL`] (5 s); always true with the check off.
    pub fn may_add_member(&self) -> bool {
        self.inner.backend.may_add_member(false).is_ok()
    }

    /// Waits until the member is ready (or has stopped).
    pub async fn wait_ready(&self) -> bool {
        tokio::select! {
            biased;
            _ = self.inner.ready.wait() => true,
            _ = self.inner.shutdown.wait() => self.is_ready(),
            _ = self.inner.raft.wait_for(|s| s.stopped.is_some()) => self.is_ready(),
        }
    }

    /// The cluster version, once the leader has decided it (`3.4.0`).
    pub fn cluster_version(&self) -> Option<String> {
        ClusterBackend::cluster_version(&*self.inner.backend)
    }

    /// A digest of the v3 state this member has applied: revisions, HashKV,
    /// leases and their keys.
    pub fn v3_digest(&self) -> V3Digest {
        V3Digest::of(&lock(&self.inner.v3_stores))
    }

    /// etcd's HashKV of this member's v3 history up to `revision` (0 = current).
    ///
    /// # Errors
    ///
    /// [`KvError`] for a compacted or future revision.
    pub fn v3_hash_kv(&self, revision: i64) -> Result<HashKv, KvError> {
        lock(&self.inner.v3_stores).kv.hash_kv(revision)
    }

    /// The v2 store's current index.
    pub fn store_index(&self) -> u64 {
        self.inner.backend.store_index()
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
            tracing::warn!(name = %self.inner.name, ?grace, "member: connections still open after the grace period; closing them");
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

/// What runs between the Raft node's start and serving: once the log held at
/// boot is applied, the unsafe corruption hook (`UnsafeMode::CorruptKv`) and
/// etcd's initial corruption check.
async fn boot_checks(
    cfg: &MemberConfig,
    id: u64,
    raft: &RaftNode<Applied>,
    boot_commit: u64,
    initialized: bool,
    stores: &Mutex<V3Stores>,
    cluster: &Mutex<Cluster>,
) -> Result<(), MemberError> {
    let corrupt = cfg.unsafe_mode == Some(UnsafeMode::CorruptKv);
    let check = cfg.initial_corrupt_check && initialized;
    if !corrupt && !check {
        return Ok(());
    }
    raft.wait_for(|s| s.applied_index >= boot_commit).await?;
    if corrupt {
        corrupt_check::corrupt_locally(id, stores);
    }
    if check {
        corrupt_check::initial_check(id, stores, cluster, cfg.request_timeout)
            .await
            .map_err(MemberError::Corrupt)?;
    }
    Ok(())
}

/// Hands peer addresses learned by the state machine to the Raft node.
async fn peer_addresses(
    id: u64,
    raft: Arc<RaftNode<Applied>>,
    mut rx: mpsc::UnboundedReceiver<(u64, SocketAddr)>,
) {
    while let Some((peer, addr)) = rx.recv().await {
        if peer != id && raft.set_peer_addr(peer, addr).is_err() {
            return;
        }
    }
}

/// Feeds every status change to the statistics.
async fn observe_status(
    raft: Arc<RaftNode<Applied>>,
    shutdown: Arc<Signal>,
    stats: Arc<Mutex<StatsTracker>>,
) {
    let mut last = raft.status();
    loop {
        let next = tokio::select! {
            biased;
            _ = shutdown.wait() => return,
            s = raft.wait_for(|s| *s != last) => s,
        };
        let Ok(next) = next else { return };
        lock(&stats).observe(&last, &next, SystemTime::now(), tokio::time::Instant::now());
        last = next;
    }
}
