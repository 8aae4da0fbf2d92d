//! The exposition: metric families as etcd's Go client prints them (families
//! sorted by name, each with its `# HELP` and `# TYPE` lines), encoded in the
//! Prometheus text format 0.0.4 by `prometheus-client`.
//!
//! Families are built at scrape time from the member's counters and a sample of
//! its state ([`Family`]), then handed to the crate's encoder through one
//! [`Collector`]: the crate's own `register` would add a period to each help
//! text, and its labelled families keep their series in a hash map (no stable
//! order); here series are sorted and the help texts are etcd's, verbatim.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of a scrape's answer (etcd's: the text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A label set: (name, value) pairs, in the order printed (etcd's Go client
/// sorts them by name; callers list them so).
pub type Labels = Vec<(&'static str, String)>;

/// One series' value.
#[derive(Debug, Clone)]
pub enum Value {
    /// A counter's count.
    Counter(u64),
    /// An integral gauge.
    Gauge(i64),
    /// A histogram (its buckets, sum and count).
    Histogram(Histogram),
}

/// The kind of a family (its `# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `counter`: its name ends in `_total`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
}

/// One metric family: its full name, etcd's help text and its series.
#[derive(Debug, Clone)]
pub struct Family {
    /// The full name as printed (a counter's ends in `_total`).
    pub name: &'static str,
    /// etcd's help text.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The series, each with its labels.
    pub series: Vec<(Labels, Value)>,
}

impl Family {
    /// A family without series yet.
    pub fn new(name: &'static str, help: &'static str, kind: Kind) -> Family {
        Family {
            name,
            help,
            kind,
            series: Vec::new(),
        }
    }

    /// An unlabelled counter.
    pub fn counter(name: &'static str, help: &'static str, value: u64) -> Family {
        Family::new(name, help, Kind::Counter).with(Vec::new(), Value::Counter(value))
    }

    /// An unlabelled gauge.
    pub fn gauge(name: &'static str, help: &'static str, value: i64) -> Family {
        Family::new(name, help, Kind::Gauge).with(Vec::new(), Value::Gauge(value))
    }

    /// An unlabelled histogram.
    pub fn histogram(name: &'static str, help: &'static str, value: &Histogram) -> Family {
        Family::new(name, help, Kind::Histogram).with(Vec::new(), Value::Histogram(value.clone()))
    }

    /// This family with one more series.
    pub fn with(mut self, labels: Labels, value: Value) -> Family {
        self.series.push((labels, value));
        self
    }
}

/// The families of one scrape, as the collector the encoder walks.
#[derive(Debug)]
struct Scrape(Vec<Family>);

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let (name, kind) = match family.kind {
                // The encoder appends `_total` to a counter's name.
                Kind::Counter => (
                    family.name.strip_suffix("_total").unwrap_or(family.name),
                    MetricType::Counter,
                ),
                Kind::Gauge => (family.name, MetricType::Gauge),
                Kind::Histogram => (family.name, MetricType::Histogram),
            };
            let mut metric = encoder.encode_descriptor(name, family.help, None, kind)?;
            for (labels, value) in &family.series {
                let series = metric.encode_family(labels)?;
                match value {
                    Value::Counter(v) => ConstCounter::new(*v).encode(series)?,
                    Value::Gauge(v) => ConstGauge::new(*v).encode(series)?,
                    Value::Histogram(h) => h.encode(series)?,
                }
            }
        }
        Ok(())
    }
}

/// The text exposition of `families`.
pub fn encode(mut families: Vec<Family>) -> String {
    // Go's client: families sorted by name, series by their labels, and a
    // family without series not printed at all.
    families.retain(|f| !f.series.is_empty());
    families.sort_by(|a, b| a.name.cmp(b.name));
    for family in &mut families {
        family.series.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(families)));
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
        // Writing to a String does not fail; a metric that refuses to encode does.
        tracing::error!(error = %e, "metrics: exposition not encoded");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_print_as_etcds_go_client_prints_them() {
        let h = Histogram::new([0.001, 0.002]);
        h.observe(0.0015);
        let text = encode(vec![
            Family::gauge(
                "etcd_server_has_leader",
                "Whether or not a leader exists. 1 is existence, 0 is not.",
                1,
            ),
            Family::counter(
                "etcd_mvcc_put_total",
                "Total number of puts seen by this member.",
                3,
            ),
            Family::new(
                "grpc_server_started_total",
                "Total number of RPCs started on the server.",
                Kind::Counter,
            )
            .with(
                vec![
                    ("grpc_method", "Put".into()),
                    ("grpc_service", "etcdserverpb.KV".into()),
                    ("grpc_type", "unary".into()),
                ],
                Value::Counter(2),
            ),
            Family::histogram(
                "etcd_disk_wal_fsync_duration_seconds",
                "The latency distributions of fsync called by WAL.",
                &h,
            ),
        ]);
        let expected = "\
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 0
etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 1
etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 1
etcd_disk_wal_fsync_duration_seconds_sum 0.0015
etcd_disk_wal_fsync_duration_seconds_count 1
# HELP etcd_mvcc_put_total Total number of puts seen by this member.
# TYPE etcd_mvcc_put_total counter
etcd_mvcc_put_total 3
# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.
# TYPE etcd_server_has_leader gauge
etcd_server_has_leader 1
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 2
";
        assert_eq!(text, expected);
    }
}
