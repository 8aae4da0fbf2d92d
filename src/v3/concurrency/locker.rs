//! [`Locker`]: a lock handle over a session and a prefix (Go's
//! `concurrency.NewLocker`), with errors returned instead of panics, and a
//! [`LockGuard`] that unlocks when dropped.

use super::ConcurrencyClient as Client;
use super::context::Context;
use super::error::Result;
use super::mutex::Mutex;
use super::session::Session;
use crate::v3::compare::Compare;
use crate::v3::op::DeleteOptions;
use tokio::task::JoinHandle;

/// A lock on `<prefix>/` for one session (Go's `NewLocker`, a
/// `sync.Locker` over a [`Mutex`]): [`Locker::lock`] and
/// [`Locker::unlock`] take no context (waits are bounded by the one given
/// to [`Locker::with_context`], none by default, as Go's uses the client's)
/// and return errors where Go's panics.
///
/// The keys and the algorithm are the [`Mutex`]'s, so a `Locker` excludes
/// Go lockers, Go mutexes and `etcdctl lock` on the same name.
///
/// [`Locker::guard`] locks and returns a [`LockGuard`] that unlocks when
/// dropped:
///
/// ```no_run
/// use etcd_sdk::v3::concurrency::{Locker, Session};
/// use etcd_sdk::v3::Client;
///
/// # async fn demo(client: Client) -> etcd_sdk::v3::concurrency::Result<()> {
/// let session = Session::new(client).await?;
/// let mut locker = Locker::new(&session, "/jobs/nightly");
/// {
///     let _held = locker.guard().await?;
///     // ... the critical section; `?` or a panic in here still unlocks ...
/// }
/// // The next lock waits for that unlock to be done.
/// let held = locker.guard().await?;
/// held.unlock().await?; // an explicit unlock reports its error
/// # Ok(()) }
/// ```
///
/// # Unlocking on drop, and what it cannot do
///
/// `Drop` cannot wait, so a dropped [`LockGuard`] deletes the lock key in a
/// task of its own (on the current tokio runtime) and:
/// - the lock is released shortly after the drop, not at it. This locker's
///   next [`Locker::lock`] waits for that delete first, so the handle never
///   re-takes its own key while the delete is in flight (which would leave
///   it believing it holds a lock whose key is being deleted); other
///   sessions get the lock once the delete is applied, as with any unlock;
/// - an error of that delete is only logged. If it fails the key stays until
///   the session's lease ends (its TTL after the session is closed or its
///   process dies), and nobody else gets the lock until then; use
///   [`LockGuard::unlock`] to see the error and retry;
/// - dropped where no tokio runtime runs, it cannot delete anything: the key
///   stays until the lease ends (a warning is logged).
///
/// Two lock handles (this or [`Mutex`]) on one session and one prefix share
/// a key, as in Go: they do not exclude each other.
pub struct Locker<C: Client> {
    mutex: Mutex<C>,
    ctx: Context,
    /// The delete a dropped guard started; awaited before the next lock.
    pending_unlock: Option<JoinHandle<()>>,
}

impl<C: Client> std::fmt::Debug for Locker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locker")
            .field("mutex", &self.mutex)
            .field("ctx", &self.ctx)
            .field("unlocking", &self.pending_unlock.is_some())
            .finish()
    }
}

impl<C: Client> Locker<C> {
    /// A locker on `prefix` for `session` (Go's `NewLocker(s, pfx)`).
    pub fn new(session: &Session<C>, prefix: impl Into<String>) -> Locker<C> {
        Locker {
            mutex: Mutex::new(session, prefix),
            ctx: Context::background(),
            pending_unlock: None,
        }
    }

    /// Bounds every wait of this locker by `ctx` (a deadline, a
    /// cancellation); default: unbounded, as Go's.
    pub fn with_context(mut self, ctx: Context) -> Locker<C> {
        self.ctx = ctx;
        self
    }

    /// Waits until this session holds the lock ([`Mutex::lock`]); fails with
    /// the client's error, [`Error::SessionExpired`], or the context's
    /// error, and then holds nothing (its key is deleted).
    pub async fn lock(&mut self) -> Result<()> {
        self.finish_pending_unlock().await;
        self.mutex.lock(&self.ctx).await
    }

    /// Releases the lock ([`Mutex::unlock`]: deletes this session's key).
    pub async fn unlock(&mut self) -> Result<()> {
        self.finish_pending_unlock().await;
        self.mutex.unlock(&self.ctx).await
    }

