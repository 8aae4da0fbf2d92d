//! [`WatchStream`]: one watcher's responses as a `futures` [`Stream`].

use super::hub::Command;
use super::response::WatchResponse;
use crate::v3::error::Result;
use futures_util::stream::{BoxStream, FusedStream, Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// The responses of one watcher (from [`crate::v3::Watcher::watch`]), as a
/// `futures` [`Stream`] of `Result<WatchResponse>`.
///
/// It follows the crate's stream convention: responses are yielded in
/// order; an error is yielded once and then the stream ends. The errors
/// that end a watch are [`crate::v3::Error::WatchCompacted`] (re-read and
/// watch again from a later revision), [`crate::v3::Error::WatchCanceled`]
/// (the server cancelled the watcher), [`crate::v3::Error::Closed`] (the
/// client or its watchers were closed) and a stream error that retrying
/// cannot fix (e.g. a response larger than the receive limit). A stream
/// that fails otherwise (a member stopped or restarted, a connection lost,
/// "no leader") is re-created and the watcher resumes at its next revision:
/// no event is delivered twice and none is skipped.
///
/// Dropping it cancels the watcher on the server.
pub struct WatchStream {
    inner: Inner,
    done: bool,
}

enum Inner {
    /// A watcher of a client's shared stream.
    Hub {
        rx: UnboundedReceiver<Result<WatchResponse>>,
        _cancel: CancelOnDrop,
    },
    /// Any other source (a wrapper's).
    Boxed(BoxStream<'static, Result<WatchResponse>>),
}

/// Cancels a watcher when its stream is dropped.
struct CancelOnDrop {
    tx: UnboundedSender<Command>,
    local: u64,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        // The stream's task may be gone already; then there is nothing to cancel.
        let _ = self.tx.send(Command::Cancel { local: self.local });
    }
}

impl WatchStream {
    pub(crate) fn from_hub(
        rx: UnboundedReceiver<Result<WatchResponse>>,
        tx: UnboundedSender<Command>,
        local: u64,
    ) -> WatchStream {
        WatchStream {
            inner: Inner::Hub {
                rx,
                _cancel: CancelOnDrop { tx, local },
            },
            done: false,
        }
    }

    /// A watch stream over any stream of responses (for wrappers of
    /// [`crate::v3::Watcher`], e.g. one that rewrites keys). It ends after
    /// the first error, like every watch stream.
    pub fn from_stream<S>(stream: S) -> WatchStream
    where
        S: Stream<Item = Result<WatchResponse>> + Send + 'static,
    {
        WatchStream {
            inner: Inner::Boxed(stream.boxed()),
            done: false,
        }
    }
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match self.inner {
            Inner::Hub { .. } => "client stream",
            Inner::Boxed(_) => "boxed",
        };
        f.debug_struct("WatchStream")
            .field("source", &source)
            .field("done", &self.done)
            .finish()
    }
}

impl Stream for WatchStream {
    type Item = Result<WatchResponse>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let next = match &mut this.inner {
            Inner::Hub { rx, .. } => rx.poll_recv(cx),
            Inner::Boxed(s) => s.poll_next_unpin(cx),
        };
        match next {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(r))) => Poll::Ready(Some(Ok(r))),
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl FusedStream for WatchStream {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::error::Error;

    #[tokio::test]
    async fn ends_after_the_first_error_and_cancels_on_drop() {
        let (out, rx) = tokio::sync::mpsc::unbounded_channel();
        let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
        let mut s = WatchStream::from_hub(rx, tx, 7);
        out.send(Ok(WatchResponse::default())).unwrap();
        out.send(Err(Error::Closed)).unwrap();
        out.send(Ok(WatchResponse::default())).unwrap();
        assert!(s.next().await.unwrap().is_ok());
        assert!(matches!(s.next().await, Some(Err(Error::Closed))));
        assert!(s.next().await.is_none());
        assert!(s.is_terminated());
        drop(s);
        assert!(matches!(
            commands.recv().await,
            Some(Command::Cancel { local: 7 })
        ));
    }
}
