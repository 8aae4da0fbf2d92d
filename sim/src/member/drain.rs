//! [`Connections`]: counts a member's open client connections so a graceful stop can
//! wait for them (in-flight requests finish, idle keep-alive connections close) for a
//! bounded time before the Raft node stops.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Open connections and the grace period a stop gives them.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: AtomicUsize,
    idle: Notify,
    /// Milliseconds a connection may keep serving after shutdown; 0: close at once.
    grace_ms: AtomicU64,
}

/// Held by a connection's task while it runs.
#[derive(Debug)]
pub(crate) struct ConnectionGuard<'a>(&'a Connections);

impl Connections {
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
