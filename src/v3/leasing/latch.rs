//! [`Latch`]: a one-way gate that tasks wait on (a write in flight on a
//! cached key, the session being re-made, the leasing KV being closed), and
//! [`WriteGuard`], which opens one when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// Starts closed; [`Latch::open`] releases every waiter, now and later.
/// (A `Notify` and a flag rather than `tokio::sync::watch`, whose wakeups
/// are not deterministic under madsim.)
#[derive(Debug, Default)]
pub(crate) struct Latch {
    open: AtomicBool,
    notify: Notify,
}

impl Latch {
    /// A closed latch.
    pub(crate) fn closed() -> Arc<Latch> {
        Arc::new(Latch::default())
    }

    /// An open latch (nothing to wait for).
    pub(crate) fn opened() -> Arc<Latch> {
        let l = Latch::default();
        l.open.store(true, Ordering::SeqCst);
        Arc::new(l)
    }

    /// Opens it for good.
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether it is open.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// Completes once it is open.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so an `open` in between
            // is not missed.
            notified.as_mut().enable();
            if self.is_open() {
                return;
            }
            notified.await;
        }
    }
}

/// Held while this client writes a key it caches: gets of the key wait
/// until it is dropped, which opens the latch (also when the write's
/// future is dropped half-way).
#[derive(Debug)]
pub(crate) struct WriteGuard(pub(crate) Arc<Latch>);

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_are_released_by_open_and_by_a_dropped_guard() {
        assert!(Latch::opened().is_open());
        let l = Latch::closed();
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(WriteGuard(l.clone()));
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("joined");
        // Open stays open.
        tokio::time::timeout(Duration::from_secs(5), l.wait())
            .await
            .expect("an open latch does not block");
    }
}
