//! [`Context`]: what bounds a wait (Go's `context.Context`, reduced to what
//! the package needs: a deadline and cancellation).

use super::error::Error;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Bounds a wait of the concurrency package ([`super::Mutex::lock`],
/// [`super::Election::campaign`], ...) the way Go's `ctx` does: by a
/// deadline, by cancellation, or both. Cloning is cheap; clones share the
/// cancellation. [`Context::background`] never ends.
///
/// A waiting call whose context ends returns [`Error::DeadlineExceeded`] or
/// [`Error::Canceled`] after undoing what it did (a lock waiter deletes its
/// key, a campaigner resigns). Dropping the call's future instead also
/// undoes it, in a task of its own.
///
/// ```
/// use etcd_sdk::v3::concurrency::Context;
/// use std::time::Duration;
///
/// let ctx = Context::with_timeout(Duration::from_secs(5));
/// let (cancellable, cancel) = ctx.with_cancel();
/// cancel.cancel();
/// assert!(cancellable.err().is_some());
/// assert!(ctx.err().is_none());
/// ```
#[derive(Clone, Default)]
pub struct Context {
    deadline: Option<Instant>,
    cancels: Vec<Shared<BoxFuture<'static, ()>>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("deadline", &self.deadline)
            .field("cancels", &self.cancels.len())
            .finish()
    }
}

/// Cancels the [`Context`] it came with ([`Context::with_cancel`]), and
/// every clone of it. Dropping it does not cancel.
#[derive(Debug)]
pub struct Canceler(tokio::sync::watch::Sender<bool>);

impl Canceler {
    /// Cancels the context.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl Context {
    /// A context that never ends (Go's `context.Background()`).
    pub fn background() -> Context {
        Context::default()
    }

    /// A context that ends `timeout` from now.
    pub fn with_timeout(timeout: Duration) -> Context {
        Context::background().timeout(timeout)
    }

    /// A context that ends at `deadline`.
    pub fn with_deadline(deadline: Instant) -> Context {
        Context::background().deadline(deadline)
    }

    /// This context, also ending `timeout` from now (whichever comes first).
    pub fn timeout(self, timeout: Duration) -> Context {
        self.deadline(Instant::now() + timeout)
    }

    /// This context, also ending at `deadline` (whichever comes first).
    pub fn deadline(mut self, deadline: Instant) -> Context {
        self.deadline = Some(match self.deadline {
            Some(d) => d.min(deadline),
            None => deadline,
        });
        self
    }

    /// This context, also cancelled when `cancel` completes.
    pub fn cancel_on<F>(mut self, cancel: F) -> Context
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.cancels.push(cancel.boxed().shared());
        self
    }

    /// A child that a [`Canceler`] can cancel (Go's `context.WithCancel`).
    pub fn with_cancel(&self) -> (Context, Canceler) {
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let child = self.clone().cancel_on(async move {
            // A dropped canceler never cancels.
            if rx.wait_for(|c| *c).await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        (child, Canceler(tx))
    }

    /// The deadline, if any.
    pub fn get_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Why the context has ended, if it has: [`Error::Canceled`] or
    /// [`Error::DeadlineExceeded`] (Go's `ctx.Err()`).
    pub fn err(&self) -> Option<Error> {
        if self
            .cancels
            .iter()
            .any(|c| c.clone().now_or_never().is_some())
        {
            return Some(Error::Canceled);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Some(Error::DeadlineExceeded),
            _ => None,
        }
    }

    /// Completes when the context ends, with why (Go's `<-ctx.Done()` then
    /// `ctx.Err()`); never for [`Context::background`].
    pub async fn done(&self) -> Error {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let cancelled = async {
            if self.cancels.is_empty() {
                std::future::pending::<()>().await;
            }
            futures_util::future::select_all(self.cancels.iter().cloned()).await;
        };
        tokio::select! {
            biased;
            _ = cancelled => Error::Canceled,
            _ = deadline => Error::DeadlineExceeded,
        }
    }

    /// Runs `fut` unless the context ends first.
    pub async fn run<T, F>(&self, fut: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>>,
    {
        if let Some(e) = self.err() {
            return Err(e);
        }
        tokio::select! {
            biased;
            e = self.done() => Err(e),
            r = fut => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadline_and_cancel_end_it() {
        let ctx = Context::with_timeout(Duration::from_secs(2));
        assert!(ctx.err().is_none());
        assert!(matches!(ctx.done().await, Error::DeadlineExceeded));
        assert!(matches!(ctx.err(), Some(Error::DeadlineExceeded)));

        let (c, cancel) = Context::background().with_cancel();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.done().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        cancel.cancel();
        assert!(matches!(waiter.await.unwrap(), Error::Canceled));
        assert!(matches!(c.err(), Some(Error::Canceled)));

        let r = Context::with_timeout(Duration::from_secs(1))
            .run(std::future::pending::<Result<(), Error>>())
            .await;
        assert!(matches!(r, Err(Error::DeadlineExceeded)));
        let r = Context::background().run(async { Ok(3) }).await.unwrap();
        assert_eq!(r, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_earlier_deadline_wins_and_a_dropped_canceler_never_cancels() {
        let start = Instant::now();
        let ctx = Context::with_timeout(Duration::from_secs(10)).timeout(Duration::from_secs(3));
        assert_eq!(ctx.get_deadline(), Some(start + Duration::from_secs(3)));
        let (c, cancel) = Context::background().with_cancel();
        drop(cancel);
        let r = tokio::time::timeout(Duration::from_secs(5), c.done()).await;
        assert!(r.is_err(), "a dropped canceler cancelled");
    }
}
