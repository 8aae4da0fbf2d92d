//! The backend quota (`--quota-backend-bytes`) and the model of the backend's
//! size it is checked against.
//!
//! # The size model
//!
//! etcd keeps its v3 state in a bbolt file. We keep it in memory, so the sizes
//! etcd reports (`dbSize`, `dbSizeInUse`) are modelled, deterministically, from
//! the state itself:
//!
//! - **size in use** ([`size_in_use`]): a fresh bbolt file's pages in use
//!   ([`FRESH_IN_USE`], 16 KiB, what etcd 3.4.23 reports on a fresh member) plus
//!   the bytes of the retained MVCC history (every retained change's key, value
//!   and a per-change overhead: `KvStore::size_bytes`), [`LEASE_BYTES`] per
//!   lease and [`ALARM_BYTES`] per alarm, rounded up to whole 4 KiB pages. It
//!   follows the live history: it falls when a compaction drops history.
//! - **db size** ([`BackendSize`]): the file's size, a high-water mark. bbolt
//!   never gives pages back to the file system; freed pages are reused first, and
//!   the file grows only when the pages in use outgrow it, by one spare page
//!   beyond them (so a fresh member reports 20 KiB, as etcd does). Only a
//!   defragmentation shrinks it, to the size in use. The db size is each
//!   member's own (defragmentation is local), not part of the replicated state.
//!
//! # The quota
//!
//! etcd's `backendQuota`: a write fits when `db size + cost < quota`, where the
//! cost of a Put is 256 + its key and value lengths, of a Txn the larger of its
//! branches' put costs, of a LeaseGrant 64, and of anything else 0 (always
//! fits). The member checks it before proposing; a write that does not fit
//! raises a NOSPACE alarm through Raft and is refused. Writes proposed together
//! can pass that check and still outgrow the quota, so every member checks
//! again when it applies one (etcd's `quotaApplierV3`): a write that no longer
//! fits is applied all the same (the log is the log), its caller is answered
//! NOSPACE, and the member raises the alarm for itself unless one is active.

use super::v3_state::V3Stores;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, PutRequest, TxnRequest, request_op};

/// bbolt's page size.
pub const PAGE_BYTES: u64 = 4096;
/// The pages in use of a fresh backend (etcd 3.4.23: `dbSizeInUse` 16384).
pub const FRESH_IN_USE: u64 = 16384;
/// Bytes one lease takes in the model.
pub const LEASE_BYTES: u64 = 64;
/// Bytes one alarm takes in the model.
pub const ALARM_BYTES: u64 = 32;
/// etcd's default quota: 2 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// etcd's largest recommended quota (a larger one is warned about): 8 GiB.
pub const MAX_QUOTA_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// etcd's `kvOverhead`: a put's cost on top of its key and value.
const KV_OVERHEAD: u64 = 256;
/// etcd's `leaseOverhead`: a lease grant's cost.
const LEASE_OVERHEAD: u64 = 64;

/// The effective quota of a `--quota-backend-bytes` value: negative disables it
/// (`None`), 0 is the default, anything else is itself (warned about above
/// [`MAX_QUOTA_BYTES`]).
pub fn quota_of(flag: i64) -> Option<u64> {
    match flag {
        f if f < 0 => {
            tracing::warn!("disabling backend quota");
            None
        }
        0 => Some(DEFAULT_QUOTA_BYTES),
        f => {
            let f = f as u64;
            if f > MAX_QUOTA_BYTES {
                tracing::warn!(
                    quota = f,
                    maximum = MAX_QUOTA_BYTES,
                    "backend quota exceeds maximum recommended quota"
                );
            }
            Some(f)
        }
    }
}

