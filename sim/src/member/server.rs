//! A member's client port: [`serve`] accepts client connections on a listener and
//! serves each with hyper's HTTP/1 connection driver (which runs under madsim,
//! unlike `axum::serve` or hyper-util's Tokio executor and timer) through the v2
//! router, until the shutdown signal. In real builds a connection that opens with
//! HTTP/2's preface ([`super::preface`]) is gRPC and goes to the v3 services'
//! router instead, on the same port, as etcd multiplexes its client port; in sim
//! builds madsim's gRPC serves the same address on its own simulated socket.
//!
//! It takes a connection slot ([`Connections`]) before each accept: at the cap it
//! stops accepting, and new connections wait in the kernel's listen backlog until
//! one closes.

use super::drain::Connections;
use super::signal::Signal;
use crate::api::v2::head_guard::HeadGuard;
use crate::api::v2::http_checks::{BodyError, MAX_HEAD_BYTES, go_body_error_text};
use crate::api::v2::response::{Body, text, with_cors};
use crate::api::v2::router::{self, ClientCertNames, V2Server};
use crate::api::v2::user_handlers::{HandlerPanicked, UserRoutes};
use crate::api::v3::gateway::Gateway;
use bytes::{Bytes, BytesMut};
use etcd_sdk::transport::QuietFlush;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Largest request body read (etcd's form limit is 10 MB; JSON bodies are small).
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// How long the accept loop pauses after a failed accept (out of file
/// descriptors, say) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// What serves a client port's HTTP/2 (gRPC) connections: the v3 services' tonic
/// router in real builds. Sim builds serve gRPC on madsim's own socket
/// ([`crate::api::v3::V3Services::serve`]), so there it holds nothing.
#[derive(Clone, Default)]
pub(crate) struct Http2Service {
    #[cfg(not(madsim))]
    pub(super) routes: Option<etcd_sdk::v3::tonic::service::Routes>,
}

impl Http2Service {
    /// The v3 services of `services`, and the embedding application's (`hooks`,
    /// real builds), for the HTTP/2 connections of a client port.
    pub(crate) fn new(
        services: &crate::api::v3::V3Services,
        hooks: &super::hooks::ClientHooks,
    ) -> Http2Service {
        #[cfg(madsim)]
        let _ = (services, hooks);
        #[cfg(not(madsim))]
        let routes = match &hooks.service_register {
            Some(register) => {
                let extra = register.register(services.routes());
                if let Err(e) = extra.check() {
                    // The embed API checks this before starting; a register
                    // function that changes its mind only loses the duplicate.
                    tracing::warn!(error = %e, "member: a user gRPC service was not registered");
                }
                extra.into_routes()
            }
            None => services.routes(),
        };
        Http2Service {
            #[cfg(not(madsim))]
            routes: Some(routes),
        }
    }
}

/// Serves `backend` (and `grpc`, for HTTP/2 connections) on `listener` until
/// `shutdown`, at most as many connections at once as `connections` allows.
/// With a `gateway`, the v2 router hands it the `/v3/...` requests (each request
/// carries it as an extension), and with `user` routes the embedding
/// application's handlers.
pub(crate) async fn serve<S: V2Server>(
    listener: ClientListener,
    backend: Arc<S>,
    grpc: Http2Service,
    gateway: Option<Gateway>,
    user: Option<UserRoutes>,
    shutdown: Arc<Signal>,
    connections: Arc<Connections>,
) {
    let ClientListener { listener, tls } = listener;
    loop {
        let slot = tokio::select! {
            biased;
            _ = shutdown.wait() => return,
            slot = connections.slot() => slot,
        };
        let accepted = tokio::select! {
            biased;
            _ = shutdown.wait() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                // Small gRPC frames (a LeaseKeepAlive reply, a watch event) must
                // not wait for the peer's delayed ACK (Nagle): 40 ms each.
                #[cfg(not(madsim))]
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "TCP_NODELAY on a client connection");
                }
                // Sim builds have no TLS: there `tls` is an `Option<Infallible>`.
                #[cfg_attr(madsim, allow(clippy::clone_on_copy))]
                let (backend, grpc, gateway, shutdown, connections, tls) = (
                    backend.clone(),
                    grpc.clone(),
                    gateway.clone(),
                    shutdown.clone(),
                    connections.clone(),
                    tls.clone(),
                );
                let user = user.clone();
                tokio::spawn(async move {
                    let _open = connections.enter();
                    let http1 = Http1 {
                        backend,
                        gateway,
                        user,
                        cert_names: None,
                    };
                    match tls {
                        #[cfg(not(madsim))]
                        Some(tls) => {
                            super::tls_conn::connection(
                                http1,
                                grpc,
                                stream,
                                &tls,
                                &shutdown,
                                &connections,
                            )
                            .await
                        }
                        _ => connection(http1, grpc, stream, &shutdown, &connections).await,
                    }
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "member: accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

/// Serves one connection until it closes or shutdown (then, with a grace period,
/// lets the request in flight finish): as gRPC if it opens with HTTP/2's preface
/// (real builds), as HTTP/1 otherwise.
async fn connection<S: V2Server>(
    http1: Http1<S>,
    grpc: Http2Service,
    stream: TcpStream,
    shutdown: &Arc<Signal>,
    connections: &Connections,
) {
    #[cfg(madsim)]
    let _ = grpc;
    #[cfg(not(madsim))]
    let stream = {
        use super::preface::{Protocol, sniff};
        let sniffed = tokio::select! {
            biased;
            _ = shutdown.wait() => return,
            s = sniff(stream) => s,
        };
        let (protocol, stream) = match sniffed {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "member: connection failed before its first request");
                return;
            }
        };
        if protocol == Protocol::Http2 {
            if let Some(routes) = grpc.routes {
                http2_connection(routes, stream, shutdown, connections).await;
            }
            return;
        }
        stream
    };
    http1_connection(http1, stream, shutdown, connections).await;
}

/// Serves one connection's HTTP/1 requests with the v2 router until it closes
/// or shutdown (then, with a grace period, lets the request in flight finish).
pub(super) async fn http1_connection<S, T>(
    http1: Http1<S>,
    stream: T,
    shutdown: &Arc<Signal>,
    connections: &Connections,
) where
    S: V2Server,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let stopping = shutdown.clone();
    let svc = service_fn(move |mut req: Request<Incoming>| {
        let (backend, stopping) = (http1.backend.clone(), stopping.clone());
        http1.attach(&mut req);
        async move { answer(handle(&*backend, &stopping, req).await) }
    });
    let conn = http1_builder()
        .serve_connection(TokioIo::new(HeadGuard::new(QuietFlush::new(stream))), svc);
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        biased;
        _ = shutdown.wait() => {
            // Dropping the connection closes it (and ends its watches); with a grace
            // period, the request in flight may finish first and idle ones close now.
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
        tracing::debug!(error = %e, "member: connection ended with an error");
    }
}

/// What serves a connection's HTTP/1 requests: the v2 router over `backend`, with
/// the v3 gateway and the user handlers (if any) attached to each request.
pub(super) struct Http1<S> {
    pub(super) backend: Arc<S>,
    pub(super) gateway: Option<Gateway>,
    pub(super) user: Option<UserRoutes>,
    /// The connection's verified client certificate chain names (a TLS port
    /// under `--client-cert-auth`), for v2 auth.
    pub(super) cert_names: Option<ClientCertNames>,
}

impl<S> Http1<S> {
    /// Attaches the gateway and the user handlers to `req`, for the router.
    pub(super) fn attach<B>(&self, req: &mut Request<B>) {
        if let Some(gateway) = &self.gateway {
            req.extensions_mut().insert(gateway.clone());
        }
        if let Some(user) = &self.user {
            req.extensions_mut().insert(user.clone());
        }
        if let Some(names) = &self.cert_names {
            req.extensions_mut().insert(names.clone());
        }
    }
}

/// The router's response, or an error when a user handler panicked (hyper then
/// closes the connection, or resets the HTTP/2 stream, without answering, as
/// Go's server does).
pub(super) fn answer(resp: Response<Body>) -> Result<Response<Body>, HandlerPanicked> {
    match resp.extensions().get::<HandlerPanicked>() {
        Some(panicked) => Err(*panicked),
        None => Ok(resp),
    }
}

/// A client listener, and the TLS its connections are served with (real
/// builds; `https://` listen URLs). Sim builds serve every port in plaintext.
pub struct ClientListener {
    listener: TcpListener,
    tls: Option<ListenerTls>,
}

/// What a TLS client port's connections are served with.
#[cfg(not(madsim))]
pub(crate) type ListenerTls = crate::tls::ServerTls;
/// Sim builds: nothing (the port runs plaintext).
#[cfg(madsim)]
pub(crate) type ListenerTls = std::convert::Infallible;

impl ClientListener {
    /// A plaintext (`http://`) client listener.
    pub fn plain(listener: TcpListener) -> ClientListener {
        ClientListener {
            listener,
            tls: None,
        }
    }

    /// A TLS (`https://`) client listener: each connection's TLS handshake
    /// first, then the same HTTP/1.1 and gRPC service as a plaintext port.
    #[cfg(not(madsim))]
    pub fn tls(listener: TcpListener, tls: crate::tls::ServerTls) -> ClientListener {
        ClientListener {
            listener,
            tls: Some(tls),
        }
    }

    /// The address it listens on.
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Whether its connections are TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

impl std::fmt::Debug for ClientListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientListener")
            .field("addr", &self.listener.local_addr().ok())
            .field("tls", &self.is_tls())
            .finish()
    }
}

