//! Client configuration.

use super::url_path::parse_endpoint;
use crate::error::{Error, Result};
use crate::tls::TlsConfig;
use crate::transport::Transport;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Decides whether to follow one more redirect: called with the number of
/// requests already made; an error stops the chain and is returned to the caller.
pub type CheckRedirect = Arc<dyn Fn(usize) -> Result<()> + Send + Sync>;

/// The default redirect policy: follow up to 10 redirects, then fail with
/// [`Error::TooManyRedirects`] (Go's `DefaultCheckRedirect`).
pub fn default_check_redirect(via: usize) -> Result<()> {
    if via > 10 {
        Err(Error::TooManyRedirects)
    } else {
        Ok(())
    }
}

/// Which member requests go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EndpointSelectionMode {
    /// Pin one endpoint chosen at random from the shuffled list (the default).
    #[default]
    Random,
    /// Pin the leader's client URL after each [`crate::Client::sync`]; use with
    /// [`crate::Client::auto_sync`] so the pin follows leader changes.
    PrioritizeLeader,
}

/// How to reach a cluster. `Default` gives Go's defaults with no endpoints.
#[derive(Clone, Default)]
pub struct Config {
    /// Client URLs (scheme, host and port; a path is kept as a prefix), e.g.
    /// `http://127.0.0.1:2379`. At least one is required.
    pub endpoints: Vec<String>,
    /// Sends each HTTP request. `None` uses [`crate::transport::default_transport`]
    /// (reqwest in real builds, hyper over simulated TCP in sim builds), or
    /// [`crate::transport::default_transport_with_tls`] when `tls` is set.
    pub transport: Option<Arc<dyn Transport>>,
    /// TLS settings for `https` endpoints (CA, client certificate, server
    /// name; see [`crate::tls`]), given to the default transport. `None`:
    /// `https` endpoints are verified against the system's roots, with no
    /// client certificate (Go's default transport). A member list from
    /// [`crate::Client::sync`] with `https` client URLs keeps using them.
    /// With a `transport` of one's own, set TLS on it instead
    /// (`ReqwestTransport::with_tls`, [`crate::transport::HyperTransport::with_tls`]):
    /// both together are refused.
    ///
    /// Sim builds: accepted (the files are read when the client is built) but
    /// nothing is encrypted; `https` endpoints are reached in plaintext over
    /// the simulated network.
    pub tls: Option<TlsConfig>,
    /// Redirect policy. `None` uses [`default_check_redirect`] (10 redirects).
    pub check_redirect: Option<CheckRedirect>,
    /// User name for HTTP Basic auth. `None` (or empty) sends no credentials.
    pub username: Option<String>,
    /// Password for HTTP Basic auth (used only with a username).
    pub password: Option<String>,
    /// Bounds the wait for response headers of one request to one endpoint
    /// (connect, redirects and header wait; not the body). When it passes, the
    /// client moves on to the next endpoint. Watches ignore it. `None`: no bound
    /// (zero is rejected by [`Config::validate`]).
    pub header_timeout_per_request: Option<Duration>,
    /// How the pinned endpoint is chosen.
    pub selection_mode: EndpointSelectionMode,
    /// Bounds a whole call (every attempt, failover and body read included); when
    /// it passes the call fails with [`Error::Timeout`] (or
    /// [`Error::OutcomeUnknown`] for an at-most-once write already sent). Watches
    /// ignore it. `None`: no bound (zero is rejected by [`Config::validate`]). A
    /// single call can get its own, shorter bound with `with_timeout` /
    /// `with_deadline` on its API handle (e.g. [`crate::HttpKeysAPI::with_timeout`]).
    pub request_timeout: Option<Duration>,
    /// Writes are never re-sent after they may have reached a server: every
    /// write (any method but GET and HEAD), plain `set` and `update` included, is
    /// sent at-most-once ([`crate::client::Delivery::AtMostOnce`]) and fails with
    /// [`Error::OutcomeUnknown`] instead of being retried on another endpoint.
    /// Go's client re-sends a plain set to the next endpoint, so one call can be
    /// applied twice (the first proposal may commit after the second succeeded);
    /// turn this on when every call must have at most one effect (e.g. to check a
    /// history for linearizability). Default `false` (Go's behaviour).
    pub at_most_once_writes: bool,
    /// Keep the endpoints in the order given and pin the first, instead of
    /// shuffling them (Go shuffles to spread clients over members). After a
    /// [`crate::Client::sync`] in [`EndpointSelectionMode::Random`] the list is
    /// shuffled as usual. Default `false`.
    pub keep_endpoint_order: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoints", &self.endpoints)
            .field("transport", &self.transport.as_ref().map(|_| "<custom>"))
            .field("tls", &self.tls)
            .field(
                "check_redirect",
                &self.check_redirect.as_ref().map(|_| "<custom>"),
            )
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "header_timeout_per_request",
                &self.header_timeout_per_request,
            )
            .field("selection_mode", &self.selection_mode)
            .field("request_timeout", &self.request_timeout)
            .field("at_most_once_writes", &self.at_most_once_writes)
            .field("keep_endpoint_order", &self.keep_endpoint_order)
            .finish()
    }
}

impl Config {
    /// Checks the config without building a client ([`crate::HttpClient::new`]
    /// calls it first). Fails with:
    ///
    /// - [`Error::NoEndpoints`] when `endpoints` is empty;
    /// - [`Error::InvalidEndpoint`] for an endpoint that is not an `http` or
    ///   `https` URL with a host (and no query or fragment);
    /// - [`Error::InvalidConfig`] for a zero `header_timeout_per_request` or
    ///   `request_timeout` (every call would fail at once; `None` means no
    ///   bound), a username with a `:` (HTTP Basic auth cannot carry one),
    ///   or `tls` together with a `transport` of one's own.
    ///
    /// ```
    /// use etcd_sdk::{Config, Error};
    /// use std::time::Duration;
    ///
    /// assert!(Config::new(["http://127.0.0.1:2379"]).validate().is_ok());
    /// assert!(matches!(Config::default().validate(), Err(Error::NoEndpoints)));
    /// let zero = Config {
    ///     request_timeout: Some(Duration::ZERO),
    ///     ..Config::new(["http://127.0.0.1:2379"])
    /// };
    /// assert!(matches!(zero.validate(), Err(Error::InvalidConfig { field: "request_timeout", .. })));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        for ep in &self.endpoints {
            parse_endpoint(ep)?;
        }
        let invalid = |field: &'static str, reason: &str| {
            Err(Error::InvalidConfig {
                field,
                reason: reason.into(),
            })
        };
        if self.header_timeout_per_request.is_some_and(|d| d.is_zero()) {
            return invalid(
                "header_timeout_per_request",
                "zero would fail every request at once; use None for no bound",
            );
        }
        if self.request_timeout.is_some_and(|d| d.is_zero()) {
            return invalid(
                "request_timeout",
                "zero would fail every call at once; use None for no bound",
            );
        }
        if self.tls.is_some() && self.transport.is_some() {
            return invalid(
                "tls",
                "the settings go to the default transport; with a transport of your own, \
                 set TLS on it (ReqwestTransport::with_tls, HyperTransport::with_tls)",
            );
        }
        // A password without a username is ignored, as Go's client does.
        if self.username.as_deref().is_some_and(|u| u.contains(':')) {
            return invalid(
                "username",
                "HTTP Basic auth cannot carry a ':' in a user name",
            );
        }
        Ok(())
    }

    /// A config for `endpoints` with every other field at its default.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> Self {
        Config {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
}
