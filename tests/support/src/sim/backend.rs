//! [`Backend`] for the simulated cluster: the shared case bodies
//! ([`crate::cases::client`], [`crate::cases::members`]) against a fresh [`SimCluster`], run on a
//! client node of their own (the test's node 0 has no address), with the faults
//! injected from there.

use crate::backend::Backend;
use crate::raw_http;
use async_trait::async_trait;
use etcd_sim::cluster::{SimCluster, SimClusterConfig, client_url, member_name, peer_url};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How often the waiting methods look again (virtual time).
const POLL: Duration = Duration::from_millis(100);

/// The timeout of each `/health` probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A [`SimCluster`] behind the shared fault interface.
pub struct SimBackend {
    cluster: Arc<SimCluster>,
    /// When the cluster was found ready.
    ready_at: Instant,
    /// Dead endpoints handed out so far.
    dead: AtomicUsize,
}

impl SimBackend {
    /// Wraps a cluster that [`SimCluster::start`] has just returned.
    pub fn new(cluster: Arc<SimCluster>) -> SimBackend {
        SimBackend {
            cluster,
            ready_at: Instant::now(),
            dead: AtomicUsize::new(0),
        }
    }

    fn faults(&self) -> String {
        self.cluster
            .fault_log()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[async_trait]
impl Backend for SimBackend {
    fn size(&self) -> usize {
        self.cluster.len()
    }

    fn client_urls(&self) -> Vec<String> {
        self.cluster.client_urls()
    }

    fn name(&self, i: usize) -> String {
        member_name(i)
    }

    fn peer_url(&self, i: usize) -> String {
        peer_url(i)
    }

    /// `http://10.9.<k/250>.<k%250+1>:2379`: no simulated node has an address in
    /// 10.9/16, so madsim refuses the connection at once ("destination not found").
    fn dead_endpoint(&self) -> String {
        let k = self.dead.fetch_add(1, Ordering::Relaxed);
        format!("http://10.9.{}.{}:2379", k / 250, k % 250 + 1)
    }

    async fn leader(&self) -> Option<usize> {
        self.cluster.leader()
    }

    async fn wait_for_leader(&self, not: Option<usize>, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.cluster.leader().filter(|l| Some(*l) != not) {
                return l;
            }
            if Instant::now() > deadline {
                panic!(
                    "no leader (other than {not:?}) within {timeout:?}; faults:\n{}",
                    self.faults()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn pause(&self, i: usize) {
        self.cluster.pause(i).expect("pause a member");
    }

    fn resume(&self, i: usize) {
        self.cluster.resume(i).expect("resume a member");
    }

    fn kill(&self, i: usize) {
        self.cluster.kill(i).expect("kill a member");
    }

    async fn restart(&self, i: usize) {
        self.cluster.restart(i).expect("restart a member");
        self.wait_healthy(i, self.cluster.config().startup_timeout)
            .await;
    }

    async fn wait_healthy(&self, i: usize, timeout: Duration) {
        let url = client_url(i);
        let deadline = Instant::now() + timeout;
        loop {
            let last = match raw_http::get(&url, "/health", PROBE_TIMEOUT).await {
                Ok(r) if r.status == 200 && r.text().contains("true") => return,
                Ok(r) => format!("{} {}", r.status, r.text()),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                panic!(
                    "m{i} ({url}) not healthy within {timeout:?} (last: {last}); faults:\n{}",
                    self.faults()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn settle_for(&self, d: Duration) {
        tokio::time::sleep_until(self.ready_at + d).await;
    }
}

/// Starts a fresh `nodes`-member cluster and runs `case` against it on a client node.
pub async fn on_fresh_cluster<F, Fut>(nodes: usize, case: F)
where
    F: FnOnce(Arc<SimBackend>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cluster = Arc::new(
        SimCluster::start(SimClusterConfig {
            nodes,
            ..Default::default()
        })
        .await
        .expect("cluster"),
    );
    let backend = Arc::new(SimBackend::new(cluster.clone()));
    cluster.run_on_client_node(move || case(backend)).await;
}

/// One `#[madsim::test]` per case of [`crate::cases`]`::$cases`, each against a
/// fresh cluster of the given number of members: `on_sim_cluster!(client: name(3), ..)`.
#[macro_export]
macro_rules! on_sim_cluster {
    ($cases:ident: $($name:ident($nodes:literal)),* $(,)?) => {$(
        #[madsim::test]
        async fn $name() {
            $crate::sim::backend::on_fresh_cluster($nodes, |b| async move {
                $crate::cases::$cases::$name(&*b).await
            })
            .await;
        }
    )*};
}
