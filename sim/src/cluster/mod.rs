//! `SimCluster`: N etcd members on simulated nodes, a fault API, and clients.
//!
//! Everything here runs under madsim (sim builds only): members are madsim nodes
//! with fixed addresses (`10.0.1.<i+1>`, client port 2379, peer port 2380), each
//! with a [`SimDisk`] that outlives the node, so a kill followed by a restart is a
//! crash and recovery (writes not yet synced are lost). Application code runs on
//! client nodes of its own ([`SimCluster::run_client`]) and uses the SDK exactly as
//! against a real cluster.
//!
//! Faults are injected by index (`0..n`) and logged with their virtual time
//! ([`SimCluster::fault_log`]); one seed decides every scheduling choice, so a run
//! replays exactly (`MADSIM_TEST_SEED=<seed>`).
//!
//! ```ignore
//! #[madsim::test]
//! async fn writes_survive_leader_loss() {
//!     let cluster = SimCluster::start(SimClusterConfig::default()).await.unwrap();
//!     let old = cluster.pause_leader().unwrap();
//!     cluster.run_client(|client| async move {
//!         let kapi = etcd_sdk::keys::new_keys_api(std::sync::Arc::new(client));
//!         kapi.set("/k", "v", Default::default()).await.unwrap();
//!     }).await;
//!     cluster.resume(old);
//! }
//! ```

mod fault_log;
mod faults;
mod membership_sync;
mod node;

pub use fault_log::{FaultLog, FaultRecord};
pub use node::NodeState;

use crate::member::{Member, UnsafeMode};
use crate::raft::NodeStatus;
use etcd_sdk::{Config, HttpClient};
use membership_sync::Uncertain;
use node::SimNode;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// How to build a [`SimCluster`]. `Default`: 3 members with etcd's timing.
#[derive(Clone, Debug)]
pub struct SimClusterConfig {
    /// Number of members (3 and 5 are the usual choices).
    pub nodes: usize,
    /// `--initial-cluster-token` (it feeds the member and cluster ids).
    pub cluster_token: String,
    /// Raft tick (etcd's `--heartbeat-interval`, 100 ms).
    pub tick: Duration,
    /// Election timeout in ticks (etcd: 1000 ms / 100 ms = 10).
    pub election_ticks: usize,
    /// Applied entries between snapshots (`--snapshot-count`).
    pub snapshot_count: u64,
    /// How long a member waits for a proposal before answering error 300.
    pub request_timeout: Duration,
    /// The SDK clients' per-request header timeout ([`SimCluster::client_config`]).
    pub client_header_timeout: Duration,
    /// How long [`SimCluster::start`] waits for every member to be ready (virtual time).
    pub startup_timeout: Duration,
    /// A deliberately unsafe member behaviour, **for testing the chaos checker
    /// only** ([`UnsafeMode`]); `None` (the default) runs etcd's semantics.
    pub unsafe_mode: Option<UnsafeMode>,
    /// etcd's `--experimental-corrupt-check-time` for every member (`None`, the
    /// default: off).
    pub corrupt_check_time: Option<Duration>,
}

impl Default for SimClusterConfig {
    fn default() -> Self {
        SimClusterConfig {
            nodes: 3,
            cluster_token: "etcd-sim-cluster".into(),
            tick: Duration::from_millis(100),
            election_ticks: 10,
            snapshot_count: 10_000,
            request_timeout: Duration::from_secs(7),
            client_header_timeout: Duration::from_secs(1),
            startup_timeout: Duration::from_secs(30),
            unsafe_mode: None,
            corrupt_check_time: None,
        }
    }
}

/// Errors of the cluster API.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The members did not all become ready in time.
    #[error("cluster not ready after {0:?}: {1}")]
    NotReady(Duration, String),
    /// No leader was elected in time.
    #[error("no leader after {0:?}")]
    NoLeader(Duration),
    /// A member index out of range.
    #[error("no member {0}")]
    NoSuchMember(usize),
    /// A membership change failed.
    #[error("membership change failed: {0}")]
    Membership(#[from] etcd_sdk::Error),
}

/// A simulated etcd cluster with a fault API.
pub struct SimCluster {
    cfg: SimClusterConfig,
    nodes: Mutex<Vec<Arc<SimNode>>>,
    /// Directed member links currently cut: (from, to).
    cut_links: Mutex<BTreeSet<(usize, usize)>>,
    /// Members isolated from everyone.
    isolated: Mutex<BTreeSet<usize>>,
    log: FaultLog,
    next_client: AtomicUsize,
    /// Notified when a node's state or incarnation changes (see [`Self::wait_until`]).
    changed: Arc<Notify>,
    /// Membership changes sent whose outcome is unknown (see [`Self::sync_membership`]).
    uncertain: Mutex<Uncertain>,
}

