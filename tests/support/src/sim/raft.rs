//! Test harness for Raft scenarios under madsim: a cluster of simulated nodes, each
//! running a `RaftNode` over a `SimDisk` with an append-only list as state machine.

use etcd_sim::raft::{MembershipEvent, RaftConfig, RaftError, RaftNode, SimDisk, StateMachine};
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};

/// The applied list a test can look at (shared with the node's state machine).
pub type List = Arc<Mutex<Vec<Vec<u8>>>>;

/// An append-only list: `apply` appends the entry's data and returns the new length.
pub struct ListSm {
    items: List,
    /// Membership events seen (index, changes).
    /// The membership changes it has applied.
    pub events: Arc<Mutex<Vec<MembershipEvent>>>,
}

impl ListSm {
    /// A state machine that starts empty (clearing `items`).
    pub fn new(items: List, events: Arc<Mutex<Vec<MembershipEvent>>>) -> Self {
        items.lock().unwrap().clear();
        events.lock().unwrap().clear();
        Self { items, events }
    }
}

impl StateMachine for ListSm {
    type Output = u64;

    fn apply(&mut self, _index: u64, _term: u64, data: &[u8]) -> u64 {
        let mut items = self.items.lock().unwrap();
        items.push(data.to_vec());
        items.len() as u64
    }

    fn apply_membership(&mut self, event: &MembershipEvent) {
        self.events.lock().unwrap().push(event.clone());
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.items.lock().unwrap()).unwrap()
    }

    fn restore(&mut self, _index: u64, data: &[u8]) -> Result<(), String> {
        let items: Vec<Vec<u8>> = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        *self.items.lock().unwrap() = items;
        Ok(())
    }
}

/// One member: its madsim node, disk, current handle and applied list.
pub struct Member {
    /// The Raft id.
    pub id: u64,
    /// The simulated node it runs on (replaced on restart).
    pub node: NodeHandle,
    /// Its disk, which outlives kills and restarts.
    pub disk: SimDisk,
    /// The running Raft node (`None` while down).
    pub slot: Arc<Mutex<Option<RaftNode<u64>>>>,
    /// The payloads it has applied, in order.
    pub list: List,
    /// The membership changes it has applied.
    pub events: Arc<Mutex<Vec<MembershipEvent>>>,
}

/// A Raft cluster under madsim.
pub struct Cluster {
    /// The simulator's handle (kill, restart, pause, resume).
    pub handle: Handle,
    /// Every member, by Raft id.
    pub members: BTreeMap<u64, Member>,
    /// Every member's peer address, by Raft id.
    pub peers: BTreeMap<u64, SocketAddr>,
}

/// Member `id`'s peer address.
pub fn addr(id: u64) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, id as u8)), 2380)
}

/// How long the waiting helpers wait by default (virtual time).
pub const SHORT: Duration = Duration::from_secs(5);

