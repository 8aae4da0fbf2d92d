//! [`Mirror`]: `etcdctl make-mirror` as a library — copy a prefix of one
//! cluster to another and keep it up to date.

use super::Syncer;
use crate::v3::error::Result;
use crate::v3::kv::KV;
use crate::v3::op::{DeleteOptions, Op, PutOptions};
use crate::v3::watch::{Event, EventType, Watcher};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// What a [`Mirror`] copies and where to (`etcdctl make-mirror`'s flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorOptions {
    /// The keys copied: those under this prefix (`--prefix`; empty: every
    /// key).
    pub prefix: Vec<u8>,
    /// Where they go: each key's `prefix` is replaced with this one
    /// (`--dest-prefix`). `None`: the same prefix as the source. `Some` of an
    /// empty prefix: the keys without their prefix (`--no-dest-prefix`).
    pub dest_prefix: Option<Vec<u8>>,
    /// Keys per page of the base copy (0: [`super::DEFAULT_BATCH_LIMIT`]).
    pub batch_limit: i64,
}

/// `key` of the source as written to the destination: its leading
/// `prefix` replaced with `dest_prefix` (Go's `modifyPrefix`).
///
/// ```
/// use etcd_sdk::v3::mirror::rewrite_key;
/// assert_eq!(rewrite_key(b"app/a", b"app/", b"copy/"), b"copy/a");
/// assert_eq!(rewrite_key(b"app/a", b"app/", b""), b"a");
/// assert_eq!(rewrite_key(b"a", b"", b"all/"), b"all/a");
/// ```
pub fn rewrite_key(key: &[u8], prefix: &[u8], dest_prefix: &[u8]) -> Vec<u8> {
    match key.strip_prefix(prefix) {
        Some(rest) => [dest_prefix, rest].concat(),
        None => key.to_vec(),
    }
}

/// The transactions that apply a watch response's `events` to the
/// destination, keys rewritten by `rewrite`: one per source revision (the
/// events of one source transaction stay together), in order, as
/// `etcdctl make-mirror` sends them. Puts copy the value (not the lease);
/// deletes delete the key.
pub fn update_txns(events: &[Event], rewrite: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Vec<Op>> {
    let mut txns: Vec<Vec<Op>> = Vec::new();
    let mut last_rev = None;
    for ev in events {
        let rev = ev.kv.mod_revision;
        if last_rev != Some(rev) || txns.is_empty() {
            txns.push(Vec::new());
        }
        last_rev = Some(rev);
        let key = rewrite(&ev.kv.key);
        let op = match ev.kind {
            EventType::Put => Op::put(key, ev.kv.value.clone(), PutOptions::default()),
            EventType::Delete => Op::delete(key, DeleteOptions::default()),
        };
        if let Some(txn) = txns.last_mut() {
            txn.push(op);
        }
    }
    txns
}

/// Mirrors a prefix of one cluster (`source`, read with a [`Syncer`]) to
/// another (`dest`) and keeps the copy up to date (`etcdctl make-mirror`):
/// the base state is copied key by key, then every change after its
/// revision is applied, one destination transaction per source revision.
///
/// [`Mirror::run`] returns only on an error (e.g. the source compacted the
/// revision the updates needed: [`crate::v3::Error::WatchCompacted`]); drop
/// its future to stop. [`Mirror::total`] counts the keys written so far and
/// can be read while it runs (share the mirror with an `Arc`).
#[derive(Debug)]
pub struct Mirror<S, D> {
    syncer: Syncer<S>,
    dest: D,
    prefix: Vec<u8>,
    dest_prefix: Vec<u8>,
    total: AtomicU64,
    synced_to: AtomicI64,
}

impl<S: KV + Watcher, D: KV> Mirror<S, D> {
    /// A mirror of `source` into `dest` as `opts` say.
    pub fn new(source: S, dest: D, opts: MirrorOptions) -> Self {
        let dest_prefix = opts.dest_prefix.unwrap_or_else(|| opts.prefix.clone());
        Mirror {
            syncer: Syncer::new(source, opts.prefix.clone(), 0).with_batch_limit(opts.batch_limit),
            dest,
            prefix: opts.prefix,
            dest_prefix,
            total: AtomicU64::new(0),
            synced_to: AtomicI64::new(0),
        }
    }

    /// The syncer reading the source (its revision is the base's once
    /// chosen).
    pub fn syncer(&self) -> &Syncer<S> {
        &self.syncer
    }

    /// The destination.
    pub fn dest(&self) -> &D {
        &self.dest
    }

    /// Keys written to the destination so far (puts and deletes; what
    /// etcdctl prints every 30 s).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    /// The source revision the destination reflects: the base revision once
    /// the base is copied, then each applied update's (0 before).
    pub fn synced_revision(&self) -> i64 {
        self.synced_to.load(Ordering::SeqCst)
    }

    fn rewrite(&self, key: &[u8]) -> Vec<u8> {
        rewrite_key(key, &self.prefix, &self.dest_prefix)
    }

    /// Copies the base, then applies updates until an error.
    pub async fn run(&self) -> Result<()> {
        self.copy_base().await?;
        self.apply_updates().await
    }

    /// Copies the keys as of the syncer's revision, one put per key.
    pub async fn copy_base(&self) -> Result<()> {
        let pages = self.syncer.sync_base().await?;
        futures_util::pin_mut!(pages);
        while let Some(page) = pages.next().await {
            for kv in page?.kvs {
                self.dest
                    .put(self.rewrite(&kv.key), kv.value, PutOptions::default())
                    .await?;
                self.total.fetch_add(1, Ordering::SeqCst);
            }
        }
        let rev = self.syncer.revision();
        tracing::info!(rev, total = self.total(), "mirror: base copied");
        self.synced_to.store(rev, Ordering::SeqCst);
        Ok(())
    }

    /// Applies every change after the base revision until the watch ends
    /// (it ends only with an error).
    pub async fn apply_updates(&self) -> Result<()> {
        let mut updates = self.syncer.sync_updates().await?;
        while let Some(resp) = updates.next().await {
            let resp = resp?;
            for ops in update_txns(&resp.events, |k| self.rewrite(k)) {
                let n = ops.len() as u64;
                self.dest.txn().and_then(ops).commit().await?;
                self.total.fetch_add(n, Ordering::SeqCst);
            }
            if let Some(last) = resp.events.last() {
                self.synced_to.store(last.kv.mod_revision, Ordering::SeqCst);
            }
        }
        Err(crate::v3::Error::Closed)
    }
}
