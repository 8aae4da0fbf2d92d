//! The member's HTTP server: accepts client connections and serves each with
//! hyper's HTTP/1 connection driver (which runs under madsim, unlike
//! `axum::serve` or hyper-util's Tokio executor and timer) through the v2 router.

use super::handle::Inner;
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
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
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
