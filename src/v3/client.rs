//! [`Client`]: one gRPC channel balanced over every endpoint, with Go's retry
//! policy (spec §4.2), per-call deadlines and the auth token.

use super::config::{Config, parse_endpoint};
use super::error::{Error, EtcdError, Result};
use super::pb::etcdserverpb::{AuthenticateRequest, auth_client::AuthClient, kv_client::KvClient};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// Go's bound on the attempts of one unary call.
const MAX_ATTEMPTS: u32 = 100;
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
    channel: Channel,
    token: Mutex<Option<AsciiMetadataValue>>,
    closed: AtomicBool,
    close_notify: Notify,
    /// The shared Watch and LeaseKeepAlive streams (started on first use).
    streams: super::streams::Streams,
}

/// A v3 client (Go's `clientv3.Client`): one gRPC channel over all the
/// configured endpoints, each call sent to one of them (the channel balances
/// over the connected ones, and a failed connection is re-dialled in the
/// background). Cheap to clone; clones share the channel.
///
/// It implements [`crate::v3::KV`]. Reads are retried on another endpoint
/// when one is unavailable; writes only when the request certainly never
/// left, and otherwise fail with [`Error::OutcomeUnknown`] rather than risk
/// being applied twice. Every call is bounded by
/// [`Config::request_timeout`] and by the handle's own bound
/// ([`Client::with_timeout`], [`Client::with_deadline`]), whichever ends first.
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
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.config.endpoints)
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
        let mut endpoints = Vec::with_capacity(config.endpoints.len());
        for ep in &config.endpoints {
            let parsed = parse_endpoint(ep)?;
            let mut endpoint = Endpoint::from_shared(parsed.uri).map_err(Error::Connect)?;
            if let Some(d) = config.dial_timeout {
                endpoint = endpoint.connect_timeout(d);
            }
            if let Some(t) = config.keep_alive_time {
                endpoint = endpoint
                    .http2_keep_alive_interval(t)
                    .keep_alive_while_idle(true);
                if let Some(to) = config.keep_alive_timeout {
                    endpoint = endpoint.keep_alive_timeout(to);
                }
            }
            endpoints.push(endpoint);
        }
        let channel = Channel::balance_list(endpoints.into_iter());
        let client = Client {
            inner: Arc::new(Inner {
                config,
                channel,
                token: Mutex::new(None),
                closed: AtomicBool::new(false),
                close_notify: Notify::new(),
                streams: Default::default(),
            }),
            timeout: None,
            deadline: None,
        };
        if client.has_credentials() {
            client.authenticate(client.call_deadline()).await?;
        }
        Ok(client)
    }

    /// The endpoints the client balances over, as configured.
    pub fn endpoints(&self) -> &[String] {
        &self.inner.config.endpoints
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

    /// The shared channel (for the API clients built outside this file).
    pub(crate) fn channel(&self) -> Channel {
        self.inner.channel.clone()
    }

    /// The client's shared Watch and LeaseKeepAlive streams.
    pub(crate) fn streams(&self) -> &super::streams::Streams {
        &self.inner.streams
    }

    /// A KV client over the shared channel, with the configured size limits.
    pub(crate) fn kv_client(&self) -> KvClient<Channel> {
        KvClient::new(self.inner.channel.clone())
            .max_encoding_message_size(self.inner.config.effective_max_call_send_msg_size())
            .max_decoding_message_size(self.inner.config.effective_max_call_recv_msg_size())
    }

    /// `msg` as a request carrying the auth token and the time left.
    pub(crate) fn request<R>(&self, msg: R, deadline: Option<Instant>) -> tonic::Request<R> {
        let mut req = tonic::Request::new(msg);
        if let Some(d) = deadline {
            req.set_timeout(d.saturating_duration_since(Instant::now()));
        }
        let token = self
            .inner
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
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
        let token = match self.retry_loop(Retry::Repeatable, deadline, attempt).await {
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
    pub(crate) async fn unary<T, F, Fut>(&self, retry: Retry, mut call: F) -> Result<T>
    where
        F: FnMut(&Client, Option<Instant>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let deadline = self.call_deadline();
        let mut refreshed = false;
        loop {
            let result = self
                .retry_loop(retry, deadline, || call(self, deadline))
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

    fn needs_new_token(&self, e: &Error) -> bool {
        match e.etcd() {
            Some(EtcdError::InvalidAuthToken | EtcdError::AuthOldRevision) => true,
            Some(EtcdError::UserEmpty) => self.has_credentials(),
            _ => false,
        }
    }

    /// The retry loop proper (spec §4.2): up to [`MAX_ATTEMPTS`] attempts,
    /// a pause of [`SWEEP_BACKOFF`] after each quorum-sized sweep, bounded by
    /// `deadline` and by [`Client::close`].
    async fn retry_loop<T, F, Fut>(
        &self,
        retry: Retry,
        deadline: Option<Instant>,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, Status>>,
    {
        let sweep = (self.inner.config.endpoints.len() / 2 + 1) as u32;
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
            let again = unavailable && (retry == Retry::Repeatable || never_left);
            if !again || n >= MAX_ATTEMPTS {
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

/// `fut`, or `None` once `deadline` passes.
async fn until<F: Future>(deadline: Option<Instant>, fut: F) -> Option<F::Output> {
    match deadline {
        Some(d) => tokio::time::timeout(d.saturating_duration_since(Instant::now()), fut)
            .await
            .ok(),
        None => Some(fut.await),
    }
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
    let mentions = |text: &str| MARKERS.iter().any(|m| text.contains(m));
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
}
