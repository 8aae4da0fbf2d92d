//! [`Client`]: one gRPC channel balanced over every endpoint, with Go's retry
//! policy (spec §4.2), per-call deadlines and the auth token.

use super::breaker::Outcome;
use super::cluster::Cluster;
use super::config::Config;
use super::dial::{Dial, Target, balanced};
use super::endpoints::{CHANGE_CAPACITY, EndpointSet, Picked, Recorded};
use super::error::{Error, EtcdError, Result};
use super::layer::{GrpcChannel, wrap};
use super::maintenance::Maintenance;
use super::pb::etcdserverpb::{
    AuthenticateRequest, auth_client::AuthClient, cluster_client::ClusterClient,
    kv_client::KvClient, maintenance_client::MaintenanceClient,
};
use super::pb::grpc_health_v1::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::{Code, Status};

/// Go's bound on the attempts of one unary call.
const MAX_ATTEMPTS: u32 = 100;
/// The attempts of one call aimed at one endpoint ([`Client::unary_at`]):
/// a connection refused is tried again, but not for long, since no other
/// endpoint can take the call.
const ENDPOINT_ATTEMPTS: u32 = 3;
/// Sim builds: the status of an attempt cut by the emulated keepalive (a lost
/// call, as a real keepalive timeout is).
#[cfg(madsim)]
const EMULATED_KEEPALIVE_LOST: &str = "keep-alive timed out (emulated)";

/// How long a breaker's probe (a gRPC health check on a fresh connection) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The bound of each periodic sync ([`Config::auto_sync_interval`]), Go's.
const AUTO_SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// Go's pause after each quorum-sized sweep of attempts (without Go's ±10 %
/// jitter, so that runs in the simulator stay deterministic).
const SWEEP_BACKOFF: Duration = Duration::from_millis(25);

/// Whether a call may be re-sent after it may have reached a server (Go's
/// repeatable / non-repeatable split, spec §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Reads: re-sent on Unavailable.
    Repeatable,
    /// Writes: re-sent only when the request certainly never left; failing
    /// after it may have left gives [`Error::OutcomeUnknown`].
    NonRepeatable,
}

struct Inner {
    config: Config,
    /// Balanced over the endpoints whose breaker is closed (kept so by
    /// [`EndpointSet`]); the token fetch uses it, and streams when no breaker is closed.
    channel: GrpcChannel,
    /// How endpoints are reached (TLS or not, dial and keepalive settings).
    dial: Dial,
    endpoints: Mutex<EndpointSet>,
    token: Mutex<Option<AsciiMetadataValue>>,
    closed: AtomicBool,
    close_notify: Notify,
    /// Wakes the probe tasks when their probes were brought forward.
    probe_now: Arc<Notify>,
    /// Triggered by [`Client::close`] and when this is dropped; the background
    /// tasks (probes, auto-sync) end on it.
    shutdown: Arc<Shutdown>,
    /// The shared Watch and LeaseKeepAlive streams (started on first use).
    streams: super::streams::Streams,
}

/// A v3 client (Go's `clientv3.Client`) over a set of endpoints, each call
/// sent to one of them (see "Endpoints and the circuit breaker" below).
/// Cheap to clone; clones share the connections, the endpoint set and the
/// token.
///
/// It implements [`crate::v3::KV`]. Reads are retried on another endpoint
/// when one is unavailable; writes only when the request certainly never
/// left, and otherwise fail with [`Error::OutcomeUnknown`] rather than risk
/// being applied twice. Every call is bounded by
/// [`Config::request_timeout`] and by the handle's own bound
/// ([`Client::with_timeout`], [`Client::with_deadline`]), whichever ends first.
///
/// It also implements [`crate::v3::Cluster`], [`crate::v3::Auth`] and
/// [`crate::v3::Maintenance`].
///
/// # Endpoints and the circuit breaker
///
/// The client keeps, per endpoint, its own lazily connected channel and a
/// circuit breaker (`breaker.rs`), plus one shared channel balanced over the
/// endpoints whose breaker is closed (tonic's `Channel::balance_channel`,
/// fed `Insert`/`Remove` changes). Unary calls do not use the shared
/// channel: each attempt picks the next closed endpoint round-robin and goes
/// over that endpoint's channel, so the client knows which endpoint an
/// outcome belongs to (tonic's balancer hides it, and accepts only
/// `Endpoint`s, not wrapped services). Outcomes feed the endpoint's breaker:
///
/// - an answer (a response or one of etcd's own errors) keeps it closed;
/// - a refused connection counts; two in a row open it;
/// - a request that may be stuck on the member opens it at once: the
///   call's deadline passed while the attempt was in flight, the keepalive
///   ping timed out, or the connection broke under it.
///
/// An open endpoint leaves the rotation and the shared channel. After a
/// backoff (1 s, doubling per failed probe up to 30 s) it is probed with a
/// gRPC health check (`grpc.health.v1.Health`, which etcd serves on its client
/// port, as Go's client health-checks) with a 1 s timeout over a fresh
/// connection; only when that answers SERVING does it come back, with the fresh connection. The last closed
/// endpoint never opens, so there is always somewhere to send a call; while
/// it fails, the open endpoints' probes are brought forward (at most once a
/// second), so one that recovered comes back without waiting out its
/// backoff. So a SIGSTOPped member costs one timed-out call (or one
/// keepalive timeout) per breaker period, not one per call that happens to
/// pick it. A deadline shorter than a healthy member's answer also opens its
/// breaker; it comes back at its first probe.
///
/// The set can change: [`Client::set_endpoints`], [`Client::sync`] (the
/// started voting members' client URLs) and [`Config::auto_sync_interval`].
/// Streams (watch, lease keepalive) pick their endpoint the same way
/// ([`Client::stream_endpoint`]): a stream that delivers is an answer, one
/// that fails counts as a refusal or a lost call for its endpoint's breaker,
/// and a stream re-opened after a failure goes to the next closed endpoint.
///
/// ```no_run
/// use etcd_sdk::v3::{Client, GetOptions, KV, PutOptions};
///
/// # async fn demo() -> etcd_sdk::v3::Result<()> {
/// let client = Client::connect(["127.0.0.1:2379"]).await?;
/// client.put("greeting", "hello", PutOptions::default()).await?;
/// let got = client.get("greeting", GetOptions::default()).await?;
/// assert_eq!(got.kvs[0].value, b"hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
    /// The channel this handle's calls use instead of the shared one: set on
    /// the copies made for one attempt (the endpoint picked) or for a call
    /// aimed at one endpoint ([`Client::unary_at`]).
    pinned: Option<GrpcChannel>,
    /// Set by [`Client::with_token`]: the token this handle's calls carry
    /// instead of the client's own.
    given_token: Option<Arc<GivenToken>>,
}