/// Serves one HTTP/2 connection with the gRPC services until it closes or
/// shutdown (then, with a grace period, lets the calls in flight finish).
#[cfg(not(madsim))]
pub(super) async fn http2_connection<T>(
    routes: etcd_sdk::v3::tonic::service::Routes,
    stream: T,
    shutdown: &Arc<Signal>,
    connections: &Connections,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper_util::service::TowerToHyperService::new(routes);
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
        tracing::debug!(error = %e, "member: HTTP/2 connection ended with an error");
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

pub(super) async fn handle<S: V2Server>(
    backend: &S,
    shutdown: &Signal,
    req: Request<Incoming>,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
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
            let mut resp = router::route(backend, req).await;
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return resp;
        }
    };
    if shutdown.is_triggered() {
        return with_cors(text(StatusCode::SERVICE_UNAVAILABLE, "server stopped"));
    }
    router::route(backend, Request::from_parts(parts, body)).await
}

/// Reads a whole request body (at most [`MAX_BODY_BYTES`]) into one buffer. The
/// buffer grows towards the body's Content-Length as its bytes arrive, never to
/// more than twice what has arrived: a large body is copied a few times at most
/// (collecting the chunks and joining them would hold it twice at once), and a
/// client that announces a large body and sends nothing costs nothing.
async fn read_body<B>(body: B) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let hint = body.size_hint().exact().unwrap_or(body.size_hint().lower());
    let hint = usize::try_from(hint).map_or(MAX_BODY_BYTES, |n| n.min(MAX_BODY_BYTES));
    let mut body = Limited::new(body, MAX_BODY_BYTES);
    let mut buf = BytesMut::with_capacity(hint.min(FIRST_READ_BYTES));
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            make_room(&mut buf, data.len(), hint);
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Grows `buf` for `incoming` more bytes of a body announced as `hint` bytes: to
/// the announced size, but never past twice what will then have arrived.
fn make_room(buf: &mut BytesMut, incoming: usize, hint: usize) {
    let arrived = buf.len() + incoming;
    if arrived > buf.capacity() {
        let target = arrived.max(hint.min(arrived.saturating_mul(2)));
        buf.reserve(target - buf.len());
    }
}

