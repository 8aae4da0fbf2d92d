//! The member's HTTP server: accepts client connections and serves each with
//! hyper's HTTP/1 connection driver (which runs under madsim, unlike
//! `axum::serve` or hyper-util's Tokio executor and timer) through the v2 router.

use super::handle::Inner;
use crate::api::v2::head_guard::HeadGuard;
use crate::api::v2::http_checks::{BodyError, MAX_HEAD_BYTES, go_body_error_text};
use crate::api::v2::response::{Body, text, with_cors};
use crate::api::v2::router;
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
    let conn = http1_builder()
        .serve_connection(TokioIo::new(HeadGuard::new(QuietFlush::new(stream))), svc);
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

/// hyper's per-connection settings. Heads are checked and bounded by
/// [`HeadGuard`] first (Go's limits: 1 MiB + 4096 bytes, any number of headers);
/// hyper's own limits sit above what the guard lets through, so that hyper does not
/// answer 431 where etcd answers 200.
fn http1_builder() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .max_buf_size(MAX_HEAD_BYTES + (64 << 10))
        .max_headers(MAX_HEADERS);
    builder
}

/// The most headers one request may carry. Go counts only bytes; hyper reserves a
/// slot per header for every parse, so the count is bounded: far above what any
/// client sends (etcd's clients send fewer than 20).
const MAX_HEADERS: usize = 8192;

async fn handle(inner: &Arc<Inner>, req: Request<Incoming>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            tracing::debug!(error = %e, "member: request body too large");
            return with_cors(text(StatusCode::BAD_REQUEST, "400 Bad Request"));
        }
        Err(e) => {
            tracing::debug!(error = %e, "member: request body not read");
            // The handlers answer as etcd's do when the body fails (error 210 for
            // a key write); the connection closes after the answer.
            parts.extensions.insert(BodyError(go_body_error_text(&*e)));
            let req = Request::from_parts(parts, bytes::Bytes::new());
            let mut resp = router::route(&**inner, req).await;
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return resp;
        }
    };
    if inner.shutdown.is_triggered() {
        return with_cors(text(StatusCode::SERVICE_UNAVAILABLE, "server stopped"));
    }
    router::route(&**inner, Request::from_parts(parts, body)).await
}
