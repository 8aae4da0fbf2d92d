//! The ownership protocol, on the wire exactly as Go's `clientv3/leasing`
//! runs it, so that Go's leasing clients and these can share a cluster:
//!
//! - **Lease key** of a key `k`: `prefix + k` (nothing between them),
//!   value empty, attached to the owner's session lease.
//! - **Acquire** (a get of a key not owned): one txn
//!   `If(CreateRevision(prefix+k) == 0, Lease(k) == 0)
//!    Then(Get(k), Put(prefix+k, "", lease))
//!    Else(Get(k), Get(prefix+k))`; the key is owned if the txn succeeded
//!   or the lease key found carries this client's lease. Keys attached to a
//!   lease of their own are never owned (they may vanish unseen).
//! - **Write by the owner**: `If(CreateRevision(prefix+k) < rev+1) Then(op)`,
//!   `rev` being the acquire's revision.
//! - **Write by a non-owner** (revoke): `If(CreateRevision(prefix+k) <
//!   rev+1) Then(op) Else(Put(prefix+k, "REVOKE", ignore_lease))`; when the
//!   else branch ran, wait (watch from its revision) until the lease key is
//!   deleted, then try again.
//! - **Owner giving up** (rescind), on seeing a `REVOKE` put on its lease
//!   key: drop the key from the cache, then
//!   `If(CreateRevision(prefix+k) < revoke_rev) Then(Delete(prefix+k))`.
//! - **Range deletes** first revoke every other client's lease key in the
//!   range, then delete under `If(CreateRevision([prefix+begin,
//!   prefix+end)) < max+1)`.
//!
//! One difference from Go: an owner also drops a key whose lease key is
//! deleted by anyone (Go ignores the deletion and keeps serving the key).

use super::cache::Lookup;
use super::eval::serve;
use super::{LeasingClient, REVOKE, Shared};
use crate::v3::compare::{Compare, CompareOp};
use crate::v3::error::{Error, Result};
use crate::v3::kv::{
    DeleteResponse, GetResponse, OpResponse, PutResponse, ResponseHeader, TxnResponse,
};
use crate::v3::lease::LeaseId;
use crate::v3::namespace::prefix_interval;
use crate::v3::op::{GetOptions, Op, PutOptions};
use crate::v3::pb::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};
use crate::v3::pb::mvccpb::KeyValue;
use crate::v3::watch::{EventType, WatchOptions};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// The pause before a background step (a lease key's monitor, a rescind)
/// retries after a failed call.
const RETRY: Duration = Duration::from_millis(100);

pub(crate) fn revision(h: &Option<ResponseHeader>) -> i64 {
    h.as_ref().map_or(0, |h| h.revision)
}

/// A get of the keys in `[key, end)` (`end` empty: the key alone).
pub(crate) fn range_get(key: Vec<u8>, end: Vec<u8>) -> Op {
    Op::Get(RangeRequest {
        key,
        range_end: end,
        ..Default::default()
    })
}

fn invalid(what: &str) -> Error {
    Error::InvalidResponse(format!("leasing: {what}"))
}

impl<C: LeasingClient> Shared<C> {
    /// The lease key of `key`.
    pub(crate) fn lease_key(&self, key: &[u8]) -> Vec<u8> {
        [&self.prefix[..], key].concat()
    }

    /// The session's lease, waiting for a session; [`Error::Closed`] after
    /// close.
    pub(crate) async fn wait_session(&self) -> Result<LeaseId> {
        self.sessions.wait(&self.closed).await
    }

