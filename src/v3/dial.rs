//! [`Dial`]: how the client reaches one endpoint (tonic's `Endpoint` with
//! the config's dial and keepalive settings, over TCP, a Unix socket or
//! TLS), and the balanced channel over the endpoints.
//!
//! TLS is decided once per client ([`Config::uses_tls`]): every endpoint
//! speaks it or none does. In real builds a TLS endpoint is dialed through
//! [`TlsConnect`] (TCP, then a rustls handshake with the config's roots,
//! client certificate and verifier); tonic itself sees a plain `http` URI,
//! so no tonic TLS feature is needed and none is in the way. Because tonic's
//! own balanced channel can only dial with its built-in connector, real
//! builds balance over the endpoints' channels themselves (tower's p2c
//! balancer, as tonic's is). Sim builds: madsim-tonic passes values, so TLS
//! endpoints are dialed in plaintext and the settings are not loaded.

use super::config::{Config, Scheme, parse_endpoint};
use super::error::{Error, Result};
use super::layer::{ChannelLayer, GrpcChannel, wrap};
use std::time::Duration;
use tonic::transport::Endpoint;

/// What the balanced channel is given for one endpoint: a channel of our
/// own making (real builds), or the endpoint to dial (madsim-tonic).
#[cfg(not(madsim))]
pub(crate) type BalancedMember = tonic::transport::Channel;
/// What the balanced channel is given for one endpoint: a channel of our
/// own making (real builds), or the endpoint to dial (madsim-tonic).
#[cfg(madsim)]
pub(crate) type BalancedMember = Endpoint;

/// A change of the balanced channel's endpoint set.
#[cfg(not(madsim))]
pub(crate) type Change = tower::discover::Change<String, BalancedMember>;
/// A change of the balanced channel's endpoint set (tower's type in madsim-tonic).
#[cfg(madsim)]
pub(crate) type Change = tower::discover::Change<String, BalancedMember>;

/// The dial settings of one client, from its [`Config`]; cheap to clone.
#[derive(Clone)]
pub(crate) struct Dial {
    layers: ChannelLayer,
    dial_timeout: Option<Duration>,
    keep_alive_time: Option<Duration>,
    keep_alive_timeout: Option<Duration>,
    /// Whether every endpoint speaks TLS.
    tls: bool,
    /// The TLS settings in effect when `tls` (the config's, or the defaults).
    #[cfg(not(madsim))]
    tls_settings: Option<(crate::tls::TlsConfig, std::sync::Arc<rustls::ClientConfig>)>,
}

impl std::fmt::Debug for Dial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dial")
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Dial {
    /// The dial settings of `config` (validated): decides TLS and, in real
    /// builds, loads the TLS settings (failing with [`Error::TlsConfig`]).
    pub(crate) fn new(config: &Config) -> Result<Dial> {
        let tls = config.uses_tls()?;
        #[cfg(not(madsim))]
        let tls_settings = if tls {
            let settings = config.tls.clone().unwrap_or_default();
            let rustls = settings
                .rustls_with_alpn(&[b"h2"])
                .map_err(Error::TlsConfig)?;
            Some((settings, rustls))
        } else {
            None
        };
        Ok(Dial {
            layers: config.layers.clone(),
            dial_timeout: config.dial_timeout,
            keep_alive_time: config.keep_alive_time,
            keep_alive_timeout: config.keep_alive_timeout,
            tls,
            #[cfg(not(madsim))]
            tls_settings,
        })
    }

    /// The user's layers.
    pub(crate) fn layers(&self) -> &ChannelLayer {
        &self.layers
    }

    /// How to reach `ep`. Fails with [`Error::InvalidEndpoint`] when it does
    /// not parse, or names the other kind of endpoint (`http://` for a TLS
    /// client, `https://` for a plaintext one).
    pub(crate) fn target(&self, ep: &str) -> Result<Target> {
        let parsed = parse_endpoint(ep)?;
        let mismatch = |reason: &str| Error::InvalidEndpoint {
            endpoint: ep.to_string(),
            reason: reason.into(),
        };
        match (parsed.scheme, self.tls) {
            (Scheme::Tls, false) => {
                return Err(mismatch(
                    "a TLS endpoint for a client that speaks plaintext (its endpoints are \
                     http:// or host:port without `tls`); one client speaks one or the other",
                ));
            }
            (Scheme::Plain, true) => {
                return Err(mismatch(
                    "a plaintext endpoint for a client that speaks TLS (its endpoints are \
                     https:// or host:port with `tls`); one client speaks one or the other",
                ));
            }
            _ => {}
        }
        #[cfg(not(madsim))]
        let host = parsed
            .uri
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string));
        let mut endpoint = Endpoint::from_shared(parsed.uri).map_err(Error::Connect)?;
        if let Some(d) = self.dial_timeout {
            endpoint = endpoint.connect_timeout(d);
        }
        if let Some(t) = self.keep_alive_time {
            endpoint = endpoint
                .http2_keep_alive_interval(t)
                .keep_alive_while_idle(true);
            if let Some(to) = self.keep_alive_timeout {
                endpoint = endpoint.keep_alive_timeout(to);
            }
        }
        #[cfg(not(madsim))]
        let connect = match (&self.tls_settings, host) {
            (Some((settings, rustls)), Some(host)) => Some(TlsConnect {
                rustls: tokio_rustls::TlsConnector::from(rustls.clone()),
                name: settings.sni_for(&host).map_err(Error::TlsConfig)?,
                connect_timeout: self.dial_timeout,
            }),
            _ => None,
        };
        Ok(Target {
            endpoint,
            #[cfg(not(madsim))]
            connect,
        })
    }

    /// A channel to `ep` alone, connected on first use, with the layers.
    pub(crate) fn channel(&self, ep: &str) -> Result<GrpcChannel> {
        Ok(wrap(&self.layers, self.target(ep)?.lazy()))
    }
}

