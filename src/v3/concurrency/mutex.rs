//! [`Mutex`]: a distributed lock with Go's algorithm and key layout, so Go
//! programs, `etcdctl lock` and this SDK exclude one another.

use super::ConcurrencyClient as Client;
use super::context::Context;
use super::error::{Error, Result};
use super::key::{header_revision, wait_deletes};
use super::session::Session;
use crate::v3::compare::{Compare, CompareOp};
use crate::v3::kv::{OpResponse, ResponseHeader, TxnResponse};
use crate::v3::op::{DeleteOptions, GetOptions, Op, PutOptions};

/// The key a session's lock or campaign takes under `prefix` (which ends
/// in `/`): the prefix and the lease ID in lowercase hexadecimal, without
/// padding (Go's `fmt.Sprintf("%s%x", pfx, lease)`).
pub fn session_key(prefix: &str, lease: i64) -> String {
    format!("{prefix}{lease:x}")
}

/// A lock on `<prefix>/` (Go's `concurrency.Mutex`).
///
/// Each contender puts `<prefix>/<lease in hex>` with its session's lease;
/// the key with the lowest create revision holds the lock, and every other
/// contender waits (with a watch) for the deletion of the key created just
/// before its own. Keys die with their session, so a crashed holder
/// releases the lock when its lease expires.
///
/// Holding the lock is a belief, not a guarantee: the session can expire
/// while the holder works. Guard every write the lock protects with
/// [`Mutex::is_owner`] (fencing):
///
/// ```no_run
/// use etcd_sdk::v3::concurrency::{Context, Mutex, Session};
/// use etcd_sdk::v3::{Client, KV, Op, PutOptions};
///
/// # async fn demo(client: Client) -> etcd_sdk::v3::concurrency::Result<()> {
/// let session = Session::new(client.clone()).await?;
/// let mut m = Mutex::new(&session, "/my-lock");
/// m.lock(&Context::background()).await?;
/// // Applied only while this session still holds the lock.
/// let resp = client
///     .txn()
///     .when([m.is_owner()])
///     .and_then([Op::put("/guarded", "written under the lock", PutOptions::default())])
///     .commit()
///     .await?;
/// if !resp.succeeded {
///     // The lock was lost (the session expired): nothing was written.
/// }
/// m.unlock(&Context::background()).await?;
/// # Ok(()) }
/// ```
pub struct Mutex<C> {
    session: Session<C>,
    prefix: String,
    my_key: String,
    my_rev: i64,
    header: Option<ResponseHeader>,
}

impl<C> std::fmt::Debug for Mutex<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutex")
            .field("prefix", &self.prefix)
            .field("key", &self.my_key)
            .field("rev", &self.my_rev)
            .finish()
    }
}

/// Deletes a waiter's key in a task of its own when the waiting future is
/// dropped before it settled.
struct Cleanup<C: Client> {
    client: Option<C>,
    key: String,
}

impl<C: Client> Cleanup<C> {
    fn disarm(&mut self) {
        self.client = None;
    }
}

impl<C: Client> Drop for Cleanup<C> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let key = std::mem::take(&mut self.key);
            tokio::spawn(async move {
                if let Err(e) = client.delete(key.clone(), DeleteOptions::default()).await {
                    tracing::warn!(key, error = %e, "concurrency: deleting an abandoned key failed");
                }
            });
        }
    }
}

impl<C: Client> Mutex<C> {
    /// A mutex on `prefix` (Go's `NewMutex`): its keys live under
    /// `prefix + "/"`.
    pub fn new(session: &Session<C>, prefix: impl Into<String>) -> Mutex<C> {
        Mutex {
            session: session.clone(),
            prefix: prefix.into() + "/",
            my_key: String::new(),
            my_rev: -1,
            header: None,
        }
    }

