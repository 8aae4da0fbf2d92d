//! The hyper transport: HTTP/1.1 over `tokio::net::TcpStream`, pooled; `https`
//! through rustls (real builds).
//!
//! In sim builds `tokio::net` is madsim's simulated network, so this is how SDK
//! code reaches a simulated cluster. hyper-util's own executor and timer call the
//! real tokio runtime, so this module supplies both on top of `tokio::spawn` and
//! `tokio::time` (which madsim virtualises).

use super::QuietFlush;
use super::{
    ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse, error_chain, tls_aware_chain,
};
use crate::error::Error;
use crate::tls::TlsConfig;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;

/// A [`Transport`] over hyper and `tokio::net`: `http`, and `https` with
/// rustls ([`HyperTransport::with_tls`]; [`HyperTransport::new`] trusts the
/// system's roots). Sim builds speak plaintext to `https` endpoints too
/// (the simulated network carries no TLS).
#[derive(Clone)]
pub struct HyperTransport {
    client: Client<TcpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport").finish_non_exhaustive()
    }
}

impl HyperTransport {
    /// A transport with pooled keep-alive connections (idle ones close after 90 s).
    pub fn new() -> Self {
        Self::build(TcpConnector {
            tls: TlsConfig::new(),
        })
    }

    /// A transport whose `https` connections use these TLS settings (see
    /// [`crate::tls`]). Fails with [`Error::Tls`] when they do not load.
    pub fn with_tls(tls: &TlsConfig) -> Result<Self, Error> {
        tls.validate().map_err(Error::Tls)?;
        Ok(Self::build(TcpConnector { tls: tls.clone() }))
    }

    fn build(connector: TcpConnector) -> Self {
        let client = Client::builder(SpawnExecutor)
            .timer(RuntimeTimer)
            .pool_timer(RuntimeTimer)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        HyperTransport { client }
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        let (method, url) = (req.method.clone(), req.url.clone());
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(TransportError::new(
                TransportErrorKind::Connect,
                &method,
                &url,
                format!(
                    "unsupported scheme {:?} (HyperTransport speaks http and https)",
                    url.scheme()
                ),
            ));
        }
        let mut builder = http::Request::builder()
            .method(req.method)
            .uri(url.as_str());
        if let Some(h) = builder.headers_mut() {
            *h = req.headers;
        }
        let request = builder.body(Full::new(req.body)).map_err(|e| {
            TransportError::new(TransportErrorKind::Connect, &method, &url, e.to_string())
        })?;
        let resp = self.client.request(request).await.map_err(|e| {
            let kind = if e.is_connect() {
                TransportErrorKind::Connect
            } else {
                TransportErrorKind::Request
            };
            TransportError::new(kind, &method, &url, tls_aware_chain(&e))
        })?;
        let (parts, body) = resp.into_parts();
        let chunks = stream::unfold(Some(body), move |state| {
            let (method, url) = (method.clone(), url.clone());
            async move {
                let mut body = state?;
                loop {
                    match body.frame().await {
                        None => return None,
                        Some(Err(e)) => {
                            let err = TransportError::new(
                                TransportErrorKind::Body,
                                &method,
                                &url,
                                error_chain(&e),
                            );
                            return Some((Err(err), None));
                        }
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                return Some((Ok(data), Some(body)));
                            }
                        }
                    }
                }
            }
        });
        Ok(TransportResponse {
            status: parts.status,
            headers: parts.headers,
            body: ResponseBody::from_stream(chunks),
        })
    }
}

/// Connects TCP through `tokio::net` (simulated under madsim), with a TLS
/// handshake on top for `https` (real builds).
#[derive(Clone, Debug)]
struct TcpConnector {
    /// The settings for `https` connections.
    #[cfg_attr(madsim, allow(dead_code))]
    tls: TlsConfig,
}

/// What a connection runs over: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// A connected stream, adapted to hyper's IO traits.
struct TcpConn(TokioIo<Box<dyn Io>>);

impl Connection for TcpConn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for TcpConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for TcpConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl tower::Service<http::Uri> for TcpConnector {
    type Response = TcpConn;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<TcpConn>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        #[cfg_attr(madsim, allow(unused_variables))]
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "URL has no host")
                })?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let https = uri.scheme_str() == Some("https");
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            #[cfg(not(madsim))]
            let _ = stream.set_nodelay(true);
            let stream = QuietFlush::new(stream);
            #[cfg(not(madsim))]
            if https {
                let invalid = |e: crate::tls::TlsError| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
                };
                let config = tls.rustls_client_config().map_err(invalid)?;
                let name = tls.sni_for(&host).map_err(invalid)?;
                let tls_stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, stream)
                    .await?;
                return Ok(TcpConn(TokioIo::new(Box::new(tls_stream))));
            }
            Ok(TcpConn(TokioIo::new(Box::new(stream))))
        })
    }
}

/// Runs hyper's background tasks on the current runtime (real or simulated).
#[derive(Clone, Copy, Debug)]
struct SpawnExecutor;

impl<F> hyper::rt::Executor<F> for SpawnExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        tokio::spawn(fut);
    }
}

/// hyper's timer on `tokio::time` (virtual time under madsim).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuntimeTimer;

struct RuntimeSleep(Pin<Box<tokio::time::Sleep>>);

impl Future for RuntimeSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for RuntimeSleep {}

impl hyper::rt::Timer for RuntimeTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RuntimeSleep(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let now = std::time::Instant::now();
        self.sleep(deadline.saturating_duration_since(now))
    }
}
