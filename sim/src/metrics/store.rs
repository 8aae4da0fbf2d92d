//! The counters of a member's v3 stores: etcd's mvcc operation counters
//! (`etcd_mvcc_{put,delete,range,txn}_total`, and the same under
//! `etcd_debugging_mvcc_*` as etcd 3.4 still exports them) and its lessor's
//! (`etcd_debugging_lease_{granted,revoked,renewed}_total`).
//!
//! The stores hold a handle ([`StoreMetrics`], in `V3Stores`); the applier and
//! the services count through it. Grants and revokes are counted where they are
//! applied (on every member), renewals where the leader renews.

use super::exposition::Family;
use super::ops::OpCounts;
use prometheus_client::metrics::counter::Counter;

/// The counters (cheap to clone; clones share them). A default handle counts
/// for nobody until the member hands its own to the stores.
#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    puts: Counter,
    deletes: Counter,
    ranges: Counter,
    txns: Counter,
    granted: Counter,
    revoked: Counter,
    renewed: Counter,
}

impl StoreMetrics {
    /// Counts the store operations of one request.
    pub fn record(&self, ops: OpCounts) {
        self.ranges.inc_by(ops.ranges);
        self.puts.inc_by(ops.puts);
        self.deletes.inc_by(ops.deletes);
        if ops.is_txn() {
            self.txns.inc();
        }
    }

    /// A lease was granted (applied).
    pub fn lease_granted(&self) {
        self.granted.inc();
    }

    /// A lease was revoked (applied).
    pub fn lease_revoked(&self) {
        self.revoked.inc();
    }

    /// The leader renewed a lease.
    pub fn lease_renewed(&self) {
        self.renewed.inc();
    }

    /// The families of these counters.
    pub fn families(&self) -> Vec<Family> {
        let (puts, deletes, ranges, txns) = (
            self.puts.get(),
            self.deletes.get(),
            self.ranges.get(),
            self.txns.get(),
        );
        const PUTS: &str = "Total number of puts seen by this member.";
        const DELETES: &str = "Total number of deletes seen by this member.";
        const RANGES: &str = "Total number of ranges seen by this member.";
        const TXNS: &str = "Total number of txns seen by this member.";
        vec![
            Family::counter("etcd_mvcc_put_total", PUTS, puts),
            Family::counter("etcd_mvcc_delete_total", DELETES, deletes),
            Family::counter("etcd_mvcc_range_total", RANGES, ranges),
            Family::counter("etcd_mvcc_txn_total", TXNS, txns),
            Family::counter("etcd_debugging_mvcc_put_total", PUTS, puts),
            Family::counter("etcd_debugging_mvcc_delete_total", DELETES, deletes),
            Family::counter("etcd_debugging_mvcc_range_total", RANGES, ranges),
            Family::counter("etcd_debugging_mvcc_txn_total", TXNS, txns),
            Family::counter(
                "etcd_debugging_lease_granted_total",
                "The total number of granted leases.",
                self.granted.get(),
            ),
            Family::counter(
                "etcd_debugging_lease_revoked_total",
                "The total number of revoked leases.",
                self.revoked.get(),
            ),
            Family::counter(
                "etcd_debugging_lease_renewed_total",
                "The number of renewed leases seen by the leader.",
                self.renewed.get(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition::Value;

    fn count(m: &StoreMetrics, name: &str) -> u64 {
        let families = m.families();
        let f = families.iter().find(|f| f.name == name).unwrap();
        match f.series[0].1 {
            Value::Counter(n) => n,
            _ => panic!("{name} is not a counter"),
        }
    }

    #[test]
    fn clones_share_counts_and_debugging_names_mirror_them() {
        let m = StoreMetrics::default();
        let other = m.clone();
        other.record(OpCounts::range());
        other.record(OpCounts {
            ranges: 1,
            puts: 1,
            deletes: 0,
        });
        m.lease_granted();
        m.lease_renewed();
        assert_eq!(count(&m, "etcd_mvcc_range_total"), 2);
        assert_eq!(count(&m, "etcd_debugging_mvcc_range_total"), 2);
        assert_eq!(count(&m, "etcd_mvcc_put_total"), 1);
        assert_eq!(count(&m, "etcd_mvcc_txn_total"), 1);
        assert_eq!(count(&m, "etcd_mvcc_delete_total"), 0);
        assert_eq!(count(&m, "etcd_debugging_lease_granted_total"), 1);
        assert_eq!(count(&m, "etcd_debugging_lease_renewed_total"), 1);
        assert_eq!(count(&m, "etcd_debugging_lease_revoked_total"), 0);
        assert!(StoreMetrics::default().families().len() == 11);
    }
}
