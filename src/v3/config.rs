//! [`Config`]: how a v3 [`crate::v3::Client`] reaches a cluster.

use super::error::{Error, Result};
use super::layer::{BoxError, ChannelLayer, GrpcRequest, GrpcResponse, GrpcService};
use crate::tls::TlsConfig;
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
    /// The members' client endpoints: `host:port`, `http://host:port`,
    /// `https://host:port` or `unix:///path` (a Unix socket; real builds).
    /// At least one is required; calls are balanced over all. One client
    /// speaks TLS to every endpoint or to none (see [`Config::tls`]): mixing
    /// `http://` and `https://` is refused.
    pub endpoints: Vec<String>,
    /// TLS settings (CA, client certificate, server name; see
    /// [`crate::tls`]). As in Go's client: `https://` endpoints speak TLS
    /// with these settings, or with the defaults (the system's roots, no
    /// client certificate) when `None`; `host:port` endpoints speak TLS when
    /// this is set; `http://` and `unix://` ones never do. `None`: plaintext
    /// unless the endpoints say `https://`.
    ///
    /// Sim builds: accepted (the files are still read by
    /// [`Config::validate`]) but nothing is encrypted: madsim-tonic passes
    /// values between simulated nodes, so TLS endpoints run in plaintext.
    pub tls: Option<TlsConfig>,
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
            .field("tls", &self.tls)
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

/// Whether an endpoint string asks for TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `https://`.
    Tls,
    /// `http://` or `unix://`.
    Plain,
    /// `host:port`: TLS when the config has TLS settings.
    Unspecified,
}

/// One endpoint, parsed: the URI tonic dials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedEndpoint {
    /// What tonic's `Endpoint` is built from: `http://host:port` (TLS
    /// endpoints too: the TLS is in our connector, below tonic) or
    /// `unix:///path`.
    pub(crate) uri: String,
    /// What the string asked for.
    pub(crate) scheme: Scheme,
}

/// Parses one endpoint string (`host:port`, `http://host:port`,
/// `https://host:port`, `unix:///path`).
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
            scheme: Scheme::Plain,
        });
    }
    if ep.starts_with("unixs://") {
        return Err(invalid(
            "TLS over a unix socket (unixs://) is not supported",
        ));
    }
    let (authority, scheme) = match ep.split_once("://") {
        Some(("http", rest)) => (rest.strip_suffix('/').unwrap_or(rest), Scheme::Plain),
        Some(("https", rest)) => (rest.strip_suffix('/').unwrap_or(rest), Scheme::Tls),
        Some((scheme, _)) => return Err(invalid(&format!("unsupported scheme {scheme:?}"))),
        None => (ep, Scheme::Unspecified),
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
    Ok(ParsedEndpoint { uri, scheme })
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
    ///   `http://host:port`, `https://host:port` or `unix:///path`;
    /// - [`Error::InvalidConfig`] (field `endpoints`) for endpoints that mix
    ///   TLS and plaintext (see [`Config::tls`]);
    /// - [`Error::TlsConfig`] for TLS settings that do not load (a PEM file
    ///   unreadable or invalid, a certificate without its key);
    /// - [`Error::InvalidConfig`] for a zero duration (use `None` for
    ///   "no bound"), a zero message size, or a password without a username.
    ///
    /// ```
    /// use etcd_sdk::v3::{Config, Error};
    ///
    /// assert!(Config::new(["127.0.0.1:2379", "http://127.0.0.1:22379"]).validate().is_ok());
    /// assert!(matches!(Config::default().validate(), Err(Error::NoAvailableEndpoints)));
    /// assert!(Config::new(["https://127.0.0.1:2379"]).validate().is_ok());
    /// assert!(matches!(
    ///     Config::new(["https://127.0.0.1:2379", "http://127.0.0.1:22379"]).validate(),
    ///     Err(Error::InvalidConfig { field: "endpoints", .. })
    /// ));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(Error::NoAvailableEndpoints);
        }
        self.uses_tls()?;
        if let Some(tls) = &self.tls {
            tls.validate().map_err(Error::TlsConfig)?;
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

    /// Whether the client speaks TLS (to every endpoint): some endpoint
    /// says `https://`, or `tls` is set and none says `http://` or
    /// `unix://`. Fails with [`Error::InvalidEndpoint`] for an endpoint that
    /// does not parse and [`Error::InvalidConfig`] when the endpoints mix
    /// TLS and plaintext.
    pub fn uses_tls(&self) -> Result<bool> {
        let (mut tls, mut plain) = (None, None);
        for ep in &self.endpoints {
            let wants_tls = match parse_endpoint(ep)?.scheme {
                Scheme::Tls => true,
                Scheme::Plain => false,
                Scheme::Unspecified => self.tls.is_some(),
            };
            let slot = if wants_tls { &mut tls } else { &mut plain };
            slot.get_or_insert(ep.as_str());
        }
        match (tls, plain) {
            (Some(t), Some(p)) => Err(Error::InvalidConfig {
                field: "endpoints",
                reason: format!(
                    "{t:?} speaks TLS and {p:?} plaintext; one client speaks one or the other \
                     (https:// or host:port with `tls` set, or http://, unix:// or host:port \
                     without `tls`)"
                ),
            }),
            (t, _) => Ok(t.is_some()),
        }
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
        assert_eq!(
            uri("https://127.0.0.1:2379/").unwrap(),
            "http://127.0.0.1:2379"
        );
        let scheme = |s: &str| parse_endpoint(s).unwrap().scheme;
        assert_eq!(scheme("https://[::1]:2379"), Scheme::Tls);
        assert_eq!(scheme("http://[::1]:2379"), Scheme::Plain);
        assert_eq!(scheme("[::1]:2379"), Scheme::Unspecified);
        assert!(uri("unixs:///tmp/etcd.sock").is_err());
    }

    #[test]
    fn tls_is_all_or_nothing() {
        let tls = |eps: &[&str], settings: bool| {
            Config {
                tls: settings.then(TlsConfig::new),
                ..Config::new(eps.iter().copied())
            }
            .uses_tls()
        };
        assert!(!tls(&["127.0.0.1:2379"], false).unwrap());
        assert!(tls(&["127.0.0.1:2379"], true).unwrap());
        assert!(tls(&["https://127.0.0.1:2379"], false).unwrap());
        assert!(!tls(&["http://127.0.0.1:2379"], true).unwrap());
        assert!(tls(&["https://a:1", "b:2"], true).unwrap());
        for mixed in [
            tls(&["https://a:1", "http://b:2"], true),
            tls(&["https://a:1", "b:2"], false),
            tls(&["http://a:1", "b:2"], true),
        ] {
            match mixed {
                Err(Error::InvalidConfig { field, reason }) => {
                    assert_eq!(field, "endpoints");
                    assert!(reason.contains("TLS"), "{reason}");
                }
                other => panic!("expected the mix refused, got {other:?}"),
            }
        }
        let unreadable = Config {
            tls: Some(TlsConfig::new().ca_file("/nonexistent/ca.pem")),
            ..Config::new(["https://127.0.0.1:2379"])
        };
        match unreadable.validate() {
            Err(e @ Error::TlsConfig(_)) => {
                assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}")
            }
            other => panic!("expected TlsConfig, got {other:?}"),
        }
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
