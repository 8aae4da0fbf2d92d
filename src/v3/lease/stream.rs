//! [`KeepAliveStream`]: the answers to one caller's keepalive of a lease.

use super::LeaseKeepAliveResponse;
use super::keepalive::Command;
use crate::v3::error::{Error, Result};
use futures_util::stream::{BoxStream, FusedStream, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// How many answers wait for a slow reader before newer ones are dropped
/// (Go's `LeaseResponseChSize`).
pub(crate) const RESPONSE_BUFFER: usize = 16;

/// The answers to one caller's keepalive of one lease (from
/// [`crate::v3::Lease::keep_alive`]), as a `futures` [`Stream`] of
/// `Result<LeaseKeepAliveResponse>`.
///
/// Each renewal's answer is yielded; a reader that falls
/// 16 answers behind misses the newer ones, as in Go
/// (the lease is renewed all the same). The stream ends after one error:
/// [`Error::KeepAliveHalted`] when the lease expired or was revoked, or
/// when no answer came before its deadline; [`Error::Closed`] when the
/// client or its keepalives were closed.
///
/// Dropping it stops this caller's keepalive (the lease is not revoked;
/// other callers keep it alive).
pub struct KeepAliveStream {
    id: i64,
    inner: Inner,
    done: bool,
}

enum Inner {
    /// A caller of a client's shared keepalive stream.
    Hub {
        rx: mpsc::Receiver<LeaseKeepAliveResponse>,
        halt: oneshot::Receiver<Error>,
        _stop: StopOnDrop,
    },
    /// Any other source (a wrapper's or a test double's).
    Boxed(BoxStream<'static, Result<LeaseKeepAliveResponse>>),
}

struct StopOnDrop {
    tx: mpsc::UnboundedSender<Command>,
    id: i64,
    caller: u64,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Remove {
            id: self.id,
            caller: self.caller,
        });
    }
}

impl KeepAliveStream {
    pub(crate) fn new(
        id: i64,
        caller: u64,
        rx: mpsc::Receiver<LeaseKeepAliveResponse>,
        halt: oneshot::Receiver<Error>,
        tx: mpsc::UnboundedSender<Command>,
    ) -> KeepAliveStream {
        KeepAliveStream {
            id,
            inner: Inner::Hub {
                rx,
                halt,
                _stop: StopOnDrop { tx, id, caller },
            },
            done: false,
        }
    }

    /// A keepalive stream of lease `id` over any stream of answers (for
    /// wrappers of [`crate::v3::Lease`] and test doubles). It ends after
    /// the first error, like every keepalive stream.
    pub fn from_stream<S>(id: i64, stream: S) -> KeepAliveStream
    where
        S: Stream<Item = Result<LeaseKeepAliveResponse>> + Send + 'static,
    {
        KeepAliveStream {
            id,
            inner: Inner::Boxed(stream.boxed()),
            done: false,
        }
    }

    /// The lease kept alive.
    pub fn id(&self) -> i64 {
        self.id
    }
}

impl std::fmt::Debug for KeepAliveStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepAliveStream")
            .field("id", &self.id)
            .field("done", &self.done)
            .finish()
    }
}

impl Stream for KeepAliveStream {
    type Item = Result<LeaseKeepAliveResponse>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let (rx, halt) = match &mut this.inner {
            Inner::Hub { rx, halt, .. } => (rx, halt),
            Inner::Boxed(s) => {
                return match s.poll_next_unpin(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(Ok(r))) => Poll::Ready(Some(Ok(r))),
                    Poll::Ready(other) => {
                        this.done = true;
                        Poll::Ready(other)
                    }
                };
            }
        };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(r)) => return Poll::Ready(Some(Ok(r))),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {}
        }
        // The keepalive ended; its reason was sent before the answers'
        // channel closed (a task that vanished without one: closed).
        this.done = true;
        match Pin::new(halt).poll(cx) {
            Poll::Ready(Ok(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Ready(Some(Err(Error::Closed))),
        }
    }
}

impl FusedStream for KeepAliveStream {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn answers_then_the_halt_reason_once_then_the_end() {
        let (answers, rx) = mpsc::channel(RESPONSE_BUFFER);
        let (halt_tx, halt) = oneshot::channel();
        let (tx, mut commands) = mpsc::unbounded_channel();
        let mut s = KeepAliveStream::new(5, 1, rx, halt, tx);
        answers
            .try_send(LeaseKeepAliveResponse {
                header: None,
                id: 5,
                ttl: 6,
            })
            .unwrap();
        halt_tx.send(Error::Closed).unwrap();
        drop(answers);
        assert_eq!(s.next().await.unwrap().unwrap().ttl, 6);
        assert!(matches!(s.next().await, Some(Err(Error::Closed))));
        assert!(s.next().await.is_none() && s.is_terminated());
        assert_eq!(s.id(), 5);
        drop(s);
        assert!(matches!(
            commands.recv().await,
            Some(Command::Remove { id: 5, caller: 1 })
        ));
    }
}
