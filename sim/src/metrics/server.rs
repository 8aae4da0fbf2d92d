//! The member's own metrics: its proposals (`etcd_server_proposals_*`), its
//! Raft state, identity and version (`etcd_server_*`), and the state of its v3
//! stores that etcd exports as gauges (`etcd_mvcc_db_*`,
//! `etcd_debugging_mvcc_*`). Counters that only the proposer sees
//! ([`ProposalMetrics`]) are kept; everything else is read from the member when
//! scraped ([`MemberSample`]).

use super::exposition::{Family, Kind, Value};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// The version `etcd_server_version` reports.
pub const SERVER_VERSION: &str = "3.4.23";

/// Proposals in flight and failed (cheap to clone; clones share them), as
/// etcd counts them: every v2 request and v3 request proposed (membership
/// changes are not), pending from proposal to its outcome, failed when it timed
/// out or the member stopped.
#[derive(Debug, Clone, Default)]
pub struct ProposalMetrics {
    pending: Gauge,
    failed: Counter,
}

/// A proposal in flight: pending until dropped.
#[derive(Debug)]
pub struct Pending(Gauge);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl ProposalMetrics {
    /// Counts a proposal pending until the returned guard is dropped.
    pub fn pending(&self) -> Pending {
        self.pending.inc();
        Pending(self.pending.clone())
    }

    /// Counts a proposal that failed (timed out, or the member stopped).
    pub fn failed(&self) {
        self.failed.inc();
    }

    /// The families of these counts.
    pub fn families(&self) -> Vec<Family> {
        vec![
            Family::gauge(
                "etcd_server_proposals_pending",
                "The current number of pending proposals to commit.",
                self.pending.get(),
            ),
            Family::counter(
                "etcd_server_proposals_failed_total",
                "The total number of failed proposals seen.",
                self.failed.get(),
            ),
        ]
    }
}

/// The member's state when scraped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSample {
    /// The member id (printed in hex).
    pub id: u64,
    /// A leader is known.
    pub has_leader: bool,
    /// This member leads.
    pub is_leader: bool,
    /// This member is a learner.
    pub is_learner: bool,
    /// Leader changes seen (see `NodeStatus::leader_changes`).
    pub leader_changes: u64,
    /// The commit index.
    pub committed_index: u64,
    /// The applied index.
    pub applied_index: u64,
    /// The cluster version once decided (`3.4.0`).
    pub cluster_version: Option<String>,
    /// The db size (what Status reports as `dbSize`).
    pub db_total_size: u64,
    /// The db size in use (Status's `dbSizeInUse`).
    pub db_size_in_use: u64,
    /// Live keys.
    pub keys: u64,
    /// The store's current revision.
    pub current_revision: i64,
    /// The store's compact revision.
    pub compact_revision: i64,
    /// Open watch streams.
    pub watch_streams: u64,
    /// Watchers on them.
    pub watchers: u64,
    /// Watchers behind (unsynced, or waiting with a response the stream could
    /// not take).
    pub slow_watchers: u64,
}

fn gauge_u(name: &'static str, help: &'static str, v: u64) -> Family {
    Family::gauge(name, help, i64::try_from(v).unwrap_or(i64::MAX))
}

fn flag(name: &'static str, help: &'static str, v: bool) -> Family {
    Family::gauge(name, help, i64::from(v))
}

/// A gauge with one labelled series at 1 (etcd's way of exporting a string).
fn info(name: &'static str, help: &'static str, label: &'static str, value: String) -> Family {
    Family::new(name, help, Kind::Gauge).with(vec![(label, value)], Value::Gauge(1))
}

