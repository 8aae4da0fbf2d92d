//! The reqwest transport (real builds, feature `reqwest`): `http` and `https` (rustls).

use super::{
    ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse, error_chain, tls_aware_chain,
};
use crate::error::{Error, Result};
use crate::tls::TlsConfig;
use async_trait::async_trait;
use futures_util::StreamExt;
use std::time::Duration;

/// A [`Transport`] over reqwest with rustls.
///
/// Connection settings follow Go's `client.DefaultTransport`: 30 s connect
/// timeout, 30 s TCP keep-alive, pooled keep-alive connections. reqwest's own
/// redirect following and system proxies are off: the SDK applies its own
/// redirect policy, and it must see every hop to know whether a write may have
/// reached a server.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the default settings.
    ///
    /// Fails with [`Error::TransportInit`] when reqwest cannot build its client
    /// (e.g. the TLS backend cannot load). There is deliberately no fallback to
    /// `reqwest::Client::new()`: that client follows redirects and system proxies
    /// on its own, behind the SDK's back, which would break the redirect policy
    /// and the at-most-once accounting of writes.
    pub fn new() -> Result<Self> {
        Self::from_builder(default_builder())
    }

    /// A transport with the default settings and these TLS settings for
    /// `https` endpoints (see [`crate::tls`]). Fails with [`Error::Tls`]
    /// when they do not load.
    ///
    /// reqwest sends the endpoint's host as SNI; a
    /// [`TlsConfig::server_name`] is the name the certificate is checked against.
    pub fn with_tls(tls: &TlsConfig) -> Result<Self> {
        let rustls = tls.rustls_with_alpn(&[b"http/1.1"]).map_err(Error::Tls)?;
        Self::from_builder(default_builder().tls_backend_preconfigured((*rustls).clone()))
    }

    /// A transport from a reqwest builder the caller prepared (TLS roots, client
    /// certificates, timeouts). The SDK's requirements are applied on top: no
    /// redirect following (the SDK follows redirects itself) and no proxies.
    /// Fails with [`Error::TransportInit`] when the builder does not build.
    pub fn from_builder(builder: reqwest::ClientBuilder) -> Result<Self> {
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| Error::TransportInit {
                source: Box::new(e),
            })?;
        Ok(ReqwestTransport { client })
    }

    /// A transport over a reqwest client the caller configured as a whole
    /// (proxies included). Turn reqwest's own redirect following off
    /// (`redirect::Policy::none()`): the SDK applies its own policy.
    pub fn with_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

/// Go's `client.DefaultTransport` settings.
fn default_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .tcp_keepalive(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        let (method, url) = (req.method.clone(), req.url.clone());
        let resp = self
            .client
            .request(req.method, req.url)
            .headers(req.headers)
            .body(req.body)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_connect() {
                    TransportErrorKind::Connect
                } else {
                    TransportErrorKind::Request
                };
                TransportError::new(kind, &method, &url, tls_aware_chain(&e))
            })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| {
                TransportError::new(TransportErrorKind::Body, &method, &url, error_chain(&e))
            })
        });
        Ok(TransportResponse {
            status,
            headers,
            body: ResponseBody::from_stream(body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_that_fails_is_an_error_not_a_silent_default_client() {
        // A header value with a newline makes reqwest's builder fail at build().
        let builder = reqwest::Client::builder().user_agent("bad\nagent");
        match ReqwestTransport::from_builder(builder) {
            Err(e @ Error::TransportInit { .. }) => {
                assert!(
                    e.to_string()
                        .starts_with("client: cannot build the HTTP transport"),
                    "{e}"
                );
                assert!(
                    std::error::Error::source(&e).is_some(),
                    "reqwest's error is kept"
                );
            }
            other => panic!("expected TransportInit, got {other:?}"),
        }
    }

    #[test]
    fn the_default_transport_builds() {
        assert!(ReqwestTransport::new().is_ok());
        assert!(ReqwestTransport::with_tls(&TlsConfig::new().insecure_skip_verify()).is_ok());
        assert!(matches!(
            ReqwestTransport::with_tls(&TlsConfig::new().ca_file("/nonexistent/ca.pem")),
            Err(Error::Tls(_))
        ));
    }
}