    /// Puts this session's key unless it exists, and reads the holder, in
    /// one txn (Go's `tryAcquire`). Returns whether this session holds it.
    async fn try_acquire(&mut self) -> Result<(bool, TxnResponse)> {
        let client = self.session.client();
        let lease = self.session.lease();
        self.my_key = session_key(&self.prefix, lease);
        let key = self.my_key.clone();
        let resp = client
            .txn()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([
                Op::put(
                    key.clone(),
                    "",
                    PutOptions {
                        lease,
                        ..Default::default()
                    },
                ),
                Op::get(self.prefix.clone(), GetOptions::first_create()),
            ])
            .or_else([
                Op::get(key, GetOptions::default()),
                Op::get(self.prefix.clone(), GetOptions::first_create()),
            ])
            .commit()
            .await?;
        self.my_rev = if resp.succeeded {
            header_revision(&resp.header)
        } else {
            match resp.responses.first() {
                Some(OpResponse::Get(g)) if !g.kvs.is_empty() => g.kvs[0].create_revision,
                _ => return Err(bad_txn("the txn did not return the existing lock key")),
            }
        };
        let owner_rev = match resp.responses.get(1) {
            Some(OpResponse::Get(g)) => g.kvs.first().map(|kv| kv.create_revision),
            _ => return Err(bad_txn("the txn did not return the lock holder")),
        };
        Ok((owner_rev.is_none_or(|r| r == self.my_rev), resp))
    }

    fn reset(&mut self) {
        self.my_key = "\0".to_string();
        self.my_rev = -1;
    }

    /// Waits until this session holds the lock (Go's `Lock`), or fails:
    /// - with `ctx`'s error when it ends first;
    /// - with [`Error::SessionExpired`] when the session ends first, or when
    ///   its key is gone by the time every earlier key is (etcd #11408: a
    ///   waiter whose lease expired never believes it holds the lock).
    ///
    /// On failure this session's key is deleted, so it does not hold up the
    /// waiters after it; dropping the future does the same in a task of its
    /// own. Locking again with the same session while holding the lock
    /// succeeds at once and keeps the key.
    pub async fn lock(&mut self, ctx: &Context) -> Result<()> {
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        let client = self.session.client().clone();
        let mut cleanup = Cleanup {
            client: Some(client.clone()),
            key: session_key(&self.prefix, self.session.lease()),
        };
        let acquired = tokio::select! {
            biased;
            e = ctx.done() => Err(e),
            r = self.try_acquire() => r,
        };
        let (held, resp) = match acquired {
            Ok(r) => r,
            Err(e) => {
                cleanup.disarm();
                self.delete_own_key(&client, &cleanup.key).await;
                return Err(e);
            }
        };
        if held {
            cleanup.disarm();
            self.header = resp.header;
            return Ok(());
        }
        let session_done = self.session.done();
        let waited = tokio::select! {
            biased;
            e = ctx.done() => Err(e),
            _ = session_done => Err(Error::SessionExpired),
            r = wait_deletes(&client, &self.prefix, self.my_rev - 1) => r,
        };
        let result = match waited {
            Ok(header) => self.confirm(&client, header).await,
            Err(e) => Err(e),
        };
        cleanup.disarm();
        if result.is_err() {
            self.delete_own_key(&client, &cleanup.key).await;
        }
        result
    }

    /// Every earlier key is gone: the lock is ours only if our key is still
    /// the one we created (the session did not expire meanwhile).
    async fn confirm(&mut self, client: &C, header: Option<ResponseHeader>) -> Result<()> {
        let mine = client
            .get(self.my_key.clone(), GetOptions::default())
            .await?;
        match mine.kvs.first() {
            Some(kv) if kv.create_revision == self.my_rev => {
                self.header = header;
                Ok(())
            }
            _ => Err(Error::SessionExpired),
        }
    }

    async fn delete_own_key(&mut self, client: &C, key: &str) {
        if let Err(e) = client.delete(key, DeleteOptions::default()).await {
            tracing::warn!(key, error = %e, "concurrency: deleting a failed waiter's key failed");
        }
        self.reset();
    }

