//! A one-way shutdown signal for a member's tasks: a flag plus a `Notify` (not a
//! `tokio::sync::watch`, whose wakeups draw from tokio's thread-local RNG and would
//! not replay from a madsim seed).

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Set once; every waiter wakes.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    flag: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// Signals shutdown.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether shutdown was signalled.
    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until shutdown is signalled.
    pub async fn wait(&self) {
        loop {
            // Created before the check: `notify_waiters` reaches it even unpolled.
            let notified = self.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_wake_once_triggered() {
        let s = Arc::new(Shutdown::default());
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!s.is_triggered());
        s.trigger();
        waiter.await.unwrap();
        s.wait().await;
    }
}