impl Cluster {
    /// Starts `n` nodes (ids 1..=n) bootstrapping one cluster; `tweak` adjusts every
    /// node's configuration.
    pub async fn start(
        n: u64,
        tweak: impl Fn(&mut RaftConfig) + Clone + Send + Sync + 'static,
    ) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let peers: BTreeMap<u64, SocketAddr> = (1..=n).map(|id| (id, addr(id))).collect();
        let mut c = Cluster {
            handle: Handle::current(),
            members: BTreeMap::new(),
            peers: peers.clone(),
        };
        for id in 1..=n {
            c.add_member(id, peers.clone(), true, tweak.clone());
        }
        for id in 1..=n {
            c.wait_started(id).await;
        }
        c
    }

    /// Creates node `id` (bootstrapping or joining) and returns at once.
    pub fn add_member(
        &mut self,
        id: u64,
        peers: BTreeMap<u64, SocketAddr>,
        bootstrap: bool,
        tweak: impl Fn(&mut RaftConfig) + Send + Sync + 'static,
    ) {
        let disk = SimDisk::new();
        let slot: Arc<Mutex<Option<RaftNode<u64>>>> = Arc::default();
        let list: List = Arc::default();
        let events: Arc<Mutex<Vec<MembershipEvent>>> = Arc::default();
        let (d, s, l, e) = (disk.clone(), slot.clone(), list.clone(), events.clone());
        let node = self
            .handle
            .create_node()
            .name(format!("raft-{id}"))
            .ip(addr(id).ip())
            .init(move || {
                let (disk, slot, list, events) = (d.clone(), s.clone(), l.clone(), e.clone());
                let mut cfg = RaftConfig::new(id, addr(id), peers.clone());
                cfg.bootstrap = bootstrap;
                tweak(&mut cfg);
                async move {
                    let sm = ListSm::new(list, events);
                    let node = RaftNode::start(cfg, disk, sm)
                        .await
                        .expect("raft node starts");
                    *slot.lock().unwrap() = Some(node.clone());
                    // Like a server process: it lives while its Raft node runs (a madsim
                    // node whose main task returns is gone, tasks and all).
                    let _ = node.wait_for(|_| false).await;
                }
            })
            .build();
        self.members.insert(
            id,
            Member {
                id,
                node,
                disk,
                slot,
                list,
                events,
            },
        );
    }

    /// Waits until member `id`'s Raft node is running.
    pub async fn wait_started(&self, id: u64) {
        let deadline = Instant::now() + SHORT;
        while self.try_node(id).is_none() {
            assert!(Instant::now() < deadline, "node {id} did not start");
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Member `id`'s Raft node if it is running.
    pub fn try_node(&self, id: u64) -> Option<RaftNode<u64>> {
        self.members[&id].slot.lock().unwrap().clone()
    }

    /// Member `id`'s Raft node; panics if it is not running.
    pub fn node(&self, id: u64) -> RaftNode<u64> {
        self.try_node(id)
            .unwrap_or_else(|| panic!("node {id} is not running"))
    }

    /// The payloads member `id` has applied, in order.
    pub fn list(&self, id: u64) -> Vec<Vec<u8>> {
        self.members[&id].list.lock().unwrap().clone()
    }

    /// The ids of the members whose Raft node is running.
    pub fn running(&self) -> Vec<u64> {
        self.members
            .keys()
            .copied()
            .filter(|id| self.try_node(*id).is_some())
            .collect()
    }

    /// Kills node `id` (power loss: unsynced writes are lost).
    pub fn kill(&self, id: u64) {
        let m = &self.members[&id];
        *m.slot.lock().unwrap() = None;
        self.handle.kill(m.node.id());
        m.disk.crash();
    }

    /// Restarts a killed node on its disk and waits until it runs.
    pub async fn restart(&self, id: u64) {
        self.handle.restart(self.members[&id].node.id());
        self.wait_started(id).await;
    }

    /// Pauses member `id`'s node (SIGSTOP).
    pub fn pause(&self, id: u64) {
        self.handle.pause(self.members[&id].node.id());
    }

    /// Resumes member `id`'s node (SIGCONT).
    pub fn resume(&self, id: u64) {
        self.handle.resume(self.members[&id].node.id());
    }

    /// Cuts member `id` off the network, both ways.
    pub fn clog(&self, id: u64) {
        NetSim::current().clog_node(self.members[&id].node.id());
    }

    /// Reconnects member `id`.
    pub fn unclog(&self, id: u64) {
        NetSim::current().unclog_node(self.members[&id].node.id());
    }

    /// Waits until, among `among`, one node leads and every other one follows it in the
    /// same term; returns the leader and the virtual time it took.
    pub async fn wait_leader_among(&self, among: &[u64], within: Duration) -> (u64, Duration) {
        let start = Instant::now();
        loop {
            let statuses: Vec<_> = among
                .iter()
                .filter_map(|id| self.try_node(*id).map(|n| n.status()))
                .collect();
            let leaders: Vec<_> = statuses.iter().filter(|s| s.is_leader()).collect();
            if let [leader] = leaders[..] {
                let agreed = statuses
                    .iter()
                    .all(|s| s.term == leader.term && s.leader_id == Some(leader.id));
                if agreed && statuses.len() == among.len() {
                    return (leader.id, start.elapsed());
                }
            }
            assert!(
                start.elapsed() < within,
                "no agreed leader among {among:?} within {within:?}: {statuses:#?} {:?}",
                among
                    .iter()
                    .map(|id| self.try_node(*id).is_some())
                    .collect::<Vec<_>>()
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the running members agree on a leader; returns it and how long it took. Panics after `within`.
    pub async fn wait_leader(&self, within: Duration) -> (u64, Duration) {
        let running = self.running();
        self.wait_leader_among(&running, within).await
    }

    /// Proposes `data` through node `via`, with a timeout.
    pub async fn propose_via(&self, via: u64, data: Vec<u8>) -> Result<u64, RaftError> {
        match timeout(SHORT, self.node(via).propose(data)).await {
            Ok(r) => r,
            Err(_) => Err(RaftError::OutcomeUnknown),
        }
    }

    /// Proposes `data` on the current leader, retrying (after a new leader is found)
    /// while the outcome is certainly "not applied". Panics on an unknown outcome, so
    /// only use it where none is expected.
    pub async fn propose(&self, data: Vec<u8>) -> u64 {
        for _ in 0..20 {
            let (leader, _) = self.wait_leader(Duration::from_secs(10)).await;
            match self.propose_via(leader, data.clone()).await {
                Ok(n) => return n,
                Err(RaftError::NoLeader | RaftError::ProposalDropped) => {
                    sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("proposal {:?} failed: {e}", String::from_utf8_lossy(&data)),
            }
        }
        panic!("proposal kept being dropped");
    }

    /// Waits until every node in `ids` has applied the same list of length `len`.
    pub async fn wait_converged(&self, ids: &[u64], len: usize, within: Duration) -> Vec<Vec<u8>> {
        let start = Instant::now();
        loop {
            let lists: Vec<_> = ids.iter().map(|id| self.list(*id)).collect();
            if lists.iter().all(|l| l.len() >= len) {
                for (id, l) in ids.iter().zip(&lists) {
                    assert_eq!(
                        l, &lists[0],
                        "node {id} applied a different list than node {}",
                        ids[0]
                    );
                }
                return lists[0].clone();
            }
            assert!(
                start.elapsed() < within,
                "nodes {ids:?} did not apply {len} entries within {within:?}: lengths {:?}",
                lists.iter().map(Vec::len).collect::<Vec<_>>()
            );
            sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `prefix-i` as bytes.
pub fn payload(prefix: &str, i: usize) -> Vec<u8> {
    format!("{prefix}-{i}").into_bytes()
}

/// The payloads `prefix-0..n`.
pub fn payloads(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| payload(prefix, i)).collect()
}
