//! [`Config`]: how a v3 [`crate::v3::Client`] reaches a cluster.

use super::error::{Error, Result};
use super::layer::{BoxError, ChannelLayer, GrpcRequest, GrpcResponse, GrpcService};
use std::fmt;
use std::time::Duration;

/// Go's default limit on one request message the client sends (2 MiB).
pub const DEFAULT_MAX_CALL_SEND_MSG_SIZE: usize = 2 * 1024 * 1024;
/// Go's default limit on one response message the client accepts (`math.MaxInt32`).
pub const DEFAULT_MAX_CALL_RECV_MSG_SIZE: usize = i32::MAX as usize;

/// How to reach a cluster (Go's `clientv3.Config`, the parts this slice
/// implements). `Default` gives Go's defaults with no endpoints; every
/// `Option` says what `None` means.
#[derive(Clone, Default)]
pub struct Config {
    /// The members' client endpoints: `host:port`, `http://host:port` or
    /// `unix:///path` (a Unix socket; real builds). `https://` is refused
    /// until TLS lands. At least one is required; calls are balanced over all.
    pub endpoints: Vec<String>,
    /// Bounds establishing one connection to one endpoint. `None`: no bound
    /// beyond the operating system's (Go's default).
    pub dial_timeout: Option<Duration>,
    /// Sends an HTTP/2 keepalive ping after this long without activity on a
    /// connection, also when no call is in flight, so a stopped or
    /// black-holed member is noticed. `None`: no pings (Go's default).
    pub keep_alive_time: Option<Duration>,
    /// How long a keepalive ping may go unanswered before the connection is
    /// closed and its calls fail over. `None`: 20 s (Go's default). Used only
    /// with `keep_alive_time`.
    pub keep_alive_timeout: Option<Duration>,
    /// User to authenticate as; a token is fetched when the client is built
    /// and sent with every call. `None` (or empty): no authentication.
    pub username: Option<String>,
    /// The user's password (used only with a username).
    pub password: Option<String>,
    /// The largest request message sent. `None`:
    /// [`DEFAULT_MAX_CALL_SEND_MSG_SIZE`] (2 MiB). Not enforced in sim builds.
    pub max_call_send_msg_size: Option<usize>,
    /// The largest response message accepted. `None`:
    /// [`DEFAULT_MAX_CALL_RECV_MSG_SIZE`]. Not enforced in sim builds.
    pub max_call_recv_msg_size: Option<usize>,
    /// Bounds every call (all its attempts); when it passes the call fails
    /// with [`Error::Timeout`], or [`Error::OutcomeUnknown`] for a write that
    /// may have been sent. `None`: no bound. A shorter bound for some calls:
    /// [`crate::v3::Client::with_timeout`].
    pub request_timeout: Option<Duration>,
    /// Replaces the endpoints with the started voting members' client URLs
    /// this often ([`crate::v3::Client::sync`], in a background task ended
    /// by [`crate::v3::Client::close`]). `None`: never (Go's default).
    pub auto_sync_interval: Option<Duration>,
    /// Asks every endpoint's status when the client is built and refuses a
    /// cluster where none runs 3.2 or later
    /// ([`crate::v3::Error::OldCluster`]). `false`: no check (Go's default).
    pub reject_old_cluster: bool,
    /// The user's `tower` layers over every gRPC channel the client makes
    /// (see [`Config::layer`]). Default: none.
    pub layers: ChannelLayer,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("endpoints", &self.endpoints)
            .field("dial_timeout", &self.dial_timeout)
            .field("keep_alive_time", &self.keep_alive_time)
            .field("keep_alive_timeout", &self.keep_alive_timeout)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("max_call_send_msg_size", &self.max_call_send_msg_size)
            .field("max_call_recv_msg_size", &self.max_call_recv_msg_size)
            .field("request_timeout", &self.request_timeout)
            .field("auto_sync_interval", &self.auto_sync_interval)
            .field("reject_old_cluster", &self.reject_old_cluster)
            .field("layers", &self.layers)
            .finish()
    }
}

