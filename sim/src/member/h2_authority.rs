//! Accepting an HTTP/2 `:authority` that carries a scheme, as etcd's gRPC server
//! (grpc-go) does. etcdctl 3.4 dials its per-endpoint clients (`endpoint status
//! --cluster`, ...) with the target `passthrough:///http://HOST:PORT` and sends
//! `:authority: http://HOST:PORT`; the `h2` crate under hyper refuses that as a
//! malformed authority and resets the stream (PROTOCOL_ERROR).
//!
//! [`AuthorityFilter`] sits between a connection's socket and hyper's HTTP/2
//! server and looks only at what the client sends. It parses the client's frames
//! (RFC 9113, section 4.1): every frame but HEADERS and CONTINUATION passes
//! through byte for byte as it arrives; a header block (HEADERS, with its PADDED
//! and PRIORITY fields, and its CONTINUATION frames) is collected whole,
//! HPACK-decoded with a decoder that follows the client's encoder (its dynamic
//! table, at most the 4096 bytes that hyper's server advertises by default, and
//! the client's size updates), and re-encoded for hyper with the scheme taken off
//! `:authority`. Every block is re-encoded, rewritten or not, and only with the
//! static table and literals "without indexing" (RFC 7541, sections 6.1 and
//! 6.2.2): hyper's decoder then never adds to its dynamic table, which stays empty
//! and so consistent with what it is sent. Server-to-client bytes are untouched.
//!
//! A client sends one authority on a connection (grpc-go and tonic use their
//! target's), so the first header block decides: if its `:authority` has no
//! scheme, that block goes through in its original bytes (hyper's decoder then
//! follows the client's encoder itself) and so does everything after it, without
//! parsing — the connection costs nothing more than a plain one; otherwise every
//! block of the connection is rewritten as above.
//!
//! The HPACK decoder is the `loona-hpack` crate (the maintained continuation of
//! the `hpack` crate, renamed through `fluke-hpack`, with 2024 releases, no
//! `unsafe`, and errors rather than panics on malformed input); `h2`'s own codec
//! is private. The encoder is a few lines here (static-table indices and plain
//! literals), using the crate's integer encoding.
//!
//! Bounds: a header frame's payload is at most [`MAX_FRAME_PAYLOAD`] (hyper's
//! advertised frame size), a whole block at most [`MAX_BLOCK_BYTES`], and the
//! decoded header list at most [`MAX_LIST_BYTES`] (counted as RFC 9113 counts a
//! header list: name, value and 32 per field); past any of them, or on input that
//! is not HTTP/2 framing or HPACK, reading fails and the connection closes.

use bytes::{Buf, BufMut, BytesMut};
use loona_hpack::Decoder;
use loona_hpack::encoder::encode_integer_into;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The size of HTTP/2's client connection preface, passed through first.
const PREFACE_LEN: usize = 24;
/// The size of a frame header.
const FRAME_HEADER_LEN: usize = 9;
/// HEADERS frame type.
const HEADERS: u8 = 0x1;
/// CONTINUATION frame type.
const CONTINUATION: u8 = 0x9;
/// END_STREAM flag (HEADERS).
const END_STREAM: u8 = 0x1;
/// END_HEADERS flag (HEADERS, CONTINUATION).
const END_HEADERS: u8 = 0x4;
/// PADDED flag (HEADERS).
const PADDED: u8 = 0x8;
/// PRIORITY flag (HEADERS).
const PRIORITY: u8 = 0x20;

/// The largest HEADERS or CONTINUATION payload read: hyper's server advertises
/// HTTP/2's initial SETTINGS_MAX_FRAME_SIZE, so a larger frame is an error anyway.
pub const MAX_FRAME_PAYLOAD: usize = 16_384;
/// The largest header block (all its fragments) collected.
pub const MAX_BLOCK_BYTES: usize = 64 << 10;
/// The largest decoded header list, counted as SETTINGS_MAX_HEADER_LIST_SIZE is:
/// above hyper's own limit (16 KiB, which it answers per stream), so that only
/// what hyper would never accept closes the connection here.
pub const MAX_LIST_BYTES: usize = 256 << 10;
/// The dynamic table size hyper's HTTP/2 server lets a client's encoder use (the
/// protocol's default SETTINGS_HEADER_TABLE_SIZE, which hyper does not change).
pub const SERVER_HEADER_TABLE_SIZE: usize = 4096;

