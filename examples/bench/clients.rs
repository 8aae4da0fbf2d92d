//! The in-process clients under test: the SDK (over its default reqwest transport
//! and over its hyper transport) and the raw-HTTP floor.

use crate::load::KvClient;
use async_trait::async_trait;
use bytes::Bytes;
use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions};
use etcd_sdk::transport::HyperTransport;
use etcd_sdk::{Config, HttpClient, HttpKeysAPI, new_keys_api};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// Which transport an SDK client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdkTransport {
    /// The default in real builds (reqwest).
    Default,
    /// [`HyperTransport`] (the one sim builds use).
    Hyper,
}

/// The SDK's KeysAPI.
pub struct SdkKv {
    kapi: HttpKeysAPI,
}

impl SdkKv {
    /// A KeysAPI over `endpoints`.
    pub fn new(
        endpoints: &[String],
        transport: SdkTransport,
        header_timeout: Option<Duration>,
    ) -> Result<SdkKv, String> {
        let client = HttpClient::new(Config {
            endpoints: endpoints.to_vec(),
            transport: match transport {
                SdkTransport::Default => None,
                SdkTransport::Hyper => Some(Arc::new(HyperTransport::new())),
            },
            header_timeout_per_request: header_timeout,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        Ok(SdkKv {
            kapi: new_keys_api(Arc::new(client)),
        })
    }

    /// A KeysAPI over a client built from `cfg` (its transport left as given).
    pub fn from_config(cfg: Config) -> Result<SdkKv, String> {
        let client = HttpClient::new(cfg).map_err(|e| e.to_string())?;
        Ok(SdkKv {
            kapi: new_keys_api(Arc::new(client)),
        })
    }

    /// The KeysAPI itself (for watches).
    pub fn keys(&self) -> &HttpKeysAPI {
        &self.kapi
    }
}

#[async_trait]
impl KvClient for SdkKv {
    async fn set(&self, key: &str, value: &str) -> Result<(), String> {
        self.kapi
            .set(key, value, SetOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn quorum_get(&self, key: &str) -> Result<(), String> {
        let opts = GetOptions {
            quorum: true,
            ..Default::default()
        };
        self.kapi
            .get(key, opts)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The floor: hyper's pooled client with the connection settings of the SDK's
/// default transport (30 s connect timeout, 30 s TCP keep-alive, 90 s idle
/// pool timeout, `TCP_NODELAY`), sending the SDK's requests byte for byte (same
/// method, path, query and form) and reading the whole body; no endpoint
/// logic, no JSON decoding.
pub struct RawKv {
    client: Client<HttpConnector, Full<Bytes>>,
    endpoint: String,
}

impl RawKv {
    /// A floor client for one endpoint (`http://host:port`).
    pub fn new(endpoint: &str) -> RawKv {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(30)));
        connector.set_keepalive(Some(Duration::from_secs(30)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector);
        RawKv {
            client,
            endpoint: endpoint.trim_end_matches('/').to_string(),
        }
    }

    async fn send(&self, req: http::Request<Full<Bytes>>) -> Result<(), String> {
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body.to_bytes())
            ))
        }
    }
}

#[async_trait]
impl KvClient for RawKv {
    async fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let req = http::Request::put(format!("{}/v2/keys{key}", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!("value={value}"))))
            .map_err(|e| e.to_string())?;
        self.send(req).await
    }

    async fn quorum_get(&self, key: &str) -> Result<(), String> {
        let req = http::Request::get(format!(
            "{}/v2/keys{key}?quorum=true&recursive=false&sorted=false",
            self.endpoint
        ))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
        self.send(req).await
    }
}
