//! [`HeadGuard`]: a connection wrapper that holds each request head back from hyper
//! until [`check_head`] has passed it, and answers a failed check with Go's raw
//! response itself (hyper would answer some of them differently, and others not at
//! all). It follows the message framing (`Content-Length`, chunked) to find the next
//! head; bodies pass through as they arrive. When the framing cannot be followed (a
//! malformed chunk), everything after passes through unchecked and hyper reports
//! the error.

use super::http_checks::{
    BodyFraming, HeadVerdict, MAX_FIRST_LINE, MAX_HEAD_BYTES, check_head, head_too_large,
};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where the guard is in the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Collecting a head.
    Head,
    /// This many body bytes still to pass.
    Body(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// This many chunk bytes, then CRLF.
    ChunkData(u64),
    /// The CRLF after chunk data: how many of its bytes are still due.
    ChunkEnd(u8),
    /// Trailer lines after the last chunk; `true` when at the start of a line.
    Trailers(bool),
    /// No more checks: everything passes.
    Passthrough,
}

/// A connection whose request heads are checked before hyper sees them.
pub struct HeadGuard<S> {
    inner: S,
    /// Bytes read and not yet handed on; the first `released` of them may go.
    buf: Vec<u8>,
    released: usize,
    /// How far past `released` the framing scan has got (within a head).
    phase: Phase,
    /// How many bytes of the pending head were searched for its end already (so a
    /// head arriving in many reads is searched once, not once per read).
    head_scanned: usize,
    /// Whether the next head is the connection's first.
    first: bool,
    /// A refusal being written, and how much of it is written.
    refusal: Option<(Vec<u8>, usize)>,
    /// The refusal is written: hyper reads end of stream from now on.
    done: bool,
    /// The peer closed its side.
    eof: bool,
}

impl<S> HeadGuard<S> {
    /// Wraps a fresh connection.
    pub fn new(inner: S) -> Self {
        HeadGuard {
            inner,
            buf: Vec::new(),
            released: 0,
            phase: Phase::Head,
            head_scanned: 0,
            first: true,
            refusal: None,
            done: false,
            eof: false,
        }
    }

    /// Advances over the unreleased bytes as far as they allow: releases body bytes
    /// and checked heads, or sets a refusal. Returns whether anything changed.
    fn advance(&mut self) -> bool {
        let start = self.released;
        loop {
            let pending = &self.buf[self.released..];
            if pending.is_empty() || self.refusal.is_some() {
                break;
            }
            match self.phase {
                Phase::Passthrough => self.released = self.buf.len(),
                Phase::Body(n) => {
                    let take = n.min(pending.len() as u64);
                    self.released += take as usize;
                    self.phase = if take == n {
                        Phase::Head
                    } else {
                        Phase::Body(n - take)
                    };
                }
                Phase::ChunkData(n) => {
                    let take = n.min(pending.len() as u64);
                    self.released += take as usize;
                    self.phase = if take == n {
                        Phase::ChunkEnd(2)
                    } else {
                        Phase::ChunkData(n - take)
                    };
                }
                Phase::ChunkEnd(due) => {
                    let expected = if due == 2 { b'\r' } else { b'\n' };
                    if pending[0] != expected {
                        self.phase = Phase::Passthrough;
                        continue;
                    }
                    self.released += 1;
                    self.phase = if due == 2 {
                        Phase::ChunkEnd(1)
                    } else {
                        Phase::ChunkSize
                    };
                }
                Phase::ChunkSize => {
                    let Some(nl) = pending.iter().position(|&b| b == b'\n') else {
                        if pending.len() > 4096 {
                            self.phase = Phase::Passthrough;
                            continue;
                        }
                        break;
                    };
                    let line = String::from_utf8_lossy(&pending[..nl]);
                    let size = line
                        .trim_end_matches('\r')
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim();
                    self.released += nl + 1;
                    self.phase = match u64::from_str_radix(size, 16) {
                        Ok(0) => Phase::Trailers(true),
                        Ok(n) if !size.starts_with('+') => Phase::ChunkData(n),
                        _ => Phase::Passthrough,
                    };
                }
                Phase::Trailers(line_start) => {
                    let b = pending[0];
                    self.released += 1;
                    self.phase = match (line_start, b) {
                        (true, b'\n') => Phase::Head,
                        (true, b'\r') => Phase::Trailers(true),
                        (_, b'\n') => Phase::Trailers(true),
                        _ => Phase::Trailers(false),
                    };
                }
                Phase::Head => {
                    if !self.head_step() {
                        break;
                    }
                }
            }
        }
        self.released != start || self.refusal.is_some()
    }

    /// One step over a head: releases it when complete and accepted, refuses it, or
    /// returns `false` to wait for more bytes.
    fn head_step(&mut self) -> bool {
        let pending = &self.buf[self.released..];
        // Empty lines between messages: hyper skips them.
        if pending[0] == b'\r' || pending[0] == b'\n' {
            self.released += 1;
            return true;
        }
        if self.first {
            let line_end = pending
                .iter()
                .take(MAX_FIRST_LINE)
                .position(|&b| b == b'\n');
            if line_end.is_none() && (pending.len() >= MAX_FIRST_LINE || self.eof) {
                // cmux found no HTTP/1 request line: it closes without a word.
                self.refusal = Some((Vec::new(), 0));
                return true;
            }
        }
        // A blank line ending within the last bytes searched may complete now.
        let Some(len) = head_len(pending, self.head_scanned.saturating_sub(3)) else {
            self.head_scanned = pending.len();
            if pending.len() > MAX_HEAD_BYTES {
                self.refusal = Some((head_too_large(), 0));
                return true;
            }
            return false;
        };
        if len > MAX_HEAD_BYTES {
            self.refusal = Some((head_too_large(), 0));
            return true;
        }
        match check_head(&pending[..len]) {
            HeadVerdict::Reject(bytes) => {
                self.refusal = Some((bytes, 0));
            }
            HeadVerdict::Accept(framing) => {
                self.first = false;
                self.head_scanned = 0;
                self.released += len;
                self.phase = match framing {
                    BodyFraming::None => Phase::Head,
                    BodyFraming::Length(n) => Phase::Body(n),
                    BodyFraming::Chunked => Phase::ChunkSize,
                    BodyFraming::Unknown => Phase::Passthrough,
                };
            }
        }
        true
    }
}