/// Why a connection's client bytes could not be filtered.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A header frame or block larger than the limits.
    #[error("HTTP/2 header block too large ({0} bytes)")]
    TooLarge(usize),
    /// Framing that HTTP/2 does not allow.
    #[error("malformed HTTP/2 framing: {0}")]
    Framing(&'static str),
    /// A header block that is not valid HPACK.
    #[error("malformed HPACK header block: {0:?}")]
    Hpack(loona_hpack::decoder::DecoderError),
}

impl From<FilterError> for io::Error {
    fn from(e: FilterError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Where the parser is in the client's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// This many bytes (of the preface, or of a frame) pass through as they are.
    Through(usize),
    /// At a frame header.
    FrameHeader,
}

/// A header block being collected: its first frame's fields and its fragments.
#[derive(Debug)]
struct Block {
    stream: u32,
    end_stream: bool,
    priority: Option<[u8; 5]>,
    fragments: Vec<u8>,
    /// The block's frames as received (kept for the connection's first block,
    /// which goes through unchanged when it needs no rewrite).
    original: Vec<u8>,
}

/// What the filter does with a connection's header blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Before the end of the first header block.
    #[default]
    Undecided,
    /// The first block's authority had a scheme: every block is rewritten.
    Rewrite,
    /// The first block needed no rewrite: all bytes pass through, unparsed.
    Transparent,
}

/// The client-side bytes' parser and rewriter, without I/O: bytes go in with
/// [`Filter::push`] and come out, ready for hyper, with [`Filter::take`].
#[derive(Default)]
pub struct Filter {
    /// Bytes received and not yet handed on.
    raw: BytesMut,
    /// How many leading bytes of `raw` pass through as they are.
    ready: usize,
    /// Re-encoded header frames, handed on before anything in `raw`.
    out: BytesMut,
    phase: Option<Phase>,
    block: Option<Block>,
    decoder: Option<Decoder<'static>>,
    mode: Mode,
}

impl Filter {
    /// A filter at the start of a connection (before the preface).
    pub fn new() -> Filter {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(SERVER_HEADER_TABLE_SIZE);
        Filter {
            phase: Some(Phase::Through(PREFACE_LEN)),
            decoder: Some(decoder),
            ..Filter::default()
        }
    }

    /// Whether the filter has nothing buffered and passes everything through
    /// from now on (the reader may then read the socket directly).
    pub fn is_transparent(&self) -> bool {
        self.mode == Mode::Transparent && self.raw.is_empty() && self.out.is_empty()
    }

