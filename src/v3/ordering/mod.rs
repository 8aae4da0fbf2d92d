//! Revision ordering (Go's `clientv3/ordering`, spec §4.9): a [`KV`] wrapper
//! that never returns a read older than one it already returned.
//!
//! A client balanced over several members can read from one that lags
//! (a serializable get, or a member cut off from the leader): its answer
//! carries an older header revision than an answer already seen. [`Kv`]
//! remembers the newest revision its gets and transactions returned; a get
//! or transaction answered with an older one is a violation: the
//! violation function is called and, if it returns `Ok`, the request is
//! sent again (to the next endpoint, since [`crate::v3::Client`] picks one
//! round-robin per attempt). [`switch_endpoint_on_violation`] is Go's
//! standard function: it lets requests move on through the endpoints
//! and gives up with [`crate::v3::Error::NoGreaterRev`] after five rounds.
//!
//! ```no_run
//! use etcd_sdk::v3::ordering;
//! use etcd_sdk::v3::{Client, GetOptions, KV};
//!
//! # async fn demo() -> etcd_sdk::v3::Result<()> {
//! let client = Client::connect(["127.0.0.1:2379", "127.0.0.1:22379"]).await?;
//! let kv = ordering::Kv::new(
//!     client.clone(),
//!     ordering::switch_endpoint_on_violation(client.clone()),
//! );
//! let opts = GetOptions { serializable: true, ..Default::default() };
//! let first = kv.get("k", opts.clone()).await?;
//! let later = kv.get("k", opts).await?; // never older than `first`
//! # let _ = (first, later);
//! # Ok(()) }
//! ```

mod switch;

pub use switch::{switch_endpoint_on_violation, violation_budget};

use super::error::Result;
use super::kv::{CompactOptions, CompactResponse, KV, OpResponse};
use super::op::Op;
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// What to do when a get or transaction comes back older than the newest
/// revision already returned (Go's `OrderViolationFunc`): called with the
/// op, its stale response and that newest revision. `Ok(())` sends the op
/// again; an error is returned to the caller.
pub type OrderViolationFn = Arc<dyn Fn(&Op, &OpResponse, i64) -> Result<()> + Send + Sync>;

/// A [`KV`] that checks every get and transaction answer against the
/// newest header revision it has returned (Go's `ordering.NewKV`).
///
/// As in Go:
/// - only gets and transactions are checked and recorded; puts, deletes and
///   compactions pass through untouched;
/// - the revision a call compares against is the one known when it starts
///   (concurrent calls may raise it meanwhile);
/// - a get answered at exactly that revision is accepted, and so is a
///   transaction;
/// - a violation function that always returns `Ok` retries forever against
///   a cluster where every member is stale.
pub struct Kv<K> {
    inner: K,
    on_violation: OrderViolationFn,
    prev_rev: AtomicI64,
}

