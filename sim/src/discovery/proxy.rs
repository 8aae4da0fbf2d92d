//! `--discovery-proxy`: the discovery requests through an HTTP forward proxy.
//!
//! Go's `http.ProxyURL` sends a plain `http` request to the proxy in absolute
//! form (`GET http://host:port/path HTTP/1.1`); [`ProxyTransport`] does the same,
//! one connection per request, over `tokio::net` (simulated under madsim).
//! `https` discovery URLs (a `CONNECT` tunnel) are not supported: the discovery
//! client speaks plain `http` only.

use super::error::DiscoveryError;
use async_trait::async_trait;
use bytes::Bytes;
use etcd_sdk::transport::{
    HyperTransport, QuietFlush, ResponseBody, Transport, TransportError, TransportErrorKind,
    TransportRequest, TransportResponse,
};
use futures_util::stream;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The transport of the discovery client: hyper over `tokio::net`, through the
/// proxy `proxy` unless it is empty.
///
/// # Errors
///
/// [`DiscoveryError::InvalidProxy`] when `proxy` is neither a URL nor a
/// `host:port`.
pub fn discovery_transport(proxy: &str) -> Result<Arc<dyn Transport>, DiscoveryError> {
    if proxy.is_empty() {
        return Ok(Arc::new(HyperTransport::new()));
    }
    let address = proxy_address(proxy)?;
    tracing::info!("using proxy \"http://{address}\"");
    Ok(Arc::new(ProxyTransport { address }))
}

/// The proxy's `host:port` from a `--discovery-proxy` value: a URL whose scheme
/// starts with `http`, or else the value with `http://` put in front (etcd's
/// `newProxyFunc`). A missing port is 80.
fn proxy_address(proxy: &str) -> Result<String, DiscoveryError> {
    let invalid = |reason: String| DiscoveryError::InvalidProxy {
        proxy: proxy.to_string(),
        reason,
    };
    let parsed = match url::Url::parse(proxy) {
        Ok(u) if u.scheme().starts_with("http") && u.has_host() => u,
        _ => url::Url::parse(&format!("http://{proxy}")).map_err(|e| invalid(e.to_string()))?,
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| invalid("missing host".into()))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    Ok(format!("{host}:{port}"))
}

/// Sends each request through an HTTP forward proxy at `address`.
#[derive(Clone, Debug)]
pub struct ProxyTransport {
    /// The proxy's `host:port`.
    address: String,
}

impl ProxyTransport {
    /// A transport through the proxy at `address` (`host:port`).
    pub fn new(address: impl Into<String>) -> Self {
        ProxyTransport {
            address: address.into(),
        }
    }
}

#[async_trait]
impl Transport for ProxyTransport {
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        let (method, url) = (req.method.clone(), req.url.clone());
        let fail = |kind, msg: String| TransportError::new(kind, &method, &url, msg);
        if url.scheme() != "http" {
            return Err(fail(
                TransportErrorKind::Connect,
                format!(
                    "unsupported scheme {:?} through a proxy (plain http only)",
                    url.scheme()
                ),
            ));
        }
        let stream = TcpStream::connect(self.address.as_str())
            .await
            .map_err(|e| {
                fail(
                    TransportErrorKind::Connect,
                    format!("proxyconnect tcp: dial tcp {}: {e}", self.address),
                )
            })?;
        let io = TokioIo::new(QuietFlush::new(stream));
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| fail(TransportErrorKind::Connect, e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "discovery proxy connection ended");
            }
        });
        let mut builder = http::Request::builder()
            .method(req.method)
            .uri(url.as_str());
        if let Some(h) = builder.headers_mut() {
            *h = req.headers;
            if let Ok(host) = http::HeaderValue::from_str(&host_port(&url)) {
                h.insert(http::header::HOST, host);
            }
        }
        let request = builder
            .body(Full::new(req.body))
            .map_err(|e| fail(TransportErrorKind::Connect, e.to_string()))?;
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| fail(TransportErrorKind::Request, e.to_string()))?;
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
                                e.to_string(),
                            );
                            return Some((Err(err), None));
                        }
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                return Some((Ok::<Bytes, TransportError>(data), Some(body)));
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

/// `host[:port]` of `url`, as a Host header carries it.
fn host_port(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_values_as_etcd_reads_them() {
        assert_eq!(proxy_address("127.0.0.1:3128").unwrap(), "127.0.0.1:3128");
        assert_eq!(
            proxy_address("http://proxy.local:8080").unwrap(),
            "proxy.local:8080"
        );
        assert_eq!(proxy_address("proxy.local").unwrap(), "proxy.local:80");
        assert!(matches!(
            proxy_address("bad host:80"),
            Err(DiscoveryError::InvalidProxy { .. })
        ));
    }
}