/// A token given to [`Client::with_token`], with the streams of the handles
/// that carry it (a stream's metadata is set when it opens, so they cannot
/// share the client's).
struct GivenToken {
    /// `None`: the token was not valid metadata; calls go out without one.
    value: Option<AsciiMetadataValue>,
    streams: super::streams::Streams,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.endpoints())
            .field("timeout", &self.timeout)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for these endpoints with every other setting at its default
    /// (Go's `clientv3.NewFromURLs`).
    pub async fn connect<I, S>(endpoints: I) -> Result<Client>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Client::new(Config::new(endpoints)).await
    }

    /// A client for this config (Go's `clientv3.New`): validates it
    /// ([`Config::validate`]), builds the channel (connections are made on
    /// first use) and, when a username is set, fetches the auth token (a
    /// cluster with auth disabled is accepted and no token is sent).
    pub async fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let dial = Dial::new(&config)?;
        let (channel, changes) = balanced(dial.layers(), CHANGE_CAPACITY);
        let endpoints = EndpointSet::new(&dial, &config.endpoints, changes)?;
        let shutdown = Arc::new(Shutdown::default());
        let client = Client {
            inner: Arc::new(Inner {
                channel,
                dial,
                config,
                endpoints: Mutex::new(endpoints),
                token: Mutex::new(None),
                closed: AtomicBool::new(false),
                close_notify: Notify::new(),
                probe_now: Arc::new(Notify::new()),
                shutdown,
                streams: Default::default(),
            }),
            timeout: None,
            deadline: None,
            pinned: None,
            given_token: None,
        };
        if client.inner.config.reject_old_cluster {
            client.check_version().await?;
        }
        if client.has_credentials() {
            client.authenticate(client.call_deadline()).await?;
        }
        if let Some(every) = client.inner.config.auto_sync_interval {
            spawn_auto_sync(&client.inner, every);
        }
        Ok(client)
    }

    /// The endpoints the client uses now (the configured ones until
    /// [`Client::set_endpoints`] or a sync changes them), in order.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.set().urls()
    }

    /// The endpoints whose circuit breaker is closed (those calls go to).
    pub fn usable_endpoints(&self) -> Vec<String> {
        self.inner.set().closed()
    }

    /// Replaces the endpoints (Go's `SetEndpoints`): calls in flight finish
    /// where they are; kept endpoints keep their connection. Fails with
    /// [`Error::NoAvailableEndpoints`] for an empty list and
    /// [`Error::InvalidEndpoint`] for one that does not parse (then nothing
    /// changes).
    pub fn set_endpoints<I, S>(&self, endpoints: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let urls: Vec<String> = endpoints.into_iter().map(Into::into).collect();
        if urls.is_empty() {
            return Err(Error::NoAvailableEndpoints);
        }
        for u in &urls {
            self.inner.dial.target(u)?;
        }
        self.inner.set().set(&self.inner.dial, &urls)
    }

    /// Replaces the endpoints with the client URLs of the started voting
    /// members (Go's `Sync`; a member added but not started has no name yet,
    /// and learners serve too little). A list without any leaves the
    /// endpoints as they are and fails with [`Error::NoAvailableEndpoints`].
    pub async fn sync(&self) -> Result<()> {
        let list = self.member_list().await?;
        let urls: Vec<String> = list
            .members
            .into_iter()
            .filter(|m| !m.name.is_empty() && !m.is_learner)
            .flat_map(|m| m.client_ur_ls)
            .collect();
        self.set_endpoints(urls)
    }

    /// Go's `checkVersion`: asks every endpoint's status; fine as soon as
    /// one reports 3.2 or later, else [`Error::OldCluster`] (or the last
    /// failure when none answered).
    async fn check_version(&self) -> Result<()> {
        let endpoints = self.endpoints();
        let bounded = match self.inner.config.dial_timeout {
            Some(d) => self.with_timeout(d),
            None => self.clone(),
        };
        let asks = endpoints.iter().map(|ep| bounded.status(ep));
        let mut last = Error::NoAvailableEndpoints;
        for r in futures_util::future::join_all(asks).await {
            match r {
                Ok(s) if version_at_least_3_2(&s.version) => return Ok(()),
                Ok(s) => last = Error::OldCluster { version: s.version },
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The config the client was built from.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Closes the client (and every clone): calls in flight fail with
    /// [`Error::Closed`] (a write that may have been sent with
    /// [`Error::OutcomeUnknown`]), and later calls fail at once.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.close_notify.notify_waiters();
        self.inner.shutdown.trigger();
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// A copy whose every call gets at most `timeout`, counted from the
    /// call's start. Unlike wrapping a call in `tokio::time::timeout`, a
    /// write that may have been sent fails with [`Error::OutcomeUnknown`]
    /// (cause [`Error::Timeout`]) and everything else with [`Error::Timeout`].
    /// [`Config::request_timeout`] still applies; the earlier bound wins.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout: Some(timeout),
            ..self.clone()
        }
    }

    /// A copy whose every call ends by `deadline` (see [`Client::with_timeout`]).
    pub fn with_deadline(&self, deadline: Instant) -> Client {
        Client {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// A copy whose every call (unary and stream) carries `token` as its
    /// `token` metadata instead of the client's own, and never
    /// re-authenticates: a refused token is the caller's failure (as a server
    /// forwarding its caller's credentials needs; etcd's in-process client
    /// passes the caller's context on). An empty token sends none (an
    /// anonymous caller), as does one that is not valid metadata (printable
    /// ASCII), which no server would have issued. Cheap (one allocation);
    /// copies of the copy share its token and its Watch and LeaseKeepAlive
    /// streams, which are not shared with the client's.
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        let token = token.into();
        let value = match token.as_str() {
            "" => None,
            t => t.parse::<AsciiMetadataValue>().ok(),
        };
        if value.is_none() && !token.is_empty() {
            tracing::debug!("v3: a given token is not valid metadata; calls go without one");
        }
        Client {
            given_token: Some(Arc::new(GivenToken {
                value,
                streams: Default::default(),
            })),
            ..self.clone()
        }
    }

    /// The deadline of a call starting now: the earliest of the handle's and
    /// the config's bounds.
    pub(crate) fn call_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        [
            self.deadline,
            self.timeout.map(|t| now + t),
            self.inner.config.request_timeout.map(|t| now + t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn has_credentials(&self) -> bool {
        self.inner
            .config
            .username
            .as_deref()
            .is_some_and(|u| !u.is_empty())
    }

    /// The channel this handle's calls go over: the shared one, balanced
    /// over the usable endpoints, or the one endpoint a call is aimed at.
    pub(crate) fn channel(&self) -> GrpcChannel {
        match &self.pinned {
            Some(ch) => ch.clone(),
            None => self.inner.channel.clone(),
        }
    }

    /// Where a new long-lived stream (watch, lease keepalive) goes: the next
    /// endpoint whose breaker is closed (round robin, as unary attempts
    /// pick), with a [`StreamEndpoint`] that reports the stream's outcome to
    /// that endpoint's breaker. A pinned handle's channel is used as is,
    /// reporting nothing; with every breaker open, the balanced channel.
    pub(crate) fn stream_endpoint(&self) -> StreamEndpoint {
        if let Some(ch) = &self.pinned {
            return StreamEndpoint {
                channel: ch.clone(),
                report: None,
            };
        }
        match self.inner.set().pick() {
            Some(picked) => StreamEndpoint {
                channel: picked.channel.clone(),
                report: Some(StreamReport {
                    inner: Arc::downgrade(&self.inner),
                    picked,
                    healthy_sent: false,
                }),
            },
            None => StreamEndpoint {
                channel: self.inner.channel.clone(),
                report: None,
            },
        }
    }

    /// The client's shared Watch and LeaseKeepAlive streams.
    pub(crate) fn streams(&self) -> &super::streams::Streams {
        match &self.given_token {
            Some(given) => &given.streams,
            None => &self.inner.streams,
        }
    }

    /// A KV client over [`Client::channel`], with the configured size limits.
    pub(crate) fn kv_client(&self) -> KvClient<GrpcChannel> {
        KvClient::new(self.channel())
            .max_encoding_message_size(self.inner.config.effective_max_call_send_msg_size())
            .max_decoding_message_size(self.inner.config.effective_max_call_recv_msg_size())
    }

    /// A Cluster client over [`Client::channel`], with the configured size limits.
    pub(crate) fn cluster_client(&self) -> ClusterClient<GrpcChannel> {
        ClusterClient::new(self.channel())
            .max_encoding_message_size(self.inner.config.effective_max_call_send_msg_size())
            .max_decoding_message_size(self.inner.config.effective_max_call_recv_msg_size())
    }

    /// A Maintenance client over [`Client::channel`], with the configured size limits.
    pub(crate) fn maintenance_client(&self) -> MaintenanceClient<GrpcChannel> {
        MaintenanceClient::new(self.channel())
            .max_encoding_message_size(self.inner.config.effective_max_call_send_msg_size())
            .max_decoding_message_size(self.inner.config.effective_max_call_recv_msg_size())
    }

    /// An Auth client over [`Client::channel`], with the configured size limits.
    pub(crate) fn auth_client(&self) -> AuthClient<GrpcChannel> {
        AuthClient::new(self.channel())
            .max_encoding_message_size(self.inner.config.effective_max_call_send_msg_size())
            .max_decoding_message_size(self.inner.config.effective_max_call_recv_msg_size())
    }

    /// A channel to `endpoint` alone (connected on first use), with the
    /// config's dial and keepalive settings.
    pub(crate) fn endpoint_channel(&self, endpoint: &str) -> Result<GrpcChannel> {
        self.inner.dial.channel(endpoint)
    }

    /// Like [`Client::unary`], with every attempt sent to `endpoint` (Go
    /// dials the endpoint for Status, HashKV and Defragment): at most
    /// [`ENDPOINT_ATTEMPTS`] attempts, since no other endpoint can take it.
    pub(crate) async fn unary_at<T, F, Fut>(
        &self,
        endpoint: &str,
        retry: Retry,
        call: F,
    ) -> Result<T>
    where
        F: FnMut(&Client, Option<Instant>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let pinned = Client {
            pinned: Some(self.endpoint_channel(endpoint)?),
            ..self.clone()
        };
        pinned.unary_with(retry, ENDPOINT_ATTEMPTS, 1, call).await
    }

    /// `msg` as a request carrying the auth token and the time left.
    pub(crate) fn request<R>(&self, msg: R, deadline: Option<Instant>) -> tonic::Request<R> {
        let mut req = tonic::Request::new(msg);
        if let Some(d) = deadline {
            req.set_timeout(d.saturating_duration_since(Instant::now()));
        }
        let token = match &self.given_token {
            Some(given) => given.value.clone(),
            None => self
                .inner
                .token
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        };
        if let Some(token) = token {
            req.metadata_mut().insert("token", token);
        }
        req
    }

    /// Fetches a token with the configured credentials (trying the
    /// endpoints in turn through the retry loop); "authentication is not
    /// enabled" leaves the client without one, as Go's does.
    pub(crate) async fn authenticate(&self, deadline: Option<Instant>) -> Result<()> {
        let name = self.inner.config.username.clone().unwrap_or_default();
        let password = self.inner.config.password.clone().unwrap_or_default();
        let channel = self.inner.channel.clone();
        let attempt = || {
            let mut auth = AuthClient::new(channel.clone());
            let mut req = tonic::Request::new(AuthenticateRequest {
                name: name.clone(),
                password: password.clone(),
            });
            if let Some(d) = deadline {
                req.set_timeout(d.saturating_duration_since(Instant::now()));
            }
            async move { auth.authenticate(req).await }
        };
        let sweep = (self.inner.set().len() / 2 + 1) as u32;
        let token = match self
            .retry_loop(Retry::Repeatable, deadline, MAX_ATTEMPTS, sweep, attempt)
            .await
        {
            Ok(resp) => Some(resp.token),
            Err(e) if e.etcd() == Some(EtcdError::AuthNotEnabled) => None,
            Err(e) => return Err(e),
        };
        let value = match token {
            Some(t) => Some(t.parse::<AsciiMetadataValue>().map_err(|_| {
                Error::InvalidResponse("the auth token is not valid metadata".into())
            })?),
            None => None,
        };
        *self.inner.token.lock().unwrap_or_else(|p| p.into_inner()) = value;
        Ok(())
    }

    /// Runs one unary call with Go's retry policy, refreshing the token
    /// once when the server says it is invalid or stale. `call` builds and
    /// sends one attempt, given the call's deadline.
    pub(crate) async fn unary<T, F, Fut>(&self, retry: Retry, call: F) -> Result<T>
    where
        F: FnMut(&Client, Option<Instant>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let sweep = (self.inner.set().len() / 2 + 1) as u32;
        self.unary_with(retry, MAX_ATTEMPTS, sweep, call).await
    }

    /// [`Client::unary`] with its attempt bound and sweep size.
    async fn unary_with<T, F, Fut>(
        &self,
        retry: Retry,
        max_attempts: u32,
        sweep: u32,
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut(&Client, Option<Instant>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let started = Instant::now();
        let result = self
            .unary_inner(retry, max_attempts, sweep, &mut call)
            .await;
        if crate::metrics::ENABLED {
            crate::metrics::call(
                crate::metrics::V3,
                crate::metrics::v3_method::<T>().to_string(),
                started.elapsed(),
                result.as_ref().err().map(crate::metrics::v3_code),
            );
        }
        result
    }

    /// [`Client::unary_with`] without the metrics.
    async fn unary_inner<T, F, Fut>(
        &self,
        retry: Retry,
        max_attempts: u32,
        sweep: u32,
        call: &mut F,
    ) -> Result<T>
    where
        F: FnMut(&Client, Option<Instant>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let deadline = self.call_deadline();
        let mut refreshed = false;
        loop {
            let result = self
                .retry_loop(retry, deadline, max_attempts, sweep, || {
                    // A pinned handle sends where it is pinned; otherwise
                    // the next closed endpoint takes the attempt, and its
                    // outcome goes to that endpoint's breaker.
                    let picked = match self.pinned {
                        Some(_) => None,
                        None => self.inner.set().pick(),
                    };
                    let fut = match &picked {
                        Some(p) => call(
                            &Client {
                                pinned: Some(p.channel.clone()),
                                ..self.clone()
                            },
                            deadline,
                        ),
                        None => call(self, deadline),
                    };
                    let guard = picked.map(|picked| AttemptGuard {
                        inner: self.inner.clone(),
                        picked,
                        deadline,
                        done: false,
                    });
                    #[cfg(madsim)]
                    let keepalive = self.emulated_keepalive_bound();
                    async move {
                        // madsim-tonic ignores HTTP/2 keepalive, so a call to a
                        // paused member would wait for its deadline where a real
                        // connection is dropped after keep_alive_time +
                        // keep_alive_timeout of silence: cut the attempt there.
                        #[cfg(madsim)]
                        let r = match keepalive {
                            Some(bound) => match tokio::time::timeout(bound, fut).await {
                                Ok(r) => r,
                                Err(_) => Err(Status::unavailable(EMULATED_KEEPALIVE_LOST)),
                            },
                            None => fut.await,
                        };
                        #[cfg(not(madsim))]
                        let r = fut.await.map_err(broken_connection_is_unavailable);
                        if let Some(g) = guard {
                            g.finish(outcome_of(&r));
                        }
                        r
                    }
                })
                .await;
            match result {
                Err(e) if !refreshed && self.needs_new_token(&e) => {
                    tracing::debug!(error = %e, "v3: refreshing the auth token");
                    refreshed = true;
                    self.authenticate(deadline).await?;
                }
                other => return other,
            }
        }
    }

    /// Sim builds: how long an attempt may go unanswered before it counts as
    /// lost, as a real connection's keepalive ping would find it
    /// (keep_alive_time + keep_alive_timeout; none unless both are set).
    #[cfg(madsim)]
    fn emulated_keepalive_bound(&self) -> Option<Duration> {
        let c = &self.inner.config;
        c.keep_alive_time
            .zip(c.keep_alive_timeout)
            .map(|(time, timeout)| time + timeout)
    }

    fn needs_new_token(&self, e: &Error) -> bool {
        if self.given_token.is_some() {
            return false;
        }
        match e.etcd() {
            Some(EtcdError::InvalidAuthToken | EtcdError::AuthOldRevision) => true,
            Some(EtcdError::UserEmpty) => self.has_credentials(),
            _ => false,
        }
    }

    /// The retry loop proper (spec §4.2): up to `max_attempts` attempts
    /// ([`MAX_ATTEMPTS`] in Go), a pause of [`SWEEP_BACKOFF`] after each
    /// `sweep` attempts, bounded by `deadline` and by [`Client::close`].
    async fn retry_loop<T, F, Fut>(
        &self,
        retry: Retry,
        deadline: Option<Instant>,
        max_attempts: u32,
        sweep: u32,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let unknown = |cause: Error| match retry {
            Retry::Repeatable => cause,
            Retry::NonRepeatable => Error::OutcomeUnknown {
                cause: Box::new(cause),
            },
        };
        let mut n = 0u32;
        loop {
            if self.is_closed() {
                return Err(Error::Closed);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout);
            }
            n += 1;
            let outcome = tokio::select! {
                biased;
                _ = self.closed() => return Err(unknown(Error::Closed)),
                r = until(deadline, attempt()) => r,
            };
            let status = match outcome {
                None => return Err(unknown(Error::Timeout)),
                Some(Ok(resp)) => return Ok(resp.into_inner()),
                Some(Err(status)) => status,
            };
            if deadline.is_some() && is_deadline_status(&status) {
                // The grpc-timeout sent with the request ran out (tonic
                // enforces it too): the caller's deadline, as Go's toErr says.
                return Err(unknown(Error::Timeout));
            }
            let never_left = request_never_left(&status);
            let unavailable = status.code() == Code::Unavailable;
            let err = Error::from_status(status);
            if matches!(err, Error::Tls { .. }) {
                // The same certificates would be met again: no retry, and
                // the request never reached etcd.
                return Err(err);
            }
            let again = unavailable && (retry == Retry::Repeatable || never_left);
            if !again || n >= max_attempts {
                return Err(match retry {
                    Retry::NonRepeatable if !never_left && may_have_been_applied(&err) => {
                        unknown(err)
                    }
                    _ => err,
                });
            }
            tracing::debug!(attempt = n, error = %err, "v3: retrying a unary call");
            if n % sweep == 0 {
                let pause = tokio::time::sleep(SWEEP_BACKOFF);
                match deadline {
                    Some(d) if Instant::now() + SWEEP_BACKOFF >= d => {
                        tokio::time::sleep_until(d).await;
                    }
                    _ => pause.await,
                }
            }
        }
    }

    /// Resolves once the client is closed.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.inner.close_notify.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

impl Inner {
    fn set(&self) -> MutexGuard<'_, EndpointSet> {
        self.endpoints.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Reports an attempt's outcome to its endpoint's breaker; dropped unfinished
/// (the attempt was cut short), it reports [`Outcome::Lost`] if the call's
/// deadline had passed, and nothing otherwise (the client was closed).
struct AttemptGuard {
    inner: Arc<Inner>,
    picked: Picked,
    deadline: Option<Instant>,
    done: bool,
}

impl AttemptGuard {
    fn finish(mut self, outcome: Outcome) {
        self.done = true;
        record(&self.inner, &self.picked, outcome);
    }
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let passed = self
            .deadline
            .is_some_and(|d| Instant::now() + Duration::from_millis(1) >= d);
        if passed && !self.inner.is_closed() {
            record(&self.inner, &self.picked, Outcome::Lost);
        }
    }
}

fn record(inner: &Arc<Inner>, picked: &Picked, outcome: Outcome) {
    let recorded = inner
        .set()
        .record(&picked.url, picked.generation, outcome, Instant::now());
    match recorded {
        Recorded::Opened(_) => {
            crate::metrics::endpoint_switch(crate::metrics::V3);
            spawn_probe(inner, picked.url.clone(), picked.generation)
        }
        Recorded::ProbeOthersNow => inner.probe_now.notify_waiters(),
        Recorded::Nothing => {}
    }
}

/// The endpoint a long-lived stream was opened on ([`Client::stream_endpoint`]).
pub(crate) struct StreamEndpoint {
    /// The channel to open the stream over.
    pub(crate) channel: GrpcChannel,
    /// Reports the stream's outcome to the endpoint's breaker (none for a
    /// pinned handle or the balanced channel).
    pub(crate) report: Option<StreamReport>,
}

/// Feeds one stream's outcome to its endpoint's breaker, as unary attempts
/// do: a stream that works is an answer, a stream that fails counts as a
/// refused connection or a lost call ([`outcome_of_stream`]).
pub(crate) struct StreamReport {
    inner: Weak<Inner>,
    picked: Picked,
    healthy_sent: bool,
}

impl StreamReport {
    /// The endpoint's URL.
    pub(crate) fn url(&self) -> &str {
        &self.picked.url
    }

    /// The stream delivered a message: an answer (reported once per stream).
    pub(crate) fn healthy(&mut self) {
        if self.healthy_sent {
            return;
        }
        self.healthy_sent = true;
        self.report(Outcome::Answered);
    }

    /// The stream failed with `status` (an error from the server or the
    /// transport, or one the stream's owner made: no answer in time, the
    /// stream's end).
    pub(crate) fn failed(self, status: &Status) {
        let outcome = outcome_of_stream(status);
        tracing::debug!(endpoint = self.url(), ?outcome, error = %status, "v3: a stream failed");
        self.report(outcome);
    }

    fn report(&self, outcome: Outcome) {
        if let Some(inner) = self.inner.upgrade() {
            if !inner.is_closed() {
                record(&inner, &self.picked, outcome);
            }
        }
    }
}

/// What a stream's failure says about its endpoint: etcd's own errors ("no
/// leader" too) are answers; a connection that could not be made is a
/// refusal; anything else (the connection broke, a keepalive ping or a
/// progress probe went unanswered, the stream ended) a lost call.
pub(crate) fn outcome_of_stream(status: &Status) -> Outcome {
    if EtcdError::from_code_and_message(status.code(), status.message()).is_some() {
        return Outcome::Answered;
    }
    if request_never_left(status) {
        return Outcome::Refused;
    }
    match status.code() {
        Code::Unavailable
        | Code::Cancelled
        | Code::Unknown
        | Code::Internal
        | Code::DeadlineExceeded => Outcome::Lost,
        _ => Outcome::Answered,
    }
}

/// What an attempt's result says about its endpoint.
fn outcome_of<T>(r: &std::result::Result<tonic::Response<T>, Status>) -> Outcome {
    let status = match r {
        Ok(_) => return Outcome::Answered,
        Err(s) => s,
    };
    if EtcdError::from_code_and_message(status.code(), status.message()).is_some() {
        return Outcome::Answered;
    }
    if request_never_left(status) {
        return Outcome::Refused;
    }
    if is_deadline_status(status) || matches!(status.code(), Code::Unavailable | Code::Cancelled) {
        return Outcome::Lost;
    }
    Outcome::Answered
}

/// Ends the client's background tasks (probes, auto-sync): triggered by
/// [`Client::close`] and when the last handle is dropped. A flag and a
/// `Notify`, not a `tokio::sync::watch`, whose wakeups draw from a thread-local
/// RNG and so break replay under the simulator.
#[derive(Debug, Default)]
struct Shutdown {
    done: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    fn trigger(&self) {
        self.done.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Returns once triggered (at once if it already was).
    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.done.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Probes an open endpoint whenever its backoff ends, until it answers (it
/// is then closed and used again), it is removed, or the client is closed or
/// dropped.
fn spawn_probe(inner: &Arc<Inner>, url: String, generation: u64) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let shutdown = inner.shutdown.clone();
    let dial = inner.dial.clone();
    let probe_now = inner.probe_now.clone();
    tokio::spawn(async move {
        loop {
            let due = match weak.upgrade() {
                Some(inner) if !inner.is_closed() => inner.set().probe_at(&url, generation),
                _ => None,
            };
            let Some(due) = due else { return };
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = probe_now.notified() => {}
                _ = tokio::time::sleep_until(due) => {}
            }
            let started = match weak.upgrade() {
                Some(inner) if !inner.is_closed() => {
                    inner.set().start_probe(&url, generation, Instant::now())
                }
                _ => return,
            };
            if !started {
                continue;
            }
            let ok = probe(&dial, &url).await;
            let Some(inner) = weak.upgrade() else { return };
            inner
                .set()
                .probe_result(&url, generation, ok, Instant::now());
        }
    });
}

/// One probe: a health check with a short timeout over a fresh connection,
/// returned (with its endpoint, for the balanced channel) if it answered.
async fn probe(dial: &Dial, url: &str) -> Option<(GrpcChannel, Target)> {
    let target = dial.target(url).ok()?;
    let channel = wrap(dial.layers(), target.lazy());
    let mut health = HealthClient::new(channel.clone());
    let mut req = tonic::Request::new(HealthCheckRequest::default());
    req.set_timeout(PROBE_TIMEOUT);
    match tokio::time::timeout(PROBE_TIMEOUT, health.check(req)).await {
        Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => Some((channel, target)),
        Ok(Ok(r)) => {
            tracing::debug!(
                endpoint = url,
                status = r.get_ref().status,
                "v3: probe: not serving"
            );
            None
        }
        Ok(Err(e)) => {
            tracing::debug!(endpoint = url, error = %e, "v3: probe failed");
            None
        }
        Err(_) => None,
    }
}

/// Syncs the endpoints every `every` until the client is closed or dropped
/// (a failed sync is logged and the next one tried).
fn spawn_auto_sync(inner: &Arc<Inner>, every: Duration) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let shutdown = inner.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let Some(inner) = weak.upgrade() else { return };
            if inner.is_closed() {
                return;
            }
            let client = Client {
                inner,
                timeout: Some(AUTO_SYNC_TIMEOUT),
                deadline: None,
                pinned: None,
                given_token: None,
            };
            if let Err(e) = client.sync().await {
                tracing::info!(error = %e, "v3: auto-sync of the endpoints failed");
            }
        }
    });
}

/// Whether a server version string is 3.2 or later (Go's check: the first
/// two dot-separated numbers; a version without two parts passes as 0.0).
fn version_at_least_3_2(version: &str) -> bool {
    let mut parts = version.split('.');
    let major = parts
        .next()
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    let minor = parts
        .next()
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0);
    major > 3 || (major == 3 && minor >= 2)
}