    /// Locks and returns a guard that unlocks when dropped (see the type's
    /// docs for what an unlock on drop can and cannot do).
    pub async fn guard(&mut self) -> Result<LockGuard<'_, C>> {
        self.lock().await?;
        Ok(LockGuard {
            locker: self,
            armed: true,
        })
    }

    /// A compare that holds only while this session holds the lock
    /// ([`Mutex::is_owner`]): fence the writes the lock guards with it.
    pub fn is_owner(&self) -> Compare {
        self.mutex.is_owner()
    }

    /// The mutex under it (its key, revision and header).
    pub fn mutex(&self) -> &Mutex<C> {
        &self.mutex
    }

    async fn finish_pending_unlock(&mut self) {
        if let Some(task) = self.pending_unlock.take() {
            // The task logs its own failure; a panic in it is a lost delete,
            // which the lease bounds.
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "locker: the unlock task failed");
            }
        }
    }

    /// What a dropped guard does: delete the key in a task, remembered so the
    /// next lock waits for it.
    fn unlock_in_background(&mut self) {
        let key = self.mutex.key().to_string();
        let client = self.mutex.session().client().clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                self.pending_unlock = Some(rt.spawn(async move {
                    if let Err(e) = client.delete(key.clone(), DeleteOptions::default()).await {
                        tracing::warn!(key, error = %e, "locker: unlock on drop failed; the key stays until the lease ends");
                    }
                }));
            }
            Err(_) => tracing::warn!(
                key,
                "locker: guard dropped outside a tokio runtime; the key stays until the lease ends"
            ),
        }
    }
}

/// Proof that a [`Locker`] holds its lock ([`Locker::guard`]); unlocks
/// when dropped, in the background (see [`Locker`]), or when
/// [`LockGuard::unlock`] is awaited, with its error.
pub struct LockGuard<'a, C: Client> {
    locker: &'a mut Locker<C>,
    /// Whether dropping it still has to unlock.
    armed: bool,
}

impl<C: Client> std::fmt::Debug for LockGuard<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.locker.mutex.key())
            .finish()
    }
}

impl<C: Client> LockGuard<'_, C> {
    /// Unlocks now and reports the outcome. On an error the lock may still
    /// be held: the key stays until [`Locker::unlock`] succeeds or the
    /// session's lease ends.
    pub async fn unlock(mut self) -> Result<()> {
        self.armed = false;
        self.locker.unlock().await
    }

    /// The fencing compare of the lock held ([`Locker::is_owner`]).
    pub fn is_owner(&self) -> Compare {
        self.locker.is_owner()
    }

    /// The lock key held.
    pub fn key(&self) -> &str {
        self.locker.mutex.key()
    }
}

impl<C: Client> Drop for LockGuard<'_, C> {
    fn drop(&mut self) {
        if self.armed {
            self.locker.unlock_in_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::Error;
    use crate::v3::concurrency::fake::Fake;
    use std::time::Duration;

    #[tokio::test]
    async fn lock_unlock_and_contention() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut l1 = Locker::new(&s1, "lk");
        l1.lock().await.unwrap();
        let key = format!("lk/{:x}", s1.lease());
        assert_eq!(l1.mutex().key(), key);
        assert!(fake.kv(&key).is_some());
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move {
                let mut l2 = Locker::new(&s2, "lk");
                l2.lock().await?;
                l2.unlock().await
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished(), "two sessions held the lock");
        l1.unlock().await.unwrap();
        assert!(fake.kv(&key).is_none());
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_bounded_locker_fails_with_its_context() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut l1 = Locker::new(&s1, "lk");
        l1.lock().await.unwrap();
        let mut l2 =
            Locker::new(&s2, "lk").with_context(Context::with_timeout(Duration::from_millis(40)));
        let e = l2.lock().await.unwrap_err();
        assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
        assert!(fake.kv(&format!("lk/{:x}", s2.lease())).is_none());
    }

    #[tokio::test]
    async fn a_dropped_guard_unlocks_and_the_next_lock_waits_for_it() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let mut l1 = Locker::new(&s1, "lk");
        let key = format!("lk/{:x}", s1.lease());
        {
            let g = l1.guard().await.unwrap();
            assert_eq!(g.key(), key);
            assert_eq!(g.is_owner().into_pb().key, key.as_bytes());
        }
        // Dropped: the delete runs in a task; the next lock awaits it and
        // then takes a fresh key (a new create revision).
        let first_rev = l1.mutex().rev();
        l1.lock().await.unwrap();
        assert!(
            l1.mutex().rev() > first_rev,
            "re-took the key being deleted"
        );
        assert_eq!(fake.kv(&key).unwrap().create_revision, l1.mutex().rev());
        l1.unlock().await.unwrap();

        // Another session gets the lock once a guard is dropped.
        let g = l1.guard().await.unwrap();
        let waiter = tokio::spawn({
            let s2 = s2.clone();
            async move { Locker::new(&s2, "lk").lock().await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        drop(g);
        waiter.await.unwrap().unwrap();

        // An explicit unlock reports its outcome.
        let mut l3 = Locker::new(&s1, "other");
        let g = l3.guard().await.unwrap();
        g.unlock().await.unwrap();
        assert!(fake.kv(&format!("other/{:x}", s1.lease())).is_none());
    }
}
