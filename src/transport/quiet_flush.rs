//! [`QuietFlush`]: a stream wrapper whose flush does nothing when nothing was written
//! since the previous flush.
//!
//! hyper flushes its connection whenever its task is polled, written or not. On a real
//! socket an empty flush costs nothing; on madsim's simulated TCP every flush is a
//! packet, and each packet a receiver takes costs at least 1 ms of virtual time (madsim
//! never sleeps for less). Empty flushes queue up on a kept-alive connection, so every
//! request on it waited a little longer than the one before (measured: a local GET
//! grew from 20 ms to over 100 ms within a dozen requests). Both ends of our HTTP
//! connections, client and server, wrap their streams in this.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps a stream so that `poll_flush` reaches it only after something was written.
#[derive(Debug)]
pub struct QuietFlush<S> {
    inner: S,
    dirty: bool,
}

impl<S> QuietFlush<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        QuietFlush {
            inner,
            dirty: false,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for QuietFlush<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for QuietFlush<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
            self.dirty = true;
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.dirty {
            return Poll::Ready(Ok(()));
        }
        let res = Pin::new(&mut self.inner).poll_flush(cx);
        if matches!(res, Poll::Ready(Ok(()))) {
            self.dirty = false;
        }
        res
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records every flush it sees.
    #[derive(Default, Clone)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl AsyncWrite for Recorder {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().push(format!("write {}", buf.len()));
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.0.lock().unwrap().push("flush".into());
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn only_flushes_after_writes() {
        use tokio::io::AsyncWriteExt;
        let rec = Recorder::default();
        let mut s = QuietFlush::new(rec.clone());
        s.flush().await.unwrap();
        s.write_all(b"abc").await.unwrap();
        s.flush().await.unwrap();
        s.flush().await.unwrap();
        s.write_all(b"").await.unwrap();
        s.flush().await.unwrap();
        s.write_all(b"de").await.unwrap();
        s.flush().await.unwrap();
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec!["write 3", "flush", "write 2", "flush"]
        );
    }
}