/// `fut`, or `None` once `deadline` passes.
async fn until<F: Future>(deadline: Option<Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout(d.saturating_duration_since(Instant::now()), fut)
            .await
            .ok(),
        None => Some(fut.await),
    }
}

/// A call cut by its connection breaking (a keepalive ping unanswered, a
/// reset) comes back from tonic as Unknown "transport error"; gRPC and Go
/// call that Unavailable. So it is here: a read is then tried on another
/// endpoint, a write reported outcome-unknown, and the endpoint's breaker
/// counts a lost call (real builds; madsim-tonic says Unavailable itself).
#[cfg(not(madsim))]
fn broken_connection_is_unavailable(status: Status) -> Status {
    if status.code() != Code::Unknown {
        return status;
    }
    let mut source = std::error::Error::source(&status);
    while let Some(e) = source {
        if e.downcast_ref::<tonic::transport::Error>().is_some() {
            let mut broken = Status::unavailable(format!(
                "the connection broke under the call: {}",
                status.message()
            ));
            *broken.metadata_mut() = status.metadata().clone();
            return broken;
        }
        source = e.source();
    }
    status
}

/// Whether a status reports the request's own deadline running out (tonic's
/// client-side "Timeout expired", or DeadlineExceeded from the server).
fn is_deadline_status(status: &Status) -> bool {
    status.code() == Code::DeadlineExceeded
        || (status.code() == Code::Cancelled && status.message() == "Timeout expired")
}

