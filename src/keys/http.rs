//! [`HttpKeysAPI`]: the keys API over a [`Client`] (Go's `httpKeysAPI`).

use super::request::{self, key_path};
use super::response::decode;
use super::watcher::HttpWatcher;
use super::{
    CreateInOrderOptions, DeleteOptions, GetOptions, KeysAPI, PrevExist, Response, SetOptions,
    Watcher, WatcherOptions,
};
use crate::client::{Client, Request};
use crate::error::Result;
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The default path prefix of the keys API.
pub const DEFAULT_KEYS_PREFIX: &str = "/v2/keys";

/// The keys API over HTTP: every call is one request through the [`Client`],
/// which picks the endpoint and fails over.
///
/// Writes that must not be applied twice (create, compare-and-swap,
/// in-order create, delete) are sent at-most-once: they move to another
/// endpoint only when the request certainly did not reach the first one, and
/// otherwise fail with [`crate::Error::OutcomeUnknown`]. Reads, plain sets,
/// updates and watches are retried on the next endpoint, as Go's client does.
#[derive(Clone)]
pub struct HttpKeysAPI {
    client: Arc<dyn Client>,
    prefix: String,
    watch_liveness: Option<Duration>,
}

impl fmt::Debug for HttpKeysAPI {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpKeysAPI")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A keys API under `/v2/keys` (Go's `NewKeysAPI`).
pub fn new_keys_api(client: Arc<dyn Client>) -> HttpKeysAPI {
    new_keys_api_with_prefix(client, DEFAULT_KEYS_PREFIX)
}

/// A keys API under a custom path prefix (Go's `NewKeysAPIWithPrefix`); only
/// for servers that serve the keys API elsewhere (e.g. behind a proxy path).
pub fn new_keys_api_with_prefix(client: Arc<dyn Client>, prefix: impl Into<String>) -> HttpKeysAPI {
    HttpKeysAPI {
        client,
        prefix: prefix.into(),
        watch_liveness: None,
    }
}

impl HttpKeysAPI {
    /// Makes watchers probe the member serving each long poll every `interval`
    /// and move to another member when it stops answering (a SIGSTOPped member
    /// keeps the connection open and would hold the watch forever; Go's client
    /// cannot detect that). A watcher that starts "from now" first reads the
    /// current index, so that moving to another member loses no event. Set
    /// [`crate::Config::header_timeout_per_request`] to bound each probe (the
    /// interval bounds it otherwise).
    pub fn with_watch_liveness(mut self, interval: Duration) -> Self {
        self.watch_liveness = Some(interval).filter(|d| !d.is_zero());
        self
    }

    /// The path prefix keys are placed under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn path(&self, key: &str) -> String {
        key_path(&self.prefix, key)
    }

    async fn call(&self, req: Request) -> Result<Response> {
        let resp = self.client.send(req).await?;
        decode(&resp)
    }
}

#[async_trait]
impl KeysAPI for HttpKeysAPI {
    async fn get(&self, key: &str, opts: GetOptions) -> Result<Response> {
        self.call(request::get(self.path(key), opts)).await
    }

    async fn set(&self, key: &str, value: &str, opts: SetOptions) -> Result<Response> {
        self.call(request::set(self.path(key), value, &opts)).await
    }

    async fn delete(&self, key: &str, opts: DeleteOptions) -> Result<Response> {
        self.call(request::delete(self.path(key), &opts)).await
    }

    async fn create(&self, key: &str, value: &str) -> Result<Response> {
        self.set(
            key,
            value,
            SetOptions {
                prev_exist: PrevExist::NoExist,
                ..Default::default()
            },
        )
        .await
    }

    async fn create_in_order(
        &self,
        dir: &str,
        value: &str,
        opts: CreateInOrderOptions,
    ) -> Result<Response> {
        self.call(request::create_in_order(self.path(dir), value, opts))
            .await
    }

    async fn update(&self, key: &str, value: &str) -> Result<Response> {
        self.set(
            key,
            value,
            SetOptions {
                prev_exist: PrevExist::Exist,
                ..Default::default()
            },
        )
        .await
    }

    fn watcher(&self, key: &str, opts: WatcherOptions) -> Box<dyn Watcher> {
        Box::new(HttpWatcher::new(
            self.client.clone(),
            self.path(key),
            opts,
            self.watch_liveness,
        ))
    }
}
