//! The keys API (`/v2/keys`): Go's `KeysAPI`, with typed options.
//!
//! [`KeysAPI`] is the interface; [`HttpKeysAPI`] (built with [`new_keys_api`] or
//! [`new_keys_api_with_prefix`]) implements it over a [`crate::Client`].

mod http;
mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;
mod watcher;

pub use http::{DEFAULT_KEYS_PREFIX, HttpKeysAPI, new_keys_api, new_keys_api_with_prefix};
pub use stream::WatchStream;

use crate::error::Result;
use crate::wire::{Action, Node};
use async_trait::async_trait;
use std::time::Duration;

/// Reads, writes and watches keys (Go's `client.KeysAPI`).
#[async_trait]
pub trait KeysAPI: Send + Sync {
    /// Reads a key or directory. Always sends `quorum`, `recursive` and `sorted`.
    async fn get(&self, key: &str, opts: GetOptions) -> Result<Response>;

    /// Writes a key under the conditions in `opts` (set, update, create or
    /// compare-and-swap, depending on them). With `opts.dir` the value is ignored.
    async fn set(&self, key: &str, value: &str, opts: SetOptions) -> Result<Response>;

    /// Deletes a key (or a directory with `dir`/`recursive`), optionally
    /// conditioned on its value or index. At-most-once.
    async fn delete(&self, key: &str, opts: DeleteOptions) -> Result<Response>;

    /// Creates a key that must not exist yet (`set` with [`PrevExist::NoExist`]). At-most-once.
    async fn create(&self, key: &str, value: &str) -> Result<Response>;

    /// Creates a key named by the next index inside `dir` (a queue). At-most-once.
    async fn create_in_order(
        &self,
        dir: &str,
        value: &str,
        opts: CreateInOrderOptions,
    ) -> Result<Response>;

    /// Replaces the value of a key that must exist (`set` with [`PrevExist::Exist`]).
    async fn update(&self, key: &str, value: &str) -> Result<Response>;

    /// A watcher of `key` (and its children with `opts.recursive`).
    fn watcher(&self, key: &str, opts: WatcherOptions) -> Box<dyn Watcher>;
}

/// Yields the events of a watched key one at a time (Go's `client.Watcher`),
/// through [`Watcher::next`] or as a `futures` `Stream` ([`Watcher::into_stream`]).
///
/// ```
/// use etcd_sdk::keys::{KeysAPI, Watcher, WatcherOptions, new_keys_api};
/// use etcd_sdk::transport::{Reply, ScriptedTransport};
/// use etcd_sdk::{Config, HttpClient};
/// use futures_util::StreamExt;
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A scripted member with two events for /k, then nothing (refused).
/// let event = |i: u64| {
///     let body = format!(r#"{{"action":"set","node":{{"key":"/k","value":"{i}","modifiedIndex":{i},"createdIndex":{i}}}}}"#);
///     Reply::json(200, body).header("X-Etcd-Index", &i.to_string())
/// };
/// let member = Arc::new(ScriptedTransport::sequence([event(5), event(6)]));
/// let client = HttpClient::new(Config {
///     transport: Some(member),
///     ..Config::new(["http://127.0.0.1:2379"])
/// })
/// .unwrap();
/// let kapi = new_keys_api(client);
///
/// let events = kapi.watcher("/k", WatcherOptions::default()).into_stream();
/// let got: Vec<_> = events.collect().await;
/// assert_eq!(got.len(), 3, "two events, then the error that ends the stream");
/// assert_eq!(got[1].as_ref().unwrap().index, 6);
/// assert!(got[2].is_err());
/// # }
/// ```
#[async_trait]
pub trait Watcher: Send {
    /// Waits for the next event after the last one returned (or after
    /// `WatcherOptions::after_index` for the first call). Fails with API error 401
    /// ([`crate::Error::is_event_index_cleared`]) when the server's history no
    /// longer holds the next index: `get` the key and watch again from
    /// `response.index`.
    async fn next(&mut self) -> Result<Response>;

    /// This watcher as a `futures` `Stream` of responses; it ends after the
    /// first error (see [`WatchStream`]).
    fn into_stream(self) -> WatchStream<Self>
    where
        Self: Sized + 'static,
    {
        WatchStream::new(self)
    }
}

#[async_trait]
impl<W: Watcher + ?Sized> Watcher for Box<W> {
    async fn next(&mut self) -> Result<Response> {
        (**self).next().await
    }
}

/// A key API response: the event plus the cluster state headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// What happened (`get` for reads).
    pub action: Action,
    /// The node after the action.
    pub node: Option<Node>,
    /// The node before the action, when it existed and was changed.
    pub prev_node: Option<Node>,
    /// `X-Etcd-Index`: the store index when the response was made (for a watch,
    /// when the watch started). Watch again from `index` after a `get`.
    pub index: u64,
    /// `X-Etcd-Cluster-Id`.
    pub cluster_id: String,
    /// `X-Raft-Index`, when sent (successful responses).
    pub raft_index: Option<u64>,
    /// `X-Raft-Term`, when sent (successful responses).
    pub raft_term: Option<u64>,
}

/// Options of [`KeysAPI::get`]. `Default`: non-recursive, unsorted, served by the member's local store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Return the whole subtree of a directory.
    pub recursive: bool,
    /// Sort children by key (otherwise the order is unspecified).
    pub sort: bool,
    /// Read through consensus (linearizable) instead of from the member's local store.
    pub quorum: bool,
}

/// The existence condition of a write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrevExist {
    /// No condition (the default).
    #[default]
    Ignore,
    /// The key must exist (`prevExist=true`).
    Exist,
    /// The key must not exist (`prevExist=false`).
    NoExist,
}

/// Options of [`KeysAPI::set`]. `Default`: an unconditional, permanent set of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// The current value must equal this (`Some("")` is sent and rejected by etcd).
    /// Ignored with `dir`.
    pub prev_value: Option<String>,
    /// The current modified index must equal this; `None` (or `Some(0)`) means no comparison.
    pub prev_index: Option<u64>,
    /// The existence condition.
    pub prev_exist: PrevExist,
    /// Expire the key after this long (whole seconds, truncated; `None`: permanent).
    pub ttl: Option<Duration>,
    /// Renew the TTL without changing the value or notifying watchers (needs `ttl`; the value must be empty).
    pub refresh: bool,
    /// Create a directory instead of a file.
    pub dir: bool,
    /// On success, leave the node out of the response.
    pub no_value_on_success: bool,
}

/// Options of [`KeysAPI::delete`]. `Default`: an unconditional delete of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// The current value must equal this.
    pub prev_value: Option<String>,
    /// The current modified index must equal this; `None` (or `Some(0)`) means no comparison.
    pub prev_index: Option<u64>,
    /// Delete a directory and everything below it.
    pub recursive: bool,
    /// Delete an empty directory.
    pub dir: bool,
}

/// Options of [`KeysAPI::create_in_order`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreateInOrderOptions {
    /// Expire the new key after this long (`None`: permanent).
    pub ttl: Option<Duration>,
}

/// Options of [`KeysAPI::watcher`]. `Default`: events from now on, this key only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatcherOptions {
    /// Start after this index: the first event has an index > `after_index`. 0: from now on.
    pub after_index: u64,
    /// Include events of the key's children.
    pub recursive: bool,
}
