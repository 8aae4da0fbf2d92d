//! Disk latency: `etcd_disk_wal_fsync_duration_seconds`, the time each WAL sync
//! took (the disk's modelled delay and the sync itself), measured on the
//! member's clock (`tokio::time`: virtual under madsim).

use super::exposition::Family;
use prometheus_client::metrics::histogram::Histogram;
use std::sync::Arc;
use std::time::Duration;

/// Go's `prometheus.ExponentialBuckets(start, factor, count)`: each bound the
/// previous one times `factor` (computed the same way, so the bounds print as
/// etcd's do).
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(count);
    let mut bound = start;
    for _ in 0..count {
        out.push(bound);
        bound *= factor;
    }
    out
}

/// The WAL's sync latencies (cheap to clone; clones share them, and are equal:
/// two handles are equal when they count into the same histograms).
#[derive(Debug, Clone)]
pub struct DiskMetrics {
    wal_fsync: Arc<Histogram>,
}

impl Default for DiskMetrics {
    fn default() -> Self {
        DiskMetrics {
            // etcd's: 1 ms to 8.192 s, doubling.
            wal_fsync: Arc::new(Histogram::new(exponential_buckets(0.001, 2.0, 14))),
        }
    }
}

impl PartialEq for DiskMetrics {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.wal_fsync, &other.wal_fsync)
    }
}

impl Eq for DiskMetrics {}

impl DiskMetrics {
    /// One WAL sync took `took`.
    pub fn wal_fsync(&self, took: Duration) {
        self.wal_fsync.observe(took.as_secs_f64());
    }

    /// The families of these histograms.
    pub fn families(&self) -> Vec<Family> {
        vec![Family::histogram(
            "etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.",
            &self.wal_fsync,
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::encode;

    #[test]
    fn fsyncs_fall_in_etcds_buckets() {
        let b = exponential_buckets(0.001, 2.0, 14);
        assert_eq!(b.len(), 14);
        assert_eq!(b[13], 8.192);
        let m = DiskMetrics::default();
        m.wal_fsync(Duration::from_millis(3));
        let text = encode(m.families());
        assert!(
            text.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.004\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("etcd_disk_wal_fsync_duration_seconds_count 1\n"),
            "{text}"
        );
    }
}
