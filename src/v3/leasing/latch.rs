//! [`Latch`]: a one-way gate that tasks wait on (the session being
//! re-made, the leasing KV being closed); [`Gate`]: the writes in flight
//! on a cached key, which its reads wait out; [`WriteGuard`]: one such
//! write, ending when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Counts this client's writes in flight on one cached key; reads of the
/// key wait until there are none (so every answer, whatever order they
/// came in, is in the cache before it is read).
#[derive(Debug, Default)]
pub(crate) struct Gate {
    busy: AtomicUsize,
    notify: Notify,
}

impl Gate {
    /// A gate with no write in flight.
    pub(crate) fn idle() -> Arc<Gate> {
        Arc::new(Gate::default())
    }

    /// A write starts; it ends when the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> WriteGuard {
        self.busy.fetch_add(1, Ordering::SeqCst);
        WriteGuard(self.clone())
    }

    /// Whether no write is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.busy.load(Ordering::SeqCst) == 0
    }

    /// Completes once no write is in flight.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_idle() {
                return;
            }
            notified.await;
        }
    }
}

/// One write of this client in flight on a cached key ([`Gate::enter`]);
/// dropping it (also when the write's future is dropped half-way) ends it.
#[derive(Debug)]
pub(crate) struct WriteGuard(Arc<Gate>);

impl Drop for WriteGuard {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.notify.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn latch_waiters_are_released_by_open() {
        assert!(Latch::opened().is_open());
        let l = Latch::closed();
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        l.open();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("joined");
        tokio::time::timeout(Duration::from_secs(5), l.wait())
            .await
            .expect("an open latch does not block");
    }

    #[tokio::test]
    async fn gate_waits_for_every_write() {
        let g = Gate::idle();
        assert!(g.is_idle());
        let (w1, w2) = (g.enter(), g.enter());
        let waiter = tokio::spawn({
            let g = g.clone();
            async move { g.wait().await }
        });
        drop(w1);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "one write is still in flight");
        drop(w2);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("released")
            .expect("joined");
        assert!(g.is_idle());
    }
}
