//! Serving a TLS client connection (real builds): the handshake
//! ([`crate::tls::ServerTls::accept`], bounded by its timeout), then the same
//! dispatch as a plaintext port ([`super::preface::sniff`]): HTTP/1.1 to the
//! v2 router (and the `/v3` gateway), HTTP/2 to the gRPC services.
//!
//! HTTP/2 over TLS carries more than gRPC, as on etcd's TLS port (where Go's
//! HTTP server takes every request and hands `application/grpc` ones to the
//! gRPC server): a client that settled on `h2` by ALPN (curl does) sends its
//! `/health` or `/v2/keys` requests over HTTP/2 too, so each request goes to
//! the gRPC services or to the HTTP handler by its content type.
//!
//! Under `--client-cert-auth`, every gRPC request of the connection carries
//! the client certificate's common name as a [`CertCommonName`] extension,
//! which v3 auth takes as the user when the request has no token.
//!
//! A handshake that fails (a plaintext client, a certificate the CA did not
//! sign, no common protocol) or does not finish in time ends that connection
//! only; the port goes on serving.

use super::drain::Connections;
use super::preface::{Protocol, sniff};
use super::server::{Http1, Http2Service, answer, handle, http1_connection, http2_connection};
use super::signal::Signal;
use crate::api::v2::router::{ClientCertNames, V2Server};
use crate::api::v2::user_handlers::HandlerPanicked;
use crate::api::v3::auth_info::CertCommonName;
use crate::tls::ServerTls;
use bytes::Bytes;
use etcd_sdk::transport::QuietFlush;
use etcd_sdk::v3::tonic::service::Routes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;

/// A response body of either service.
type MixedBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Serves one TLS connection until it closes or shutdown.
pub(super) async fn connection<S: V2Server>(
    mut http1: Http1<S>,
    grpc: Http2Service,
    stream: TcpStream,
    tls: &ServerTls,
    shutdown: &Arc<Signal>,
    connections: &Connections,
) {
    let peer = stream.peer_addr().ok();
    let accepted = tokio::select! {
        biased;
        _ = shutdown.wait() => return,
        a = tls.accept(stream) => a,
    };
    let accepted = match accepted {
        Ok(a) => a,
        Err(e) => {
            // etcd logs these at warning level ("rejected connection").
            tracing::warn!(?peer, error = %e, "member: rejected connection: TLS handshake failed");
            return;
        }
    };
    let cn = accepted.common_name.map(CertCommonName);
    if !accepted.chain_common_names.is_empty() {
        http1.cert_names = Some(ClientCertNames(accepted.chain_common_names));
    }
    let sniffed = tokio::select! {
        biased;
        _ = shutdown.wait() => return,
        s = sniff(accepted.stream) => s,
    };
    let (protocol, stream) = match sniffed {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "member: TLS connection failed before its first request");
            return;
        }
    };
    if protocol == Protocol::Http1 {
        http1_connection(http1, stream, shutdown, connections).await;
        return;
    }
    let Some(routes) = grpc.routes else {
        return;
    };
    let svc = Mixed {
        routes,
        http1: Arc::new(http1),
        stopping: shutdown.clone(),
        cn,
    };
    serve_h2(svc, stream, shutdown, connections).await;
}

/// One HTTP/2 connection's service: gRPC requests to the v3 services (with
/// the certificate's common name), the others to the HTTP handler.
struct Mixed<S> {
    routes: Routes,
    http1: Arc<Http1<S>>,
    stopping: Arc<Signal>,
    cn: Option<CertCommonName>,
}

impl<S> Clone for Mixed<S> {
    fn clone(&self) -> Self {
        Mixed {
            routes: self.routes.clone(),
            http1: self.http1.clone(),
            stopping: self.stopping.clone(),
            cn: self.cn.clone(),
        }
    }
}

/// Whether a request is gRPC (etcd: its content type contains
/// `application/grpc`).
fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/grpc"))
}

impl<S: V2Server> hyper::service::Service<Request<Incoming>> for Mixed<S> {
    type Response = Response<MixedBody>;
    /// A user handler panicked: hyper resets the stream.
    type Error = HandlerPanicked;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, HandlerPanicked>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if is_grpc(&req) {
            if let Some(cn) = &self.cn {
                req.extensions_mut().insert(cn.clone());
            }
            let routes = self.routes.clone();
            return Box::pin(async move {
                let resp = match tower::ServiceExt::oneshot(routes, req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok(resp.map(|b| b.map_err(Into::into).boxed_unsync()))
            });
        }
        let (http1, stopping) = (self.http1.clone(), self.stopping.clone());
        http1.attach(&mut req);
        Box::pin(async move {
            let resp = answer(handle(&*http1.backend, &stopping, req).await)?;
            Ok(resp.map(|b| b.map_err(|never| match never {}).boxed_unsync()))
        })
    }
}

/// Serves one HTTP/2 connection with `svc` until it closes or shutdown (then,
/// with a grace period, lets the calls in flight finish).
async fn serve_h2<S, T>(svc: Mixed<S>, stream: T, shutdown: &Arc<Signal>, connections: &Connections)
where
    S: V2Server,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let conn = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
        .serve_connection(
            TokioIo::new(QuietFlush::new(super::h2_authority::AuthorityFilter::new(
                stream,
            ))),
            svc,
        );
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        biased;
        _ = shutdown.wait() => {
            let grace = connections.grace();
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
        tracing::debug!(error = %e, "member: TLS HTTP/2 connection ended with an error");
    }
}

/// A gRPC channel to `grpc` that never leaves the process: each connection
/// it makes is an in-memory pipe whose server end is served as a plaintext
/// HTTP/2 connection of this port. The `/v3` gateway of a TLS port calls the
/// services through it (etcd's gateway dials its own TLS port; ours need not
/// encrypt to itself).
pub(crate) fn in_process_channel(
    grpc: &Http2Service,
    shutdown: &Arc<Signal>,
    connections: &Arc<Connections>,
) -> Option<etcd_sdk::v3::tonic::transport::Channel> {
    let routes = grpc.routes.clone()?;
    let (shutdown, connections) = (shutdown.clone(), connections.clone());
    let connector = tower::service_fn(move |_: http::Uri| {
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        let (routes, shutdown, connections) =
            (routes.clone(), shutdown.clone(), connections.clone());
        tokio::spawn(async move {
            http2_connection(routes, server, &shutdown, &connections).await;
        });
        async move { Ok::<_, std::io::Error>(TokioIo::new(client)) }
    });
    etcd_sdk::v3::tonic::transport::Endpoint::from_static("http://in-process.invalid")
        .connect_with_connector_lazy(connector)
        .into()
}

/// The buffer of an in-process connection's pipe.
const PIPE_BYTES: usize = 256 << 10;
