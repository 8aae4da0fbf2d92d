//! [`StopSignal`]: a one-way flag that tasks can wait on (an `AtomicBool` plus a
//! `Notify`; `tokio::sync::watch` would break replay under the simulator).

use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Set once; every waiter, past and future, sees it.
#[derive(Debug, Default)]
pub struct StopSignal {
    set: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    /// An unset signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the signal and wakes every waiter.
    pub fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the signal is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Resolves once the signal is set.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking, so a set in between is not missed.
            notified.as_mut().enable();
            if self.is_set() {
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
    async fn waiters_before_and_after_the_set_return() {
        let s = Arc::new(StopSignal::new());
        let waiter = {
            let s = s.clone();
            tokio::spawn(async move { s.wait().await })
        };
        tokio::task::yield_now().await;
        assert!(!s.is_set());
        s.set();
        waiter.await.unwrap();
        s.wait().await;
    }
}
