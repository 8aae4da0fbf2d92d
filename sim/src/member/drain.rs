//! [`Connections`]: a member's client connections: capped (a connection slot is
//! taken before a connection is accepted), and counted so a graceful stop can wait
//! for them (in-flight requests finish, idle keep-alive connections close) for a
//! bounded time before the Raft node stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How many client connections a member serves at once, by default.
///
/// Our benchmark holds 1,000 concurrent watch connections (each a long poll on its
/// own connection, as the v2 API has no multiplexing), plus the clients writing to
/// them; 10,000 leaves ten times that. The cap bounds what a member spends on
/// connections (a task and hyper's buffers, some tens of KB each: about half a GB at
/// the cap) and keeps it below the file descriptors a process usually gets
/// (`ulimit -n` hard limits of 2^20; a soft limit of 1,024 would stop it first).
/// etcd has no such cap on its v2 listener. At the cap, a member stops accepting:
/// new connections wait in the kernel's listen backlog (4,096,
/// [`super::listen::LISTEN_BACKLOG`]) until one closes.
pub const MAX_CLIENT_CONNECTIONS: usize = 10_000;

/// Open connections, the cap on them and the grace period a stop gives them.
#[derive(Debug)]
pub(crate) struct Connections {
    open: AtomicUsize,
    idle: Notify,
    /// Milliseconds a connection may keep serving after shutdown; 0: close at once.
    grace_ms: AtomicU64,
    /// One permit per connection that may be open.
    slots: Arc<Semaphore>,
}

impl Default for Connections {
    fn default() -> Self {
        Connections::with_limit(MAX_CLIENT_CONNECTIONS)
    }
}

/// Held by a connection's task while it runs.
#[derive(Debug)]
pub(crate) struct ConnectionGuard<'a>(&'a Connections);

impl Connections {
    /// At most `limit` connections at once.
    pub fn with_limit(limit: usize) -> Self {
        Connections {
            open: AtomicUsize::new(0),
            idle: Notify::new(),
            grace_ms: AtomicU64::new(0),
            slots: Arc::new(Semaphore::new(limit)),
        }
    }

    /// Waits for a free connection slot (held until the permit drops).
    pub async fn slot(&self) -> OwnedSemaphorePermit {
        match self.slots.clone().acquire_owned().await {
            Ok(permit) => permit,
            // The semaphore is never closed; should it be, wait forever rather
            // than exceed the cap (shutdown ends the wait).
            Err(_) => std::future::pending().await,
        }
    }

    /// How many connections are open.
    #[cfg(all(test, not(madsim)))]
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Counts a new connection until the guard drops.
    pub fn enter(&self) -> ConnectionGuard<'_> {
        self.open.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(self)
    }

    /// How long connections may keep serving once shutdown is signalled.
    pub fn grace(&self) -> Duration {
        Duration::from_millis(self.grace_ms.load(Ordering::SeqCst))
    }

    /// Sets the grace period (call before signalling shutdown).
    pub fn set_grace(&self, grace: Duration) {
        let ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        self.grace_ms.store(ms, Ordering::SeqCst);
    }

    /// Waits until no connection is open.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn wait_idle_returns_once_every_guard_dropped() {
        let c = Arc::new(Connections::default());
        c.wait_idle().await;
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move {
                let g1 = c.enter();
                let g2 = c.enter();
                tokio::task::yield_now().await;
                drop(g1);
                tokio::task::yield_now().await;
                drop(g2);
            })
        };
        tokio::task::yield_now().await;
        c.wait_idle().await;
        waiter.await.unwrap();
        assert_eq!(c.open.load(Ordering::SeqCst), 0);
        c.set_grace(Duration::from_millis(1500));
        assert_eq!(c.grace(), Duration::from_millis(1500));
    }
}
