//! Test harness for member scenarios under madsim: one etcd member per simulated
//! node (10.0.1.N, client port 2379, peer port 2380), each on a `SimDisk` that
//! outlives kills, and a client node of its own for the SDK.

use bytes::Bytes;
use etcd_sim::member::{Member, MemberConfig, run_member};
use etcd_sim::raft::SimDisk;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use madsim::runtime::{Handle, NodeHandle};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// The cluster token every test uses.
pub const TOKEN: &str = "etcd-cluster";

/// Member `n`'s simulated IP address (`10.0.1.n`).
pub fn ip(n: u8) -> String {
    format!("10.0.1.{n}")
}

/// Member `n`'s client URL (port 2379).
pub fn client_url(n: u8) -> String {
    format!("http://{}:2379", ip(n))
}

/// Member `n`'s peer URL (port 2380).
pub fn peer_url(n: u8) -> String {
    format!("http://{}:2380", ip(n))
}

/// Member `n`'s name (`m<n>`).
pub fn name(n: u8) -> String {
    format!("m{n}")
}

/// One member's node, disk and current handle.
pub struct Node {
    /// The member number (its address is [`ip`]`(n)`).
    pub n: u8,
    /// The simulated node it runs on (replaced on restart).
    pub node: NodeHandle,
    /// Its disk, which outlives kills and restarts.
    pub disk: SimDisk,
    /// The running member, once started on the node (`None` while down).
    pub slot: Arc<Mutex<Option<Member>>>,
}

/// Members under madsim.
pub struct Cluster {
    /// The simulator's handle (kill, restart, pause, resume).
    pub handle: Handle,
    /// Every member's node, by member number.
    pub nodes: BTreeMap<u8, Node>,
}

/// The configuration of member `n` with `initial` as its initial cluster.
pub fn config(n: u8, initial: &[u8], existing: bool) -> MemberConfig {
    MemberConfig {
        initial_cluster: initial.iter().map(|i| (name(*i), peer_url(*i))).collect(),
        cluster_token: TOKEN.into(),
        existing,
        ..MemberConfig::on_ip(&name(n), &ip(n))
    }
}

impl Cluster {
    /// Starts members 1..=n bootstrapping one cluster, and waits until every one is
    /// ready and the cluster version is decided.
    pub async fn start(n: u8) -> Self {
        Self::start_with(n, |_| {}).await
    }

    /// As [`Cluster::start`], with `tweak` applied to every member's configuration.
    pub async fn start_with(n: u8, tweak: impl Fn(&mut MemberConfig)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let mut c = Cluster {
            handle: Handle::current(),
            nodes: BTreeMap::new(),
        };
        let all: Vec<u8> = (1..=n).collect();
        for i in 1..=n {
            let mut cfg = config(i, &all, false);
            tweak(&mut cfg);
            c.add_node(cfg);
        }
        for i in 1..=n {
            c.wait_ready(i, Duration::from_secs(10)).await;
        }
        c.wait_version(Duration::from_secs(5)).await;
        c
    }

    /// Creates the node for `cfg` (its last IP byte is the member number) and
    /// returns at once.
    pub fn add_node(&mut self, cfg: MemberConfig) {
        let n: u8 = cfg
            .client_url
            .trim_start_matches("http://10.0.1.")
            .trim_end_matches(":2379")
            .parse()
            .expect("a 10.0.1.N client URL");
        let disk = SimDisk::new();
        let slot: Arc<Mutex<Option<Member>>> = Arc::default();
        let (d, s) = (disk.clone(), slot.clone());
        let node = self
            .handle
            .create_node()
            .name(name(n))
            .ip(ip(n).parse().expect("ip"))
            .init(move || {
                let (cfg, disk, slot) = (cfg.clone(), d.clone(), s.clone());
                async move {
                    let started = slot.clone();
                    let res = run_member(cfg, disk, move |m| {
                        *started.lock().unwrap() = Some(m);
                    })
                    .await;
                    *slot.lock().unwrap() = None;
                    tracing::info!(?res, "member node exits");
                }
            })
            .build();
        self.nodes.insert(
            n,
            Node {
                n,
                node,
                disk,
                slot,
            },
        );
    }

