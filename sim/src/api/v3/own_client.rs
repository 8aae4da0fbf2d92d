//! The client the Lock and Election services drive the member's v3 API with:
//! an SDK [`Client`] of the member's own client address (etcd 3.4 serves them
//! over clientv3's concurrency package through an in-process client; the JSON
//! gateway dials its own listener the same way), and [`CallerLease`], the view
//! of it the services' sessions use.
//!
//! # Why a client of our own address
//!
//! The SDK's concurrency package runs over its client traits (KV + Lease +
//! Watcher). A client of the member's own URL gives every one of them with the
//! member's full request path (quota, auth, learner gate, log) at no extra
//! code; an adapter over `V3Backend` would have to re-implement watches and
//! the request path. The cost is a loopback connection per member.
//!
//! # Auth: the caller's token
//!
//! Every inner call of a request carries the caller's `token` metadata
//! ([`OwnClient::for_caller`], the SDK's [`Client::with_token`]), so the
//! member checks permissions as the caller, as etcd's in-process client does
//! by passing the caller's context on: a user may lock or campaign under the
//! keys it may write, and an anonymous caller is refused once auth is on. A
//! refused token is not refreshed (the own client has no credentials).

use async_trait::async_trait;
use etcd_sdk::v3::concurrency::{self, Context};
use etcd_sdk::v3::tonic::Status;
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::{
    Client, CompactOptions, CompactResponse, Config, KV, KeepAliveStream, Lease,
    LeaseGrantResponse, LeaseId, LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseRevokeResponse,
    LeaseTimeToLiveResponse, Op, OpResponse, TimeToLiveOptions, WatchOptions, WatchStream, Watcher,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A lazily made SDK client of the member's own client address. Cheap to
/// clone; clones share the client.
#[derive(Clone, Debug, Default)]
pub struct OwnClient {
    addr: Option<SocketAddr>,
    client: Arc<OnceCell<Client>>,
    /// A channel that reaches the services in process, used instead of
    /// dialing `addr` (a member whose client ports are all TLS: the SDK
    /// client does not speak TLS). Set once, before the first use.
    #[cfg(not(madsim))]
    in_process: Arc<std::sync::OnceLock<etcd_sdk::v3::tonic::transport::Channel>>,
}

impl OwnClient {
    /// A client of `addr` (`None`: the services answer Unavailable), made at
    /// its first use.
    pub fn new(addr: Option<SocketAddr>) -> OwnClient {
        OwnClient {
            addr,
            client: Arc::new(OnceCell::new()),
            #[cfg(not(madsim))]
            in_process: Arc::default(),
        }
    }

    /// Sends the client's calls over `channel` (which reaches the services in
    /// process) instead of dialing the address, which then only names the
    /// endpoint. Takes effect if set before the client's first use; clones
    /// share it.
    #[cfg(not(madsim))]
    pub fn route_in_process(&self, channel: etcd_sdk::v3::tonic::transport::Channel) {
        if self.in_process.set(channel).is_err() {
            tracing::warn!("v3 lock/election: the in-process route was set twice");
        }
    }

    /// The client (made on first use; must be called inside the runtime).
    ///
    /// # Errors
    ///
    /// Unavailable when no address was given or the SDK refuses it.
    pub async fn get(&self) -> Result<Client, Status> {
        let Some(addr) = self.addr else {
            return Err(Status::unavailable(
                "etcdserver: the member's client address is not known",
            ));
        };
        #[cfg(not(madsim))]
        let in_process = self.in_process.get().cloned();
        self.client
            .get_or_try_init(|| async move {
                #[allow(unused_mut)]
                let mut config = Config::new([format!("http://{addr}")]);
                #[cfg(not(madsim))]
                if let Some(channel) = in_process {
                    config = config.layer(tower::layer::layer_fn(move |_| channel.clone()));
                }
                Client::new(config).await.map_err(|e| {
                    tracing::warn!(%addr, error = %e, "v3 lock/election: no own client");
                    Status::unavailable(e.to_string())
                })
            })
            .await
            .cloned()
    }

    /// The client as the caller of a request: its inner calls carry the
    /// caller's `token` metadata, or none (an anonymous caller). Made on
    /// first use, as [`OwnClient::get`].
    ///
    /// # Errors
    ///
    /// As [`OwnClient::get`].
    pub async fn for_caller(&self, metadata: &MetadataMap) -> Result<Client, Status> {
        let client = self.get().await?;
        Ok(match caller_token(metadata) {
            Some(token) => client.with_token(token),
            None => client,
        })
    }
}

/// The caller's `token` metadata, if it has one that is text.
fn caller_token(metadata: &MetadataMap) -> Option<&str> {
    metadata
        .get("token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
}

/// A client whose lease keepalives do nothing (the stream waits forever): the
/// sessions of the Lock and Election services run over the caller's lease,
/// which the caller keeps alive or lets expire, as etcd's orphaned sessions
/// do. Everything else goes to the inner client.
#[derive(Clone, Debug)]
pub struct CallerLease(pub Client);

#[async_trait]
impl KV for CallerLease {
    async fn do_op(&self, op: Op) -> etcd_sdk::v3::Result<OpResponse> {
        self.0.do_op(op).await
    }

    async fn compact(
        &self,
        revision: i64,
        opts: CompactOptions,
    ) -> etcd_sdk::v3::Result<CompactResponse> {
        self.0.compact(revision, opts).await
    }
}

#[async_trait]
impl Lease for CallerLease {
    async fn grant(&self, ttl: i64) -> etcd_sdk::v3::Result<LeaseGrantResponse> {
        self.0.grant(ttl).await
    }

    async fn revoke(&self, id: LeaseId) -> etcd_sdk::v3::Result<LeaseRevokeResponse> {
        self.0.revoke(id).await
    }

    async fn time_to_live(
        &self,
        id: LeaseId,
        opts: TimeToLiveOptions,
    ) -> etcd_sdk::v3::Result<LeaseTimeToLiveResponse> {
        self.0.time_to_live(id, opts).await
    }

    async fn leases(&self) -> etcd_sdk::v3::Result<LeaseLeasesResponse> {
        self.0.leases().await
    }

    async fn keep_alive(&self, id: LeaseId) -> etcd_sdk::v3::Result<KeepAliveStream> {
        Ok(KeepAliveStream::from_stream(
            id,
            futures_util::stream::pending(),
        ))
    }

    async fn keep_alive_once(&self, id: LeaseId) -> etcd_sdk::v3::Result<LeaseKeepAliveResponse> {
        self.0.keep_alive_once(id).await
    }

    async fn close(&self) -> etcd_sdk::v3::Result<()> {
        Lease::close(&self.0).await
    }
}

#[async_trait]
impl Watcher for CallerLease {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> etcd_sdk::v3::Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        self.0.watch(key, opts).await
    }

    async fn request_progress(&self) -> etcd_sdk::v3::Result<()> {
        self.0.request_progress().await
    }

    async fn close(&self) -> etcd_sdk::v3::Result<()> {
        Watcher::close(&self.0).await
    }
}

/// The status a failure of the concurrency package goes out as: Unknown with
/// the error's text, as etcd 3.4 answers every failure of these services
/// (its in-process client loses the inner call's code; live: a lock over an
/// unknown lease is code 2 "etcdserver: requested lease not found").
pub fn concurrency_status(e: &concurrency::Error) -> Status {
    Status::unknown(error_text(e))
}

/// The text of a concurrency failure: an inner call's status message as the
/// server sent it, otherwise the error's own text.
fn error_text(e: &concurrency::Error) -> String {
    match e.client() {
        Some(etcd_sdk::v3::Error::Etcd { status, .. } | etcd_sdk::v3::Error::Status(status)) => {
            status.message().to_string()
        }
        _ => e.to_string(),
    }
}

/// The context of a call: bounded by the caller's `grpc-timeout`, if any (Go's
/// request context carries that deadline). Cancellation needs no context:
/// when the caller goes, the call's future is dropped and the concurrency
/// package cleans up its keys.
pub fn request_context(metadata: &MetadataMap) -> Context {
    match metadata
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
    {
        Some(t) => Context::with_timeout(t),
        None => Context::background(),
    }
}

/// gRPC's `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(v: &str) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// A request's name or key as the concurrency package's string (it keys by
/// `String`; etcd by Go's byte string): bytes that are not UTF-8 are
/// replaced, so such names differ from etcd's keys.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Serves every v3 service over `backend` on a loopback port, Lock and
/// Election through a client of that port; returns its URL (unit tests of the
/// Lock and Election services).
#[cfg(all(test, not(madsim)))]
pub(crate) async fn serve_local(backend: Arc<crate::server::v3_testing::LocalV3>) -> String {
    use etcd_sdk::v3::tonic::transport::{Server, server::TcpIncoming};
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap();
    let services =
        super::V3Services::new(backend, Arc::new(crate::api::v2::router::fake::Fake::new()))
            .with_own_address(Some(addr));
    tokio::spawn(
        Server::builder()
            .add_routes(services.routes())
            .serve_with_incoming(incoming),
    );
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_with_their_unit() {
        assert_eq!(parse_grpc_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse_grpc_timeout("9n"), Some(Duration::from_nanos(9)));
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }

    #[test]
    fn failures_go_out_as_unknown_with_the_inner_text() {
        let inner = etcd_sdk::v3::Error::etcd_error(etcd_sdk::v3::EtcdError::LeaseNotFound);
        let s = concurrency_status(&concurrency::Error::Client(inner));
        assert_eq!(s.code(), etcd_sdk::v3::tonic::Code::Unknown);
        assert_eq!(s.message(), "etcdserver: requested lease not found");
        let s = concurrency_status(&concurrency::Error::ElectionNoLeader);
        assert_eq!(s.message(), "election: no leader");
    }

    #[test]
    fn the_callers_token_is_read_from_its_metadata() {
        let mut md = MetadataMap::new();
        assert_eq!(caller_token(&md), None);
        md.insert("token", "".parse().unwrap());
        assert_eq!(caller_token(&md), None);
        md.insert("token", "abc.7".parse().unwrap());
        assert_eq!(caller_token(&md), Some("abc.7"));
    }

    #[tokio::test]
    async fn without_an_address_the_client_is_unavailable() {
        let e = OwnClient::new(None).get().await.unwrap_err();
        assert_eq!(e.code(), etcd_sdk::v3::tonic::Code::Unavailable);
    }
}