/// What a body's buffer starts with before any of its bytes arrived.
const FIRST_READ_BYTES: usize = 64 << 10;

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::api::v2::router::fake::Fake;
    use crate::member::listen;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends `GET /version` on `stream` and reads the response head.
    async fn get_version(stream: &mut TcpStream) -> String {
        stream
            .write_all(b"GET /version HTTP/1.1\r\nHost: m\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a response");
            head.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    #[tokio::test]
    async fn at_the_cap_new_connections_wait_until_one_closes() {
        let listener = listen::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Arc::new(Signal::default());
        let connections = Arc::new(Connections::with_limit(2));
        let server = tokio::spawn(serve(
            ClientListener::plain(listener),
            Arc::new(Fake::new()),
            Http2Service::default(),
            None,
            None,
            shutdown.clone(),
            connections.clone(),
        ));
        let mut first = TcpStream::connect(addr).await.unwrap();
        let mut second = TcpStream::connect(addr).await.unwrap();
        assert!(get_version(&mut first).await.starts_with("HTTP/1.1 200"));
        assert!(get_version(&mut second).await.starts_with("HTTP/1.1 200"));
        // The third connects (the kernel's backlog holds it) but is not accepted
        // while both keep-alive connections stay open.
        let mut third = TcpStream::connect(addr).await.unwrap();
        let waiting = tokio::spawn(async move { get_version(&mut third).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "served beyond the cap");
        assert_eq!(connections.open(), 2);
        // One closes: the third is accepted and served.
        drop(first);
        let head = tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("served once a connection closed")
            .unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(connections.open(), 2);
        shutdown.trigger();
        server.await.unwrap();
        drop(second);
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn bodies_are_read_whole_and_limited() {
        let data = Bytes::from(vec![b'a'; 3 << 20]);
        let got = read_body(Full::new(data.clone())).await.unwrap();
        assert_eq!(got, data);
        let chunks = futures_util::stream::iter([b"ab".as_slice(), b"", b"cd"].map(|c| {
            Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(Bytes::from_static(c)))
        }));
        assert_eq!(read_body(StreamBody::new(chunks)).await.unwrap(), "abcd");
        let too_big = Full::new(Bytes::from(vec![0u8; MAX_BODY_BYTES + 1]));
        assert!(read_body(too_big).await.is_err());
    }

    #[test]
    fn an_announced_size_is_reserved_only_as_bytes_arrive() {
        let announced = MAX_BODY_BYTES;
        let mut buf = BytesMut::with_capacity(FIRST_READ_BYTES);
        make_room(&mut buf, 10, announced);
        assert_eq!(
            buf.capacity(),
            FIRST_READ_BYTES,
            "no growth before it is needed"
        );
        buf.extend_from_slice(&vec![0u8; FIRST_READ_BYTES]);
        make_room(&mut buf, 1, announced);
        let cap = buf.capacity();
        assert!(cap > FIRST_READ_BYTES, "room for what arrives: {cap}");
        assert!(
            cap <= 4 * (FIRST_READ_BYTES + 1),
            "bounded by what arrived, not by the announced {announced}: {cap}"
        );
        // An honest announcement is reached without overshooting it.
        let mut buf = BytesMut::with_capacity(FIRST_READ_BYTES);
        let mut filled = 0;
        while filled < 3 << 20 {
            make_room(&mut buf, 1 << 16, 3 << 20);
            buf.extend_from_slice(&[0u8; 1 << 16]);
            filled += 1 << 16;
        }
        assert!(buf.capacity() <= 2 * (3 << 20), "{}", buf.capacity());
    }
}