/// A write's quota cost (etcd's `Cost`).
#[derive(Clone, Copy, Debug)]
pub enum Costed<'a> {
    /// A Put.
    Put(&'a PutRequest),
    /// A Txn.
    Txn(&'a TxnRequest),
    /// A LeaseGrant.
    LeaseGrant,
}

fn put_cost(p: &PutRequest) -> u64 {
    KV_OVERHEAD + (p.key.len() + p.value.len()) as u64
}

fn branch_cost(ops: &[etcd_sdk::v3::pb::etcdserverpb::RequestOp]) -> u64 {
    ops.iter()
        .map(|op| match &op.request {
            Some(request_op::Request::RequestPut(p)) => put_cost(p),
            _ => 0,
        })
        .sum()
}

impl<'a> Costed<'a> {
    /// The costed write `req` holds, if it holds one (Put, Txn, LeaseGrant).
    pub fn of(req: &'a InternalRaftRequest) -> Option<Costed<'a>> {
        if let Some(p) = &req.put {
            Some(Costed::Put(p))
        } else if let Some(t) = &req.txn {
            Some(Costed::Txn(t))
        } else {
            req.lease_grant.as_ref().map(|_| Costed::LeaseGrant)
        }
    }

    /// The cost in bytes.
    pub fn cost(self) -> u64 {
        match self {
            Costed::Put(p) => put_cost(p),
            Costed::Txn(t) => branch_cost(&t.success).max(branch_cost(&t.failure)),
            Costed::LeaseGrant => LEASE_OVERHEAD,
        }
    }
}

/// Whether a write of `cost` fits a backend of `db_size` under `quota`.
pub fn fits(quota: Option<u64>, db_size: u64, cost: u64) -> bool {
    match quota {
        None => true,
        Some(_) if cost == 0 => true,
        Some(q) => db_size.saturating_add(cost) < q,
    }
}

/// The modelled size in use of `stores` (see the module doc).
pub fn size_in_use(stores: &V3Stores) -> u64 {
    let raw = FRESH_IN_USE
        + stores.kv.size_bytes()
        + stores.lessor.len() as u64 * LEASE_BYTES
        + stores.alarms.get(0).len() as u64 * ALARM_BYTES;
    raw.div_ceil(PAGE_BYTES) * PAGE_BYTES
}

/// The modelled db size of one member's backend: a high-water mark of the size
/// in use, plus a spare page when it grew; reset by defragmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendSize {
    db_size: u64,
}

impl Default for BackendSize {
    fn default() -> Self {
        BackendSize {
            db_size: FRESH_IN_USE + PAGE_BYTES,
        }
    }
}

impl BackendSize {
    /// A fresh backend's size.
    pub fn new() -> BackendSize {
        BackendSize::default()
    }

    /// The db size now.
    pub fn db_size(self) -> u64 {
        self.db_size
    }

    /// Grows the file when `in_use` no longer fits it (after every apply).
    pub fn observe(&mut self, in_use: u64) {
        if in_use > self.db_size {
            self.db_size = in_use + PAGE_BYTES;
        }
    }

    /// Defragmentation: the file shrinks to the pages in use.
    pub fn defragment(&mut self, in_use: u64) {
        self.db_size = in_use;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::RequestOp;

    fn put(key: &str, value_len: usize) -> PutRequest {
        PutRequest {
            key: key.into(),
            value: vec![b'v'; value_len],
            ..Default::default()
        }
    }

    #[test]
    fn costs_are_etcds() {
        assert_eq!(Costed::Put(&put("k", 10)).cost(), 256 + 11);
        let op = |p: PutRequest| RequestOp {
            request: Some(request_op::Request::RequestPut(p)),
        };
        let t = TxnRequest {
            success: vec![op(put("a", 1)), op(put("b", 1))],
            failure: vec![op(put("c", 100))],
            ..Default::default()
        };
        assert_eq!(Costed::Txn(&t).cost(), 2 * 258, "the larger branch");
        assert_eq!(Costed::Txn(&TxnRequest::default()).cost(), 0);
        assert_eq!(Costed::LeaseGrant.cost(), 64);
    }

    #[test]
    fn the_quota_flag_and_fitting() {
        assert_eq!(quota_of(0), Some(DEFAULT_QUOTA_BYTES));
        assert_eq!(quota_of(-1), None);
        assert_eq!(quota_of(300_000), Some(300_000));
        assert_eq!(quota_of(1 << 40), Some(1 << 40));
        assert!(fits(Some(100), 50, 49));
        assert!(!fits(Some(100), 50, 50), "strictly below, as etcd");
        assert!(fits(Some(100), 500, 0), "no cost always fits");
        assert!(fits(None, u64::MAX, 10));
    }

    #[test]
    fn db_size_is_a_high_water_mark_until_defragmented() {
        let mut b = BackendSize::new();
        assert_eq!(b.db_size(), 20480, "etcd's fresh member");
        b.observe(16384);
        assert_eq!(b.db_size(), 20480);
        b.observe(40960);
        assert_eq!(b.db_size(), 45056);
        b.observe(20480);
        assert_eq!(b.db_size(), 45056, "never shrinks by itself");
        b.defragment(20480);
        assert_eq!(b.db_size(), 20480);
    }

    #[test]
    fn size_in_use_follows_the_live_history() {
        use crate::store::v3::lease::LessorConfig;
        use crate::store::v3::watch::WatchConfig;
        let mut s = V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20));
        assert_eq!(size_in_use(&s), FRESH_IN_USE);
        let lessor = crate::store::v3::lease::Lessor::new(LessorConfig::default());
        for _ in 0..10 {
            s.kv.put(&put("k", 10_000), &lessor).unwrap();
        }
        let grown = size_in_use(&s);
        assert!(grown >= FRESH_IN_USE + 100_000 && grown % PAGE_BYTES == 0);
        s.kv.compact(s.kv.current_revision()).unwrap();
        let compacted = size_in_use(&s);
        assert!(compacted < grown && compacted >= FRESH_IN_USE + 10_000);
    }
}
