//! [`ChannelLayer`]: the user's `tower` layers over the client's gRPC
//! channels ([`crate::v3::Config::layer`]), for interceptors of their own:
//! tracing, metrics, extra headers.
//!
//! Every channel the client makes (one per endpoint, the balanced one, the
//! probes' fresh connections, a call aimed at one endpoint) is wrapped, so a
//! layer sees every HTTP/2 request the client sends: each unary attempt
//! (a retried call is seen once per attempt), each stream's opening, each
//! probe and each token fetch.
//!
//! Sim builds: madsim-tonic's channel passes Rust values between nodes and
//! is no `tower` service, so there layers are accepted and not applied (as
//! madsim-tonic ignores a server's layers).

use std::fmt;
use std::sync::Arc;

/// A boxed error, as the layered services return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request a layer sees: one gRPC call on HTTP/2.
pub type GrpcRequest = http::Request<tonic::body::Body>;

/// The response a layer's service gives back.
pub type GrpcResponse = http::Response<tonic::body::Body>;

/// The service a layer wraps (and the one its result is boxed into): the
/// client's channel to one endpoint, or the layers already applied over it.
pub type GrpcService = tower::util::BoxCloneSyncService<GrpcRequest, GrpcResponse, ChannelError>;

/// The error of a [`GrpcService`]: the channel's (a transport error) or a
/// layer's, kept whole as its source so that the client still tells a
/// refused connection from a lost one. (A named type rather than a bare
/// `BoxError`: the generated clients' futures must be provably `Send`.)
#[derive(Debug)]
pub struct ChannelError(BoxError);

impl ChannelError {
    /// Wraps a channel's or a layer's error.
    pub fn new(err: impl Into<BoxError>) -> ChannelError {
        ChannelError(err.into())
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for ChannelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

type Wrap = Arc<dyn Fn(GrpcService) -> GrpcService + Send + Sync>;

/// The layers of a [`crate::v3::Config`], in the order they were added; the
/// first added is the outermost (it sees a request first), as with
/// `tower::ServiceBuilder`. Empty by default.
#[derive(Clone, Default)]
pub struct ChannelLayer {
    layers: Vec<Wrap>,
}

impl fmt::Debug for ChannelLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelLayer")
            .field("layers", &self.layers.len())
            .finish()
    }
}

impl ChannelLayer {
    /// Adds `layer` inside the ones added before.
    pub fn push<L, S>(&mut self, layer: L)
    where
        L: tower::Layer<GrpcService, Service = S> + Send + Sync + 'static,
        S: tower::Service<GrpcRequest, Response = GrpcResponse> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
    {
        use tower::ServiceExt;
        self.layers.push(Arc::new(move |svc| {
            GrpcService::new(layer.layer(svc).map_err(ChannelError::new))
        }));
    }

    /// How many layers there are.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// `inner` with every layer applied, the first added outermost.
    pub fn apply(&self, inner: GrpcService) -> GrpcService {
        self.layers.iter().rev().fold(inner, |svc, wrap| wrap(svc))
    }
}

/// The channel type the generated clients run over: the layered service in
/// real builds, madsim-tonic's channel in sim builds.
#[cfg(not(madsim))]
pub(crate) type GrpcChannel = GrpcService;
/// The channel type the generated clients run over: the layered service in
/// real builds, madsim-tonic's channel in sim builds.
#[cfg(madsim)]
pub(crate) type GrpcChannel = tonic::transport::Channel;

/// `channel` wrapped in the config's layers (real builds).
#[cfg(not(madsim))]
pub(crate) fn wrap(layers: &ChannelLayer, channel: tonic::transport::Channel) -> GrpcChannel {
    use tower::ServiceExt;
    layers.apply(GrpcService::new(channel.map_err(ChannelError::new)))
}

/// `channel` as is (sim builds: layers are not applied, see the module doc).
#[cfg(madsim)]
pub(crate) fn wrap(_layers: &ChannelLayer, channel: tonic::transport::Channel) -> GrpcChannel {
    channel
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tower::{Service, ServiceExt};

    /// A layer that records `name` on the way in.
    fn tag(log: Arc<Mutex<Vec<&'static str>>>, name: &'static str) -> impl Fn() + Clone {
        move || log.lock().unwrap().push(name)
    }

    #[tokio::test]
    async fn the_first_layer_added_sees_a_request_first() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut layers = ChannelLayer::default();
        for name in ["outer", "inner"] {
            let note = tag(log.clone(), name);
            layers.push(tower::util::MapRequestLayer::new(move |r: GrpcRequest| {
                note();
                r
            }));
        }
        assert_eq!(layers.len(), 2);
        let sink = tower::service_fn(|r: GrpcRequest| async move {
            let mut resp = GrpcResponse::new(tonic::body::Body::empty());
            *resp.headers_mut() = r.headers().clone();
            Ok::<_, ChannelError>(resp)
        });
        let mut svc = layers.apply(GrpcService::new(sink));
        let resp = svc
            .ready()
            .await
            .unwrap()
            .call(GrpcRequest::new(tonic::body::Body::empty()))
            .await
            .unwrap();
        assert!(resp.headers().is_empty());
        assert_eq!(*log.lock().unwrap(), ["outer", "inner"]);
        assert!(ChannelLayer::default().is_empty());
    }
}
