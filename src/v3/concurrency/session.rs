//! [`Session`]: a lease kept alive for the locks and campaigns built on it
//! (Go's `concurrency.Session`).

use super::ConcurrencyClient as Client;
use super::context::Context;
use super::error::Result;
use crate::v3::lease::LeaseId;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The TTL of a session's lease unless [`SessionOptions::with_ttl`] says
/// otherwise, in seconds (Go's `defaultSessionTTL`).
pub const DEFAULT_SESSION_TTL: i64 = 60;

/// How a [`Session`] is made (Go's `SessionOption`s). `Default`: a new
/// lease of 60 s, never cancelled.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    ttl: i64,
    lease: LeaseId,
    ctx: Context,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            ttl: DEFAULT_SESSION_TTL,
            lease: 0,
            ctx: Context::background(),
        }
    }
}

impl SessionOptions {
    /// The defaults.
    pub fn new() -> SessionOptions {
        SessionOptions::default()
    }

    /// The lease's TTL in seconds (Go's `WithTTL`); ignored unless > 0. Also
    /// the bound on [`Session::close`]'s revoke.
    pub fn with_ttl(mut self, ttl: i64) -> SessionOptions {
        if ttl > 0 {
            self.ttl = ttl;
        }
        self
    }

    /// Reuse lease `id` instead of granting one (Go's `WithLease`); `0`
    /// grants one.
    pub fn with_lease(mut self, id: LeaseId) -> SessionOptions {
        self.lease = id;
        self
    }

    /// Bound the grant by `ctx`, and stop the keepalive (without revoking)
    /// when `ctx` ends (Go's `WithContext`).
    pub fn with_context(mut self, ctx: Context) -> SessionOptions {
        self.ctx = ctx;
        self
    }
}

/// A lease kept alive until the session is orphaned, closed or dropped, or
/// its keepalive ends (the lease expired or was revoked, or no renewal was
/// answered before its deadline). Locks ([`super::Mutex`]) and campaigns
/// ([`super::Election`]) attach their keys to it, so they vanish when it
/// ends. Cloning is cheap; clones share the lease.
///
/// Dropping the last clone stops the keepalive without revoking (the lease
/// expires after its TTL); [`Session::close`] revokes.
pub struct Session<C> {
    inner: Arc<Inner<C>>,
}