/// One endpoint, parsed: the URI tonic dials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedEndpoint {
    /// What tonic's `Endpoint` is built from: `http://host:port` or `unix:///path`.
    pub(crate) uri: String,
}

/// Parses one endpoint string (`host:port`, `http://host:port`, `unix:///path`).
pub(crate) fn parse_endpoint(ep: &str) -> Result<ParsedEndpoint> {
    let invalid = |reason: &str| Error::InvalidEndpoint {
        endpoint: ep.to_string(),
        reason: reason.into(),
    };
    if let Some(path) = ep.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(invalid("a unix endpoint needs a socket path"));
        }
        if cfg!(madsim) {
            return Err(invalid("unix sockets are not simulated"));
        }
        return Ok(ParsedEndpoint {
            uri: ep.to_string(),
        });
    }
    if ep.starts_with("https://") || ep.starts_with("unixs://") {
        return Err(invalid("TLS endpoints are not supported yet"));
    }
    let authority = match ep.split_once("://") {
        Some(("http", rest)) => rest.strip_suffix('/').unwrap_or(rest),
        Some((scheme, _)) => return Err(invalid(&format!("unsupported scheme {scheme:?}"))),
        None => ep,
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', ' ']) {
        return Err(invalid("expected host:port"));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected host:port"))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid("expected host:port with a numeric port"));
    }
    let uri = format!("http://{authority}");
    uri.parse::<http::Uri>()
        .map_err(|e| invalid(&e.to_string()))?;
    Ok(ParsedEndpoint { uri })
}

