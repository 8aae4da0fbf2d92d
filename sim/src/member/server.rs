//! The member's HTTP server: accepts client connections and serves each with
//! hyper's HTTP/1 connection driver (which runs under madsim, unlike
//! `axum::serve` or hyper-util's Tokio executor and timer) through the v2 router.

use super::handle::Inner;
use crate::api::v2::response::{Body, text, with_cors};
use crate::api::v2::router;
use bytes::{Bytes, BytesMut};
use etcd_sdk::transport::QuietFlush;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// Largest request body read (etcd's form limit is 10 MB; JSON bodies are small).
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Accepts connections until shutdown.
pub(crate) async fn serve(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = inner.shutdown.wait() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(inner.clone(), stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "member: accept failed");
                tokio::time::sleep(inner.cfg.tick).await;
            }
        }
    }
}

async fn connection(inner: Arc<Inner>, stream: TcpStream) {
    let guard = inner.clone();
    let _open = guard.connections.enter();
    let svc = service_fn(move |req: Request<Incoming>| {
        let inner = inner.clone();
        async move { Ok::<_, Infallible>(handle(&inner, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(QuietFlush::new(stream)), svc);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        biased;
        _ = guard.shutdown.wait() => {
            // Dropping the connection closes it (and ends its watches); with a grace
            // period, the request in flight may finish first and idle ones close now.
            let grace = guard.connections.grace();
            if grace.is_zero() {
                return;
            }
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(grace, conn).await {
                Ok(r) => r,
                Err(_) => return,
            }
        }
        r = conn.as_mut() => r,
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "member: connection ended with an error");
    }
}

async fn handle(inner: &Arc<Inner>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, "member: request body not read");
            return with_cors(text(StatusCode::BAD_REQUEST, "400 Bad Request"));
        }
    };
    if inner.shutdown.is_triggered() {
        return with_cors(text(StatusCode::SERVICE_UNAVAILABLE, "server stopped"));
    }
    router::route(&**inner, Request::from_parts(parts, body)).await
}

/// Reads a whole request body (at most [`MAX_BODY_BYTES`]) into one buffer sized
/// by its Content-Length, so a large body is copied once out of hyper's reads
/// (collecting the chunks first and joining them would hold it twice).
async fn read_body<B>(body: B) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let hint = body.size_hint().exact().unwrap_or(body.size_hint().lower());
    let mut body = Limited::new(body, MAX_BODY_BYTES);
    let mut buf =
        BytesMut::with_capacity(usize::try_from(hint).map_or(0, |n| n.min(MAX_BODY_BYTES)));
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn bodies_are_read_whole_and_limited() {
        let data = Bytes::from(vec![b'a'; 3 << 20]);
        let got = read_body(Full::new(data.clone())).await.unwrap();
        assert_eq!(got, data);
        let chunks = futures_util::stream::iter(
            [b"ab".as_slice(), b"", b"cd"]
                .map(|c| Ok::<_, Infallible>(hyper::body::Frame::data(Bytes::from_static(c)))),
        );
        assert_eq!(read_body(StreamBody::new(chunks)).await.unwrap(), "abcd");
        let too_big = Full::new(Bytes::from(vec![0u8; MAX_BODY_BYTES + 1]));
        assert!(read_body(too_big).await.is_err());
    }
}
