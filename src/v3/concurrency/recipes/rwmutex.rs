//! [`RwMutex`]: a readers-writer lock with Go's algorithm and key layout
//! (Go's `recipe.RWMutex`), so Go programs and this SDK share it.

use super::key::new_unique_kv;
use crate::v3::concurrency::ConcurrencyClient as Client;
use crate::v3::concurrency::context::Context;
use crate::v3::concurrency::error::{Error, Result};
use crate::v3::concurrency::key::{header_revision, wait_delete};
use crate::v3::concurrency::session::Session;
use crate::v3::kv::ResponseHeader;
use crate::v3::op::{DeleteOptions, GetOptions};

/// Which side of the lock a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Read,
    Write,
}

/// A readers-writer lock on `<prefix>/` (Go's `recipe.RWMutex`).
///
/// Each locker puts a key of its own, attached to its session's lease:
/// `<prefix>/read/<nanoseconds>` for a reader, `<prefix>/write/<nanoseconds>`
/// for a writer (Go's `newUniqueEphemeralKey`). Order is by revision:
/// - a reader waits until no writer key under `<prefix>/write` is older
///   than its own: readers share the lock, and a reader that queued after
///   a writer waits for that writer (writers are not starved);
/// - a writer waits until no key at all under `<prefix>/` is older than
///   its own.
///
/// Waiting is Go's: find the newest older key that blocks, watch it until
/// it is deleted, look again. The keys die with their session, so a
/// crashed holder releases its side when its lease expires. As with
/// [`crate::v3::concurrency::Mutex`], holding the lock is a belief: fence
/// writes with a compare on [`RwMutex::key`]'s create revision
/// ([`RwMutex::rev`]) where it matters.
///
/// ```no_run
/// use etcd_sdk::v3::concurrency::recipes::RwMutex;
/// use etcd_sdk::v3::concurrency::{Context, Session};
/// use etcd_sdk::v3::Client;
///
/// # async fn demo(client: Client) -> etcd_sdk::v3::concurrency::Result<()> {
/// let session = Session::new(client).await?;
/// let mut rw = RwMutex::new(&session, "/config-lock");
/// rw.read_lock(&Context::background()).await?;
/// // ... read, alongside other readers ...
/// rw.read_unlock(&Context::background()).await?;
/// rw.lock(&Context::background()).await?;
/// // ... write, alone ...
/// rw.unlock(&Context::background()).await?;
/// # Ok(()) }
/// ```
pub struct RwMutex<C> {
    session: Session<C>,
    prefix: String,
    held: Option<(Side, String, i64)>,
}

impl<C> std::fmt::Debug for RwMutex<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RwMutex")
            .field("prefix", &self.prefix)
            .field("held", &self.held)
            .finish()
    }
}

/// Deletes a waiter's key in a task of its own when the waiting future is
/// dropped before it settled.
struct Cleanup<C: Client> {
    client: Option<C>,
    key: String,
}

impl<C: Client> Drop for Cleanup<C> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let key = std::mem::take(&mut self.key);
            tokio::spawn(async move {
                if let Err(e) = client.delete(key.clone(), DeleteOptions::default()).await {
                    tracing::warn!(key, error = %e, "rwmutex: deleting an abandoned key failed");
                }
            });
        }
    }
}

impl<C: Client> RwMutex<C> {
    /// A readers-writer lock on `prefix` (Go's `NewRWMutex`): its keys live
    /// under `prefix + "/"`.
    pub fn new(session: &Session<C>, prefix: impl Into<String>) -> RwMutex<C> {
        RwMutex {
            session: session.clone(),
            prefix: prefix.into() + "/",
            held: None,
        }
    }

    /// Takes a read lock (Go's `RLock`): waits until every writer that
    /// queued before this call has unlocked. Fails, deleting this call's
    /// key, with the context's error when it ends first, or with
    /// [`Error::SessionExpired`] when the session ends first (or its key is
    /// gone by the time it would hold the lock).
    ///
    /// Holding a read lock already, it returns at once; holding the write
    /// lock, it releases it first and queues as a reader (not atomic: a
    /// writer queued meanwhile goes first).
    pub async fn read_lock(&mut self, ctx: &Context) -> Result<()> {
        self.acquire(ctx, Side::Read).await
    }

    /// Takes the write lock (Go's `Lock`): waits until every reader and
    /// writer that queued before this call has unlocked. Fails as
    /// [`RwMutex::read_lock`] does. Holding the write lock already, it
    /// returns at once; holding a read lock, it releases it first and
    /// queues as a writer (not atomic).
    pub async fn lock(&mut self, ctx: &Context) -> Result<()> {
        self.acquire(ctx, Side::Write).await
    }

    /// Releases a read lock (Go's `RUnlock`) by deleting its key; nothing to
    /// do when none is held.
    pub async fn read_unlock(&mut self, ctx: &Context) -> Result<()> {
        self.release(ctx).await
    }