impl MemberSample {
    /// The families of this sample.
    pub fn families(&self) -> Vec<Family> {
        const DB_SIZE: &str =
            "Total size of the underlying database physically allocated in bytes.";
        let mut out = vec![
            flag(
                "etcd_server_has_leader",
                "Whether or not a leader exists. 1 is existence, 0 is not.",
                self.has_leader,
            ),
            flag(
                "etcd_server_is_leader",
                "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                self.is_leader,
            ),
            flag(
                "etcd_server_is_learner",
                "Whether or not this member is a learner. 1 if is, 0 otherwise.",
                self.is_learner,
            ),
            Family::counter(
                "etcd_server_leader_changes_seen_total",
                "The number of leader changes seen.",
                self.leader_changes,
            ),
            gauge_u(
                "etcd_server_proposals_committed_total",
                "The total number of consensus proposals committed.",
                self.committed_index,
            ),
            gauge_u(
                "etcd_server_proposals_applied_total",
                "The total number of consensus proposals applied.",
                self.applied_index,
            ),
            info(
                "etcd_server_id",
                "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
                "server_id",
                format!("{:x}", self.id),
            ),
            info(
                "etcd_server_version",
                "Which version is running. 1 for 'server_version' label with current version.",
                "server_version",
                SERVER_VERSION.into(),
            ),
            gauge_u(
                "etcd_mvcc_db_total_size_in_bytes",
                DB_SIZE,
                self.db_total_size,
            ),
            gauge_u(
                "etcd_debugging_mvcc_db_total_size_in_bytes",
                DB_SIZE,
                self.db_total_size,
            ),
            gauge_u(
                "etcd_mvcc_db_total_size_in_use_in_bytes",
                "Total size of the underlying database logically in use in bytes.",
                self.db_size_in_use,
            ),
            gauge_u(
                "etcd_debugging_mvcc_keys_total",
                "Total number of keys.",
                self.keys,
            ),
            Family::gauge(
                "etcd_debugging_mvcc_current_revision",
                "The current revision of store.",
                self.current_revision,
            ),
            Family::gauge(
                "etcd_debugging_mvcc_compact_revision",
                "The revision of the last compaction in store.",
                self.compact_revision,
            ),
            gauge_u(
                "etcd_debugging_mvcc_watch_stream_total",
                "Total number of watch streams.",
                self.watch_streams,
            ),
            gauge_u(
                "etcd_debugging_mvcc_watcher_total",
                "Total number of watchers.",
                self.watchers,
            ),
            gauge_u(
                "etcd_debugging_mvcc_slow_watcher_total",
                "Total number of unsynced slow watchers.",
                self.slow_watchers,
            ),
        ];
        if let Some(v) = &self.cluster_version {
            // etcd labels it with major.minor.
            let minor: Vec<&str> = v.split('.').take(2).collect();
            out.push(info(
                "etcd_cluster_version",
                "Which version is running. 1 for 'cluster_version' label with current cluster version",
                "cluster_version",
                minor.join("."),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::encode;

    #[test]
    fn pending_falls_back_when_the_proposal_ends() {
        let m = ProposalMetrics::default();
        let a = m.pending();
        let b = m.clone().pending();
        assert_eq!(m.pending.get(), 2);
        drop(a);
        drop(b);
        m.failed();
        let text = encode(m.families());
        assert!(
            text.contains("\netcd_server_proposals_pending 0\n"),
            "{text}"
        );
        assert!(
            text.contains("\netcd_server_proposals_failed_total 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_sample_prints_ids_in_hex_and_the_cluster_version_once_decided() {
        let sample = MemberSample {
            id: 0xbdae_9bbc_11dd_390d,
            has_leader: true,
            ..MemberSample::default()
        };
        let text = encode(sample.families());
        assert!(
            text.contains("etcd_server_id{server_id=\"bdae9bbc11dd390d\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("etcd_server_version{server_version=\"3.4.23\"} 1\n"));
        assert!(text.contains("etcd_server_has_leader 1\n"));
        assert!(!text.contains("etcd_cluster_version"));
        let decided = MemberSample {
            cluster_version: Some("3.4.0".into()),
            ..sample
        };
        assert!(
            encode(decided.families())
                .contains("etcd_cluster_version{cluster_version=\"3.4\"} 1\n")
        );
    }
}
