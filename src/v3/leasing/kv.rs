//! [`LeasingKv`]: the [`KV`] that runs every call through the leasing
//! protocol, and [`Closer`], which releases what it holds.

use super::{LeasingClient, Shared};
use crate::v3::error::Result;
use crate::v3::kv::{CompactOptions, CompactResponse, KV, OpResponse};
use crate::v3::lease::LeaseId;
use crate::v3::op::Op;
use async_trait::async_trait;
use std::sync::Arc;

/// Opens the closed latch when the last user handle ([`LeasingKv`] clones
/// and the [`Closer`]) is dropped, so that the background tasks stop; the
/// session's lease is then left to expire.
#[derive(Debug)]
pub(crate) struct Alive(pub(crate) Arc<super::latch::Latch>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A [`KV`] that caches the keys it reads and owns (Go's
/// `leasing.NewKV`'s KV). Made by [`super::new_kv`]; see [the
/// module](super). Clones share the cache and the session.
///
/// - [`KV::get`] of one key at the latest revision: from the cache once
///   owned (a serializable get too); a get of a key not owned acquires it.
///   Ranges, reads at a revision and serializable gets of keys not owned go
///   to the server as they are.
/// - [`KV::put`], [`KV::delete`]: written through when owned; otherwise the
///   owner (if any) is asked to give the key up first.
/// - [`KV::txn`]: from the cache when it only reads owned keys, else
///   guarded against other owners.
/// - [`KV::compact`]: passed through.
///
/// After [`LeasingKv::close`] (or [`Closer::close`]) every call fails with
/// [`crate::v3::Error::Closed`].
pub struct LeasingKv<C> {
    pub(crate) shared: Arc<Shared<C>>,
    pub(crate) alive: Arc<Alive>,
}

impl<C> Clone for LeasingKv<C> {
    fn clone(&self) -> Self {
        LeasingKv {
            shared: self.shared.clone(),
            alive: self.alive.clone(),
        }
    }
}

impl<C> std::fmt::Debug for LeasingKv<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeasingKv")
            .field("prefix", &String::from_utf8_lossy(&self.shared.prefix))
            .field("lease", &format_args!("{:x}", self.shared.cache.lease()))
            .finish()
    }
}

impl<C: LeasingClient> LeasingKv<C> {
    /// The prefix of the lease keys.
    pub fn prefix(&self) -> &[u8] {
        &self.shared.prefix
    }

    /// The lease of the current session; `None` while a lost one is being
    /// replaced, and after close.
    pub fn session_lease(&self) -> Option<LeaseId> {
        self.shared.sessions.ready()
    }

    /// Whether `key` is owned (its reads are served from the cache).
    pub fn is_cached(&self, key: impl AsRef<[u8]>) -> bool {
        self.shared.cache.owns(key.as_ref())
    }

    /// Stops the background tasks and revokes the session's lease, which
    /// deletes every lease key of this client (other clients' writes no
    /// longer wait for it). Later calls fail with
    /// [`crate::v3::Error::Closed`]; closing again does nothing.
    pub async fn close(&self) -> Result<()> {
        self.shared.close().await
    }
}

/// Closes a [`LeasingKv`] (the close function Go's `NewKV` returns).
pub struct Closer<C> {
    pub(crate) shared: Arc<Shared<C>>,
    pub(crate) _alive: Arc<Alive>,
}

impl<C> std::fmt::Debug for Closer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closer").finish_non_exhaustive()
    }
}

impl<C: LeasingClient> Closer<C> {
    /// [`LeasingKv::close`].
    pub async fn close(self) -> Result<()> {
        self.shared.close().await
    }
}

#[async_trait]
impl<C: LeasingClient> KV for LeasingKv<C> {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        Ok(match op {
            Op::Get(r) => OpResponse::Get(self.shared.get(r).await?),
            Op::Put(r) => OpResponse::Put(self.shared.put(r).await?),
            Op::Delete(r) => OpResponse::Delete(self.shared.delete(r).await?),
            Op::Txn(r) => OpResponse::Txn(self.shared.txn(r).await?),
        })
    }

    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse> {
        self.shared.client.compact(revision, opts).await
    }
}
