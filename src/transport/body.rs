//! A streaming response body.

use super::TransportError;
use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt};

/// A response body delivered in chunks as they arrive.
pub struct ResponseBody {
    stream: BoxStream<'static, Result<Bytes, TransportError>>,
}

impl ResponseBody {
    /// A body made of one chunk (empty for none).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Self::from_stream(stream::empty());
        }
        Self::from_stream(stream::iter([Ok(bytes)]))
    }

    /// A body over any stream of chunks.
    pub fn from_stream(
        s: impl futures_util::Stream<Item = Result<Bytes, TransportError>> + Send + 'static,
    ) -> Self {
        ResponseBody { stream: s.boxed() }
    }

    /// The next chunk, or `None` at the end of the body.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, TransportError>> {
        loop {
            match self.stream.next().await {
                Some(Ok(b)) if b.is_empty() => continue,
                other => return other,
            }
        }
    }

    /// Reads the whole body.
    pub async fn collect(mut self) -> Result<Bytes, TransportError> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.chunk().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}
