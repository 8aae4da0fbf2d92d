//! The reqwest transport (real builds): `http` and `https` (rustls).

use super::{
    ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse, error_chain,
};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::time::Duration;

/// A [`Transport`] over reqwest with rustls.
///
/// Connection settings follow Go's `client.DefaultTransport`: 30 s connect
/// timeout, 30 s TCP keep-alive, pooled keep-alive connections.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the default settings.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .tcp_keepalive(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        ReqwestTransport { client }
    }

    /// A transport over a reqwest client the caller configured (TLS roots, client
    /// certificates, proxies). Turn reqwest's own redirect following off
    /// (`redirect::Policy::none()`): the SDK applies its own policy.
    pub fn with_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new()
    }
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
                TransportError::new(kind, &method, &url, error_chain(&e))
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
