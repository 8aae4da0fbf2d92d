//! The client: configuration, endpoint handling and the [`Client`] trait that the
//! API modules (keys, members, auth) send their requests through.
//!
//! Requests flow through small layers, as in Go's client: the [`HttpClient`] pins
//! an endpoint and rotates on failure (collecting each endpoint's error into a
//! [`crate::ClusterError`]); each attempt follows redirects under the per-request
//! header timeout; the [`crate::transport::Transport`] sends one HTTP request.

mod config;
#[cfg(all(feature = "discovery", not(madsim)))]
mod discover;
mod health;
mod http_client;
mod request;
pub(crate) mod shared;
pub(crate) mod url_path;

#[cfg(test)]
mod tests;

pub use config::{CheckRedirect, Config, EndpointSelectionMode, default_check_redirect};
#[cfg(all(feature = "discovery", not(madsim)))]
pub use discover::{Discoverer, SrvDiscoverer, SrvRecord, SrvResolver, SystemResolver};
pub use http_client::HttpClient;
pub use request::{Delivery, FORM_CONTENT_TYPE, JSON_CONTENT_TYPE, Request, Response};
pub(crate) use shared::Caller;
pub use shared::SharedClient;
pub use url_path::encode_form;

use crate::error::Result;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A connection to an etcd cluster over its v2 HTTP API (Go's `client.Client`).
///
/// [`HttpClient`] is the implementation (its methods are also inherent, so
/// everyday code needs no `use etcd_sdk::Client`); the trait lets applications
/// substitute their own (a fake in their unit tests, a wrapper that adds
/// metrics). An implementation should honour [`Request::deadline`] the way
/// [`HttpClient`] does: [`crate::Error::Timeout`] when it passes, or
/// [`crate::Error::OutcomeUnknown`] for an at-most-once request that may have
/// been sent.
#[async_trait]
pub trait Client: Send + Sync {
    /// Sends one request to the cluster (Go's `Do`): the pinned endpoint first,
    /// then the others, following the request's [`Delivery`].
    async fn send(&self, req: Request) -> Result<Response>;

    /// Refreshes the endpoint list from the cluster's member list.
    async fn sync(&self) -> Result<()>;

    /// Calls [`Client::sync`] every `interval` until a sync fails (returning that
    /// error) or the client is closed ([`crate::Error::Cancelled`]). A
    /// recommended interval is 10 s to 1 min.
    async fn auto_sync(&self, interval: Duration) -> Result<()>;

    /// A copy of the current endpoints, in the order they are tried after the pin.
    fn endpoints(&self) -> Vec<String>;

    /// Replaces the endpoints (validated: `http`/`https` URLs with a host; at least one).
    fn set_endpoints(&self, endpoints: &[String]) -> Result<()>;

    /// The server and cluster versions (`GET /version`).
    async fn get_version(&self) -> Result<Version>;
}

/// The answer of `GET /version`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The server's version, e.g. `3.4.23`.
    #[serde(rename = "etcdserver")]
    pub server: String,
    /// The cluster's version, e.g. `3.4.0` (`not_decided` early on).
    #[serde(rename = "etcdcluster")]
    pub cluster: String,
}
