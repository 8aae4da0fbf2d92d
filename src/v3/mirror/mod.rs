//! Mirroring a cluster's keys (Go's `clientv3/mirror`, and what `etcdctl
//! make-mirror` does with it).
//!
//! - [`Syncer`]: [`Syncer::sync_base`] reads every key under a prefix as it
//!   was at one revision, page by page; [`Syncer::sync_updates`] watches
//!   every change after that revision. Together they give a consistent
//!   copy followed by its changes, with nothing missed and nothing twice.
//! - [`Mirror`]: copies a prefix of one cluster to another with a
//!   [`Syncer`] and keeps the copy up to date (`etcdctl make-mirror`);
//!   `examples/mirror.rs` is a command around it.

mod make;

pub use make::{Mirror, MirrorOptions, rewrite_key, update_txns};

use super::error::{Error, Result};
use super::kv::{GetResponse, KV};
use super::op::{GetOptions, KeyRange, get_prefix_range_end};
use super::watch::{WatchOptions, WatchStream, Watcher};
use futures_util::Stream;
use std::sync::atomic::{AtomicI64, Ordering};

/// How many keys one page of [`Syncer::sync_base`] holds (Go's `batchLimit`).
pub const DEFAULT_BATCH_LIMIT: i64 = 1000;

/// Syncs with the keys under a prefix of a cluster (Go's `mirror.Syncer`):
/// first their state at one revision ([`Syncer::sync_base`]), then every
/// change after it ([`Syncer::sync_updates`]).
#[derive(Debug)]
pub struct Syncer<C> {
    client: C,
    prefix: Vec<u8>,
    rev: AtomicI64,
    batch_limit: i64,
    serializable: bool,
}

impl<C: KV + Watcher> Syncer<C> {
    /// A syncer of the keys under `prefix` (empty: every key) at revision
    /// `rev` (0: the revision current when [`Syncer::sync_base`] starts)
    /// (Go's `NewSyncer`).
    pub fn new(client: C, prefix: impl Into<Vec<u8>>, rev: i64) -> Self {
        Syncer {
            client,
            prefix: prefix.into(),
            rev: AtomicI64::new(rev),
            batch_limit: DEFAULT_BATCH_LIMIT,
            serializable: false,
        }
    }

    /// Pages of `limit` keys instead of [`DEFAULT_BATCH_LIMIT`] (a limit of
    /// 0 or less keeps the default).
    pub fn with_batch_limit(mut self, limit: i64) -> Self {
        if limit > 0 {
            self.batch_limit = limit;
        }
        self
    }

    /// Reads the pages serializably (from whichever member answers, without
    /// a quorum round). Reads at a fixed revision are the same on every
    /// member that has it, so this only saves the leader work; a member that
    /// has not applied the revision yet fails the page with
    /// [`crate::v3::EtcdError::FutureRev`]. Default: linearizable, as Go 3.4.
    pub fn serializable(mut self, yes: bool) -> Self {
        self.serializable = yes;
        self
    }

    /// The revision the base is read at (0 until [`Syncer::sync_base`]
    /// picked one).
    pub fn revision(&self) -> i64 {
        self.rev.load(Ordering::SeqCst)
    }

    /// The prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The wrapped client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// The keys under the prefix as they were at the syncer's revision, as a
    /// stream of pages (gets of at most the batch limit, in key order, at
    /// that revision). With revision 0 it first reads the current revision
    /// (that read's failure is returned here). A page that fails ends the
    /// stream with its error (e.g. [`crate::v3::EtcdError::Compacted`] when
    /// the revision was compacted meanwhile).
    pub async fn sync_base(&self) -> Result<impl Stream<Item = Result<GetResponse>> + Send + '_> {
        if self.revision() == 0 {
            // Go reads the key "foo" only for the header's revision.
            let now = self.client.get("foo", GetOptions::default()).await?;
            let rev = now.header.map_or(0, |h| h.revision);
            if rev == 0 {
                return Err(Error::InvalidResponse("a get without a header".into()));
            }
            self.rev.store(rev, Ordering::SeqCst);
        }
        let (first, range) = if self.prefix.is_empty() {
            (vec![0], KeyRange::FromKey)
        } else {
            (
                self.prefix.clone(),
                KeyRange::End(get_prefix_range_end(&self.prefix)),
            )
        };
        let opts = GetOptions {
            range,
            revision: self.revision(),
            limit: self.batch_limit,
            serializable: self.serializable,
            ..Default::default()
        };
        Ok(futures_util::stream::try_unfold(Some(first), move |key| {
            let opts = opts.clone();
            async move {
                let Some(key) = key else { return Ok(None) };
                let page = self.client.get(key, opts).await?;
                let next = match (page.more, page.kvs.last()) {
                    (false, _) => None,
                    // The next page starts just after this page's last key.
                    (true, Some(last)) => Some([&last.key[..], &[0]].concat()),
                    (true, None) => {
                        return Err(Error::InvalidResponse(
                            "a page with more keys but none in it".into(),
                        ));
                    }
                };
                Ok(Some((page, next)))
            }
        }))
    }

    /// Every change under the prefix after the syncer's revision, as a
    /// watch from the revision after it. Fails with
    /// [`Error::InvalidConfig`] before [`Syncer::sync_base`] picked a
    /// revision (Go panics).
    pub async fn sync_updates(&self) -> Result<WatchStream> {
        let rev = self.revision();
        if rev == 0 {
            return Err(Error::InvalidConfig {
                field: "revision",
                reason: "sync_updates needs a revision: call sync_base first".into(),
            });
        }
        let opts = WatchOptions {
            revision: rev + 1,
            ..WatchOptions::prefix()
        };
        self.client.watch(self.prefix.clone(), opts).await
    }
}

#[cfg(test)]
mod tests;