impl<C> Clone for Session<C> {
    fn clone(&self) -> Self {
        Session {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<C> {
    client: C,
    id: LeaseId,
    ttl: i64,
    ctx: Context,
    /// `true` asks the keepalive task to stop.
    stop: watch::Sender<bool>,
    /// Becomes `true` when the keepalive task has ended.
    done: watch::Receiver<bool>,
}

impl<C> Drop for Inner<C> {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl<C> std::fmt::Debug for Session<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("lease", &format_args!("{:x}", self.inner.id))
            .field("ttl", &self.inner.ttl)
            .field("done", &*self.inner.done.borrow())
            .finish()
    }
}

impl<C: Client> Session<C> {
    /// A session with the default options (Go's `NewSession(client)`).
    pub async fn new(client: C) -> Result<Session<C>> {
        Session::with_options(client, SessionOptions::default()).await
    }

    /// A session (Go's `NewSession(client, opts...)`): grants a lease of
    /// the TTL unless one is given, then keeps it alive.
    pub async fn with_options(client: C, opts: SessionOptions) -> Result<Session<C>> {
        let SessionOptions { ttl, lease, ctx } = opts;
        let id = if lease == 0 {
            ctx.run(async { Ok(client.grant(ttl).await?.id) }).await?
        } else {
            lease
        };
        let keep_alive = ctx.run(async { Ok(client.keep_alive(id).await?) }).await?;
        let (stop, mut stop_rx) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        let task_ctx = ctx.clone();
        tokio::spawn(async move {
            let mut keep_alive = keep_alive;
            loop {
                tokio::select! {
                    biased;
                    _ = stop_rx.wait_for(|s| *s) => break,
                    _ = task_ctx.done() => break,
                    answer = keep_alive.next() => match answer {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::debug!(lease = id, error = %e, "concurrency: session keepalive ended");
                            break;
                        }
                        None => break,
                    },
                }
            }
            drop(keep_alive);
            done_tx.send_replace(true);
        });
        Ok(Session {
            inner: Arc::new(Inner {
                client,
                id,
                ttl,
                ctx,
                stop,
                done,
            }),
        })
    }

    /// The client the session uses (Go's `Client()`).
    pub fn client(&self) -> &C {
        &self.inner.client
    }

    /// The session's lease (Go's `Lease()`).
    pub fn lease(&self) -> LeaseId {
        self.inner.id
    }

    /// The lease's TTL asked for, in seconds.
    pub fn ttl(&self) -> i64 {
        self.inner.ttl
    }

    /// Completes when the keepalive has ended: orphaned, closed, its context
    /// ended, or the lease is lost (Go's `Done()`). The future does not
    /// borrow the session.
    pub fn done(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.done.clone();
        async move {
            // The task always sends `true` before it ends; an error means it
            // is gone, which is also done.
            let _ = rx.wait_for(|d| *d).await;
        }
    }

    /// Whether the keepalive has ended.
    pub fn is_done(&self) -> bool {
        *self.inner.done.borrow()
    }

    /// Stops the keepalive without revoking the lease, and waits until it
    /// has stopped (Go's `Orphan()`). The lease expires after its TTL
    /// unless someone else keeps it alive.
    pub async fn orphan(&self) {
        self.inner.stop.send_replace(true);
        self.done().await;
    }

    /// Orphans the session, then revokes its lease, deleting every key
    /// attached to it (locks held, campaigns); the revoke is bounded by the
    /// TTL (after which the lease has expired anyway) (Go's `Close()`).
    pub async fn close(&self) -> Result<()> {
        self.orphan().await;
        let ctx = self
            .inner
            .ctx
            .clone()
            .timeout(Duration::from_secs(self.inner.ttl.max(1) as u64));
        ctx.run(async {
            self.inner.client.revoke(self.inner.id).await?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::fake::Fake;
    use crate::v3::kv::KV;
    use crate::v3::lease::Lease;
    use crate::v3::op::PutOptions;

    #[tokio::test]
    async fn grants_keeps_alive_and_ends_with_the_lease() {
        let fake = Fake::default();
        let s = Session::new(fake.clone()).await.unwrap();
        assert_eq!(s.ttl(), DEFAULT_SESSION_TTL);
        assert!(!s.is_done());
        fake.put(
            "k",
            "v",
            PutOptions {
                lease: s.lease(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        fake.expire(s.lease());
        tokio::time::timeout(Duration::from_secs(5), s.done())
            .await
            .expect("done did not fire when the lease ended");
        assert!(s.is_done());
        assert!(fake.kv("k").is_none());
    }

    #[tokio::test]
    async fn options_orphan_and_close() {
        let fake = Fake::default();
        let id = fake.grant(5).await.unwrap().id;
        let s = Session::with_options(
            fake.clone(),
            SessionOptions::new().with_lease(id).with_ttl(7).with_ttl(0),
        )
        .await
        .unwrap();
        assert_eq!((s.lease(), s.ttl()), (id, 7));
        s.orphan().await;
        assert!(s.is_done());
        // Orphaned: the lease lives on.
        assert_eq!(
            fake.time_to_live(id, Default::default()).await.unwrap().ttl,
            60
        );
        s.close().await.unwrap();
        assert_eq!(
            fake.time_to_live(id, Default::default()).await.unwrap().ttl,
            -1
        );

        // Its context ending stops the keepalive.
        let (ctx, cancel) = Context::background().with_cancel();
        let s = Session::with_options(fake.clone(), SessionOptions::new().with_context(ctx))
            .await
            .unwrap();
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), s.done())
            .await
            .expect("done did not fire when the context ended");
    }
}
