//! [`await_first_bytes`]: after a TLS 1.3 handshake, wait for the server's
//! first bytes (real builds).
//!
//! In TLS 1.3 the client's handshake ends before the server has checked the
//! client's certificate: a server that refuses it (etcd's
//! `--client-cert-auth`) says so with an alert the client reads later. An
//! HTTP/2 server (etcd's gRPC port) speaks first, with its SETTINGS frame,
//! so reading until those bytes arrive turns a refused certificate into a
//! connect error that names it, instead of a call cancelled later with no
//! reason. The bytes read are handed on through [`Prefixed`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// A stream whose first bytes were already read: they come first.
pub(crate) struct Prefixed<S> {
    head: Vec<u8>,
    pos: usize,
    inner: S,
}

/// Waits up to `wait` for the server's first bytes on `stream` and keeps
/// them. The server's alert (a refused client certificate) is returned as
/// the error rustls made of it; a server that closes at once is an
/// `UnexpectedEof`; one that stays silent for `wait` is let through as is.
pub(crate) async fn await_first_bytes<S>(mut stream: S, wait: Duration) -> io::Result<Prefixed<S>>
where
    S: AsyncRead + Unpin,
{
    let mut buf = vec![0u8; 4096];
    let head = match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(0)) => {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection right after the TLS handshake",
            ));
        }
        Ok(Ok(n)) => {
            buf.truncate(n);
            buf
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => Vec::new(),
    };
    Ok(Prefixed {
        head,
        pos: 0,
        inner: stream,
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos < self.head.len() {
            let n = buf.remaining().min(self.head.len() - self.pos);
            let start = self.pos;
            buf.put_slice(&self.head[start..start + n]);
            self.pos += n;
            if self.pos == self.head.len() {
                self.head = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn the_first_bytes_come_first_then_the_rest() {
        let (mut server, client) = tokio::io::duplex(64);
        server.write_all(b"hello ").await.unwrap();
        let mut s = await_first_bytes(client, Duration::from_secs(5))
            .await
            .unwrap();
        server.write_all(b"world").await.unwrap();
        drop(server);
        let mut all = String::new();
        s.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }

    #[tokio::test]
    async fn a_server_that_closes_at_once_is_an_error() {
        let (server, client) = tokio::io::duplex(64);
        drop(server);
        let e = await_first_bytes(client, Duration::from_secs(5))
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_is_let_through() {
        let (_server, client) = tokio::io::duplex(64);
        let s = await_first_bytes(client, Duration::from_millis(100))
            .await
            .unwrap();
        assert!(s.head.is_empty());
    }
}