impl SimCluster {
    /// Starts `cfg.nodes` members and waits until every one is ready, a leader is
    /// elected and every member has applied the cluster version (the bootstrap
    /// entries are all applied: the first write of a fresh cluster gets index
    /// `2 * nodes + 2`).
    pub async fn start(cfg: SimClusterConfig) -> Result<SimCluster, ClusterError> {
        let initial: Vec<(String, String)> = (0..cfg.nodes)
            .map(|i| (member_name(i), peer_url(i)))
            .collect();
        let changed = Arc::new(Notify::new());
        let nodes = (0..cfg.nodes)
            .map(|i| {
                Arc::new(SimNode::spawn(
                    i,
                    &cfg,
                    initial.clone(),
                    false,
                    changed.clone(),
                ))
            })
            .collect();
        let cluster = SimCluster {
            cfg,
            nodes: Mutex::new(nodes),
            cut_links: Mutex::new(BTreeSet::new()),
            isolated: Mutex::new(BTreeSet::new()),
            log: FaultLog::new(),
            next_client: AtomicUsize::new(0),
            changed,
            uncertain: Mutex::new(Uncertain::default()),
        };
        cluster.wait_ready(cluster.cfg.startup_timeout).await?;
        let versioned = |c: &Self| {
            c.nodes()
                .iter()
                .all(|n| n.member().is_some_and(|m| m.cluster_version().is_some()))
                .then_some(())
        };
        let timeout = cluster.cfg.startup_timeout;
        cluster
            .wait_until(timeout, versioned)
            .await
            .ok_or_else(|| ClusterError::NotReady(timeout, "no cluster version".into()))?;
        cluster
            .log
            .record(format!("cluster of {} started", cluster.cfg.nodes));
        Ok(cluster)
    }