/// Whether a failed attempt certainly never reached a server: the
/// connection to the endpoint could not be made (Go: "there is no address
/// available" / "there is no connection available").
pub(crate) fn request_never_left(status: &Status) -> bool {
    if status.code() != Code::Unavailable {
        return false;
    }
    const MARKERS: [&str; 5] = [
        "tcp connect error",
        "error trying to connect",
        "Connection refused",
        "there is no address available",
        "there is no connection available",
    ];
    // madsim-tonic (sim builds) reports a failed connect as "transport error"
    // (its endpoint connect), "connection refused" (a killed node) or "no
    // endpoints available", and a failure after sending as "connection reset".
    #[cfg(madsim)]
    const SIM_MARKERS: [&str; 3] = [
        "transport error",
        "connection refused",
        "no endpoints available",
    ];
    #[cfg(not(madsim))]
    const SIM_MARKERS: [&str; 0] = [];
    let mentions =
        |text: &str| MARKERS.iter().any(|m| text.contains(m)) || SIM_MARKERS.contains(&text);
    if mentions(status.message()) {
        return true;
    }
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        if mentions(&e.to_string()) {
            return true;
        }
        source = e.source();
    }
    false
}

/// Whether a write that failed with `err` may still have been applied: the
/// server did not decide (a transport failure, a proposal timeout, a leader
/// change, an unknown status), as opposed to a refusal.
pub(crate) fn may_have_been_applied(err: &Error) -> bool {
    match err {
        Error::Etcd { kind, .. } => kind.may_have_been_applied(),
        Error::Status(status) => matches!(
            status.code(),
            Code::Unavailable
                | Code::Unknown
                | Code::Internal
                | Code::Cancelled
                | Code::DeadlineExceeded
                | Code::DataLoss
        ),
        Error::Timeout | Error::Closed => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_never_left_other_failures_may_have() {
        let refused = Status::new(
            Code::Unavailable,
            "tcp connect error: Connection refused (os error 111)",
        );
        assert!(request_never_left(&refused));
        let reset = Status::new(Code::Unavailable, "error reading a body from connection");
        assert!(!request_never_left(&reset));
        let other_code = Status::new(Code::Internal, "tcp connect error");
        assert!(!request_never_left(&other_code));

        assert!(may_have_been_applied(&Error::from_status(reset)));
        assert!(may_have_been_applied(&Error::from_status(Status::new(
            Code::Unavailable,
            "etcdserver: request timed out"
        ))));
        assert!(!may_have_been_applied(&Error::from_status(Status::new(
            Code::InvalidArgument,
            "etcdserver: key is not provided"
        ))));
        assert!(!may_have_been_applied(&Error::from_status(Status::new(
            Code::Unavailable,
            "etcdserver: no leader"
        ))));
        assert!(may_have_been_applied(&Error::Timeout));
    }

    #[test]
    fn outcomes_for_the_breaker() {
        let err = |code, msg: &str| -> std::result::Result<tonic::Response<()>, Status> {
            Err(Status::new(code, msg))
        };
        assert_eq!(outcome_of(&Ok(tonic::Response::new(()))), Outcome::Answered);
        assert_eq!(
            outcome_of(&err(Code::Unavailable, "etcdserver: no leader")),
            Outcome::Answered
        );
        assert_eq!(
            outcome_of(&err(
                Code::InvalidArgument,
                "etcdserver: key is not provided"
            )),
            Outcome::Answered
        );
        assert_eq!(
            outcome_of(&err(
                Code::Unavailable,
                "tcp connect error: Connection refused"
            )),
            Outcome::Refused
        );
        assert_eq!(
            outcome_of(&err(Code::Unavailable, "keep-alive timed out")),
            Outcome::Lost
        );
        assert_eq!(
            outcome_of(&err(Code::Cancelled, "Timeout expired")),
            Outcome::Lost
        );
        assert_eq!(
            outcome_of(&err(Code::ResourceExhausted, "message too large")),
            Outcome::Answered
        );
    }

    #[test]
    fn stream_failures_for_the_breaker() {
        let o = |code, msg: &str| outcome_of_stream(&Status::new(code, msg));
        assert_eq!(
            o(Code::Unavailable, "etcdserver: no leader"),
            Outcome::Answered
        );
        assert_eq!(
            o(Code::Unavailable, "tcp connect error: Connection refused"),
            Outcome::Refused
        );
        assert_eq!(
            o(Code::Unavailable, "the watch stream ended"),
            Outcome::Lost
        );
        assert_eq!(o(Code::Unknown, "connection reset"), Outcome::Lost);
        assert_eq!(o(Code::Cancelled, "h2 stream reset"), Outcome::Lost);
        assert_eq!(
            o(Code::PermissionDenied, "etcdserver: permission denied"),
            Outcome::Answered
        );
    }

    /// Streams pick their endpoint like unary attempts, and what becomes of
    /// them feeds that endpoint's breaker: a lost stream opens it at once,
    /// refusals after two in a row, a stream that delivers clears the count,
    /// and etcd's own refusals are answers.
    #[tokio::test]
    async fn stream_outcomes_feed_the_breakers() {
        let urls = [
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3",
        ];
        let c = Client::new(Config::new(urls)).await.unwrap();
        let next = || c.stream_endpoint().report.expect("a picked endpoint");
        let refused = Status::unavailable("tcp connect error: Connection refused");

        let r = next();
        assert_eq!(r.url(), urls[0]);
        r.failed(&Status::unavailable(
            "the watch stream did not answer a progress request in time",
        ));
        assert_eq!(c.usable_endpoints(), [urls[1], urls[2]]);

        let r = next();
        assert_eq!(r.url(), urls[1]);
        r.failed(&Status::unavailable("etcdserver: no leader"));
        let r = next();
        assert_eq!(r.url(), urls[2]);
        r.failed(&refused);
        assert_eq!(c.usable_endpoints(), [urls[1], urls[2]], "one refusal");

        let mut r = next();
        assert_eq!(r.url(), urls[1]);
        r.healthy();
        let mut r = next();
        assert_eq!(r.url(), urls[2]);
        r.healthy();
        r.healthy();
        // urls[2]'s refusal was cleared by its healthy stream.
        next().failed(&refused);
        next().failed(&refused);
        assert_eq!(c.usable_endpoints(), [urls[1], urls[2]]);
        let r = next();
        assert_eq!(r.url(), urls[1]);
        r.failed(&refused);
        assert_eq!(c.usable_endpoints(), [urls[2]], "two refusals in a row");
        c.close();
    }

    #[test]
    fn old_cluster_versions() {
        assert!(version_at_least_3_2("3.4.23"));
        assert!(version_at_least_3_2("3.2.0"));
        assert!(version_at_least_3_2("4.0.0"));
        assert!(!version_at_least_3_2("3.1.9"));
        assert!(!version_at_least_3_2("2.3.8"));
        assert!(!version_at_least_3_2(""));
    }

    /// [`Client::with_token`] against an in-process server that records the
    /// `token` metadata of every Range and Watch call it gets.
    #[cfg(not(madsim))]
    mod given_token {
        use super::*;
        use crate::v3::pb::etcdserverpb::kv_server::{Kv, KvServer};
        use crate::v3::pb::etcdserverpb::watch_server::{Watch, WatchServer};
        use crate::v3::pb::etcdserverpb::{
            CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
            PutRequest, PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
            WatchRequest, WatchResponse,
        };
        use crate::v3::{GetOptions, KV, WatchOptions, Watcher};
        use std::pin::Pin;
        use tonic::{Request, Response, Streaming};

        /// The calls a [`Recorder`] saw: `(method, token)`.
        type Seen = Vec<(&'static str, Option<String>)>;

        /// Records `(method, token)` per call; Range answers "invalid auth
        /// token" when `refuse` is set.
        #[derive(Clone, Default)]
        struct Recorder {
            seen: Arc<Mutex<Seen>>,
            refuse: bool,
        }

        impl Recorder {
            fn record<T>(&self, method: &'static str, req: &Request<T>) {
                let token = req
                    .metadata()
                    .get("token")
                    .map(|v| v.to_str().unwrap_or("<not ascii>").to_string());
                self.seen.lock().unwrap().push((method, token));
            }

            fn seen(&self) -> Seen {
                self.seen.lock().unwrap().clone()
            }
        }

        #[async_trait::async_trait]
        impl Kv for Recorder {
            async fn range(
                &self,
                req: Request<RangeRequest>,
            ) -> std::result::Result<Response<RangeResponse>, Status> {
                self.record("range", &req);
                if self.refuse {
                    return Err(Status::unauthenticated("etcdserver: invalid auth token"));
                }
                Ok(Response::new(RangeResponse::default()))
            }
            async fn put(
                &self,
                _: Request<PutRequest>,
            ) -> std::result::Result<Response<PutResponse>, Status> {
                Err(Status::unimplemented("put"))
            }
            async fn delete_range(
                &self,
                _: Request<DeleteRangeRequest>,
            ) -> std::result::Result<Response<DeleteRangeResponse>, Status> {
                Err(Status::unimplemented("delete"))
            }
            async fn txn(
                &self,
                _: Request<TxnRequest>,
            ) -> std::result::Result<Response<TxnResponse>, Status> {
                Err(Status::unimplemented("txn"))
            }
            async fn compact(
                &self,
                _: Request<CompactionRequest>,
            ) -> std::result::Result<Response<CompactionResponse>, Status> {
                Err(Status::unimplemented("compact"))
            }
        }

        type Replies = Pin<
            Box<dyn futures_util::Stream<Item = std::result::Result<WatchResponse, Status>> + Send>,
        >;

        #[async_trait::async_trait]
        impl Watch for Recorder {
            type WatchStream = Replies;

            async fn watch(
                &self,
                req: Request<Streaming<WatchRequest>>,
            ) -> std::result::Result<Response<Replies>, Status> {
                self.record("watch", &req);
                Ok(Response::new(Box::pin(futures_util::stream::pending())))
            }
        }

        async fn serve(refuse: bool) -> (Recorder, String) {
            let svc = Recorder {
                refuse,
                ..Recorder::default()
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let server = tonic::transport::Server::builder()
                .add_service(KvServer::new(svc.clone()))
                .add_service(WatchServer::new(svc.clone()));
            tokio::spawn(async move { server.serve_with_incoming(incoming).await });
            (svc, format!("http://{addr}"))
        }

        async fn client(url: String) -> Client {
            Client::new(Config {
                request_timeout: Some(Duration::from_secs(5)),
                ..Config::new([url])
            })
            .await
            .unwrap()
        }

        /// Waits until the server has seen `n` calls.
        async fn seen_n(svc: &Recorder, n: usize) -> Seen {
            for _ in 0..500 {
                if svc.seen().len() >= n {
                    return svc.seen();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the server saw {:?}, not {n} calls", svc.seen());
        }

        #[tokio::test]
        async fn unary_calls_and_streams_carry_the_given_token() {
            let (svc, url) = serve(false).await;
            let plain = client(url).await;
            let alice = plain.with_token("alice-token");
            alice.get("k", GetOptions::default()).await.unwrap();
            plain.get("k", GetOptions::default()).await.unwrap();
            // Copies of the copy keep the token.
            alice
                .with_timeout(Duration::from_secs(3))
                .get("k", GetOptions::default())
                .await
                .unwrap();
            plain
                .with_token("")
                .get("k", GetOptions::default())
                .await
                .unwrap();
            let some = |s: &str| Some(s.to_string());
            assert_eq!(
                seen_n(&svc, 4).await,
                vec![
                    ("range", some("alice-token")),
                    ("range", None),
                    ("range", some("alice-token")),
                    ("range", None),
                ]
            );

            // The watch stream of the copy is its own, with the token; the
            // client's is opened without one. (The server never answers the
            // creates: the watches wait, their streams are open.)
            let watch = |c: &Client| {
                let c = c.clone();
                tokio::spawn(async move { c.watch("k", WatchOptions::default()).await })
            };
            let w1 = watch(&alice);
            let seen = seen_n(&svc, 5).await;
            assert_eq!(seen[4], ("watch", some("alice-token")));
            let w2 = watch(&plain);
            let seen = seen_n(&svc, 6).await;
            assert_eq!(seen[5], ("watch", None));
            w1.abort();
            w2.abort();
        }

        #[tokio::test]
        async fn a_refused_given_token_is_not_refreshed() {
            let (svc, url) = serve(true).await;
            let plain = client(url).await;
            let e = plain
                .with_token("stale")
                .get("k", GetOptions::default())
                .await
                .unwrap_err();
            assert_eq!(e.etcd(), Some(EtcdError::InvalidAuthToken), "{e:?}");
            // One attempt, and no Authenticate call (the server has no Auth
            // service: trying would have failed otherwise).
            assert_eq!(svc.seen(), vec![("range", Some("stale".to_string()))]);
        }

        #[tokio::test]
        async fn a_token_that_is_not_metadata_is_not_sent() {
            let (_svc, url) = serve(false).await;
            let plain = client(url).await;
            let sent = |c: &Client| {
                c.request((), None)
                    .metadata()
                    .get("token")
                    .map(|v| v.to_str().unwrap().to_string())
            };
            assert_eq!(sent(&plain.with_token("tok")), Some("tok".to_string()));
            assert_eq!(sent(&plain.with_token("tok\n")), None);
            assert_eq!(sent(&plain.with_token("")), None);
        }
    }
}
