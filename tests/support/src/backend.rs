//! The fault interface the shared case bodies drive: one [`Backend`] trait, two
//! implementations. Real etcd 3.4 processes (`etcd_backend`, over `EtcdCluster`,
//! real builds) and the simulated cluster (`sim::backend`, over `SimCluster`, with
//! the bodies running on a client node of their own, sim builds).

use async_trait::async_trait;
use std::time::Duration;

/// A running cluster of `size()` members, indexed `0..size()`, whose members can be
/// paused (SIGSTOP), resumed, killed and restarted. Members are named `m<i>`.
///
/// Every waiting method panics (with whatever diagnostics the backend has) when its
/// timeout passes; timeouts are wall-clock time for real etcd, virtual time in the
/// simulator.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The number of members the cluster started with.
    fn size(&self) -> usize;

    /// Every member's client URL (`http://host:port`), in member order.
    fn client_urls(&self) -> Vec<String>;

    /// Member `i`'s name (`m<i>`).
    fn name(&self, i: usize) -> String;

    /// Member `i`'s peer URL.
    fn peer_url(&self, i: usize) -> String;

    /// A new `http://host:port` URL, different on every call, where nothing listens:
    /// connecting to it is refused at once (a closed loopback port for real etcd, an
    /// address of no node in the simulator).
    fn dead_endpoint(&self) -> String;

    /// The member that leads, asking only running, unpaused members.
    async fn leader(&self) -> Option<usize>;

    /// Waits for a leader other than `not`.
    async fn wait_for_leader(&self, not: Option<usize>, timeout: Duration) -> usize;

    /// Freezes member `i` (SIGSTOP): its connections stay open, nothing answers.
    fn pause(&self, i: usize);

    /// Unfreezes member `i` (SIGCONT).
    fn resume(&self, i: usize);

    /// Kills member `i` (SIGKILL); its data survives for [`Backend::restart`].
    fn kill(&self, i: usize);

    /// Starts the killed member `i` again and waits until it is healthy.
    async fn restart(&self, i: usize);

    /// Waits until member `i` answers `GET /health` with 200 `{"health":"true"}`.
    async fn wait_healthy(&self, i: usize, timeout: Duration);

    /// Waits until the cluster has been ready for `d`. etcd refuses membership
    /// changes ("unhealthy cluster") until this member has been connected to all
    /// its peers for 5 s.
    async fn settle_for(&self, d: Duration);
}