    /// Waits until every live member is ready and there is a leader.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let pending = |c: &Self| -> Vec<String> {
            c.nodes()
                .iter()
                .filter(|n| {
                    n.state() == NodeState::Running && !n.member().is_some_and(|m| m.is_ready())
                })
                .map(|n| n.name.clone())
                .collect()
        };
        let ready = self
            .wait_until(timeout, |c| {
                (pending(c).is_empty() && c.leader().is_some()).then_some(())
            })
            .await;
        ready.ok_or_else(|| {
            ClusterError::NotReady(timeout, format!("not ready: {:?}", pending(self)))
        })
    }

    /// Waits until `check` gives a value, up to `timeout` (virtual time), checking
    /// again whenever something it can depend on changes: a node's state or
    /// incarnation (paused, killed, restarted, added, removed; a restarted member
    /// started), a member's Raft status (role, leader, term, indices), or a member
    /// becoming ready. `None` when `timeout` passes first.
    async fn wait_until<T>(
        &self,
        timeout: Duration,
        check: impl Fn(&Self) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before anything is read: a change from here on wakes it.
            let changed = self.changed.notified();
            let seen: Vec<(Member, NodeStatus)> = self
                .nodes()
                .iter()
                .filter(|n| n.state() == NodeState::Running)
                .filter_map(|n| n.member())
                .map(|m| {
                    let status = m.status();
                    (m, status)
                })
                .filter(|(_, status)| status.stopped.is_none())
                .collect();
            if let Some(v) = check(self) {
                return Some(v);
            }
            let mut waits: Vec<Pin<Box<dyn Future<Output = ()> + '_>>> = vec![Box::pin(changed)];
            for (m, status) in &seen {
                waits.push(Box::pin(async move {
                    m.status_changed(status).await;
                }));
                if !m.is_ready() {
                    waits.push(Box::pin(m.wait_published()));
                }
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if tokio::time::timeout(left, futures_util::future::select_all(waits))
                .await
                .is_err()
            {
                return check(self);
            }
        }
    }

    /// The configuration the cluster was built with.
    pub fn config(&self) -> &SimClusterConfig {
        &self.cfg
    }

    fn nodes(&self) -> MutexGuard<'_, Vec<Arc<SimNode>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn node(&self, i: usize) -> Result<Arc<SimNode>, ClusterError> {
        self.nodes()
            .get(i)
            .cloned()
            .ok_or(ClusterError::NoSuchMember(i))
    }

    /// Number of members ever started (removed ones keep their index).
    pub fn len(&self) -> usize {
        self.nodes().len()
    }

    /// Whether the cluster has no members (never true after [`SimCluster::start`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Member `i`'s name (`m<i>`).
    pub fn name(&self, i: usize) -> String {
        member_name(i)
    }

    /// Member `i`'s state in the simulation.
    pub fn state(&self, i: usize) -> Option<NodeState> {
        self.nodes().get(i).map(|n| n.state())
    }

    /// Why member `i` last failed to start (e.g. etcd's initial corruption
    /// check refused it) or stopped on its own; `None` if it never did.
    pub fn last_error(&self, i: usize) -> Option<String> {
        self.nodes().get(i).and_then(|n| n.last_error())
    }

    /// Member `i`'s Raft id.
    pub fn member_id(&self, i: usize) -> u64 {
        crate::member::member_id(&peer_url(i), &self.cfg.cluster_token)
    }

    /// The client URLs of every member not removed, in index order.
    pub fn client_urls(&self) -> Vec<String> {
        self.nodes()
            .iter()
            .filter(|n| n.state() != NodeState::Removed)
            .map(|n| n.client_url.clone())
            .collect()
    }

    /// A client configuration over [`SimCluster::client_urls`] with the configured
    /// header timeout; adjust it and build an [`HttpClient`] on a client node.
    pub fn client_config(&self) -> Config {
        Config {
            endpoints: self.client_urls(),
            header_timeout_per_request: Some(self.cfg.client_header_timeout),
            ..Default::default()
        }
    }

    /// Runs `f` with a fresh client on a client node of its own (application code
    /// cannot run on the test's node 0, which has no address) and returns its result.
    pub async fn run_client<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(HttpClient) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let cfg = self.client_config();
        self.run_on_client_node(move || async move {
            let client = HttpClient::new(cfg).expect("the cluster's client URLs are valid");
            f(client).await
        })
        .await
    }

    /// Runs `f` on a new client node (address `10.0.2.<k>`).
    pub async fn run_on_client_node<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let k = self.next_client.fetch_add(1, Ordering::Relaxed);
        let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            10,
            0,
            2 + (k / 250) as u8,
            (k % 250 + 1) as u8,
        ));
        let node = madsim::runtime::Handle::current()
            .create_node()
            .name(format!("client{k}"))
            .ip(ip)
            .build();
        match node.spawn(async move { f().await }).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(Box::new(format!("client task failed: {e}"))),
        }
    }

    /// Member `i`'s Raft status, if it is running (a paused member reports what it
    /// knew when it was paused).
    pub fn status(&self, i: usize) -> Option<NodeStatus> {
        let node = self.nodes().get(i).cloned()?;
        match node.state() {
            NodeState::Running | NodeState::Paused => node.member().map(|m| m.status()),
            NodeState::Killed | NodeState::Removed => None,
        }
    }

    /// The member a running (not paused) majority follows: the running member that
    /// believes it leads with the highest term (a member whose Raft node has stopped,
    /// such as one removed from the cluster, leads nothing whatever it last reported).
    pub fn leader(&self) -> Option<usize> {
        let n = self.len();
        (0..n)
            .filter(|&i| self.state(i) == Some(NodeState::Running))
            .filter_map(|i| {
                self.status(i)
                    .filter(|s| s.is_leader() && s.stopped.is_none())
                    .map(|s| (s.term, i))
            })
            .max()
            .map(|(_, i)| i)
    }

    /// Member `i`'s current term.
    pub fn term(&self, i: usize) -> Option<u64> {
        self.status(i).map(|s| s.term)
    }

    /// Member `i`'s commit index.
    pub fn commit_index(&self, i: usize) -> Option<u64> {
        self.status(i).map(|s| s.commit_index)
    }

    /// Waits for a leader among the running members, up to `timeout` (virtual time).
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<usize, ClusterError> {
        self.poll_leader(timeout, |_| true).await
    }

    /// Waits (up to `timeout`, virtual time) until the cluster has settled: a
    /// leader, and every running member following it in its term (a member whose
    /// Raft node has stopped follows nobody, whatever it last reported). Right after a
    /// heal, a member can still believe in a leader that has stepped down, and
    /// forwards proposals there that are dropped (as etcd's followers do), so a
    /// write through it waits for the request timeout.
    ///
    /// # Errors
    ///
    /// [`ClusterError::NoLeader`] if that does not happen in time.
    pub async fn wait_converged(&self, timeout: Duration) -> Result<usize, ClusterError> {
        self.poll_leader(timeout, |lead| {
            (0..self.len())
                .filter(|&i| self.state(i) == Some(NodeState::Running))
                .all(|i| {
                    self.status(i).is_some_and(|s| {
                        s.stopped.is_none() && s.leader_id == Some(lead.id) && s.term == lead.term
                    })
                })
        })
        .await
    }

    /// Polls every 20 ms (virtual) until [`SimCluster::leader`] names a member whose
    /// status passes `settled`; [`ClusterError::NoLeader`] after `timeout`.
    async fn poll_leader(
        &self,
        timeout: Duration,
        settled: impl Fn(&NodeStatus) -> bool,
    ) -> Result<usize, ClusterError> {
        self.wait_until(timeout, |c| {
            c.leader()
                .filter(|&l| c.status(l).is_some_and(|lead| settled(&lead)))
        })
        .await
        .ok_or(ClusterError::NoLeader(timeout))
    }

    /// Every fault injected so far, with its virtual time.
    pub fn fault_log(&self) -> Vec<FaultRecord> {
        self.log.records()
    }

    /// Member `i`'s handle, if it is running or paused.
    pub fn member(&self, i: usize) -> Option<Member> {
        self.nodes().get(i).and_then(|n| n.member())
    }
}

/// Member `i`'s name.
pub fn member_name(i: usize) -> String {
    format!("m{i}")
}

/// Member `i`'s address.
pub fn member_ip(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(
        10,
        0,
        1 + (i / 250) as u8,
        (i % 250 + 1) as u8,
    ))
}

/// Member `i`'s peer URL.
pub fn peer_url(i: usize) -> String {
    format!("http://{}:2380", member_ip(i))
}

/// Member `i`'s client URL.
pub fn client_url(i: usize) -> String {
    format!("http://{}:2379", member_ip(i))
}
