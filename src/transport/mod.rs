//! Transports: how one HTTP request reaches one endpoint.
//!
//! A [`Transport`] sends a single request and returns the status, headers and a
//! streaming body; endpoint choice, redirects, timeouts and failover live in
//! [`crate::client`]. Two implementations ship:
//!
//! - `ReqwestTransport` (real builds with the `reqwest` feature, on by default):
//!   reqwest with rustls, for `http` and `https` endpoints.
//! - [`HyperTransport`] (both builds): hyper over `tokio::net`, which madsim
//!   simulates, so the same SDK code runs inside a simulated cluster. `http`,
//!   and `https` through rustls (real builds; sim builds speak plaintext).
//!
//! Both take [`crate::tls::TlsConfig`] (`with_tls`).
//!
//! Tests and users can supply their own (a scripted fake, a proxy, …).

mod body;
mod curl;
mod hyper_transport;
mod quiet_flush;
#[cfg(all(feature = "reqwest", not(madsim)))]
mod reqwest_transport;
mod scripted;

pub use body::ResponseBody;
pub(crate) use curl::log_curl_command;
pub use curl::{curl_debug_enabled, disable_curl_debug, enable_curl_debug};
pub use hyper_transport::HyperTransport;
pub use quiet_flush::QuietFlush;
#[cfg(all(feature = "reqwest", not(madsim)))]
pub use reqwest_transport::ReqwestTransport;
pub use scripted::{Reply, ScriptedTransport};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use std::fmt;
use std::sync::Arc;

/// One HTTP request to one endpoint.
#[derive(Clone, Debug)]
pub struct TransportRequest {
    /// The method.
    pub method: Method,
    /// The full URL (scheme, host, port, escaped path, query).
    pub url: url::Url,
    /// Headers to send (Content-Type, Authorization, …).
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: Bytes,
}

/// The answer to a [`TransportRequest`]: available as soon as the headers are in.
pub struct TransportResponse {
    /// The status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, read as it arrives.
    pub body: ResponseBody,
}

impl fmt::Debug for TransportResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// Sends one HTTP request to one endpoint.
///
/// Implementations must not retry on their own (the client decides what may be
/// re-sent) and must report, through [`TransportError::kind`], whether the request
/// could have reached the server.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends `req`; resolves when the response headers have arrived.
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        (**self).send(req).await
    }
}

/// How far a failed request got, which decides whether it may be re-sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection was made: the request certainly did not reach the server.
    Connect,
    /// The request may have been (partly or wholly) delivered before the failure.
    Request,
    /// The response headers arrived, then reading the body failed.
    Body,
}

/// A failure of one request to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url}: {message}")]
pub struct TransportError {
    /// How far the request got.
    pub kind: TransportErrorKind,
    /// The request's method.
    pub method: String,
    /// The request's URL.
    pub url: String,
    /// What went wrong.
    pub message: String,
}

impl TransportError {
    /// A new error for the request with `method` and `url`.
    pub fn new(
        kind: TransportErrorKind,
        method: &Method,
        url: &url::Url,
        message: impl Into<String>,
    ) -> Self {
        TransportError {
            kind,
            method: method.to_string(),
            url: url.to_string(),
            message: message.into(),
        }
    }

    /// Whether the request may have reached the server (and so been applied).
    pub fn may_have_been_sent(&self) -> bool {
        self.kind != TransportErrorKind::Connect
    }
}

/// The transport a [`crate::Config`] with TLS settings ([`crate::Config::tls`])
/// uses when none is given: [`default_transport`]'s kind, built with them.
/// Fails with [`crate::Error::Tls`] when they do not load (sim builds:
/// checked, then unused: the simulated network is plaintext).
pub fn default_transport_with_tls(
    tls: &crate::tls::TlsConfig,
) -> crate::Result<Arc<dyn Transport>> {
    #[cfg(all(feature = "reqwest", not(madsim)))]
    {
        Ok(Arc::new(ReqwestTransport::with_tls(tls)?))
    }
    #[cfg(not(all(feature = "reqwest", not(madsim))))]
    {
        Ok(Arc::new(HyperTransport::with_tls(tls)?))
    }
}

/// The transport a [`crate::Config`] uses when none is given: reqwest in real
/// builds with the `reqwest` feature (the default), hyper over `tokio::net`
/// otherwise (`https` with the system's roots), and hyper over madsim's simulated TCP in sim
/// builds. Fails with [`crate::Error::TransportInit`] when reqwest cannot build
/// its client.
pub fn default_transport() -> crate::Result<Arc<dyn Transport>> {
    #[cfg(all(feature = "reqwest", not(madsim)))]
    {
        Ok(Arc::new(ReqwestTransport::new()?))
    }
    #[cfg(not(all(feature = "reqwest", not(madsim))))]
    {
        Ok(Arc::new(HyperTransport::new()))
    }
}

/// [`error_chain`], led by what a TLS failure in it means (whose
/// certificate was refused), so that a v2 caller sees a certificate problem
/// named as one.
pub(crate) fn tls_aware_chain(e: &(dyn std::error::Error + 'static)) -> String {
    #[cfg(not(madsim))]
    if let Some((failure, _)) = crate::tls::failure_in(e) {
        return format!("TLS: {failure}: {}", error_chain(e));
    }
    error_chain(e)
}

/// An error and its sources, joined with `: ` (the top-level text of reqwest's
/// and hyper's errors alone is vague).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}