    /// Adds bytes received from the client.
    pub fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
    }

    /// Hands at most `max` bytes that are ready for hyper to `dst`; returns how
    /// many (0 when more client bytes are needed first).
    ///
    /// # Errors
    ///
    /// The client's bytes are not HTTP/2 as the limits allow.
    pub fn take(&mut self, max: usize, dst: impl FnOnce(&[u8])) -> Result<usize, FilterError> {
        loop {
            if !self.out.is_empty() {
                let n = self.out.len().min(max);
                dst(&self.out[..n]);
                self.out.advance(n);
                return Ok(n);
            }
            if self.ready > 0 {
                let n = self.ready.min(max);
                dst(&self.raw[..n]);
                self.raw.advance(n);
                self.ready -= n;
                return Ok(n);
            }
            if !self.step()? {
                return Ok(0);
            }
        }
    }

    /// Parses the next piece of `raw`; returns whether it made progress (false:
    /// more client bytes are needed).
    fn step(&mut self) -> Result<bool, FilterError> {
        if self.mode == Mode::Transparent {
            self.ready = self.raw.len();
            return Ok(self.ready > 0);
        }
        match self.phase.unwrap_or(Phase::FrameHeader) {
            Phase::Through(rest) => {
                let n = rest.min(self.raw.len());
                if n == 0 {
                    return Ok(false);
                }
                self.ready = n;
                self.phase = Some(if n == rest {
                    Phase::FrameHeader
                } else {
                    Phase::Through(rest - n)
                });
                Ok(true)
            }
            Phase::FrameHeader => {
                let Some(head) = self.raw.get(..FRAME_HEADER_LEN) else {
                    return Ok(false);
                };
                let len =
                    usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
                let (kind, flags) = (head[3], head[4]);
                let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                let in_block = self.block.is_some();
                if kind != HEADERS && kind != CONTINUATION {
                    if in_block {
                        return Err(FilterError::Framing("a frame inside a header block"));
                    }
                    self.phase = Some(Phase::Through(FRAME_HEADER_LEN + len));
                    return Ok(true);
                }
                if len > MAX_FRAME_PAYLOAD {
                    return Err(FilterError::TooLarge(len));
                }
                if self.raw.len() < FRAME_HEADER_LEN + len {
                    self.raw.reserve(FRAME_HEADER_LEN + len - self.raw.len());
                    return Ok(false);
                }
                let frame = self.raw.split_to(FRAME_HEADER_LEN + len);
                let payload = &frame[FRAME_HEADER_LEN..];
                let fragment = if kind == HEADERS {
                    if in_block {
                        return Err(FilterError::Framing("HEADERS inside a header block"));
                    }
                    self.start_block(stream, flags, payload)?
                } else {
                    match &self.block {
                        Some(b) if b.stream == stream => payload,
                        _ => return Err(FilterError::Framing("CONTINUATION outside its block")),
                    }
                };
                let block = self
                    .block
                    .as_mut()
                    .ok_or(FilterError::Framing("no header block"))?;
                if block.fragments.len() + fragment.len() > MAX_BLOCK_BYTES {
                    return Err(FilterError::TooLarge(
                        block.fragments.len() + fragment.len(),
                    ));
                }
                block.fragments.extend_from_slice(fragment);
                if self.mode == Mode::Undecided {
                    block.original.extend_from_slice(&frame);
                }
                if flags & END_HEADERS != 0 {
                    let block = self
                        .block
                        .take()
                        .ok_or(FilterError::Framing("no header block"))?;
                    self.finish_block(&block)?;
                }
                // A fragment was taken: the next frame may be in `raw` already.
                Ok(true)
            }
        }
    }

    /// Opens a block from a HEADERS frame; returns its fragment.
    fn start_block<'p>(
        &mut self,
        stream: u32,
        flags: u8,
        payload: &'p [u8],
    ) -> Result<&'p [u8], FilterError> {
        let mut body = payload;
        let mut pad = 0;
        if flags & PADDED != 0 {
            let (&p, rest) = body.split_first().ok_or(FilterError::Framing(
                "PADDED HEADERS without its pad length",
            ))?;
            pad = usize::from(p);
            body = rest;
        }
        let priority = if flags & PRIORITY != 0 {
            let (p, rest) = body
                .split_first_chunk::<5>()
                .ok_or(FilterError::Framing("PRIORITY HEADERS without its fields"))?;
            body = rest;
            Some(*p)
        } else {
            None
        };
        let keep = body
            .len()
            .checked_sub(pad)
            .ok_or(FilterError::Framing("padding longer than the frame"))?;
        self.block = Some(Block {
            stream,
            end_stream: flags & END_STREAM != 0,
            priority,
            fragments: Vec::with_capacity(keep),
            original: Vec::new(),
        });
        Ok(&body[..keep])
    }

    /// Decodes a whole block and queues it, re-encoded, as HEADERS (and
    /// CONTINUATION) frames.
    fn finish_block(&mut self, block: &Block) -> Result<(), FilterError> {
        let decoder = self
            .decoder
            .as_mut()
            .ok_or(FilterError::Framing("no decoder"))?;
        let mut encoded = Vec::with_capacity(block.fragments.len() + 16);
        let mut listed = 0usize;
        let mut rewritten = false;
        decoder
            .decode_with_cb(&block.fragments, |name, value| {
                listed = listed.saturating_add(name.len() + value.len() + 32);
                if listed <= MAX_LIST_BYTES {
                    let value = if &*name == b":authority" {
                        let kept = without_scheme(&value);
                        rewritten |= kept.len() != value.len();
                        kept
                    } else {
                        &value
                    };
                    encode_field(&name, value, &mut encoded);
                }
            })
            .map_err(FilterError::Hpack)?;
        if listed > MAX_LIST_BYTES {
            return Err(FilterError::TooLarge(listed));
        }
        if self.mode == Mode::Undecided && !rewritten {
            // hyper decodes the client's own bytes from here on.
            self.mode = Mode::Transparent;
            self.decoder = None;
            self.out.extend_from_slice(&block.original);
            return Ok(());
        }
        self.mode = Mode::Rewrite;
        write_frames(block, &encoded, &mut self.out);
        Ok(())
    }
}