    /// Releases the write lock (Go's `Unlock`) by deleting its key; nothing
    /// to do when none is held.
    pub async fn unlock(&mut self, ctx: &Context) -> Result<()> {
        self.release(ctx).await
    }

    /// The key of the lock held (or being waited for), if any:
    /// `<prefix>/read/<n>` or `<prefix>/write/<n>`.
    pub fn key(&self) -> Option<&str> {
        self.held.as_ref().map(|(_, k, _)| k.as_str())
    }

    /// The create revision of [`RwMutex::key`] (`-1` when none): the order
    /// of this locker in the queue.
    pub fn rev(&self) -> i64 {
        self.held.as_ref().map_or(-1, |(_, _, r)| *r)
    }

    /// Whether the lock held is a write lock.
    pub fn is_writer(&self) -> bool {
        matches!(self.held, Some((Side::Write, _, _)))
    }

    /// The session the lock uses.
    pub fn session(&self) -> &Session<C> {
        &self.session
    }

    async fn release(&mut self, ctx: &Context) -> Result<()> {
        let Some((_, key, _)) = &self.held else {
            return Ok(());
        };
        let client = self.session.client().clone();
        let key = key.clone();
        ctx.run(async { Ok(client.delete(key, DeleteOptions::default()).await?) })
            .await?;
        self.held = None;
        Ok(())
    }

    async fn acquire(&mut self, ctx: &Context, side: Side) -> Result<()> {
        match &self.held {
            Some((s, _, _)) if *s == side => return Ok(()),
            Some(_) => self.release(ctx).await?,
            None => {}
        }
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        let client = self.session.client().clone();
        let (dir, blockers) = match side {
            Side::Read => ("read", format!("{}write", self.prefix)),
            Side::Write => ("write", self.prefix.clone()),
        };
        // Not bounded by `ctx`: a create cut short could leave a key nobody
        // knows the name of (until the session ends).
        let (key, rev) = new_unique_kv(
            &client,
            &format!("{}{dir}", self.prefix),
            "",
            self.session.lease(),
        )
        .await?;
        let mut cleanup = Cleanup {
            client: Some(client.clone()),
            key: key.clone(),
        };
        let session_done = self.session.done();
        let waited = tokio::select! {
            biased;
            e = ctx.done() => Err(e),
            _ = session_done => Err(Error::SessionExpired),
            r = wait_older(&client, &blockers, rev) => r,
        };
        let result = match waited {
            Ok(_) => confirm(&client, &key, rev).await,
            Err(e) => Err(e),
        };
        cleanup.client = None;
        match result {
            Ok(()) => {
                self.held = Some((side, key, rev));
                Ok(())
            }
            Err(e) => {
                if let Err(de) = client.delete(key.clone(), DeleteOptions::default()).await {
                    tracing::warn!(key, error = %de, "rwmutex: deleting a failed waiter's key failed");
                }
                Err(e)
            }
        }
    }
}

/// Waits until no key under `blockers` was written before `rev` (Go's
/// `waitOnLastRev` loop): repeatedly finds the newest such key and waits
/// for its deletion.
async fn wait_older<C: Client>(
    client: &C,
    blockers: &str,
    rev: i64,
) -> Result<Option<ResponseHeader>> {
    if rev <= 1 {
        // Nothing is written before revision 1 (and a bound of 0 is none).
        return Ok(None);
    }
    loop {
        let resp = client
            .get(
                blockers,
                GetOptions {
                    max_mod_revision: rev - 1,
                    ..GetOptions::last_rev()
                },
            )
            .await?;
        let Some(last) = resp.kvs.first() else {
            return Ok(resp.header);
        };
        wait_delete(client, &last.key, header_revision(&resp.header)).await?;
    }
}