    /// Takes the lock if nobody holds it, and otherwise fails at once with
    /// [`Error::Locked`] after deleting this session's key (Go 3.5's
    /// `TryLock`).
    pub async fn try_lock(&mut self, ctx: &Context) -> Result<()> {
        let (held, resp) = ctx.run(self.try_acquire()).await?;
        if held {
            self.header = resp.header;
            return Ok(());
        }
        let client = self.session.client().clone();
        let key = self.my_key.clone();
        ctx.run(async { Ok(client.delete(key, DeleteOptions::default()).await?) })
            .await?;
        self.reset();
        Err(Error::Locked)
    }

    /// Releases the lock by deleting this session's key (Go's `Unlock`).
    pub async fn unlock(&mut self, ctx: &Context) -> Result<()> {
        let client = self.session.client().clone();
        let key = self.my_key.clone();
        ctx.run(async { Ok(client.delete(key, DeleteOptions::default()).await?) })
            .await?;
        self.reset();
        Ok(())
    }

    /// A compare that holds only while this session holds the lock (Go's
    /// `IsOwner`): its key still has the create revision it was acquired
    /// with. Put it in the `when` of every write the lock guards.
    pub fn is_owner(&self) -> Compare {
        Compare::create_revision(self.my_key.clone(), CompareOp::Equal, self.my_rev)
    }

    /// This session's key (Go's `Key`): `<prefix>/<lease hex>` once locking
    /// began, `"\0"` after an unlock, empty before.
    pub fn key(&self) -> &str {
        &self.my_key
    }

    /// The create revision of this session's key (`-1` when none).
    pub fn rev(&self) -> i64 {
        self.my_rev
    }

    /// The header of the response that granted the lock (Go's `Header`).
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.header.as_ref()
    }

    /// The session the mutex uses.
    pub fn session(&self) -> &Session<C> {
        &self.session
    }
}

