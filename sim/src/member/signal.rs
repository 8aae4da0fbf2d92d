//! [`Signal`]: a one-way signal for a member's tasks (shutdown, ready): a flag plus
//! a `Notify` (not a `tokio::sync::watch`, whose wakeups draw from tokio's
//! thread-local RNG and would not replay from a madsim seed).

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Set once; every waiter wakes.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    flag: AtomicBool,
    notify: Notify,
}

impl Signal {
    /// Sets the signal.
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the signal is set.
    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until the signal is set.
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
        let s = Arc::new(Signal::default());
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