    /// Member `n` if it is running.
    pub fn try_member(&self, n: u8) -> Option<Member> {
        self.nodes[&n].slot.lock().unwrap().clone()
    }

    /// Member `n`; panics if it is not running.
    pub fn member(&self, n: u8) -> Member {
        self.try_member(n)
            .unwrap_or_else(|| panic!("member {n} is not running"))
    }

    /// Waits until member `n` runs and has published itself.
    pub async fn wait_ready(&self, n: u8, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.try_member(n).is_some_and(|m| m.is_ready()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "member {n} not ready in {within:?}"
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every running member has applied the cluster version.
    pub async fn wait_version(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let running = self.running();
            if running
                .iter()
                .all(|n| self.member(*n).cluster_version().is_some())
            {
                return;
            }
            assert!(Instant::now() < deadline, "cluster version not decided");
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Members whose node runs.
    pub fn running(&self) -> Vec<u8> {
        self.nodes
            .keys()
            .copied()
            .filter(|n| self.try_member(*n).is_some())
            .collect()
    }

    /// The member every running member follows, if they agree.
    pub fn leader(&self) -> Option<u8> {
        let running = self.running();
        let statuses: Vec<_> = running.iter().map(|n| self.member(*n).status()).collect();
        let leader = statuses.iter().find(|s| s.is_leader())?;
        let agreed = statuses
            .iter()
            .all(|s| s.term == leader.term && s.leader_id == Some(leader.id));
        if !agreed {
            return None;
        }
        running
            .into_iter()
            .find(|n| self.member(*n).id() == leader.id)
    }

    /// Waits until the running members agree on a leader and returns it; panics after `within`.
    pub async fn wait_leader(&self, within: Duration) -> u8 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.leader() {
                return l;
            }
            assert!(Instant::now() < deadline, "no agreed leader in {within:?}");
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills member `n` (power loss: unsynced writes are lost).
    pub fn kill(&self, n: u8) {
        let node = &self.nodes[&n];
        *node.slot.lock().unwrap() = None;
        self.handle.kill(node.node.id());
        node.disk.crash();
    }

    /// Restarts a killed member on its disk.
    pub fn restart(&self, n: u8) {
        self.handle.restart(self.nodes[&n].node.id());
    }

    /// Pauses member `n`'s node (SIGSTOP).
    pub fn pause(&self, n: u8) {
        self.handle.pause(self.nodes[&n].node.id());
    }

    /// Resumes member `n`'s node (SIGCONT).
    pub fn resume(&self, n: u8) {
        self.handle.resume(self.nodes[&n].node.id());
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.keys().map(|n| client_url(*n)).collect()
    }
}

/// Runs `f` on a client node of its own (node 0, the test body, has no address).
pub async fn on_client<F, Fut>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let node = Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.1.100".parse().expect("ip"))
        .build();
    node.spawn(async move { f().await })
        .await
        .expect("client task");
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Raw {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body, as text.
    pub body: String,
}

impl Raw {
    /// Header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request to member `n` over a fresh connection (for statuses the SDK
/// turns into errors, and exact bodies).
pub async fn raw(n: u8, method: &str, path: &str, content_type: Option<&str>, body: &str) -> Raw {
    let addr = format!("{}:2379", ip(n));
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Host", &addr);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    Raw {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Waits until each of `members` would accept a member add: etcd's strict
/// reconfiguration check wants it connected to all its peers for 5 s.
pub async fn wait_may_add_member(members: &[Member], within: Duration) {
    let deadline = Instant::now() + within;
    while !members.iter().all(Member::may_add_member) {
        assert!(
            Instant::now() < deadline,
            "members not connected to all peers in {within:?}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}
