//! etcd's `--listen-metrics-urls` server: plain HTTP/1.1 serving `/metrics` (the
//! member's exposition, any method) and `/health` (the client URLs' check) and
//! a 404 for everything else, without the client URLs' CORS headers, as etcd's
//! metrics mux answers.

use super::backend::MemberBackend;
use super::signal::Signal;
use crate::api::v2::misc;
use crate::api::v2::response::Body;
use crate::api::v2::router::not_found;
use crate::metrics::MetricsPage;
use etcd_sdk::transport::QuietFlush;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long the accept loop pauses after a failed accept.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    backend: Arc<MemberBackend>,
    page: MetricsPage,
    shutdown: Arc<Signal>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.wait() => return,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "member: metrics listener: accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        let (backend, page, shutdown) = (backend.clone(), page.clone(), shutdown.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let (backend, page) = (backend.clone(), page.clone());
                async move { Ok::<_, Infallible>(answer(&backend, &page, &req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(QuietFlush::new(stream)), svc);
            tokio::select! {
                biased;
                _ = shutdown.wait() => {}
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "member: metrics connection ended with an error");
                },
            }
        });
    }
}

/// The answer to one request.
async fn answer<B>(
    backend: &MemberBackend,
    page: &MetricsPage,
    req: &Request<B>,
) -> Response<Body> {
    let method = req.method().as_str();
    match req.uri().path() {
        "/metrics" => misc::metrics(method, page.render()),
        "/health" => misc::health(backend, method, req.uri().query()).await,
        _ => not_found(),
    }
}
