//! Software transactional memory over etcd (Go's `concurrency.NewSTM`): an
//! apply function reads and writes keys through an [`Stm`]; its writes are
//! committed in one txn guarded by what it read, and it runs again when
//! another writer got in between.

use super::context::Context;
use super::error::Result;
use super::key::header_revision;
use crate::v3::compare::{Compare, CompareOp};
use crate::v3::kv::{GetResponse, KV, OpResponse, TxnResponse};
use crate::v3::op::{DeleteOptions, GetOptions, Op, PutOptions};
use crate::v3::txn::Txn;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;

/// How isolated an STM transaction is from concurrent writers (Go's
/// `Isolation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Reads see one snapshot (the revision of the first read) and the
    /// commit fails if any key read changed or any key written was written
    /// after that snapshot (the default).
    #[default]
    SerializableSnapshot,
    /// Reads see one snapshot; the commit fails if any key read changed.
    Serializable,
    /// Each key is read once (later reads repeat it); the commit fails if
    /// any key read changed.
    RepeatableReads,
    /// Reads see whatever is committed; the commit never conflicts.
    ReadCommitted,
}

/// Options of [`new_stm`] (Go's `stmOption`s). `Default`: serializable
/// snapshot isolation, no prefetch, never aborted.
#[derive(Clone, Debug, Default)]
pub struct StmOptions {
    isolation: Isolation,
    prefetch: Vec<String>,
    ctx: Context,
}

impl StmOptions {
    /// The defaults.
    pub fn new() -> StmOptions {
        StmOptions::default()
    }

    /// The isolation level (Go's `WithIsolation`).
    pub fn with_isolation(mut self, isolation: Isolation) -> StmOptions {
        self.isolation = isolation;
        self
    }

    /// Keys read in one txn before each run of the apply function (Go's
    /// `WithPrefetch`).
    pub fn with_prefetch<I, S>(mut self, keys: I) -> StmOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefetch.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Gives up (with the context's error) when `ctx` ends (Go's
    /// `WithAbortContext`).
    pub fn with_abort_context(mut self, ctx: Context) -> StmOptions {
        self.ctx = ctx;
        self
    }
}

/// A write waiting for the commit.
#[derive(Clone, Debug)]
struct Write {
    value: String,
    op: Op,
}

/// What an apply function reads and writes through (Go's `STM`). Reads go
/// to etcd (once per key and run); writes are buffered until the commit.
pub struct Stm<'k, K: KV + ?Sized> {
    kv: &'k K,
    isolation: Isolation,
    /// Key → the get that read it (Go's `readSet`).
    reads: BTreeMap<String, GetResponse>,
    /// Key → the buffered write (Go's `writeSet`).
    writes: BTreeMap<String, Write>,
    /// Reads answered by the last failed commit's `else` branch, used by
    /// the next run (serializable levels).
    prefetched: BTreeMap<String, GetResponse>,
    /// The revision the serializable levels read at, once the first read
    /// fixed it.
    snapshot: Option<i64>,
}