/// How to reach one endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    endpoint: Endpoint,
    /// The TLS dialer (real builds, TLS clients).
    #[cfg(not(madsim))]
    connect: Option<TlsConnect>,
}

impl Target {
    /// A channel that connects on first use (no layers).
    pub(crate) fn lazy(&self) -> tonic::transport::Channel {
        #[cfg(not(madsim))]
        if let Some(c) = &self.connect {
            return self.endpoint.connect_with_connector_lazy(c.clone());
        }
        self.endpoint.connect_lazy()
    }

    /// What the balanced channel is given for this endpoint.
    pub(crate) fn member(&self) -> BalancedMember {
        #[cfg(not(madsim))]
        {
            self.lazy()
        }
        #[cfg(madsim)]
        {
            self.endpoint.clone()
        }
    }
}

/// The balanced channel (with the layers) and the queue its endpoint set
/// changes through.
pub(crate) fn balanced(
    layers: &ChannelLayer,
    capacity: usize,
) -> (GrpcChannel, tokio::sync::mpsc::Sender<Change>) {
    #[cfg(not(madsim))]
    {
        balance::channel(layers, capacity)
    }
    #[cfg(madsim)]
    {
        let (channel, changes) = tonic::transport::Channel::balance_channel::<String>(capacity);
        (wrap(layers, channel), changes)
    }
}

#[cfg(not(madsim))]
pub(crate) use tls_connect::TlsConnect;

/// The TLS dialer (real builds).
#[cfg(not(madsim))]
mod tls_connect {
    use crate::tls::{Prefixed, await_first_bytes};
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioIo;
    use rustls::pki_types::ServerName;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;
    use tokio::net::TcpStream;
    use tokio_rustls::client::TlsStream;

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// Dials TCP, then runs a rustls handshake for one endpoint.
    #[derive(Clone)]
    pub(crate) struct TlsConnect {
        pub(super) rustls: tokio_rustls::TlsConnector,
        /// The name verified and sent as SNI.
        pub(super) name: ServerName<'static>,
        pub(super) connect_timeout: Option<Duration>,
    }

    impl std::fmt::Debug for TlsConnect {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsConnect")
                .field("name", &self.name)
                .finish_non_exhaustive()
        }
    }

    /// How long to wait for an HTTP/2 server's first bytes after a TLS 1.3
    /// handshake (see `crate::tls::await_first_bytes`); etcd sends them at once.
    const FIRST_BYTES: Duration = Duration::from_secs(2);

    impl tower::Service<http::Uri> for TlsConnect {
        type Response = TokioIo<Prefixed<TlsStream<TcpStream>>>;
        type Error = BoxError;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, uri: http::Uri) -> Self::Future {
            let this = self.clone();
            Box::pin(async move {
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_nodelay(true);
                http.set_connect_timeout(this.connect_timeout);
                let tcp = tower::Service::call(&mut http, uri).await?.into_inner();
                let tls = this.rustls.connect(this.name.clone(), tcp).await?;
                // TLS 1.3: a refused client certificate shows only in what
                // the server sends next; let it fail the connect, by name.
                let wait = match tls.get_ref().1.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_3) => FIRST_BYTES,
                    _ => Duration::ZERO,
                };
                Ok(TokioIo::new(await_first_bytes(tls, wait).await?))
            })
        }
    }
}

/// The balanced channel of real builds: tower's power-of-two-choices
/// balancer over the endpoints' channels, behind a buffer (tonic's own
/// balanced channel is built the same way, over its built-in connector).
#[cfg(not(madsim))]
mod balance {
    use super::Change;
    use crate::v3::layer::{ChannelError, ChannelLayer, GrpcChannel, GrpcRequest, GrpcService};
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::sync::mpsc;
    use tower::ServiceExt;
    use tower::balance::p2c::Balance;
    use tower::buffer::Buffer;
    use tower::load::{CompleteOnResponse, PendingRequestsDiscover};

    /// The change queue as a discover stream; it never ends (a closed queue
    /// just brings no more changes), as tonic's does.
    struct Changes(mpsc::Receiver<Change>);

    impl futures_util::Stream for Changes {
        type Item = Result<Change, Infallible>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.0.poll_recv(cx) {
                Poll::Ready(Some(c)) => Poll::Ready(Some(Ok(c))),
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            }
        }
    }

    /// Requests a buffered balanced call may wait for the balancer.
    const BUFFER: usize = 1024;

    pub(super) fn channel(
        layers: &ChannelLayer,
        capacity: usize,
    ) -> (GrpcChannel, mpsc::Sender<Change>) {
        let (tx, rx) = mpsc::channel(capacity);
        let discover = PendingRequestsDiscover::new(Changes(rx), CompleteOnResponse::default());
        let balance: Balance<_, GrpcRequest> = Balance::new(discover);
        let boxed = tower::util::BoxService::new(balance);
        let (buffer, worker) = Buffer::pair(boxed, BUFFER);
        tokio::spawn(worker);
        let svc = GrpcService::new(buffer.map_err(ChannelError::new));
        (layers.apply(svc), tx)
    }
}