/// Every older blocker is gone: the lock is ours only if our key is still
/// the one we created (the session did not expire meanwhile).
async fn confirm<C: Client>(client: &C, key: &str, rev: i64) -> Result<()> {
    let mine = client.get(key, GetOptions::default()).await?;
    match mine.kvs.first() {
        Some(kv) if kv.create_revision == rev => Ok(()),
        _ => Err(Error::SessionExpired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::fake::Fake;
    use crate::v3::kv::KV;
    use std::time::Duration;

    fn bg() -> Context {
        Context::background()
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    #[tokio::test]
    async fn keys_have_go_s_layout_and_readers_share() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut r1 = RwMutex::new(&s1, "rw");
        let mut r2 = RwMutex::new(&s2, "rw");
        r1.read_lock(&bg()).await.unwrap();
        r2.read_lock(&bg()).await.unwrap();
        let k1 = r1.key().unwrap().to_string();
        let tail = k1.strip_prefix("rw/read/").expect("rw/read/<n>");
        assert!(tail.parse::<u128>().is_ok(), "{k1}");
        let kv = fake.kv(&k1).unwrap();
        assert_eq!(kv.lease, s1.lease());
        assert!(kv.value.is_empty());
        assert_eq!(r1.rev(), kv.create_revision);
        assert!(!r1.is_writer());
        // Again: returns at once, same key.
        r1.read_lock(&bg()).await.unwrap();
        assert_eq!(r1.key().unwrap(), k1);
        r1.read_unlock(&bg()).await.unwrap();
        assert!(fake.kv(&k1).is_none());
        assert_eq!(r1.key(), None);
        assert_eq!(r1.rev(), -1);
        r2.read_unlock(&bg()).await.unwrap();
        // Unlocking with nothing held is a no-op.
        r2.unlock(&bg()).await.unwrap();
    }

    #[tokio::test]
    async fn a_writer_waits_for_earlier_readers_and_later_readers_wait_for_it() {
        let fake = Fake::default();
        let sr = Session::new(fake.clone()).await.unwrap();
        let sw = Session::new(fake.clone()).await.unwrap();
        let sl = Session::new(fake.clone()).await.unwrap();
        let mut reader = RwMutex::new(&sr, "rw");
        reader.read_lock(&bg()).await.unwrap();
        let writer = tokio::spawn({
            let sw = sw.clone();
            async move {
                let mut w = RwMutex::new(&sw, "rw");
                w.lock(&bg()).await.map(|()| w)
            }
        });
        settle().await;
        assert!(!writer.is_finished(), "the writer got in beside a reader");
        // A reader queued after the writer waits for it (Go's order).
        let late_reader = tokio::spawn({
            let sl = sl.clone();
            async move {
                let mut r = RwMutex::new(&sl, "rw");
                r.read_lock(&bg()).await.map(|()| r)
            }
        });
        settle().await;
        assert!(
            !late_reader.is_finished(),
            "a reader jumped a queued writer"
        );
        reader.read_unlock(&bg()).await.unwrap();
        let mut w = writer.await.unwrap().unwrap();
        assert!(w.is_writer());
        assert!(w.key().unwrap().starts_with("rw/write/"));
        settle().await;
        assert!(
            !late_reader.is_finished(),
            "a reader got in beside the writer"
        );
        w.unlock(&bg()).await.unwrap();
        late_reader.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn writers_exclude_each_other() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut w1 = RwMutex::new(&s1, "rw");
        w1.lock(&bg()).await.unwrap();
        let w2 = tokio::spawn({
            let s2 = s2.clone();
            async move { RwMutex::new(&s2, "rw").lock(&bg()).await }
        });
        settle().await;
        assert!(!w2.is_finished());
        w1.unlock(&bg()).await.unwrap();
        w2.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn switching_sides_releases_the_held_key_first() {
        let fake = Fake::default();
        let s = Session::new(fake.clone()).await.unwrap();
        let mut rw = RwMutex::new(&s, "rw");
        rw.read_lock(&bg()).await.unwrap();
        let read_key = rw.key().unwrap().to_string();
        // Its own read key does not block its write lock: it is gone.
        rw.lock(&bg()).await.unwrap();
        assert!(rw.is_writer());
        assert!(fake.kv(&read_key).is_none());
        rw.read_lock(&bg()).await.unwrap();
        assert!(!rw.is_writer());
        assert_eq!(
            fake.get("rw/", GetOptions::prefix())
                .await
                .unwrap()
                .kvs
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn a_bounded_or_expired_waiter_leaves_no_key() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut w1 = RwMutex::new(&s1, "rw");
        w1.lock(&bg()).await.unwrap();
        let mut r2 = RwMutex::new(&s2, "rw");
        let e = r2
            .read_lock(&Context::with_timeout(Duration::from_millis(50)))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
        assert_eq!(r2.key(), None);
        let left = fake.get("rw/read", GetOptions::prefix()).await.unwrap();
        assert!(left.kvs.is_empty(), "{:?}", left.kvs);

        // The waiter's session ends while it waits.
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move { RwMutex::new(&s2, "rw").read_lock(&bg()).await }
        });
        settle().await;
        fake.expire(s2.lease());
        let e = waiter.await.unwrap().unwrap_err();
        assert!(matches!(e, Error::SessionExpired), "{e:?}");

        // A dropped waiting future deletes its key in a task of its own.
        let s3 = Session::new(fake.clone()).await.unwrap();
        let waiter = tokio::spawn({
            let s3 = s3.clone();
            async move { RwMutex::new(&s3, "rw").lock(&bg()).await }
        });
        settle().await;
        assert_eq!(
            fake.get("rw/", GetOptions::prefix())
                .await
                .unwrap()
                .kvs
                .len(),
            2
        );
        waiter.abort();
        let _ = waiter.await;
        settle().await;
        let left = fake.get("rw/", GetOptions::prefix()).await.unwrap();
        assert_eq!(left.kvs.len(), 1, "only the holder's key is left");
    }
}