impl<'k, K: KV + ?Sized> Stm<'k, K> {
    fn new(kv: &'k K, isolation: Isolation) -> Stm<'k, K> {
        Stm {
            kv,
            isolation,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
            prefetched: BTreeMap::new(),
            snapshot: None,
        }
    }

    fn serializable(&self) -> bool {
        matches!(
            self.isolation,
            Isolation::SerializableSnapshot | Isolation::Serializable
        )
    }

    fn reset(&mut self) {
        self.reads.clear();
        self.writes.clear();
        self.snapshot = None;
    }

    fn get_options(&self) -> GetOptions {
        match (self.isolation, self.snapshot) {
            (Isolation::RepeatableReads | Isolation::ReadCommitted, _) => GetOptions {
                serializable: true,
                ..Default::default()
            },
            (_, Some(rev)) => GetOptions {
                revision: rev,
                serializable: true,
                ..Default::default()
            },
            (_, None) => GetOptions::default(),
        }
    }

    /// Reads `keys` in one txn unless one of them was read already; returns
    /// the first one's read (Go's `fetch`).
    async fn fetch(&mut self, keys: &[&str]) -> Result<Option<GetResponse>> {
        if keys.is_empty() {
            return Ok(None);
        }
        for key in keys {
            if let Some(r) = self.reads.get(*key) {
                return Ok(Some(r.clone()));
            }
        }
        let opts = self.get_options();
        let ops = keys.iter().map(|k| Op::get(*k, opts.clone()));
        let resp = Txn::new(self.kv).and_then(ops).commit().await?;
        let mut first = None;
        for (key, r) in keys.iter().zip(resp.responses) {
            if let OpResponse::Get(g) = r {
                if first.is_none() {
                    first = Some(g.clone());
                }
                self.reads.insert(key.to_string(), g);
            }
        }
        Ok(first)
    }

    /// The value of the first of `keys` written in this run, else read
    /// (several keys are read in one round trip); `""` when it does not
    /// exist (Go's `Get`).
    pub async fn get_any(&mut self, keys: &[&str]) -> Result<String> {
        if let Some(w) = keys.iter().find_map(|k| self.writes.get(*k)) {
            return Ok(w.value.clone());
        }
        let first_read = self.reads.is_empty();
        if self.serializable() {
            for key in keys {
                if let Some(r) = self.prefetched.remove(*key) {
                    self.reads.insert(key.to_string(), r);
                }
            }
        }
        let resp = self.fetch(keys).await?;
        if self.serializable()
            && first_read
            && let Some(r) = &resp
        {
            // The first read fixes the revision every later read uses.
            self.snapshot = Some(header_revision(&r.header));
        }
        Ok(resp
            .and_then(|r| r.kvs.into_iter().next())
            .map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
            .unwrap_or_default())
    }

    /// The value of `key` (its buffered write, if any); `""` when it does
    /// not exist.
    pub async fn get(&mut self, key: &str) -> Result<String> {
        self.get_any(&[key]).await
    }

    /// Buffers a put of `value` at `key` (Go's `Put`).
    pub fn put(&mut self, key: impl Into<String>, value: impl Into<String>, opts: PutOptions) {
        let key = key.into();
        let value = value.into();
        let op = Op::put(key.clone(), value.clone(), opts);
        self.writes.insert(key, Write { value, op });
    }

    /// Buffers a delete of `key` (Go's `Del`); later gets in this run see
    /// `""`.
    pub fn delete(&mut self, key: impl Into<String>) {
        let key = key.into();
        let op = Op::delete(key.clone(), DeleteOptions::default());
        self.writes.insert(
            key,
            Write {
                value: String::new(),
                op,
            },
        );
    }

    /// The mod revision of `key` as read (0 when it does not exist) (Go's
    /// `Rev`).
    pub async fn rev(&mut self, key: &str) -> Result<i64> {
        if self.serializable() {
            self.get(key).await?;
        }
        Ok(self
            .fetch(&[key])
            .await?
            .and_then(|r| r.kvs.into_iter().next())
            .map_or(0, |kv| kv.mod_revision))
    }

    /// The compares the commit is guarded by.
    fn conflicts(&self) -> Vec<Compare> {
        let read_cmps = self.reads.iter().map(|(k, r)| match r.kvs.first() {
            Some(kv) => Compare::mod_revision(k.clone(), CompareOp::Equal, kv.mod_revision),
            None => Compare::mod_revision(k.clone(), CompareOp::Equal, 0),
        });
        match self.isolation {
            Isolation::SerializableSnapshot => {
                let first = self
                    .reads
                    .values()
                    .map(|r| header_revision(&r.header))
                    .min()
                    .unwrap_or(i64::MAX - 1);
                let write_cmps = self
                    .writes
                    .keys()
                    .map(|k| Compare::mod_revision(k.clone(), CompareOp::Less, first + 1));
                read_cmps.chain(write_cmps).collect()
            }
            Isolation::Serializable | Isolation::RepeatableReads => read_cmps.collect(),
            Isolation::ReadCommitted => Vec::new(),
        }
    }

    /// Commits the buffered writes if nothing conflicts; `None` when
    /// something did (the apply function runs again).
    async fn commit(&mut self) -> Result<Option<TxnResponse>> {
        let puts: Vec<Op> = self.writes.values().map(|w| w.op.clone()).collect();
        let txn = Txn::new(self.kv).when(self.conflicts()).and_then(puts);
        if !self.serializable() {
            let resp = txn.commit().await?;
            return Ok(resp.succeeded.then_some(resp));
        }
        // The else branch re-reads the read set, saving a round trip on
        // the next run.
        let keys: Vec<String> = self.reads.keys().cloned().collect();
        let gets = keys
            .iter()
            .map(|k| Op::get(k.clone(), GetOptions::default()));
        let resp = txn.or_else(gets).commit().await?;
        if resp.succeeded {
            return Ok(Some(resp));
        }
        self.prefetched = keys
            .into_iter()
            .zip(resp.responses)
            .filter_map(|(k, r)| match r {
                OpResponse::Get(g) => Some((k, g)),
                _ => None,
            })
            .collect();
        Ok(None)
    }
}

/// Runs `apply` as a transaction (Go's `NewSTM`): runs it, commits its
/// writes if nothing it depends on changed meanwhile, and otherwise runs it
/// again, until a commit succeeds. An error from `apply` (or from a read)
/// ends it without committing: give up with [`Error::aborted`].
///
/// `apply` returns a boxed future borrowing the [`Stm`]:
///
/// ```no_run
/// use etcd_sdk::v3::concurrency::{Error, StmOptions, new_stm};
/// use etcd_sdk::v3::{Client, PutOptions};
///
/// # async fn demo(client: Client) -> etcd_sdk::v3::concurrency::Result<()> {
/// // Move 10 from a to b, atomically.
/// new_stm(&client, StmOptions::new(), |stm| {
///     Box::pin(async move {
///         let a: i64 = stm.get("a").await?.parse().unwrap_or(0);
///         let b: i64 = stm.get("b").await?.parse().unwrap_or(0);
///         if a < 10 {
///             return Err(Error::aborted("not enough in a"));
///         }
///         stm.put("a", (a - 10).to_string(), PutOptions::default());
///         stm.put("b", (b + 10).to_string(), PutOptions::default());
///         Ok(())
///     })
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn new_stm<K, F>(kv: &K, opts: StmOptions, mut apply: F) -> Result<TxnResponse>
where
    K: KV + ?Sized,
    F: for<'s> FnMut(&'s mut Stm<'_, K>) -> BoxFuture<'s, Result<()>>,
{
    let StmOptions {
        isolation,
        prefetch,
        ctx,
    } = opts;
    let mut stm = Stm::new(kv, isolation);
    ctx.run(async {
        loop {
            stm.reset();
            if !prefetch.is_empty() {
                let keys: Vec<&str> = prefetch.iter().map(String::as_str).collect();
                stm.get_any(&keys).await?;
            }
            apply(&mut stm).await?;
            if let Some(resp) = stm.commit().await? {
                return Ok(resp);
            }
            tracing::debug!("concurrency: stm conflict, running again");
        }
    })
    .await
}

/// Go's `NewSTMRepeatable`.
pub async fn new_stm_repeatable<K, F>(ctx: &Context, kv: &K, apply: F) -> Result<TxnResponse>
where
    K: KV + ?Sized,
    F: for<'s> FnMut(&'s mut Stm<'_, K>) -> BoxFuture<'s, Result<()>>,
{
    let opts = StmOptions::new()
        .with_isolation(Isolation::RepeatableReads)
        .with_abort_context(ctx.clone());
    new_stm(kv, opts, apply).await
}

/// Go's `NewSTMSerializable`.
pub async fn new_stm_serializable<K, F>(ctx: &Context, kv: &K, apply: F) -> Result<TxnResponse>
where
    K: KV + ?Sized,
    F: for<'s> FnMut(&'s mut Stm<'_, K>) -> BoxFuture<'s, Result<()>>,
{
    let opts = StmOptions::new()
        .with_isolation(Isolation::Serializable)
        .with_abort_context(ctx.clone());
    new_stm(kv, opts, apply).await
}

/// Go's `NewSTMReadCommitted`.
pub async fn new_stm_read_committed<K, F>(ctx: &Context, kv: &K, apply: F) -> Result<TxnResponse>
where
    K: KV + ?Sized,
    F: for<'s> FnMut(&'s mut Stm<'_, K>) -> BoxFuture<'s, Result<()>>,
{
    let opts = StmOptions::new()
        .with_isolation(Isolation::ReadCommitted)
        .with_abort_context(ctx.clone());
    new_stm(kv, opts, apply).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::Error;
    use crate::v3::concurrency::fake::Fake;
    use crate::v3::pb::etcdserverpb::compare;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn seed(fake: &Fake) {
        fake.put("a", "100", PutOptions::default()).await.unwrap();
        fake.put("b", "0", PutOptions::default()).await.unwrap();
    }

    /// Moves 10 from a to b; on its first run, another writer changes `a`
    /// after the read, so the commit conflicts (unless read-committed).
    async fn transfer_with_interference(iso: Isolation) -> (usize, String, String) {
        let fake = Fake::default();
        seed(&fake).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let other = fake.clone();
        let counter = runs.clone();
        new_stm(&fake, StmOptions::new().with_isolation(iso), move |stm| {
            let other = other.clone();
            let counter = counter.clone();
            Box::pin(async move {
                let run = counter.fetch_add(1, Ordering::SeqCst);
                let a: i64 = stm.get("a").await?.parse().unwrap_or(0);
                let b: i64 = stm.get("b").await?.parse().unwrap_or(0);
                if run == 0 {
                    other.put("a", "50", PutOptions::default()).await?;
                }
                stm.put("a", (a - 10).to_string(), PutOptions::default());
                stm.put("b", (b + 10).to_string(), PutOptions::default());
                Ok(())
            })
        })
        .await
        .unwrap();
        let a = String::from_utf8(fake.kv("a").unwrap().value).unwrap();
        let b = String::from_utf8(fake.kv("b").unwrap().value).unwrap();
        (runs.load(Ordering::SeqCst), a, b)
    }

    #[tokio::test]
    async fn conflicting_writes_rerun_the_apply_function() {
        for iso in [
            Isolation::SerializableSnapshot,
            Isolation::Serializable,
            Isolation::RepeatableReads,
        ] {
            let (runs, a, b) = transfer_with_interference(iso).await;
            assert_eq!((runs, a.as_str(), b.as_str()), (2, "40", "10"), "{iso:?}");
        }
        // Read-committed never conflicts: the interfering write is lost.
        let (runs, a, b) = transfer_with_interference(Isolation::ReadCommitted).await;
        assert_eq!((runs, a.as_str(), b.as_str()), (1, "90", "10"));
    }

    #[tokio::test]
    async fn the_commit_is_guarded_by_the_read_and_write_sets() {
        let fake = Fake::default();
        seed(&fake).await;
        let a_rev = fake.kv("a").unwrap().mod_revision;
        let read_rev = fake.revision();
        fake.clear_ops();
        new_stm(&fake, StmOptions::new(), |stm| {
            Box::pin(async move {
                let a = stm.get("a").await?;
                assert_eq!(a, "100");
                stm.put("c", "x", PutOptions::default());
                // A buffered write is read back.
                assert_eq!(stm.get("c").await?, "x");
                stm.delete("c");
                assert_eq!(stm.get("c").await?, "");
                Ok(())
            })
        })
        .await
        .unwrap();
        let ops = fake.ops();
        let Op::Txn(commit) = ops.last().unwrap() else {
            panic!("{ops:?}")
        };
        let cmps: Vec<_> = commit
            .compare
            .iter()
            .map(|c| (c.key.clone(), c.result, c.target_union.clone()))
            .collect();
        assert_eq!(
            cmps,
            vec![
                (
                    b"a".to_vec(),
                    compare::CompareResult::Equal as i32,
                    Some(compare::TargetUnion::ModRevision(a_rev))
                ),
                (
                    b"c".to_vec(),
                    compare::CompareResult::Less as i32,
                    Some(compare::TargetUnion::ModRevision(read_rev + 1))
                ),
            ]
        );
        // The else branch re-reads the read set.
        assert_eq!(commit.failure.len(), 1);
        assert!(fake.kv("c").is_none());
    }

    #[tokio::test]
    async fn an_apply_error_aborts_without_writing_and_prefetch_reads_first() {
        let fake = Fake::default();
        seed(&fake).await;
        fake.clear_ops();
        let e = new_stm(
            &fake,
            StmOptions::new()
                .with_isolation(Isolation::Serializable)
                .with_prefetch(["a", "b"]),
            |stm| {
                Box::pin(async move {
                    stm.put("a", "0", PutOptions::default());
                    Err(Error::aborted("no"))
                })
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::Aborted(_)), "{e:?}");
        assert_eq!(fake.kv("a").unwrap().value, b"100");
        let ops = fake.ops();
        let [Op::Txn(prefetch)] = &ops[..] else {
            panic!("{ops:?}")
        };
        assert_eq!(prefetch.success.len(), 2);

        // A read error ends it too.
        fake.fail_next_txns(1);
        let e = new_stm(&fake, StmOptions::new(), |stm| {
            Box::pin(async move {
                stm.get("a").await?;
                Ok(())
            })
        })
        .await
        .unwrap_err();
        assert!(e.client().is_some(), "{e:?}");

        // An ended abort context ends it.
        let e = new_stm_read_committed(
            &Context::with_timeout(std::time::Duration::ZERO),
            &fake,
            |_| Box::pin(async { Ok(()) }),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
    }

    #[tokio::test]
    async fn serializable_reads_use_the_first_read_s_revision() {
        let fake = Fake::default();
        seed(&fake).await;
        let other = fake.clone();
        let rev_at_first_read = fake.revision();
        let mut first = true;
        new_stm_serializable(&Context::background(), &fake, move |stm| {
            let other = other.clone();
            let once = std::mem::replace(&mut first, false);
            Box::pin(async move {
                stm.get("a").await?;
                if once {
                    other.put("b", "7", PutOptions::default()).await?;
                }
                let b = stm.get("b").await?;
                let rev = stm.rev("b").await?;
                if once {
                    // Read at the snapshot: b's new value is not seen.
                    assert_eq!(b, "0");
                    assert!(rev <= rev_at_first_read);
                }
                Ok(())
            })
        })
        .await
        .unwrap();
    }
}