    /// A get (Go's `leasingKV.get`): from the cache when the key is owned;
    /// otherwise from the server, acquiring the key on the way when it can
    /// be cached (a linearizable read of one key at the latest revision,
    /// not given up within the last two seconds).
    pub(crate) async fn get(self: &Arc<Self>, req: RangeRequest) -> Result<GetResponse> {
        if self.closed.is_open() {
            return Err(Error::Closed);
        }
        let Some(lease) = self.sessions.ready() else {
            return self.server_get(req).await;
        };
        match self.cache.get(&req).await {
            Lookup::Hit(r) => return Ok(r),
            Lookup::Bypass => return self.server_get(req).await,
            Lookup::Miss if req.serializable => return self.server_get(req).await,
            Lookup::Miss => {}
        }
        if !self.cache.may_acquire(&req.key) {
            return self.server_get(req).await;
        }
        let (resp, owned) = self.acquire(&req.key, lease).await?;
        if !owned {
            return Ok(serve(&resp, &req));
        }
        let rev = revision(&resp.header);
        let (answer, added) = self.cache.add(&req.key, resp, lease, &req);
        if added {
            self.spawn_monitor(req.key, rev, lease);
        }
        Ok(answer)
    }

    async fn server_get(&self, req: RangeRequest) -> Result<GetResponse> {
        match self.client.do_op(Op::Get(req)).await? {
            OpResponse::Get(r) => Ok(r),
            _ => Err(invalid("expected a get response")),
        }
    }

    /// Tries to take `key`'s lease key with `lease`, reading the key in the
    /// same txn: the key's state, and whether this client owns it now.
    async fn acquire(&self, key: &[u8], lease: LeaseId) -> Result<(GetResponse, bool)> {
        let lkey = self.lease_key(key);
        let resp = self
            .client
            .txn()
            .when([
                Compare::create_revision(lkey.clone(), CompareOp::Equal, 0),
                Compare::lease(key.to_vec(), CompareOp::Equal, 0),
            ])
            .and_then([
                Op::get(key.to_vec(), GetOptions::default()),
                Op::put(
                    lkey.clone(),
                    "",
                    PutOptions {
                        lease,
                        ..Default::default()
                    },
                ),
            ])
            .or_else([
                Op::get(key.to_vec(), GetOptions::default()),
                Op::get(lkey, GetOptions::default()),
            ])
            .commit()
            .await?;
        let owned = resp.succeeded
            || matches!(resp.responses.get(1), Some(OpResponse::Get(g))
                if g.kvs.first().is_some_and(|kv| kv.lease == lease));
        let mut get = match resp.responses.into_iter().next() {
            Some(OpResponse::Get(g)) => g,
            _ => return Err(invalid("the acquire txn did not read the key")),
        };
        get.header = resp.header;
        Ok((get, owned))
    }

    /// Watches `key`'s lease key (acquired at `rev` with `lease`) in a task
    /// of its own until this client gives the key up or is closed.
    fn spawn_monitor(self: &Arc<Self>, key: Vec<u8>, rev: i64, lease: LeaseId) {
        let shared = self.clone();
        tokio::spawn(async move {
            let closed = shared.closed.clone();
            tokio::select! {
                biased;
                _ = closed.wait() => {}
                _ = shared.monitor(&key, rev, lease) => {}
            }
        });
    }