impl<K> std::fmt::Debug for Kv<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ordering::Kv")
            .field("prev_rev", &self.prev_rev.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<K: KV> Kv<K> {
    /// `inner`, checked; `on_violation` decides what a stale answer does.
    pub fn new<F>(inner: K, on_violation: F) -> Self
    where
        F: Fn(&Op, &OpResponse, i64) -> Result<()> + Send + Sync + 'static,
    {
        Kv {
            inner,
            on_violation: Arc::new(on_violation),
            prev_rev: AtomicI64::new(0),
        }
    }

    /// The newest revision a get or transaction returned so far (0 before
    /// the first).
    pub fn prev_rev(&self) -> i64 {
        self.prev_rev.load(Ordering::SeqCst)
    }

    /// The wrapped KV.
    pub fn inner(&self) -> &K {
        &self.inner
    }

    async fn checked(&self, op: Op) -> Result<OpResponse> {
        let prev = self.prev_rev();
        loop {
            let resp = self.inner.do_op(op.clone()).await?;
            let rev = header_revision(&resp);
            if rev >= prev {
                self.prev_rev.fetch_max(rev, Ordering::SeqCst);
                return Ok(resp);
            }
            tracing::debug!(rev, prev, "ordering: stale response");
            (self.on_violation)(&op, &resp, prev)?;
        }
    }
}

/// The header revision of a response (0 without a header).
fn header_revision(resp: &OpResponse) -> i64 {
    let header = match resp {
        OpResponse::Get(r) => &r.header,
        OpResponse::Put(r) => &r.header,
        OpResponse::Delete(r) => &r.header,
        OpResponse::Txn(r) => &r.header,
    };
    header.as_ref().map_or(0, |h| h.revision)
}

#[async_trait]
impl<K: KV> KV for Kv<K> {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        match op {
            Op::Get(_) | Op::Txn(_) => self.checked(op).await,
            Op::Put(_) | Op::Delete(_) => self.inner.do_op(op).await,
        }
    }

    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse> {
        self.inner.compact(revision, opts).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::error::Error;
    use crate::v3::kv::{GetResponse, PutResponse, ResponseHeader, TxnResponse};
    use crate::v3::op::{GetOptions, PutOptions};
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    /// A KV over "endpoints" that each answer at a fixed revision, picked
    /// round-robin per call, as the client picks endpoints.
    struct Endpoints {
        revs: Mutex<Vec<i64>>,
        next: AtomicUsize,
        calls: AtomicUsize,
    }

    impl Endpoints {
        fn new(revs: &[i64]) -> Self {
            Endpoints {
                revs: Mutex::new(revs.to_vec()),
                next: AtomicUsize::new(0),
                calls: AtomicUsize::new(0),
            }
        }
        fn set(&self, revs: &[i64]) {
            *self.revs.lock().unwrap() = revs.to_vec();
            self.next.store(0, Ordering::SeqCst);
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl KV for Endpoints {
        async fn do_op(&self, op: Op) -> Result<OpResponse> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let revs = self.revs.lock().unwrap().clone();
            let i = self.next.fetch_add(1, Ordering::SeqCst) % revs.len();
            let header = Some(ResponseHeader {
                revision: revs[i],
                ..Default::default()
            });
            Ok(match op {
                Op::Get(_) => OpResponse::Get(GetResponse {
                    header,
                    ..Default::default()
                }),
                Op::Txn(_) => OpResponse::Txn(TxnResponse {
                    header,
                    ..Default::default()
                }),
                Op::Put(_) => OpResponse::Put(PutResponse {
                    header,
                    ..Default::default()
                }),
                Op::Delete(_) => OpResponse::Delete(Default::default()),
            })
        }
        async fn compact(&self, _: i64, _: CompactOptions) -> Result<CompactResponse> {
            Ok(CompactResponse::default())
        }
    }

    #[tokio::test]
    async fn a_stale_get_calls_the_violation_function_and_retries() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let kv = Kv::new(
            Endpoints::new(&[10, 4, 12]),
            move |_: &Op, r: &OpResponse, prev| {
                log.lock().unwrap().push((header_revision(r), prev));
                Ok(())
            },
        );
        let g = kv.get("k", GetOptions::default()).await.unwrap();
        assert_eq!(g.header.unwrap().revision, 10);
        // The second endpoint is stale: one violation, then the third answers.
        let g = kv.get("k", GetOptions::default()).await.unwrap();
        assert_eq!(g.header.unwrap().revision, 12);
        assert_eq!(*seen.lock().unwrap(), vec![(4, 10)]);
        assert_eq!(kv.prev_rev(), 12);
        assert_eq!(kv.inner().calls(), 3);
    }

    #[tokio::test]
    async fn an_equal_revision_is_accepted_for_gets_and_txns() {
        let kv = Kv::new(Endpoints::new(&[7]), |_: &Op, _: &OpResponse, _| {
            Err(Error::InvalidResponse("violation".into()))
        });
        kv.get("k", GetOptions::default()).await.unwrap();
        kv.get("k", GetOptions::default()).await.unwrap();
        kv.txn().commit().await.unwrap();
        assert_eq!(kv.prev_rev(), 7);
    }

    #[tokio::test]
    async fn a_stale_txn_is_a_violation_too() {
        let kv = Kv::new(Endpoints::new(&[9, 3]), |_: &Op, _: &OpResponse, _| {
            Err(Error::InvalidResponse("stale".into()))
        });
        kv.txn().commit().await.unwrap();
        let err = kv.txn().commit().await.unwrap_err();
        assert!(err.to_string().contains("stale"), "{err}");
        assert_eq!(kv.prev_rev(), 9);
    }

    #[tokio::test]
    async fn writes_are_neither_checked_nor_recorded() {
        let kv = Kv::new(Endpoints::new(&[20, 1]), |_: &Op, _: &OpResponse, _| {
            Err(Error::InvalidResponse("violation".into()))
        });
        kv.put("k", "v", PutOptions::default()).await.unwrap();
        kv.put("k", "v", PutOptions::default()).await.unwrap();
        assert_eq!(kv.prev_rev(), 0);
    }

    #[tokio::test]
    async fn switch_endpoint_gives_up_after_five_rounds() {
        let endpoints = 3;
        let kv = Kv::new(Endpoints::new(&[50]), violation_budget(move || endpoints));
        kv.get("k", GetOptions::default()).await.unwrap();
        // Every endpoint is stale now.
        kv.inner().set(&[40, 41, 42]);
        let before = kv.inner().calls();
        let err = kv.get("k", GetOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::NoGreaterRev), "{err:?}");
        // 5 × 3 + 1 violations let through (Go's `> 5 * len` check), then
        // the next one fails.
        assert_eq!(kv.inner().calls() - before, 17);
        // The budget is spent for good, as in Go: the next stale answer
        // fails at once.
        let before = kv.inner().calls();
        let err = kv.get("k", GetOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::NoGreaterRev), "{err:?}");
        assert_eq!(kv.inner().calls() - before, 1);
    }

    /// The wrappers stack: an ordering check over a namespace.
    #[tokio::test]
    async fn stacks_over_a_namespace() {
        let ns = crate::v3::namespace::Kv::new(Endpoints::new(&[8, 2, 8]), "app/");
        let kv = Kv::new(ns, violation_budget(|| 3));
        for _ in 0..4 {
            let g = kv.get("k", GetOptions::default()).await.unwrap();
            assert_eq!(g.header.unwrap().revision, 8);
        }
        assert_eq!(kv.inner().prefix(), b"app/");
        // 4 gets; the second and fourth first hit the stale endpoint.
        assert_eq!(kv.inner().inner().calls(), 6);
    }

    #[tokio::test]
    async fn switch_endpoint_resolves_a_single_stale_member() {
        let kv = Kv::new(Endpoints::new(&[30, 30, 25]), violation_budget(|| 3));
        for _ in 0..10 {
            let g = kv.get("k", GetOptions::default()).await.unwrap();
            assert_eq!(g.header.unwrap().revision, 30);
        }
    }
}
