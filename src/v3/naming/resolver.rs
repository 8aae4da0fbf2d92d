//! [`Resolver`]: registers a target's endpoints and reads them back, as Go
//! 3.4's `naming.GRPCResolver` does.

use super::discover::Discovery;
use super::stream::UpdateStream;
use super::update::{Operation, Update};
use crate::v3::error::Result;
use crate::v3::kv::KV;
use crate::v3::lease::LeaseId;
use crate::v3::op::{DeleteOptions, GetOptions, PutOptions};
use crate::v3::watch::{WatchOptions, Watcher};
use serde_json::Value;

/// The key an endpoint of `target` is stored at: `<target>/<addr>` (Go's
/// `target + "/" + nm.Addr`).
///
/// ```
/// use etcd_sdk::v3::naming::endpoint_key;
/// assert_eq!(endpoint_key("my-service", "10.0.0.1:80"), "my-service/10.0.0.1:80");
/// ```
pub fn endpoint_key(target: &str, addr: &str) -> String {
    format!("{target}/{addr}")
}

/// The prefix every endpoint of `target` is under: `<target>/`.
pub(crate) fn target_prefix(target: &str) -> String {
    format!("{target}/")
}

/// An endpoint registry over a client (Go 3.4's `naming.GRPCResolver`):
/// services register their addresses under a target name, clients list
/// them and watch them change. The keys and values are Go's, so Go
/// programs using `GRPCResolver` (or grpc-go's etcd resolver of the same
/// release line) and this SDK share one registry.
///
/// Generic over the client traits: a [`crate::v3::Client`], or a wrapper
/// of one (e.g. [`crate::v3::namespace::Kv`] with its watcher) to keep the
/// registry under a prefix.
#[derive(Clone, Debug)]
pub struct Resolver<C> {
    client: C,
}

impl<C> Resolver<C>
where
    C: KV + Watcher,
{
    /// A registry over `client`.
    pub fn new(client: C) -> Resolver<C> {
        Resolver { client }
    }

    /// The client it uses.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// Applies one update to `target` (Go's `GRPCResolver.Update`): an add
    /// puts the update's JSON at [`endpoint_key`] (attached to `lease`
    /// unless it is 0, so the endpoint goes when the lease does); a delete
    /// deletes that key.
    pub async fn update(&self, target: &str, update: &Update, lease: LeaseId) -> Result<()> {
        let key = endpoint_key(target, &update.addr);
        match update.op {
            Operation::Add => {
                let opts = PutOptions {
                    lease,
                    ..Default::default()
                };
                self.client.put(key, update.to_json(), opts).await?;
            }
            Operation::Delete => {
                self.client.delete(key, DeleteOptions::default()).await?;
            }
        }
        Ok(())
    }

    /// Registers `addr` (with `metadata`, `Value::Null` for none) as an
    /// endpoint of `target`, attached to `lease` (0: none). Registering
    /// again replaces the metadata.
    pub async fn add_endpoint(
        &self,
        target: &str,
        addr: &str,
        metadata: Value,
        lease: LeaseId,
    ) -> Result<()> {
        self.update(target, &Update::add(addr, metadata), lease)
            .await
    }

    /// Removes `addr` from `target`'s endpoints.
    pub async fn delete_endpoint(&self, target: &str, addr: &str) -> Result<()> {
        self.update(target, &Update::delete(addr), 0).await
    }

    /// The endpoints of `target` now, in key order, each as an
    /// [`Operation::Add`]. The read is serializable, as Go's (it works on a
    /// member cut off from the quorum, and may be that member's stale view);
    /// values that are not updates are skipped, as Go skips them.
    pub async fn list(&self, target: &str) -> Result<Vec<Update>> {
        Ok(self.list_at(target).await?.0)
    }

    /// [`Resolver::list`] and the revision it read at.
    async fn list_at(&self, target: &str) -> Result<(Vec<Update>, Vec<Vec<u8>>, i64)> {
        let resp = self
            .client
            .get(
                target_prefix(target),
                GetOptions {
                    serializable: true,
                    ..GetOptions::prefix()
                },
            )
            .await?;
        let mut updates = Vec::with_capacity(resp.kvs.len());
        let mut keys = Vec::with_capacity(resp.kvs.len());
        for kv in resp.kvs {
            match Update::from_json(&kv.value) {
                Ok(mut u) => {
                    u.op = Operation::Add;
                    updates.push(u);
                    keys.push(kv.key);
                }
                Err(e) => tracing::warn!(
                    key = %String::from_utf8_lossy(&kv.key),
                    error = %e,
                    "naming: skipping a value that is not an endpoint"
                ),
            }
        }
        let rev = resp.header.map_or(0, |h| h.revision);
        Ok((updates, keys, rev))
    }

    /// Watches `target`'s endpoints (Go's `Resolve(target)` then `Next()`):
    /// the stream yields the current set first (one batch of adds, possibly
    /// empty), then a batch per change: an add when an endpoint is
    /// registered (or re-registered), a delete when its key is deleted or
    /// its lease expires or is revoked. See [`UpdateStream`] for how it
    /// ends.
    pub async fn watch(&self, target: &str) -> Result<UpdateStream> {
        let (updates, keys, rev) = self.list_at(target).await?;
        let events = self
            .client
            .watch(
                target_prefix(target),
                WatchOptions {
                    revision: rev + 1,
                    ..WatchOptions::prefix()
                },
            )
            .await?;
        Ok(UpdateStream::new(updates, keys, events))
    }

    /// [`Resolver::watch`] as a [`tower::discover::Discover`]: each
    /// registered address becomes a service made by `make` and is inserted
    /// under its address; a deleted one is removed. Feed it to a tower
    /// balancer (e.g. `tower::balance::p2c::Balance`). See [`Discovery`].
    pub async fn discover<S, F>(&self, target: &str, make: F) -> Result<Discovery<S, F>>
    where
        F: FnMut(&Update) -> S,
    {
        Ok(Discovery::new(self.watch(target).await?, make))
    }
}
