//! [`WatchStream`]: a [`Watcher`] as a `futures` [`Stream`] of responses.

use super::{Response, Watcher};
use crate::error::Result;
use futures_util::future::BoxFuture;
use futures_util::stream::{FusedStream, Stream};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The events of a [`Watcher`] as a [`Stream`] (from [`Watcher::into_stream`]).
///
/// Each item is what [`Watcher::next`] returned. An error is yielded once and
/// then the stream ends: a watch that failed needs the caller's decision (after
/// [`crate::Error::is_event_index_cleared`], `get` the key and watch again from
/// `response.index`; after [`crate::Error::Timeout`] or a cluster error, watch
/// again from the last event's index). Use [`Watcher::next`] in a loop to carry
/// on over errors with the same watcher instead.
pub struct WatchStream<W: Watcher + 'static = Box<dyn Watcher>> {
    state: State<W>,
}

enum State<W> {
    /// Waiting to be polled; holds the watcher.
    Idle(W),
    /// A `next()` in flight; the future hands the watcher back with the result.
    Polling(BoxFuture<'static, (W, Result<Response>)>),
    /// Ended after an error.
    Done,
}

// The watcher is never pinned in place: it moves into a boxed future and back.
impl<W: Watcher + 'static> Unpin for WatchStream<W> {}

impl<W: Watcher + 'static> WatchStream<W> {
    /// A stream over `watcher`'s events.
    pub fn new(watcher: W) -> Self {
        WatchStream {
            state: State::Idle(watcher),
        }
    }
}

impl<W: Watcher + 'static> std::fmt::Debug for WatchStream<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Polling(_) => "polling",
            State::Done => "done",
        };
        f.debug_struct("WatchStream")
            .field("state", &state)
            .finish()
    }
}

impl<W: Watcher + 'static> Stream for WatchStream<W> {
    type Item = Result<Response>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Idle(mut watcher) => {
                    this.state = State::Polling(Box::pin(async move {
                        let result = watcher.next().await;
                        (watcher, result)
                    }));
                }
                State::Polling(mut next) => {
                    return match next.as_mut().poll(cx) {
                        Poll::Pending => {
                            this.state = State::Polling(next);
                            Poll::Pending
                        }
                        Poll::Ready((watcher, result)) => {
                            if result.is_ok() {
                                this.state = State::Idle(watcher);
                            }
                            Poll::Ready(Some(result))
                        }
                    };
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

impl<W: Watcher + 'static> FusedStream for WatchStream<W> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}