    /// Go's `monitorLease`: waits for a `REVOKE` on the lease key (then
    /// rescinds) or its deletion (then forgets the key). A watch that ends
    /// (compaction, error) is replaced after re-reading the lease key.
    async fn monitor(&self, key: &[u8], mut rev: i64, lease: LeaseId) {
        let lkey = self.lease_key(key);
        loop {
            if rev == 0 {
                let r = match self.client.get(lkey.clone(), GetOptions::default()).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::debug!(error = %e, "leasing: reading a lease key failed; retrying");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                };
                rev = revision(&r.header);
                match r.kvs.first() {
                    Some(kv) if kv.lease == lease && kv.value != REVOKE => {}
                    Some(kv) if kv.lease == lease => {
                        self.rescind(key, rev).await;
                        return;
                    }
                    // Gone, or another client's now: nothing of ours to
                    // delete.
                    _ => {
                        self.cache.evict_upto(key, rev);
                        return;
                    }
                }
            }
            let opts = WatchOptions {
                revision: rev + 1,
                ..Default::default()
            };
            let mut events = match self.client.watch(lkey.clone(), opts).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!(error = %e, "leasing: watching a lease key failed; retrying");
                    tokio::time::sleep(RETRY).await;
                    rev = 0;
                    continue;
                }
            };
            while let Some(Ok(resp)) = events.next().await {
                for ev in resp.events {
                    if ev.kind == EventType::Delete {
                        self.cache.evict_upto(key, ev.kv.mod_revision);
                        return;
                    }
                    if ev.kv.value != REVOKE {
                        continue;
                    }
                    if ev.kv.lease == lease {
                        self.rescind(key, ev.kv.mod_revision).await;
                    } else {
                        self.cache.evict_upto(key, ev.kv.mod_revision);
                    }
                    return;
                }
            }
            // The watch ended (compaction, a closed client): look again
            // after a pause.
            tokio::time::sleep(RETRY).await;
            rev = 0;
        }
    }

    /// Gives `key` up after a revoke at `rev` (Go's `rescind`): unless a
    /// newer ownership replaced it, drops it from the cache and deletes the
    /// lease key (if created before the revoke), retrying until done.
    async fn rescind(&self, key: &[u8], rev: i64) {
        if !self.cache.evict_upto(key, rev) {
            return;
        }
        let lkey = self.lease_key(key);
        loop {
            let done = self
                .client
                .txn()
                .when([Compare::create_revision(lkey.clone(), CompareOp::Less, rev)])
                .and_then([Op::delete(lkey.clone(), Default::default())])
                .commit()
                .await;
            match done {
                Ok(_) => return,
                Err(e) => {
                    tracing::debug!(error = %e, "leasing: deleting a lease key failed; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }

    /// Waits until `key`'s lease key is deleted after revision `rev` (Go's
    /// `waitRescind`). A watch that ends early returns too: the caller tries
    /// its write again and finds out.
    async fn wait_rescind(&self, key: &[u8], rev: i64) -> Result<()> {
        let opts = WatchOptions {
            revision: rev + 1,
            ..Default::default()
        };
        let mut events = self.client.watch(self.lease_key(key), opts).await?;
        while let Some(Ok(resp)) = events.next().await {
            if resp.events.iter().any(|e| e.kind == EventType::Delete) {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Runs `op` (a write of `key`) unless another client owns `key`; then
    /// marks its lease key `REVOKE` and waits for the owner to let go (Go's
    /// `revoke`). The txn's answer: succeeded when `op` ran.
    async fn revoke(&self, key: &[u8], op: Op) -> Result<TxnResponse> {
        let rev = self.cache.rev(key);
        let lkey = self.lease_key(key);
        let resp = self
            .client
            .txn()
            .when([Compare::create_revision(
                lkey.clone(),
                CompareOp::Less,
                rev + 1,
            )])
            .and_then([op])
            .or_else([Op::put(
                lkey,
                REVOKE,
                PutOptions {
                    ignore_lease: true,
                    ..Default::default()
                },
            )])
            .commit()
            .await?;
        if !resp.succeeded {
            self.wait_rescind(key, revision(&resp.header)).await?;
        }
        Ok(resp)
    }

    /// Revokes every other client's lease key for the keys in `[begin,
    /// end)` (Go's `revokeRange`); the highest create revision among the
    /// lease keys found.
    pub(crate) async fn revoke_range(&self, begin: &[u8], end: &[u8]) -> Result<i64> {
        let (lkey, lend) = prefix_interval(&self.prefix, begin, end);
        match self.client.do_op(range_get(lkey, lend)).await? {
            OpResponse::Get(r) => self.revoke_lease_kvs(&r.kvs).await,
            _ => Err(invalid("expected a get response")),
        }
    }

    /// Revokes the lease keys `kvs` that are not this client's (Go's
    /// `revokeLeaseKvs`); the highest create revision among them.
    pub(crate) async fn revoke_lease_kvs(&self, kvs: &[KeyValue]) -> Result<i64> {
        let lease = self.cache.lease();
        let mut max = 0;
        for kv in kvs {
            max = max.max(kv.create_revision);
            if lease != 0 && kv.lease == lease {
                continue;
            }
            let Some(key) = kv.key.strip_prefix(&self.prefix[..]) else {
                continue;
            };
            self.revoke(key, Op::get(key.to_vec(), GetOptions::default()))
                .await?;
        }
        Ok(max)
    }

    /// A put or a single-key delete (Go's `put` and `delete`): written
    /// through under the lease key's guard when this client owns the key,
    /// through [`Shared::revoke`] otherwise; the cache follows.
    async fn write(&self, key: &[u8], op: Op) -> Result<TxnResponse> {
        self.wait_session().await?;
        loop {
            let (guard, rev) = self.cache.lock(key);
            let mut done = None;
            if guard.is_some() {
                let guarded = self
                    .client
                    .txn()
                    .when([Compare::create_revision(
                        self.lease_key(key),
                        CompareOp::Less,
                        rev + 1,
                    )])
                    .and_then([op.clone()])
                    .commit()
                    .await;
                match guarded {
                    Ok(r) if r.succeeded => done = Some(r),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "leasing: owner write failed; revoking");
                        self.cache.evict(key);
                    }
                }
            }
            let resp = match done {
                Some(r) => r,
                None => match self.revoke(key, op.clone()).await {
                    Ok(r) => r,
                    Err(e) => {
                        // Whether it was applied is unknown.
                        self.cache.evict(key);
                        return Err(e);
                    }
                },
            };
            if resp.succeeded {
                self.cache.apply(std::slice::from_ref(&op), &resp.header);
                drop(guard);
                return Ok(resp);
            }
        }
    }

    /// A put (Go's `leasingKV.put`).
    pub(crate) async fn put(&self, req: PutRequest) -> Result<PutResponse> {
        let key = req.key.clone();
        let resp = self.write(&key, Op::Put(req)).await?;
        match resp.responses.into_iter().next() {
            Some(OpResponse::Put(mut p)) => {
                p.header = resp.header;
                Ok(p)
            }
            _ => Err(invalid("expected a put response")),
        }
    }

    /// A delete (Go's `leasingKV.delete`): one key through
    /// [`Shared::write`], a range through [`Shared::delete_range`].
    pub(crate) async fn delete(&self, req: DeleteRangeRequest) -> Result<DeleteResponse> {
        if !req.range_end.is_empty() {
            self.wait_session().await?;
            return self.delete_range(req).await;
        }
        let key = req.key.clone();
        let resp = self.write(&key, Op::Delete(req)).await?;
        match resp.responses.into_iter().next() {
            Some(OpResponse::Delete(mut d)) => {
                d.header = resp.header;
                Ok(d)
            }
            _ => Err(invalid("expected a delete response")),
        }
    }

    /// A range delete (Go's `deleteRange`): revoke the other owners' lease
    /// keys in the range, then delete guarded by the highest lease key
    /// create revision seen (a lease key taken meanwhile fails the guard and
    /// the whole thing is tried again).
    async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteResponse> {
        let (lkey, lend) = prefix_interval(&self.prefix, &req.key, &req.range_end);
        loop {
            let max = self.revoke_range(&req.key, &req.range_end).await?;
            let guards = self.cache.lock_range(&req.key, &req.range_end);
            let resp = self
                .client
                .txn()
                .when([
                    Compare::create_revision(lkey.clone(), CompareOp::Less, max + 1)
                        .with_range(lend.clone()),
                ])
                .and_then([Op::Delete(req.clone())])
                .commit()
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    self.cache.evict_range(&req.key, &req.range_end);
                    return Err(e);
                }
            };
            if !resp.succeeded {
                continue;
            }
            self.cache.apply(&[Op::Delete(req.clone())], &resp.header);
            drop(guards);
            return match resp.responses.into_iter().next() {
                Some(OpResponse::Delete(mut d)) => {
                    d.header = resp.header;
                    Ok(d)
                }
                _ => Err(invalid("expected a delete response")),
            };
        }
    }
}
