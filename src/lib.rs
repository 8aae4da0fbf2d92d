//! etcd SDK: a Rust client for etcd that runs unchanged against real clusters and
//! inside the madsim simulator.
//!
//! It offers everything Go's v2 client package (`go.etcd.io/etcd/client`) does —
//! [`Client`], [`KeysAPI`], [`MembersAPI`], [`AuthAPI`], [`AuthUserAPI`],
//! [`AuthRoleAPI`], SRV discovery and cURL debug logging — and handles failures
//! Go's client cannot:
//!
//! - a write that must not be applied twice is never re-sent once it may have
//!   reached a server; if it then fails the error is [`Error::OutcomeUnknown`],
//!   never confused with "not applied";
//! - a SIGSTOPped member is left behind by the per-request header timeout, and by
//!   watch liveness probes ([`HttpKeysAPI::with_watch_liveness`]);
//! - every call can be bounded — all of them ([`Config::request_timeout`]) or
//!   one handle's ([`HttpKeysAPI::with_timeout`], `with_deadline`; the members
//!   and auth handles have both too) — and a client closed
//!   ([`HttpClient::close`]), still telling [`Error::OutcomeUnknown`] apart from
//!   [`Error::Timeout`] (which a `tokio::time::timeout` around the call cannot).
//!
//! # Conventions
//!
//! - Constructors take the client by value, in an `Arc`, or as an
//!   `Arc<dyn Client>` ([`SharedClient`]): `new_keys_api(client)`.
//! - [`HttpClient`]'s calls (`send`, `sync`, `auto_sync`, `endpoints`,
//!   `set_endpoints`, `get_version`, `close`) are inherent: no trait import.
//! - A [`Watcher`] is also a `futures` `Stream` ([`Watcher::into_stream`]).
//! - Errors keep their causes (`source()`), and server refusals are structured
//!   ([`ApiError`], [`MembersError`], [`AuthError`]).
//! - [`Config::validate`] (run by [`HttpClient::new`]) rejects configs that
//!   cannot work.
//!
//! # Features
//!
//! - `reqwest` (default): the reqwest/rustls transport. Without it the default
//!   transport is hyper over `tokio::net` (`http`, and `https` through rustls).
//! - `discovery` (default): SRV discovery (`client::SrvDiscoverer`) through the
//!   hickory resolver.
//! - `metrics` (off): client metrics (calls, errors by code, latency by
//!   method, endpoint switches, watch resumes, keepalive misses) of the v3 and
//!   v2 clients through the `metrics` facade; see [`metrics`] for the names
//!   and labels.
//!
//! Sim builds (`--cfg madsim`) use neither.
//!
//! # Example
//!
//! ```no_run
//! use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, WatcherOptions, new_keys_api};
//! use etcd_sdk::{Config, Error, HttpClient};
//! use std::time::Duration;
//!
//! # async fn demo() -> etcd_sdk::Result<()> {
//! let client = HttpClient::new(Config {
//!     endpoints: vec!["http://127.0.0.1:2379".into(), "http://127.0.0.1:22379".into()],
//!     header_timeout_per_request: Some(Duration::from_secs(1)),
//!     ..Default::default()
//! })?;
//! let kapi = new_keys_api(client);
//!
//! let set = kapi.set("/config/mode", "fast", SetOptions::default()).await?;
//! let got = kapi.get("/config/mode", GetOptions { quorum: true, ..Default::default() }).await?;
//! assert_eq!(got.node.and_then(|n| n.value).as_deref(), Some("fast"));
//!
//! match kapi.with_timeout(Duration::from_secs(2)).create("/lock", "me").await {
//!     Ok(_) => println!("acquired"),
//!     Err(e) if e.api().is_some() => println!("held by someone else: {e}"),
//!     Err(e) if e.is_outcome_unknown() => println!("may or may not hold it: read /lock to find out"),
//!     Err(e) => return Err(e),
//! }
//!
//! let mut watcher = kapi.watcher("/config", WatcherOptions { after_index: set.index, recursive: true });
//! let event = watcher.next().await?;
//! println!("{} {:?}", event.action, event.node.map(|n| n.key));
//! # let _: Option<Error> = None;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`wire`]: the v2 JSON types, shared with the simulated server (Go-exact encoding).
//! - [`transport`]: one HTTP request to one endpoint — reqwest (real builds, `reqwest` feature),
//!   hyper over `tokio::net` (both builds; madsim simulates it), and a scripted
//!   transport for tests.
//! - [`tls`]: [`tls::TlsConfig`], the TLS settings of both clients (CA, client
//!   certificate, server name), with a `no_run` example.
//! - [`client`]: [`Config`], the [`Client`] trait and [`HttpClient`] (pinning,
//!   failover, redirects, timeouts, sync), [`SharedClient`], SRV discovery.
//! - [`keys`], [`members`], [`auth`]: the v2 APIs.
//! - [`v3`]: the v3 gRPC client (first slice: [`v3::Client`], [`v3::Config`],
//!   [`v3::KV`] with transactions, [`v3::Error`]) and the generated code ([`v3::pb`]).
//! - [`error`]: the one [`Error`] type.
//! - [`metrics`]: the client metrics' names and labels (feature `metrics`).

#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod keys;
pub mod members;
pub mod metrics;
pub mod tls;
pub mod transport;
pub mod v3;
pub mod wire;

pub use auth::{
    AuthAPI, AuthRoleAPI, AuthUserAPI, HttpAuthAPI, HttpAuthRoleAPI, HttpAuthUserAPI,
    PermissionType, new_auth_api, new_auth_role_api, new_auth_user_api,
};
pub use client::{Client, Config, EndpointSelectionMode, HttpClient, SharedClient};
pub use error::{
    ApiError, AuthError, AuthErrorKind, ClusterError, Error, MembersError, MembersErrorKind, Result,
};
pub use keys::{
    HttpKeysAPI, KeysAPI, WatchStream, Watcher, new_keys_api, new_keys_api_with_prefix,
};
pub use members::{HttpMembersAPI, MembersAPI, new_members_api};