fn bad_txn(what: &str) -> Error {
    Error::Client(crate::v3::Error::InvalidResponse(what.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::fake::Fake;
    use crate::v3::pb::etcdserverpb::{compare, request_op};
    use std::time::Duration;

    #[tokio::test]
    async fn the_key_is_the_prefix_and_the_lease_in_lowercase_hex() {
        assert_eq!(
            session_key("mylock/", 0x6edba1fb4ae64ae8),
            "mylock/6edba1fb4ae64ae8"
        );
        assert_eq!(session_key("p/", 0xab), "p/ab");

        let fake = Fake::default();
        let s = Session::new(fake.clone()).await.unwrap();
        let mut m = Mutex::new(&s, "mylock");
        fake.clear_ops();
        m.lock(&Context::background()).await.unwrap();
        let key = format!("mylock/{:x}", s.lease());
        assert_eq!(m.key(), key);
        assert_eq!(m.rev(), fake.kv(&key).unwrap().create_revision);
        assert_eq!(fake.kv(&key).unwrap().lease, s.lease());
        assert!(fake.kv(&key).unwrap().value.is_empty());
        // One txn: create-if-absent, then the first-created holder.
        let ops = fake.ops();
        let [Op::Txn(t)] = &ops[..] else {
            panic!("{ops:?}")
        };
        assert_eq!(
            t.compare[0].target_union,
            Some(compare::TargetUnion::CreateRevision(0))
        );
        let Some(request_op::Request::RequestRange(owner)) = &t.success[1].request else {
            panic!("{t:?}")
        };
        assert_eq!(owner.key, b"mylock/");
        assert_eq!(owner.range_end, b"mylock0");
        // Sort by create revision (2), ascending (1), limit 1.
        assert_eq!(
            (owner.sort_target, owner.sort_order, owner.limit),
            (2, 1, 1)
        );
        let owner_cmp = m.is_owner().into_pb();
        assert_eq!(owner_cmp.key, key.as_bytes());
        assert_eq!(
            owner_cmp.target_union,
            Some(compare::TargetUnion::CreateRevision(m.rev()))
        );
        assert_eq!(m.header().unwrap().revision, m.rev());

        // Locking again with the same session reuses the key.
        m.lock(&Context::background()).await.unwrap();
        assert_eq!(m.rev(), fake.kv(&key).unwrap().create_revision);
        m.unlock(&Context::background()).await.unwrap();
        assert!(fake.kv(&key).is_none());
        assert_eq!(m.key(), "\0");
        assert_eq!(m.rev(), -1);
    }

    #[tokio::test]
    async fn try_lock_fails_with_locked_and_removes_its_key() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut m1 = Mutex::new(&s1, "l");
        let mut m2 = Mutex::new(&s2, "l");
        m1.try_lock(&Context::background()).await.unwrap();
        let e = m2.try_lock(&Context::background()).await.unwrap_err();
        assert!(matches!(e, Error::Locked), "{e:?}");
        assert!(fake.kv(&format!("l/{:x}", s2.lease())).is_none());
        m1.unlock(&Context::background()).await.unwrap();
        m2.try_lock(&Context::background()).await.unwrap();
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_the_holder_unlocks() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut m1 = Mutex::new(&s1, "l");
        m1.lock(&Context::background()).await.unwrap();
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move {
                let mut m2 = Mutex::new(&s2, "l");
                m2.lock(&Context::background()).await.map(|()| m2.rev())
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the waiter got a held lock");
        m1.unlock(&Context::background()).await.unwrap();
        let rev = waiter.await.unwrap().unwrap();
        assert_eq!(
            fake.kv(&format!("l/{:x}", s2.lease()))
                .unwrap()
                .create_revision,
            rev
        );
    }

    #[tokio::test]
    async fn a_cancelled_waiter_deletes_its_key() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut m1 = Mutex::new(&s1, "l");
        m1.lock(&Context::background()).await.unwrap();
        let mut m2 = Mutex::new(&s2, "l");
        let e = m2
            .lock(&Context::with_timeout(Duration::from_millis(50)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
        assert!(fake.kv(&format!("l/{:x}", s2.lease())).is_none());

        let (ctx, cancel) = Context::background().with_cancel();
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move { Mutex::new(&s2, "l").lock(&ctx).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(fake.kv(&format!("l/{:x}", s2.lease())).is_some());
        cancel.cancel();
        assert!(matches!(waiter.await.unwrap(), Err(Error::Canceled)));
        assert!(fake.kv(&format!("l/{:x}", s2.lease())).is_none());

        // A dropped waiting future deletes its key in a task of its own.
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move { Mutex::new(&s2, "l").lock(&Context::background()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiter.abort();
        let _ = waiter.await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(fake.kv(&format!("l/{:x}", s2.lease())).is_none());
    }

    #[tokio::test]
    async fn a_waiter_whose_session_expired_does_not_get_the_lock() {
        // etcd #11408: the waiter's lease expires while it waits; when the
        // holder goes, the waiter must not believe it holds the lock.
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut m1 = Mutex::new(&s1, "l");
        m1.lock(&Context::background()).await.unwrap();
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move { Mutex::new(&s2, "l").lock(&Context::background()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        fake.expire(s2.lease());
        m1.unlock(&Context::background()).await.unwrap();
        let e = waiter.await.unwrap().unwrap_err();
        assert!(matches!(e, Error::SessionExpired), "{e:?}");
    }

    #[tokio::test]
    async fn a_failed_txn_is_the_client_s_error() {
        let fake = Fake::default();
        let s = Session::new(fake.clone()).await.unwrap();
        fake.fail_next_txns(1);
        let e = Mutex::new(&s, "l")
            .lock(&Context::background())
            .await
            .unwrap_err();
        assert_eq!(e.client().map(|c| c.code()), Some(tonic::Code::Unavailable));
        assert!(fake.kv(&format!("l/{:x}", s.lease())).is_none());
    }
}
