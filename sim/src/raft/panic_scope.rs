//! Which Raft member the code running on this thread belongs to, so that a panic
//! hook can name the member whose Raft task panicked (the chaos runner's crash
//! report, the server's fatal log line).
//!
//! [`scoped`] wraps a member's driver task: while the task is polled, the thread's
//! current member is its id; [`current_member`] reads it. A panic hook runs on the
//! panicking thread before unwinding, inside that poll.
//!
//! In real builds the wrapper also catches a panic of the task and hands its message
//! to a callback (the driver's: log it and mark the node stopped, so that the server
//! exits as etcd does on an invariant failure, instead of a process whose consensus
//! is gone). In sim builds a panic is left to crash the run, which the chaos runner
//! reports with the member and the virtual time.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    static CURRENT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The Raft id of the member whose task this thread is running, if any.
pub fn current_member() -> Option<u64> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

/// The test-only failpoint that makes a member's Raft task panic (real builds),
/// as etcd's gofail failpoints do for its tests: with
/// `ETCD_SIM_FAILPOINT_RAFT_PANIC_AT_INDEX=<n>` in its environment, a member panics
/// when it applies log entry `n`. Never set it outside tests.
pub const FAILPOINT_PANIC_AT_INDEX: &str = "ETCD_SIM_FAILPOINT_RAFT_PANIC_AT_INDEX";

/// Panics if the failpoint asks for a panic at `index` (see
/// [`FAILPOINT_PANIC_AT_INDEX`]); nothing in sim builds.
pub(crate) fn failpoint_apply(index: u64) {
    #[cfg(not(madsim))]
    {
        static AT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
        let at = AT.get_or_init(|| {
            std::env::var(FAILPOINT_PANIC_AT_INDEX)
                .ok()
                .and_then(|v| v.trim().parse().ok())
        });
        if *at == Some(index) {
            panic!("failpoint {FAILPOINT_PANIC_AT_INDEX}: applying entry {index}");
        }
    }
    #[cfg(madsim)]
    let _ = index;
}

/// What to do with the message of a panic caught in a member's task.
pub(crate) type OnPanic = Box<dyn FnOnce(String) + Send>;

/// `task` with `id` as the current member while it is polled; in real builds a
/// panic of the task ends it and goes to `on_panic`.
pub(crate) fn scoped<F: Future<Output = ()>>(id: u64, task: F, on_panic: OnPanic) -> Scoped<F> {
    Scoped {
        id,
        task: Some(Box::pin(task)),
        on_panic: Some(on_panic),
    }
}

/// A future polled with its member as the thread's current member.
pub(crate) struct Scoped<F> {
    id: u64,
    /// `None` once the task panicked.
    task: Option<Pin<Box<F>>>,
    #[cfg_attr(madsim, allow(dead_code))]
    on_panic: Option<OnPanic>,
}

/// The text of a panic's payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Restores the previous current member when the poll ends, however it ends.
struct Restore(Option<u64>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.0));
    }
}

impl<F: Future<Output = ()>> Future for Scoped<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let id = self.id;
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(id))));
        let Some(task) = self.task.as_mut() else {
            return Poll::Ready(());
        };
        #[cfg(madsim)]
        {
            task.as_mut().poll(cx)
        }
        #[cfg(not(madsim))]
        {
            let polled =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.as_mut().poll(cx)));
            match polled {
                Ok(p) => p,
                Err(payload) => {
                    if let Some(on_panic) = self.on_panic.take() {
                        on_panic(panic_text(payload.as_ref()));
                    }
                    // Dropping the task drops the driver: its waiters learn it stopped.
                    self.task = None;
                    Poll::Ready(())
                }
            }
        }
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn the_member_is_current_only_while_its_task_is_polled() {
        assert_eq!(current_member(), None);
        let mut seen = None;
        let mut task = scoped(
            7,
            async {
                seen = current_member();
            },
            Box::new(|_| {}),
        );
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut task).poll(&mut cx).is_ready());
        drop(task);
        assert_eq!(seen, Some(7));
        assert_eq!(current_member(), None);
    }

    #[test]
    fn a_panic_of_the_task_goes_to_the_callback_and_ends_it() {
        let caught = std::sync::Arc::new(std::sync::Mutex::new(None));
        let slot = caught.clone();
        let mut task = scoped(
            9,
            async {
                assert_eq!(current_member(), Some(9));
                panic!("boom at {}", 3);
            },
            Box::new(move |msg| *slot.lock().unwrap() = Some(msg)),
        );
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut task).poll(&mut cx).is_ready());
        assert_eq!(caught.lock().unwrap().as_deref(), Some("boom at 3"));
        assert_eq!(current_member(), None);
        // Polled again (it never is), it stays finished.
        assert!(Pin::new(&mut task).poll(&mut cx).is_ready());
    }
}
