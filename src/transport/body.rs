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

    /// Reads the whole body. A body that arrives in one chunk (the usual case
    /// for a small answer) is returned as that chunk, without a copy.
    pub async fn collect(mut self) -> Result<Bytes, TransportError> {
        let first = match self.chunk().await {
            None => return Ok(Bytes::new()),
            Some(chunk) => chunk?,
        };
        let second = match self.chunk().await {
            None => return Ok(first),
            Some(chunk) => chunk?,
        };
        let mut buf = BytesMut::with_capacity(first.len() + second.len());
        buf.extend_from_slice(&first);
        buf.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await {
            buf.extend_from_slice(&chunk?);
        }
        Ok(buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collect_joins_chunks_and_skips_empty_ones() {
        let chunks = ["", "ab", "", "c", "de"].map(|c| Ok(Bytes::from_static(c.as_bytes())));
        let body = ResponseBody::from_stream(stream::iter(chunks));
        assert_eq!(body.collect().await.unwrap(), Bytes::from_static(b"abcde"));
        let one = ResponseBody::from_bytes("xyz");
        assert_eq!(one.collect().await.unwrap(), Bytes::from_static(b"xyz"));
        let none = ResponseBody::from_bytes(Bytes::new());
        assert!(none.collect().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn collect_reports_an_error_after_data() {
        let err = TransportError::new(
            super::super::TransportErrorKind::Body,
            &http::Method::GET,
            &url::Url::parse("http://h:1/").unwrap(),
            "reset",
        );
        let chunks = vec![Ok(Bytes::from_static(b"a")), Err(err.clone())];
        let body = ResponseBody::from_stream(stream::iter(chunks));
        assert_eq!(body.collect().await.unwrap_err(), err);
    }
}