/// The length of the head at the start of `bytes`, up to and including its blank
/// line (`\r\n\r\n` or `\n\n`), when complete; the search starts at `from`.
fn head_len(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from.min(bytes.len());
    while let Some(off) = bytes[i..].iter().position(|&b| b == b'\n') {
        let nl = i + off;
        let rest = &bytes[nl + 1..];
        if rest.first() == Some(&b'\n') {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(Ok(()));
            }
            // Bytes already checked go first: a refusal follows the messages before it.
            if this.released > 0 {
                let n = this.released.min(out.remaining());
                out.put_slice(&this.buf[..n]);
                this.buf.drain(..n);
                this.released -= n;
                return Poll::Ready(Ok(()));
            }
            if let Some((bytes, written)) = &mut this.refusal {
                while *written < bytes.len() {
                    let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..]))?;
                    if n == 0 {
                        break;
                    }
                    *written += n;
                }
                ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
                this.done = true;
                continue;
            }
            if this.advance() {
                continue;
            }
            if this.eof {
                // Whatever is left is an incomplete message: hyper reports it.
                this.released = this.buf.len();
                if this.released == 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let mut chunk = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                this.eof = true;
                // A first line that never ended is cmux's refusal too.
                this.advance();
            } else {
                this.buf.extend_from_slice(rb.filled());
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
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
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    /// Sends `input` through a guard; returns what hyper would read and what the
    /// guard wrote back itself.
    async fn run(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut client, server) = duplex(1 << 22);
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut guard = HeadGuard::new(server);
        let mut seen = Vec::new();
        guard.read_to_end(&mut seen).await.unwrap();
        drop(guard);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        (seen, answer)
    }

    #[tokio::test]
    async fn good_messages_pass_unchanged() {
        let two = b"PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nvalue=1\
PUT /v2/keys/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nvalue=2\r\n0\r\nX-T: 1\r\n\r\n\
GET /v2/keys/b HTTP/1.1\r\nHost: x\r\n\r\n";
        let (seen, answer) = run(two).await;
        assert_eq!(seen, two.to_vec());
        assert!(answer.is_empty());
    }

    #[tokio::test]
    async fn a_bad_second_head_is_refused_after_the_first_passes() {
        let first =
            b"PUT /v2/keys/a HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nvalue=1".to_vec();
        let mut input = first.clone();
        input.extend_from_slice(
            b"PUT /v2/keys/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        );
        let (seen, answer) = run(&input).await;
        assert_eq!(seen, first);
        assert!(
            String::from_utf8(answer)
                .unwrap()
                .starts_with("HTTP/1.1 501 Not Implemented\r\n")
        );
    }

    #[tokio::test]
    async fn a_long_first_line_closes_silently_but_not_a_later_one() {
        let path = "x".repeat(MAX_FIRST_LINE);
        let long = format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n");
        let (seen, answer) = run(long.as_bytes()).await;
        assert!(seen.is_empty() && answer.is_empty());

        let fits = format!("GET /{} HTTP/1.1\r\n", "x".repeat(MAX_FIRST_LINE - 16));
        assert_eq!(fits.len(), MAX_FIRST_LINE);
        let fits = format!("{fits}Host: x\r\n\r\n");
        let (seen, _) = run(fits.as_bytes()).await;
        assert_eq!(seen, fits.as_bytes());

        let both = format!("GET / HTTP/1.1\r\nHost: x\r\n\r\n{long}");
        let (seen, answer) = run(both.as_bytes()).await;
        assert_eq!(seen, both.as_bytes());
        assert!(answer.is_empty());
    }

    #[tokio::test]
    async fn a_head_over_the_limit_gets_431() {
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        let (seen, answer) = run(big.as_bytes()).await;
        assert!(seen.is_empty());
        assert!(
            String::from_utf8(answer)
                .unwrap()
                .starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")
        );
        let ok = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(1 << 20)
        );
        let (seen, _) = run(ok.as_bytes()).await;
        assert_eq!(seen.len(), ok.len());
    }

    #[tokio::test]
    async fn heads_arriving_a_few_bytes_at_a_time_pass_whole() {
        let input = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPUT /b HTTP/1.1\nHost: x\nContent-Length: 1\n\nvGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        // A pipe that holds 3 bytes: every read of the guard gets at most 3.
        let (mut client, server) = duplex(3);
        let writer = tokio::spawn(async move {
            client.write_all(input).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut guard = HeadGuard::new(server);
        let mut seen = Vec::new();
        guard.read_to_end(&mut seen).await.unwrap();
        drop(writer.await.unwrap());
        assert_eq!(seen, input.to_vec());
    }

    #[tokio::test]
    async fn a_malformed_chunk_passes_through_for_hyper_to_report() {
        let input = b"PUT /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nvalue=1\r\n0\r\n\r\n";
        let (seen, answer) = run(input).await;
        assert_eq!(seen, input.to_vec());
        assert!(answer.is_empty());
    }
}
