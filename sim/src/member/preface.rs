//! Telling HTTP/2 from HTTP/1.1 on one client port, as etcd's connection
//! multiplexer (cmux) does: a connection whose first bytes are HTTP/2's client
//! preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, sent first by every gRPC client
//! over cleartext, "prior knowledge") is gRPC; anything else is HTTP/1.x.
//!
//! [`sniff`] reads only as far as needed to decide: it stops at the first byte
//! that differs from the preface (an HTTP/1 request line differs at its first
//! byte unless its method starts with `P`, and at the second byte at the latest
//! after that), so a short HTTP/1.0 request is never kept waiting for bytes that
//! will not come. The bytes read are replayed to the protocol's parser by
//! [`Rewind`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// HTTP/2's client connection preface (RFC 9113, section 3.4).
pub const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/2 with prior knowledge: gRPC.
    Http2,
    /// Anything else: HTTP/1.x (the v2 API, `/version`, `/health`, the gateway).
    Http1,
}

/// Reads the start of `stream` until its protocol is known, and returns it with
/// the stream rewound to its first byte. A connection closed before it could be
/// told counts as HTTP/1 (its parser then sees the bytes and the end).
///
/// # Errors
///
/// Reading the socket failed.
pub async fn sniff<S: AsyncRead + Unpin>(mut stream: S) -> io::Result<(Protocol, Rewind<S>)> {
    let mut seen = Vec::with_capacity(HTTP2_PREFACE.len());
    let mut buf = [0u8; 24];
    loop {
        let want = HTTP2_PREFACE.len() - seen.len();
        let n = stream.read(&mut buf[..want]).await?;
        if n == 0 {
            return Ok((Protocol::Http1, Rewind::new(seen, stream)));
        }
        seen.extend_from_slice(&buf[..n]);
        if !HTTP2_PREFACE.starts_with(&seen) {
            return Ok((Protocol::Http1, Rewind::new(seen, stream)));
        }
        if seen.len() == HTTP2_PREFACE.len() {
            return Ok((Protocol::Http2, Rewind::new(seen, stream)));
        }
    }
}

/// A stream whose first bytes, already read, are served again before the rest.
#[derive(Debug)]
pub struct Rewind<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, with `prefix` read from it already.
    pub fn new(prefix: Vec<u8>, inner: S) -> Rewind<S> {
        Rewind {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.pos < this.prefix.len() {
            let rest = &this.prefix[this.pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
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

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Sniffs what a client writes (in the given pieces), then reads everything
    /// back through the rewound stream.
    async fn sniff_pieces(pieces: &[&[u8]], close: bool) -> (Protocol, Vec<u8>) {
        let (mut client, server) = tokio::io::duplex(1024);
        for p in pieces {
            client.write_all(p).await.unwrap();
        }
        if close {
            drop(client);
            let (proto, mut rewound) = sniff(server).await.unwrap();
            let mut all = Vec::new();
            rewound.read_to_end(&mut all).await.unwrap();
            (proto, all)
        } else {
            let (proto, mut rewound) = sniff(server).await.unwrap();
            client.write_all(b"<after>").await.unwrap();
            drop(client);
            let mut all = Vec::new();
            rewound.read_to_end(&mut all).await.unwrap();
            (proto, all)
        }
    }

    #[tokio::test]
    async fn the_preface_is_http2_even_when_split() {
        let (p, all) =
            sniff_pieces(&[b"PRI * HTT", b"P/2.0\r\n\r\nSM\r\n\r\n\0\0\x12"], false).await;
        assert_eq!(p, Protocol::Http2);
        assert_eq!(all, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12<after>");
    }

    #[tokio::test]
    async fn a_short_http1_request_is_decided_without_waiting() {
        // 18 bytes, shorter than the preface: decided at the first byte.
        let (p, all) = sniff_pieces(&[b"GET / HTTP/1.0\r\n\r\n"], false).await;
        assert_eq!(p, Protocol::Http1);
        assert_eq!(all, b"GET / HTTP/1.0\r\n\r\n<after>");
        // PUT and POST share the preface's first byte and differ at the second.
        let (p, all) = sniff_pieces(&[b"PUT /v2/keys/a HTTP/1.1\r\n"], false).await;
        assert_eq!(p, Protocol::Http1);
        assert!(all.starts_with(b"PUT /v2/keys/a HTTP/1.1\r\n"));
    }

    #[tokio::test]
    async fn a_connection_closed_early_is_http1_with_its_bytes() {
        let (p, all) = sniff_pieces(&[b"PRI * "], true).await;
        assert_eq!(p, Protocol::Http1);
        assert_eq!(all, b"PRI * ");
        let (p, all) = sniff_pieces(&[], true).await;
        assert_eq!(p, Protocol::Http1);
        assert!(all.is_empty());
    }
}
