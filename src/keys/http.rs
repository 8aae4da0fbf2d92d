//! [`HttpKeysAPI`]: the keys API over a [`crate::Client`] (Go's `httpKeysAPI`).

use super::request::{self, key_path};
use super::response::decode;
use super::watcher::HttpWatcher;
use super::{
    CreateInOrderOptions, DeleteOptions, GetOptions, KeysAPI, PrevExist, Response, SetOptions,
    Watcher, WatcherOptions,
};
use crate::client::{Caller, Request, SharedClient};
use crate::error::Result;
use async_trait::async_trait;
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// The default path prefix of the keys API.
pub const DEFAULT_KEYS_PREFIX: &str = "/v2/keys";

/// The keys API over HTTP: every call is one request through the [`crate::Client`],
/// which picks the endpoint and fails over.
///
/// Writes that must not be applied twice (create, compare-and-swap,
/// in-order create, delete) are sent at-most-once: they move to another
/// endpoint only when the request certainly did not reach the first one, and
/// otherwise fail with [`crate::Error::OutcomeUnknown`]. Reads, plain sets,
/// updates and watches are retried on the next endpoint, as Go's client does.
///
/// Cheap to clone. [`HttpKeysAPI::with_timeout`] and
/// [`HttpKeysAPI::with_deadline`] give a copy whose calls are bounded.
#[derive(Clone)]
pub struct HttpKeysAPI {
    caller: Caller,
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

/// A keys API under `/v2/keys` (Go's `NewKeysAPI`). Takes the client by value
/// (an [`crate::HttpClient`]), in an `Arc`, or as an `Arc<dyn Client>` (see
/// [`SharedClient`]).
///
/// ```no_run
/// use etcd_sdk::keys::{KeysAPI, SetOptions};
/// use etcd_sdk::{Config, HttpClient, new_keys_api};
///
/// # async fn demo() -> etcd_sdk::Result<()> {
/// let kapi = new_keys_api(HttpClient::new(Config::new(["http://127.0.0.1:2379"]))?);
/// kapi.set("/greeting", "hello", SetOptions::default()).await?;
/// # Ok(()) }
/// ```
pub fn new_keys_api(client: impl Into<SharedClient>) -> HttpKeysAPI {
    new_keys_api_with_prefix(client, DEFAULT_KEYS_PREFIX)
}

/// A keys API under a custom path prefix (Go's `NewKeysAPIWithPrefix`); only
/// for servers that serve the keys API elsewhere (e.g. behind a proxy path).
pub fn new_keys_api_with_prefix(
    client: impl Into<SharedClient>,
    prefix: impl Into<String>,
) -> HttpKeysAPI {
    HttpKeysAPI {
        caller: Caller::new(client),
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

    /// A copy of this handle whose every call gets at most `timeout`, counted
    /// from when the call starts (and for a watcher it makes, each `next()`).
    ///
    /// Unlike wrapping a call in `tokio::time::timeout`, this keeps the
    /// at-most-once classification: when the time is up, an at-most-once write
    /// (create, compare-and-swap, in-order create, delete) that may already
    /// have reached a server fails with [`crate::Error::OutcomeUnknown`]
    /// (cause [`crate::Error::Timeout`]); anything else fails with
    /// [`crate::Error::Timeout`] and had no effect if it was such a write. A
    /// timed-out watcher keeps its place: the next `next()` asks for the same
    /// index. The client-wide [`crate::Config::request_timeout`] still
    /// applies; the earlier bound wins.
    ///
    /// ```
    /// use etcd_sdk::keys::{KeysAPI, new_keys_api};
    /// use etcd_sdk::transport::{Reply, ScriptedTransport};
    /// use etcd_sdk::{Config, HttpClient};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // A member that takes the request and never answers.
    /// let hung = Arc::new(ScriptedTransport::new(|_| Reply::Hang));
    /// let client = HttpClient::new(Config {
    ///     transport: Some(hung),
    ///     ..Config::new(["http://127.0.0.1:2379"])
    /// })
    /// .unwrap();
    /// let kapi = new_keys_api(client).with_timeout(Duration::from_millis(50));
    /// let err = kapi.create("/lock", "me").await.unwrap_err();
    /// assert!(err.is_outcome_unknown(), "the create may have been applied: {err}");
    /// let err = kapi.update("/lock", "you").await.unwrap_err();
    /// assert!(err.is_timeout(), "a plain update is retryable: {err}");
    /// # }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        HttpKeysAPI {
            caller: self.caller.with_timeout(timeout),
            ..self.clone()
        }
    }

    /// A copy of this handle whose calls must all end by `deadline` (a budget
    /// shared by a sequence of calls); otherwise as [`HttpKeysAPI::with_timeout`].
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        HttpKeysAPI {
            caller: self.caller.with_deadline(deadline),
            ..self.clone()
        }
    }

    /// The path prefix keys are placed under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn path(&self, key: &str) -> String {
        key_path(&self.prefix, key)
    }

    async fn call(&self, req: Request) -> Result<Response> {
        let resp = self.caller.send(req).await?;
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
            self.caller.clone(),
            self.path(key),
            opts,
            self.watch_liveness,
        ))
    }
}
