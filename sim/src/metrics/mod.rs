//! Prometheus metrics of one member, under etcd 3.4.23's names, types, labels and
//! help texts, served at `/metrics` on the client URLs and on
//! `--listen-metrics-urls`.
//!
//! Every member has its own [`Metrics`] (no process-wide registry: a simulated
//! cluster runs many members in one process), made when it starts and handed
//! down as narrow handles: [`GrpcMetrics`] to the gRPC services,
//! [`StoreMetrics`] to the v3 stores, [`ProposalMetrics`] to the proposer,
//! [`DiskMetrics`] to the Raft driver. What the member knows anyway (its Raft
//! state, its stores' sizes and watchers) is read when scraped
//! ([`MemberSample`], through a [`Probe`]). Durations come from `tokio::time`,
//! virtual under madsim, and every family and series prints in sorted order: a
//! scrape replays from the seed.
//!
//! - [`exposition`]: families and their text encoding.
//! - [`grpc`]: grpc-prometheus's counters and etcd's gRPC byte counters.
//! - [`store`] and [`ops`]: the mvcc and lease counters.
//! - [`server`]: proposals, Raft state, identity, store gauges.
//! - [`disk`]: WAL sync latency.
//!
//! What etcd exports that is not here: Go's runtime and process metrics
//! (`go_*`, `process_*`, `os_fd_*`), bbolt's and the snapshotter's timings
//! (no such backend here), the v2 store's and the gRPC proxy's counters,
//! `promhttp_*`, and the per-peer network metrics.

pub mod disk;
pub mod exposition;
pub mod grpc;
pub mod ops;
pub mod server;
pub mod store;

pub use disk::DiskMetrics;
pub use exposition::CONTENT_TYPE;
pub use grpc::GrpcMetrics;
pub use ops::OpCounts;
pub use server::{MemberSample, ProposalMetrics};
pub use store::StoreMetrics;

use std::sync::Arc;

/// `--metrics`: how much is exported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricsLevel {
    /// `basic` (the default).
    #[default]
    Basic,
    /// `extensive`: adds gRPC handling-time histograms.
    Extensive,
}

impl MetricsLevel {
    /// The level `--metrics` names: `extensive`, or basic for anything else
    /// (etcd 3.4 checks nothing else: `--metrics=bogus` starts, basic).
    pub fn parse(flag: &str) -> MetricsLevel {
        if flag == "extensive" {
            MetricsLevel::Extensive
        } else {
            MetricsLevel::Basic
        }
    }
}

/// A member's metrics (cheap to clone; clones share them).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// gRPC calls and bytes.
    pub grpc: GrpcMetrics,
    /// MVCC and lease operations.
    pub store: StoreMetrics,
    /// Proposals pending and failed.
    pub proposals: ProposalMetrics,
    /// WAL sync latency.
    pub disk: DiskMetrics,
}

impl Metrics {
    /// Fresh metrics at `level`.
    pub fn new(level: MetricsLevel) -> Metrics {
        let metrics = Metrics::default();
        if level == MetricsLevel::Extensive {
            metrics.grpc.enable_handling_time();
        }
        metrics
    }

    /// The text exposition of these metrics and `sample`.
    pub fn render(&self, sample: &MemberSample) -> String {
        let mut families = sample.families();
        families.extend(self.grpc.families());
        families.extend(self.store.families());
        families.extend(self.proposals.families());
        families.extend(self.disk.families());
        exposition::encode(families)
    }
}

/// Reads a member's state for a scrape.
pub trait Probe: Send + Sync {
    /// The member's state now.
    fn sample(&self) -> MemberSample;
}

/// What `/metrics` serves: a member's metrics and its probe (cheap to clone).
#[derive(Clone)]
pub struct MetricsPage {
    metrics: Metrics,
    probe: Arc<dyn Probe>,
}

impl std::fmt::Debug for MetricsPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsPage").finish_non_exhaustive()
    }
}

impl MetricsPage {
    /// The page of `metrics`, sampling the member through `probe`.
    pub fn new(metrics: Metrics, probe: Arc<dyn Probe>) -> MetricsPage {
        MetricsPage { metrics, probe }
    }

    /// The exposition now.
    pub fn render(&self) -> String {
        self.metrics.render(&self.probe.sample())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Probe for Fixed {
        fn sample(&self) -> MemberSample {
            MemberSample {
                id: 1,
                ..MemberSample::default()
            }
        }
    }

    #[test]
    fn members_count_apart_and_the_level_adds_histograms() {
        let a = Metrics::new(MetricsLevel::parse("extensive"));
        let b = Metrics::new(MetricsLevel::parse("bogus"));
        a.grpc.start(grpc::rpcs::PUT).finish(grpc::CODE_OK);
        a.store.lease_granted();
        let (pa, pb) = (
            MetricsPage::new(a, Arc::new(Fixed)).render(),
            MetricsPage::new(b, Arc::new(Fixed)).render(),
        );
        assert!(pa.contains("etcd_debugging_lease_granted_total 1\n"));
        assert!(pb.contains("etcd_debugging_lease_granted_total 0\n"));
        assert!(pa.contains("# TYPE grpc_server_handling_seconds histogram\n"));
        assert!(!pb.contains("grpc_server_handling_seconds"));
        // Families come out sorted by name.
        let names: Vec<&str> = pb
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