impl Config {
    /// A config with these endpoints and every other field at its default.
    pub fn new<I, S>(endpoints: I) -> Config
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Config {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Adds a `tower` layer over every gRPC channel the client makes (Go's
    /// `DialOptions` with interceptors): it sees each HTTP/2 request the
    /// client sends (every unary attempt, each stream's opening, probes and
    /// token fetches) and may add headers (gRPC metadata), time, count or
    /// refuse them. Layers added first are outermost, as with
    /// `tower::ServiceBuilder`. Not applied in sim builds (see
    /// [`crate::v3::layer`]).
    ///
    /// ```
    /// use etcd_sdk::v3::Config;
    /// use etcd_sdk::v3::layer::GrpcRequest;
    ///
    /// let config = Config::new(["127.0.0.1:2379"]).layer(tower::util::MapRequestLayer::new(
    ///     |mut req: GrpcRequest| {
    ///         req.headers_mut()
    ///             .insert("x-request-source", http::HeaderValue::from_static("billing"));
    ///         req
    ///     },
    /// ));
    /// assert_eq!(config.layers.len(), 1);
    /// ```
    pub fn layer<L, S>(mut self, layer: L) -> Config
    where
        L: tower::Layer<GrpcService, Service = S> + Send + Sync + 'static,
        S: tower::Service<GrpcRequest, Response = GrpcResponse> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
    {
        self.layers.push(layer);
        self
    }

    /// Checks the config without connecting ([`crate::v3::Client::new`] calls
    /// it first). Fails with:
    ///
    /// - [`Error::NoAvailableEndpoints`] when `endpoints` is empty;
    /// - [`Error::InvalidEndpoint`] for an endpoint that is not `host:port`,
    ///   `http://host:port` or `unix:///path`, or that needs TLS;
    /// - [`Error::InvalidConfig`] for a zero duration (use `None` for
    ///   "no bound"), a zero message size, or a password without a username.
    ///
    /// ```
    /// use etcd_sdk::v3::{Config, Error};
    ///
    /// assert!(Config::new(["127.0.0.1:2379", "http://127.0.0.1:22379"]).validate().is_ok());
    /// assert!(matches!(Config::default().validate(), Err(Error::NoAvailableEndpoints)));
    /// assert!(matches!(
    ///     Config::new(["https://127.0.0.1:2379"]).validate(),
    ///     Err(Error::InvalidEndpoint { .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(Error::NoAvailableEndpoints);
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
        let zero = "zero would fail every attempt at once; use None";
        for (field, d) in [
            ("dial_timeout", self.dial_timeout),
            ("keep_alive_time", self.keep_alive_time),
            ("keep_alive_timeout", self.keep_alive_timeout),
            ("request_timeout", self.request_timeout),
            ("auto_sync_interval", self.auto_sync_interval),
        ] {
            if d.is_some_and(|d| d.is_zero()) {
                return invalid(field, zero);
            }
        }
        for (field, n) in [
            ("max_call_send_msg_size", self.max_call_send_msg_size),
            ("max_call_recv_msg_size", self.max_call_recv_msg_size),
        ] {
            if n == Some(0) {
                return invalid(
                    field,
                    "zero would refuse every message; use None for the default",
                );
            }
        }
        if self.password.is_some() && self.username.as_deref().unwrap_or("").is_empty() {
            return invalid("password", "a password needs a username");
        }
        Ok(())
    }

    /// The send limit in effect.
    pub fn effective_max_call_send_msg_size(&self) -> usize {
        self.max_call_send_msg_size
            .unwrap_or(DEFAULT_MAX_CALL_SEND_MSG_SIZE)
    }

    /// The receive limit in effect.
    pub fn effective_max_call_recv_msg_size(&self) -> usize {
        self.max_call_recv_msg_size
            .unwrap_or(DEFAULT_MAX_CALL_RECV_MSG_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn endpoint_forms() {
        let uri = |s: &str| parse_endpoint(s).map(|p| p.uri);
        assert_eq!(uri("127.0.0.1:2379").unwrap(), "http://127.0.0.1:2379");
        assert_eq!(
            uri("http://127.0.0.1:2379").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(
            uri("http://127.0.0.1:2379/").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(uri("localhost:2379").unwrap(), "http://localhost:2379");
        if !cfg!(madsim) {
            assert_eq!(
                uri("unix:///tmp/etcd.sock").unwrap(),
                "unix:///tmp/etcd.sock"
            );
        }
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:port",
            ":2379",
            "http://127.0.0.1:2379/v3",
            "ftp://127.0.0.1:2379",
            "unix://",
        ] {
            assert!(
                matches!(uri(bad), Err(Error::InvalidEndpoint { .. })),
                "{bad:?} accepted"
            );
        }
        let https = uri("https://127.0.0.1:2379").unwrap_err();
        assert!(https.to_string().contains("TLS"), "{https}");
    }

    #[test]
    fn validate_refuses_what_cannot_work() {
        let ok = Config::new(["127.0.0.1:2379"]);
        assert!(ok.validate().is_ok());
        assert!(matches!(
            Config::default().validate(),
            Err(Error::NoAvailableEndpoints)
        ));
        let field = |c: Config| match c.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        };
        assert_eq!(
            field(Config {
                dial_timeout: Some(Duration::ZERO),
                ..ok.clone()
            }),
            "dial_timeout"
        );
        assert_eq!(
            field(Config {
                keep_alive_time: Some(Duration::ZERO),
                ..ok.clone()
            }),
            "keep_alive_time"
        );
        assert_eq!(
            field(Config {
                keep_alive_timeout: Some(Duration::ZERO),
                ..ok.clone()
            }),
            "keep_alive_timeout"
        );
        assert_eq!(
            field(Config {
                request_timeout: Some(Duration::ZERO),
                ..ok.clone()
            }),
            "request_timeout"
        );
        assert_eq!(
            field(Config {
                max_call_send_msg_size: Some(0),
                ..ok.clone()
            }),
            "max_call_send_msg_size"
        );
        assert_eq!(
            field(Config {
                max_call_recv_msg_size: Some(0),
                ..ok.clone()
            }),
            "max_call_recv_msg_size"
        );
        assert_eq!(
            field(Config {
                password: Some("p".into()),
                ..ok.clone()
            }),
            "password"
        );
        assert_eq!(ok.effective_max_call_send_msg_size(), 2 * 1024 * 1024);
        assert_eq!(ok.effective_max_call_recv_msg_size(), i32::MAX as usize);
        let dbg = format!(
            "{:?}",
            Config {
                username: Some("u".into()),
                password: Some("secret".into()),
                ..ok
            }
        );
        assert!(!dbg.contains("secret"), "{dbg}");
    }
}