/// `value` without a leading `http://` or `https://` (ASCII case ignored) and
/// without anything from a `/` after it: the authority etcd's server sees.
fn without_scheme(value: &[u8]) -> &[u8] {
    let rest = [b"http://".as_slice(), b"https://".as_slice()]
        .iter()
        .find(|s| value.len() >= s.len() && value[..s.len()].eq_ignore_ascii_case(s))
        .map(|s| &value[s.len()..]);
    match rest {
        Some(rest) => rest.split(|&b| b == b'/').next().unwrap_or(rest),
        None => value,
    }
}

/// Writes `block`'s re-encoded `encoded` fragment as a HEADERS frame and as many
/// CONTINUATION frames as [`MAX_FRAME_PAYLOAD`] requires.
fn write_frames(block: &Block, encoded: &[u8], out: &mut BytesMut) {
    let room = MAX_FRAME_PAYLOAD - if block.priority.is_some() { 5 } else { 0 };
    let first = encoded.len().min(room);
    let mut flags = 0;
    if block.end_stream {
        flags |= END_STREAM;
    }
    if block.priority.is_some() {
        flags |= PRIORITY;
    }
    if first == encoded.len() {
        flags |= END_HEADERS;
    }
    let len = first + if block.priority.is_some() { 5 } else { 0 };
    out.reserve(encoded.len() + 2 * FRAME_HEADER_LEN + 5);
    put_frame_header(out, len, HEADERS, flags, block.stream);
    if let Some(p) = &block.priority {
        out.put_slice(p);
    }
    out.put_slice(&encoded[..first]);
    let mut rest = &encoded[first..];
    while !rest.is_empty() {
        let n = rest.len().min(MAX_FRAME_PAYLOAD);
        let flags = if n == rest.len() { END_HEADERS } else { 0 };
        put_frame_header(out, n, CONTINUATION, flags, block.stream);
        out.put_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

fn put_frame_header(out: &mut BytesMut, len: usize, kind: u8, flags: u8, stream: u32) {
    let len = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    out.put_slice(&len[1..]);
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u32(stream);
}

/// Encodes one field without touching the receiver's dynamic table: an indexed
/// field when the static table holds name and value, otherwise a literal without
/// indexing, its name indexed when the static table holds it (RFC 7541, 6.1, 6.2.2).
fn encode_field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let mut name_index = 0;
    for (i, (n, v)) in STATIC_TABLE.iter().enumerate() {
        if *n == name {
            if *v == value {
                // Writing to a Vec does not fail.
                let _ = encode_integer_into(i + 1, 7, 0x80, out);
                return;
            }
            if name_index == 0 {
                name_index = i + 1;
            }
        }
    }
    let _ = encode_integer_into(name_index, 4, 0x00, out);
    if name_index == 0 {
        let _ = encode_integer_into(name.len(), 7, 0x00, out);
        out.extend_from_slice(name);
    }
    let _ = encode_integer_into(value.len(), 7, 0x00, out);
    out.extend_from_slice(value);
}

/// HPACK's static table (RFC 7541, Appendix A): index i + 1 is entry i.
const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// How much is read from the socket at once.
const READ_CHUNK: usize = 16 << 10;

/// A client connection whose HTTP/2 header blocks reach the reader rewritten by
/// [`Filter`]; writes go to the connection unchanged.
pub struct AuthorityFilter<S> {
    inner: S,
    filter: Filter,
    eof: bool,
    /// What each socket read fills before its bytes go to the filter.
    chunk: Box<[u8]>,
}

impl<S> AuthorityFilter<S> {
    /// Filters `inner`, which must start with the HTTP/2 client preface.
    pub fn new(inner: S) -> AuthorityFilter<S> {
        AuthorityFilter {
            inner,
            filter: Filter::new(),
            eof: false,
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthorityFilter<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.filter.is_transparent() {
                if !this.chunk.is_empty() {
                    this.chunk = Box::default();
                }
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let max = buf.remaining();
            if max == 0 {
                return Poll::Ready(Ok(()));
            }
            if this.filter.take(max, |b| buf.put_slice(b))? > 0 {
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // A frame cut short: hyper sees the end without it.
                return Poll::Ready(Ok(()));
            }
            let mut rb = ReadBuf::new(&mut this.chunk[..]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    if rb.filled().is_empty() {
                        this.eof = true;
                    } else {
                        this.filter.push(rb.filled());
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthorityFilter<S> {
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
    use loona_hpack::Encoder;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_frame_header(&mut out, payload.len(), kind, flags, stream);
        out.put_slice(payload);
        out.to_vec()
    }

    /// A gRPC request's header block, `authority` literal with incremental
    /// indexing on the first request and indexed (62) after, as grpc-go's
    /// encoder does; the rest through an indexing encoder.
    fn request_block(enc: &mut Encoder<'_>, first: bool, authority: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        if first {
            block.push(0x41);
            let _ = encode_integer_into(authority.len(), 7, 0, &mut block);
            block.extend_from_slice(authority);
        } else {
            // The loona encoder below adds `te` and the metadata first, then
            // the authority entry is the oldest: the highest index.
            block.extend(encode_integer(62 + 2, 7, 0x80));
        }
        enc.encode_into(
            [
                (b":method".as_slice(), b"POST".as_slice()),
                (b":scheme", b"http"),
                (b":path", b"/etcdserverpb.Maintenance/Status"),
                (b"content-type", b"application/grpc"),
                (b"te", b"trailers"),
                (b"x-client", b"etcdctl"),
            ],
            &mut block,
        )
        .unwrap();
        block
    }

    fn encode_integer(v: usize, prefix: u8, bits: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = encode_integer_into(v, prefix, bits, &mut out);
        out
    }

    /// Runs `input` through a filter in pieces of `piece` bytes.
    fn run(input: &[u8], piece: usize) -> Result<Vec<u8>, FilterError> {
        let mut f = Filter::new();
        let mut out = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            f.push(chunk);
            while f.take(7, |b| out.extend_from_slice(b))? > 0 {}
        }
        Ok(out)
    }

    /// The frames of `bytes` (after the preface): (type, flags, stream, payload).
    fn frames(bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
        assert_eq!(&bytes[..24], PREFACE);
        let mut rest = &bytes[24..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
            let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
            out.push((rest[3], rest[4], stream, rest[9..9 + len].to_vec()));
            rest = &rest[9 + len..];
        }
        out
    }

    /// A decoded header list.
    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    /// Decodes the filtered header blocks with a decoder whose dynamic table is
    /// empty and stays so (size 0): any reference to it fails.
    fn decode_blocks(frames: &[(u8, u8, u32, Vec<u8>)]) -> Vec<(u32, Fields)> {
        let mut dec = Decoder::new();
        dec.set_max_table_size(0);
        let mut out = Vec::new();
        let mut block = Vec::new();
        for (kind, flags, stream, payload) in frames {
            let body = match *kind {
                HEADERS if flags & PRIORITY != 0 => &payload[5..],
                HEADERS | CONTINUATION => &payload[..],
                _ => continue,
            };
            assert_eq!(flags & PADDED, 0, "padding is dropped");
            block.extend_from_slice(body);
            if flags & END_HEADERS != 0 {
                out.push((*stream, dec.decode(&block).expect("static-only block")));
                block.clear();
            }
        }
        out
    }

    fn authority(headers: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        headers
            .iter()
            .find(|(n, _)| n == b":authority")
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    #[test]
    fn schemes_leave_the_authority_over_several_indexed_requests_and_split_reads() {
        let mut enc = Encoder::new();
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[0, 4, 0, 0, 0xff, 0xff])); // SETTINGS
        for (i, stream) in [1u32, 3, 5].into_iter().enumerate() {
            let block = request_block(&mut enc, i == 0, b"http://127.0.0.1:2379");
            input.extend(frame(HEADERS, END_HEADERS, stream, &block));
            input.extend(frame(0x0, END_STREAM, stream, b"\0\0\0\0\x02ab"));
        }
        for piece in [1, 2, 5, 9, 10, 4096] {
            let out = run(&input, piece).unwrap();
            let frames = frames(&out);
            // SETTINGS and DATA frames pass byte for byte.
            assert_eq!(frames[0], (0x4, 0, 0, vec![0, 4, 0, 0, 0xff, 0xff]));
            assert_eq!(frames[2], (0x0, END_STREAM, 1, b"\0\0\0\0\x02ab".to_vec()));
            let blocks = decode_blocks(&frames);
            assert_eq!(blocks.len(), 3);
            for (stream, headers) in &blocks {
                assert!([1, 3, 5].contains(stream));
                assert_eq!(authority(headers), b"127.0.0.1:2379", "piece {piece}");
                assert!(headers.contains(&(b"te".to_vec(), b"trailers".to_vec())));
                assert!(headers.contains(&(b"x-client".to_vec(), b"etcdctl".to_vec())));
                assert_eq!(headers[0].0, b":authority");
            }
        }
    }

    #[test]
    fn other_authorities_are_kept_and_https_and_paths_are_stripped() {
        assert_eq!(without_scheme(b"127.0.0.1:2379"), b"127.0.0.1:2379");
        assert_eq!(without_scheme(b"HTTPS://h:1/x"), b"h:1");
        assert_eq!(without_scheme(b"http://"), b"");
        assert_eq!(without_scheme(b"http:/"), b"http:/");
        let mut enc = Encoder::new();
        let block = enc.encode([(b":authority".as_slice(), b"localhost:2379".as_slice())]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &block));
        let out = run(&input, 3).unwrap();
        let frames = frames(&out);
        assert_eq!(frames[0].1, END_HEADERS | END_STREAM);
        assert_eq!(authority(&decode_blocks(&frames)[0].1), b"localhost:2379");
    }

    #[test]
    fn a_connection_whose_first_authority_has_no_scheme_passes_unchanged() {
        let mut enc = Encoder::new();
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[0, 4, 0, 0, 0xff, 0xff])); // SETTINGS
        for (i, (stream, authority)) in [(1u32, b"127.0.0.1:2379".as_slice()), (3, b"h:1")]
            .into_iter()
            .enumerate()
        {
            let block = request_block(&mut enc, i == 0, authority);
            input.extend(frame(HEADERS, END_HEADERS, stream, &block));
            input.extend(frame(0x0, END_STREAM, stream, b"\0\0\0\0\x02ab"));
        }
        for piece in [1, 7, 4096] {
            let mut f = Filter::new();
            let mut out = Vec::new();
            let mut transparent_at = None;
            for (i, chunk) in input.chunks(piece).enumerate() {
                f.push(chunk);
                while f.take(7, |b| out.extend_from_slice(b)).unwrap() > 0 {}
                if transparent_at.is_none() && f.is_transparent() {
                    transparent_at = Some(i);
                }
            }
            // The client's own bytes, and no parsing after the first block.
            assert_eq!(out, input, "piece {piece}");
            assert!(transparent_at.is_some(), "piece {piece}");
            assert!(f.decoder.is_none());
        }
    }

    #[test]
    fn padded_priority_headers_and_continuations_become_one_block() {
        let mut enc = Encoder::new();
        let block = request_block(&mut enc, true, b"https://m:2379");
        let (a, rest) = block.split_at(5);
        let (b, c) = rest.split_at(7);
        let mut headers = vec![3u8]; // pad length
        headers.extend_from_slice(&[0x80, 0, 0, 1, 15]); // exclusive dep on 1, weight 16
        headers.extend_from_slice(a);
        headers.extend_from_slice(&[0, 0, 0]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 7, &headers));
        input.extend(frame(CONTINUATION, 0, 7, b));
        input.extend(frame(CONTINUATION, END_HEADERS, 7, c));
        input.extend(frame(0x8, 0, 0, &[0, 0, 1, 0])); // WINDOW_UPDATE
        for piece in [1, 13, 100] {
            let out = run(&input, piece).unwrap();
            let frames = frames(&out);
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0].1, PRIORITY | END_STREAM | END_HEADERS);
            assert_eq!(&frames[0].3[..5], &[0x80, 0, 0, 1, 15]);
            assert_eq!(frames[1], (0x8, 0, 0, vec![0, 0, 1, 0]));
            assert_eq!(authority(&decode_blocks(&frames)[0].1), b"m:2379");
        }
    }

    #[test]
    fn size_updates_are_followed_and_bounded_by_the_advertised_size() {
        // A size update to 0 evicts the indexed authority: a later reference fails
        // (the first authority has a scheme, so the connection stays filtered).
        let mut input = PREFACE.to_vec();
        let mut first = vec![0x41, 10];
        first.extend_from_slice(b"http://a:1");
        input.extend(frame(HEADERS, END_HEADERS, 1, &first));
        let mut second = encode_integer(0, 5, 0x20);
        second.push(0xbe);
        input.extend(frame(HEADERS, END_HEADERS, 3, &second));
        assert!(matches!(run(&input, 4), Err(FilterError::Hpack(_))));
        // Above the 4096 bytes the server allows.
        let mut input = PREFACE.to_vec();
        let mut block = encode_integer(8192, 5, 0x20);
        block.push(0x82);
        input.extend(frame(HEADERS, END_HEADERS, 1, &block));
        assert!(matches!(run(&input, 4), Err(FilterError::Hpack(_))));
        // Within it: accepted.
        let mut input = PREFACE.to_vec();
        let mut block = encode_integer(100, 5, 0x20);
        block.push(0x82);
        input.extend(frame(HEADERS, END_HEADERS, 1, &block));
        assert!(run(&input, 4).is_ok());
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: Vec<Vec<u8>> = vec![
            // Padding longer than the frame.
            frame(HEADERS, END_HEADERS | PADDED, 1, &[9, 0x82]),
            // PRIORITY without its fields.
            frame(HEADERS, END_HEADERS | PRIORITY, 1, &[0, 0]),
            // CONTINUATION with no block open, then on another stream.
            frame(CONTINUATION, END_HEADERS, 1, &[0x82]),
            [
                frame(HEADERS, 0, 1, &[0x82]),
                frame(CONTINUATION, END_HEADERS, 3, &[0x82]),
            ]
            .concat(),
            // Another frame inside a block.
            [frame(HEADERS, 0, 1, &[0x82]), frame(0x0, 0, 1, b"x")].concat(),
            // An index past the tables, a string past the block, a bad integer.
            frame(HEADERS, END_HEADERS, 1, &[0xff, 0x7f]),
            frame(HEADERS, END_HEADERS, 1, &[0x00, 0x7f]),
            frame(
                HEADERS,
                END_HEADERS,
                1,
                &[0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            // Invalid Huffman (EOS padding of ones past 7 bits).
            frame(HEADERS, END_HEADERS, 1, &[0x00, 0x81, 0xff, 0x81, 0xff]),
        ];
        for case in cases {
            let input = [PREFACE.as_slice(), &case].concat();
            assert!(run(&input, 1).is_err(), "{case:02x?}");
        }
        // Random bytes after the preface never panic.
        let mut x: u32 = 12345;
        for _ in 0..300 {
            let mut input = PREFACE.to_vec();
            let len = (x % 64) as usize;
            for _ in 0..len {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                input.push((x >> 16) as u8);
            }
            if input.len() > 27 {
                input[24] = 0;
                input[27] = if x % 2 == 0 { HEADERS } else { CONTINUATION };
            }
            let _ = run(&input, 3);
        }
    }

    #[test]
    fn oversized_frames_blocks_and_lists_are_refused() {
        let big = vec![0u8; MAX_FRAME_PAYLOAD + 1];
        let input = [PREFACE.as_slice(), &frame(HEADERS, 0, 1, &big)].concat();
        assert!(matches!(run(&input, 4096), Err(FilterError::TooLarge(_))));
        // Fragments adding up past the block limit.
        let mut input = PREFACE.to_vec();
        let part = vec![0x82u8; MAX_FRAME_PAYLOAD];
        input.extend(frame(HEADERS, 0, 1, &part));
        for _ in 0..(MAX_BLOCK_BYTES / MAX_FRAME_PAYLOAD) {
            input.extend(frame(CONTINUATION, 0, 1, &part));
        }
        assert!(matches!(run(&input, 4096), Err(FilterError::TooLarge(_))));
        // A small block that references a 4000-byte entry many times.
        let mut block = vec![0x40, 1, b'x'];
        block.extend(encode_integer(4000, 7, 0));
        block.extend(vec![b'v'; 4000]);
        block.extend(vec![0xbe; 8000]);
        let input = [PREFACE.as_slice(), &frame(HEADERS, END_HEADERS, 1, &block)].concat();
        assert!(matches!(run(&input, 4096), Err(FilterError::TooLarge(_))));
    }

    #[test]
    fn large_rewritten_blocks_are_split_into_continuations() {
        let mut enc = Encoder::new();
        let value = vec![b'a'; 20_000];
        let block = enc.encode([
            (b":authority".as_slice(), b"http://h:1".as_slice()),
            (b"x-big", &value),
        ]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, 0, 1, &block[..10_000]));
        input.extend(frame(CONTINUATION, END_HEADERS, 1, &block[10_000..]));
        let out = run(&input, 4096).unwrap();
        let frames = frames(&out);
        assert_eq!(frames.len(), 2);
        assert!(frames.iter().all(|f| f.3.len() <= MAX_FRAME_PAYLOAD));
        assert_eq!(frames[1].0, CONTINUATION);
        let blocks = decode_blocks(&frames);
        assert_eq!(authority(&blocks[0].1), b"h:1");
        assert_eq!(blocks[0].1[1].1, value);
    }

    #[tokio::test]
    async fn the_stream_filters_reads_and_passes_writes() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut filtered = AuthorityFilter::new(server);
        let mut enc = Encoder::new();
        let block = request_block(&mut enc, true, b"http://h:2");
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &block));
        let expected = run(&input, 4096).unwrap();
        let writer = tokio::spawn(async move {
            client.write_all(&input).await.unwrap();
            let mut back = [0u8; 5];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"hello");
        });
        let mut got = vec![0u8; expected.len()];
        filtered.read_exact(&mut got).await.unwrap();
        assert_eq!(got, expected);
        filtered.write_all(b"hello").await.unwrap();
        writer.await.unwrap();
    }
}
