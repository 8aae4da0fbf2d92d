//! The cluster client: endpoint pinning and rotation, failover, at-most-once
//! delivery, redirects, the header timeout, the overall request timeout and close.

use super::config::{CheckRedirect, Config, EndpointSelectionMode, default_check_redirect};
use super::health::{Health, LeaderAnswer, attempt_order, leader_verdict};
use super::request::{Delivery, Request, Response};
use super::url_path::{parse_endpoint, request_url};
use super::{Client, Version};
use crate::error::{ClusterError, Error, Result};
use crate::transport::{
    Transport, TransportRequest, default_transport, default_transport_with_tls, log_curl_command,
};
use async_trait::async_trait;
use base64::Engine;
use futures_util::StreamExt;
use http::{HeaderValue, StatusCode, header};
use rand::seq::SliceRandom;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One configured endpoint: its parsed URL and the text it was given as.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) url: url::Url,
    pub(crate) text: String,
}

#[derive(Debug)]
struct EndpointState {
    endpoints: Arc<Vec<Endpoint>>,
    pinned: usize,
    /// Bumped whenever the list changes, so a call that snapshotted an older list
    /// does not move the pin of the new one.
    generation: u64,
}

struct Inner {
    transport: Arc<dyn Transport>,
    check_redirect: CheckRedirect,
    credentials: Option<HeaderValue>,
    header_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    selection_mode: EndpointSelectionMode,
    /// [`Config::at_most_once_writes`].
    at_most_once_writes: bool,
    /// [`Config::keep_endpoint_order`].
    keep_endpoint_order: bool,
    state: Mutex<EndpointState>,
    /// Set by `close`; `close_notify` wakes the calls waiting on it. (Not a
    /// `tokio::sync::watch`: its wakeups draw from a thread-local RNG, which breaks
    /// replay under the simulator.)
    closed: AtomicBool,
    close_notify: Notify,
    /// Which endpoints just timed out, and whether the leader is in doubt.
    health: Health,
}

/// How often, while the leader is in doubt, each member is asked for the leader.
const LEADER_POLL: Duration = Duration::from_millis(10);
/// How long a leader-bound request waits for a leader when the client has no
/// header timeout (otherwise two header timeouts: about an election).
const LEADER_WAIT: Duration = Duration::from_secs(2);

/// The HTTP [`Client`]: Go's `httpClusterClient`, plus at-most-once writes, an
/// overall request timeout and [`HttpClient::close`]. Cheap to clone (shared state).
///
/// Its everyday methods are inherent (the [`Client`] trait delegates to them),
/// so no trait import is needed:
///
/// ```
/// use etcd_sdk::transport::{Reply, ScriptedTransport};
/// use etcd_sdk::{Config, Error, HttpClient};
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> etcd_sdk::Result<()> {
/// // A scripted member standing in for a cluster.
/// let member = Arc::new(ScriptedTransport::new(|req| match req.url.path() {
///     "/version" => Reply::json(200, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#),
///     _ => Reply::json(200, r#"{"members":[{"id":"1","name":"a","peerURLs":["http://10.0.0.1:2380"],"clientURLs":["http://10.0.0.1:2379"]}]}"#),
/// }));
/// let client = HttpClient::new(Config {
///     transport: Some(member),
///     ..Config::new(["http://127.0.0.1:2379"])
/// })?;
/// assert_eq!(client.get_version().await?.server, "3.4.23");
/// client.sync().await?; // endpoints from the member list
/// assert_eq!(client.endpoints(), ["http://10.0.0.1:2379"]);
/// client.set_endpoints(&["http://127.0.0.1:2379".to_string()])?;
/// client.close();
/// assert!(matches!(client.get_version().await, Err(Error::Cancelled)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoints", &self.endpoints())
            .finish_non_exhaustive()
    }
}

/// Why one attempt on one endpoint failed, and whether it may have been applied.
struct AttemptError {
    error: Error,
    may_have_been_sent: bool,
}

impl AttemptError {
    fn not_sent(error: Error) -> Self {
        AttemptError {
            error,
            may_have_been_sent: false,
        }
    }
}

impl HttpClient {
    /// Builds a client. Checks the config first ([`Config::validate`]: at least
    /// one valid endpoint, no zero timeouts, usable credentials) and fails with
    /// what is wrong; also fails if the default transport cannot be built
    /// ([`Error::TransportInit`]) or the TLS settings do not load ([`Error::Tls`]).
    pub fn new(cfg: Config) -> Result<Self> {
        cfg.validate()?;
        let transport = match (cfg.transport, &cfg.tls) {
            (Some(t), _) => t,
            (None, Some(tls)) => default_transport_with_tls(tls)?,
            (None, None) => default_transport()?,
        };
        let credentials = match cfg.username.as_deref() {
            Some(user) if !user.is_empty() => {
                let raw = format!("{user}:{}", cfg.password.as_deref().unwrap_or(""));
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                let value = HeaderValue::from_str(&format!("Basic {encoded}"))
                    .map_err(|e| Error::InvalidArgument(format!("credentials: {e}")))?;
                Some(value)
            }
            _ => None,
        };
        let client = HttpClient {
            inner: Arc::new(Inner {
                transport,
                check_redirect: cfg
                    .check_redirect
                    .unwrap_or_else(|| Arc::new(default_check_redirect)),
                credentials,
                header_timeout: cfg.header_timeout_per_request,
                request_timeout: cfg.request_timeout,
                selection_mode: cfg.selection_mode,
                at_most_once_writes: cfg.at_most_once_writes,
                keep_endpoint_order: cfg.keep_endpoint_order,
                state: Mutex::new(EndpointState {
                    endpoints: Arc::new(Vec::new()),
                    pinned: 0,
                    generation: 0,
                }),
                closed: AtomicBool::new(false),
                close_notify: Notify::new(),
                health: Health::default(),
            }),
        };
        client.set_endpoints(&cfg.endpoints)?;
        Ok(client)
    }

    /// Closes the client: calls in flight fail with [`Error::Cancelled`] (or
    /// [`Error::OutcomeUnknown`] for an at-most-once write already sent), and so
    /// do later ones; `auto_sync` returns.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.close_notify.notify_waiters();
    }

    /// Whether [`HttpClient::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Resolves once the client is closed.
    async fn closed(&self) {
        loop {
            let notified = self.inner.close_notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a close in between is not missed.
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// The endpoint requests go to first.
    pub fn pinned_endpoint(&self) -> Option<String> {
        let st = self.state();
        st.endpoints.get(st.pinned).map(|e| e.text.clone())
    }

    fn state(&self) -> MutexGuard<'_, EndpointState> {
        // The lock guards plain data and no code panics while holding it.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn install(&self, endpoints: Vec<Endpoint>, pinned: usize) {
        let mut st = self.state();
        st.endpoints = Arc::new(endpoints);
        st.pinned = pinned;
        st.generation += 1;
    }

    fn set_pin(&self, generation: u64, pinned: usize) {
        let mut st = self.state();
        if st.generation == generation {
            st.pinned = pinned;
        }
    }

    /// Runs `req` against the client's endpoints, bounded by close and the
    /// request timeout, and records it in the client metrics.
    async fn send_bounded(
        &self,
        req: Request,
        endpoints: Option<(Arc<Vec<Endpoint>>, usize)>,
    ) -> Result<Response> {
        if !crate::metrics::ENABLED {
            return self.send_bounded_inner(req, endpoints).await;
        }
        let method = if req.long_poll {
            crate::metrics::v2_method("WATCH", &req.path)
        } else {
            crate::metrics::v2_method(req.method.as_str(), &req.path)
        };
        let started = Instant::now();
        let result = self.send_bounded_inner(req, endpoints).await;
        crate::metrics::call(
            crate::metrics::V2,
            method,
            started.elapsed(),
            crate::metrics::v2_code(&result),
        );
        result
    }

    /// [`HttpClient::send_bounded`] without the metrics.
    async fn send_bounded_inner(
        &self,
        mut req: Request,
        endpoints: Option<(Arc<Vec<Endpoint>>, usize)>,
    ) -> Result<Response> {
        if self.is_closed() {
            return Err(Error::Cancelled);
        }
        req.delivery = self.delivery_of(&req);
        // The client-wide timeout leaves long polls alone; the call's own deadline
        // (asked for explicitly) bounds them too. The earlier one applies.
        let now = Instant::now();
        let client_deadline = self
            .inner
            .request_timeout
            .filter(|_| !req.long_poll)
            .map(|d| now + d);
        let deadline = match (client_deadline, req.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if deadline.is_some_and(|d| d <= now) {
            // Nothing was sent: whatever the request, it certainly had no effect.
            return Err(Error::Timeout);
        }
        // The endpoint of an at-most-once attempt whose request may be on the wire.
        let in_flight: Mutex<Option<String>> = Mutex::new(None);
        let abandon = |why: Error| -> Error {
            let sent = in_flight.lock().unwrap_or_else(|p| p.into_inner()).take();
            match sent {
                Some(endpoint) if req.delivery == Delivery::AtMostOnce => Error::OutcomeUnknown {
                    endpoint,
                    cause: Box::new(why),
                },
                _ => why,
            }
        };
        let work = self.send_to_endpoints(&req, endpoints, &in_flight);
        tokio::select! {
            biased;
            r = work => r,
            _ = self.closed() => Err(abandon(Error::Cancelled)),
            _ = sleep_until(deadline) => Err(abandon(Error::Timeout)),
        }
    }

    /// The request's delivery, made at-most-once for every write when
    /// [`Config::at_most_once_writes`] is set.
    fn delivery_of(&self, req: &Request) -> Delivery {
        let read = req.method == http::Method::GET || req.method == http::Method::HEAD;
        if self.inner.at_most_once_writes && !read {
            Delivery::AtMostOnce
        } else {
            req.delivery
        }
    }

    /// Go's `httpClusterClient.Do`: pinned endpoint first, then the others in turn.
    async fn send_to_endpoints(
        &self,
        req: &Request,
        explicit: Option<(Arc<Vec<Endpoint>>, usize)>,
        in_flight: &Mutex<Option<String>>,
    ) -> Result<Response> {
        let (endpoints, pinned, generation) = match explicit {
            Some((eps, pinned)) => (eps, pinned, None),
            None => {
                let st = self.state();
                (st.endpoints.clone(), st.pinned, Some(st.generation))
            }
        };
        let n = endpoints.len();
        if n == 0 {
            return Err(Error::NoEndpoints);
        }
        let move_pin = |k: usize| {
            crate::metrics::endpoint_switch(crate::metrics::V2);
            if let Some(g) = generation {
                self.set_pin(g, k);
            }
        };
        let health = &self.inner.health;
        let leader_bound = needs_leader(req);
        let mut pinned = pinned;
        if leader_bound && health.leader_doubt() {
            // Hold the request (nothing of it is sent yet) until a member
            // names itself leader, then send it there.
            if let Some(leader) = self.find_leader(&endpoints).await {
                if leader != pinned {
                    move_pin(leader);
                }
                pinned = leader;
            }
        }
        let timed_out =
            health.recently_timed_out(endpoints.iter().map(|e| e.text.as_str()), Instant::now());
        let mut errors = Vec::new();
        for k in attempt_order(n, pinned, &timed_out) {
            let ep = &endpoints[k];
            let failure = match self.attempt(ep, req, in_flight).await {
                Ok(resp) if resp.status.is_server_error() => {
                    let error = if resp.status == StatusCode::INTERNAL_SERVER_ERROR
                        || resp.status == StatusCode::SERVICE_UNAVAILABLE
                    {
                        health.no_leader();
                        Error::NoLeader {
                            endpoint: ep.text.clone(),
                        }
                    } else {
                        Error::ServerError {
                            endpoint: ep.text.clone(),
                            status: resp.status.as_u16(),
                            status_text: resp.status.canonical_reason().unwrap_or("").to_string(),
                        }
                    };
                    // The server saw the request: a write may have been proposed.
                    AttemptError {
                        error,
                        may_have_been_sent: true,
                    }
                }
                Ok(resp) => {
                    health.answered(&ep.text, leader_bound);
                    if k != pinned {
                        move_pin(k);
                    }
                    return Ok(resp);
                }
                Err(e) => e,
            };
            if unanswered(&failure.error) {
                health.timed_out(&ep.text, Instant::now());
            }
            tracing::debug!(endpoint = %ep.text, error = %failure.error, "request to endpoint failed");
            if req.delivery == Delivery::AtMostOnce && failure.may_have_been_sent {
                move_pin((k + 1) % n);
                return Err(Error::OutcomeUnknown {
                    endpoint: ep.text.clone(),
                    cause: Box::new(failure.error),
                });
            }
            errors.push(failure.error);
        }
        Err(Error::Cluster(ClusterError { errors }))
    }

    /// One endpoint: follow redirects under the header timeout, then read the body.
    async fn attempt(
        &self,
        ep: &Endpoint,
        req: &Request,
        in_flight: &Mutex<Option<String>>,
    ) -> std::result::Result<Response, AttemptError> {
        let work = self.attempt_unprobed(ep, req, in_flight);
        match req.liveness.filter(|_| req.long_poll) {
            None => work.await,
            Some(interval) => {
                tokio::select! {
                    biased;
                    r = work => r,
                    dead = self.probe_until_unresponsive(ep, interval) => Err(AttemptError {
                        error: dead,
                        may_have_been_sent: true,
                    }),
                }
            }
        }
    }

    /// Probes `ep` with `GET /version` every `interval`; returns once a probe
    /// fails (any HTTP answer counts as alive).
    async fn probe_until_unresponsive(&self, ep: &Endpoint, interval: Duration) -> Error {
        let limit = self.inner.header_timeout.unwrap_or(interval);
        loop {
            tokio::time::sleep(interval).await;
            let probe = self.transport_request(
                request_url(&ep.url, "/version", &[]),
                &Request::new(http::Method::GET, "/version"),
            );
            match tokio::time::timeout(limit, self.inner.transport.send(probe)).await {
                Ok(Ok(_)) => continue,
                Ok(Err(e)) => {
                    tracing::debug!(endpoint = %ep.text, error = %e, "liveness probe failed")
                }
                Err(_) => tracing::debug!(endpoint = %ep.text, "liveness probe timed out"),
            }
            return Error::Unresponsive {
                endpoint: ep.text.clone(),
            };
        }
    }

    /// One endpoint, without liveness probing.
    async fn attempt_unprobed(
        &self,
        ep: &Endpoint,
        req: &Request,
        in_flight: &Mutex<Option<String>>,
    ) -> std::result::Result<Response, AttemptError> {
        let url = request_url(&ep.url, &req.path, &req.query);
        let headers_phase = self.follow_redirects(ep, url, req, in_flight);
        let resp = match self.inner.header_timeout.filter(|_| !req.long_poll) {
            Some(limit) => match tokio::time::timeout(limit, headers_phase).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(AttemptError {
                        error: Error::HeaderTimeout {
                            endpoint: ep.text.clone(),
                        },
                        may_have_been_sent: in_flight_set(in_flight),
                    });
                }
            },
            None => headers_phase.await?,
        };
        let status = resp.status;
        let headers = resp.headers;
        let body = resp.body.collect().await.map_err(|e| AttemptError {
            error: Error::Transport(e),
            may_have_been_sent: true,
        })?;
        Ok(Response {
            status,
            headers,
            body,
            endpoint: ep.text.clone(),
        })
    }

    /// Go's `redirectFollowingHTTPClient`: any 3xx with a Location is followed,
    /// the policy is asked before each follow, at most 100 requests in all.
    async fn follow_redirects(
        &self,
        ep: &Endpoint,
        mut url: url::Url,
        req: &Request,
        in_flight: &Mutex<Option<String>>,
    ) -> std::result::Result<crate::transport::TransportResponse, AttemptError> {
        for i in 0..100 {
            if i > 0 {
                (self.inner.check_redirect)(i).map_err(AttemptError::not_sent)?;
            }
            let treq = self.transport_request(url.clone(), req);
            log_curl_command(&treq);
            if req.delivery == Delivery::AtMostOnce {
                *in_flight.lock().unwrap_or_else(|p| p.into_inner()) = Some(ep.text.clone());
            }
            let resp = match self.inner.transport.send(treq).await {
                Ok(resp) => resp,
                Err(e) => {
                    let may_have_been_sent = e.may_have_been_sent();
                    if !may_have_been_sent {
                        in_flight.lock().unwrap_or_else(|p| p.into_inner()).take();
                    }
                    return Err(AttemptError {
                        error: Error::Transport(e),
                        may_have_been_sent,
                    });
                }
            };
            if !resp.status.is_redirection() {
                return Ok(resp);
            }
            // A redirect means the server did not act on the request.
            in_flight.lock().unwrap_or_else(|p| p.into_inner()).take();
            let location = resp.headers.get(header::LOCATION).ok_or_else(|| {
                AttemptError::not_sent(Error::Redirect("location header not set".into()))
            })?;
            let text = String::from_utf8_lossy(location.as_bytes()).into_owned();
            url = url.join(&text).map_err(|_| {
                AttemptError::not_sent(Error::Redirect(format!(
                    "location header not valid URL: {text}"
                )))
            })?;
        }
        Err(AttemptError::not_sent(Error::Redirect(
            "client: too many redirect checks".into(),
        )))
    }

    /// Asks every endpoint for the leader (`GET /v2/members/leader`, each
    /// again every [`LEADER_POLL`] after its answer) until one that answers
    /// names itself; `None` when none has within the leader wait.
    async fn find_leader(&self, endpoints: &[Endpoint]) -> Option<usize> {
        let wait = self.inner.header_timeout.map_or(LEADER_WAIT, |h| 2 * h);
        let ask_limit = self.inner.header_timeout.unwrap_or(LEADER_WAIT);
        let polls = endpoints.iter().enumerate().map(|(k, ep)| {
            futures_util::stream::unfold(false, move |again| async move {
                if again {
                    tokio::time::sleep(LEADER_POLL).await;
                }
                let answer = tokio::time::timeout(ask_limit, self.ask_leader(k, ep, endpoints))
                    .await
                    .unwrap_or(LeaderAnswer::Unknown);
                Some(((k, answer), true))
            })
            .boxed()
        });
        let mut answers = futures_util::stream::select_all(polls);
        let mut latest = vec![LeaderAnswer::Unknown; endpoints.len()];
        let search = async {
            while let Some((k, answer)) = answers.next().await {
                latest[k] = answer;
                if let Some(leader) = leader_verdict(&latest) {
                    return Some(leader);
                }
            }
            None
        };
        let found = tokio::time::timeout(wait, search).await.ok().flatten();
        match found {
            Some(leader) => {
                tracing::debug!(leader = %endpoints[leader].text, "leader found");
                self.inner.health.leader_found(&endpoints[leader].text);
            }
            None => tracing::debug!(?wait, "no member named itself leader"),
        }
        found
    }

    /// One `GET /v2/members/leader` to the member at `ep` (index `from`).
    async fn ask_leader(&self, from: usize, ep: &Endpoint, endpoints: &[Endpoint]) -> LeaderAnswer {
        let probe = Request::new(http::Method::GET, "/v2/members/leader");
        let treq = self.transport_request(request_url(&ep.url, &probe.path, &[]), &probe);
        let Ok(resp) = self.inner.transport.send(treq).await else {
            return LeaderAnswer::Unknown;
        };
        if resp.status != StatusCode::OK {
            return LeaderAnswer::Unknown;
        }
        let Ok(body) = resp.body.collect().await else {
            return LeaderAnswer::Unknown;
        };
        let Ok(member) = serde_json::from_slice::<crate::wire::Member>(&body) else {
            return LeaderAnswer::Unknown;
        };
        let leader = member.client_urls.iter().find_map(|u| {
            let u = parse_endpoint(u).ok()?;
            endpoints.iter().position(|e| same_origin(&e.url, &u))
        });
        LeaderAnswer::Names { from, leader }
    }

    fn transport_request(&self, url: url::Url, req: &Request) -> TransportRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(ct) = req.content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if let Some(cred) = &self.inner.credentials {
            headers.insert(header::AUTHORIZATION, cred.clone());
        }
        TransportRequest {
            method: req.method.clone(),
            url,
            headers,
            body: req.body.clone(),
        }
    }

    /// Sends one request to the cluster: the pinned endpoint first, then the
    /// others, following the request's [`Delivery`] (Go's `Do`). The same as
    /// [`Client::send`], without importing the trait.
    pub async fn send(&self, req: Request) -> Result<Response> {
        self.send_bounded(req, None).await
    }

    /// Refreshes the endpoint list from the cluster's member list (Go's `Sync`):
    /// list members, collect every client URL, then re-pin. The same as
    /// [`Client::sync`].
    pub async fn sync(&self) -> Result<()> {
        let resp = self
            .send(Request::new(http::Method::GET, "/v2/members"))
            .await?;
        if resp.status != StatusCode::OK {
            return Err(Error::UnexpectedStatus(resp.status.as_u16()));
        }
        let list: crate::wire::MemberList =
            serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))?;
        let urls: Vec<String> = list
            .members
            .into_iter()
            .flat_map(|m| m.client_urls)
            .collect();
        if urls.is_empty() {
            return Err(Error::NoEndpoints);
        }
        let endpoints = urls
            .iter()
            .map(|u| {
                parse_endpoint(u).map(|url| Endpoint {
                    url,
                    text: u.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        match self.inner.selection_mode {
            EndpointSelectionMode::Random => {
                let mut new_sorted = urls.clone();
                new_sorted.sort();
                let mut current = self.endpoints();
                current.sort();
                if new_sorted == current {
                    return Ok(());
                }
                let mut endpoints = endpoints;
                endpoints.shuffle(&mut rand::rng());
                self.install(endpoints, 0);
            }
            EndpointSelectionMode::PrioritizeLeader => {
                let snapshot = Arc::new(endpoints);
                let leader_req = Request::new(http::Method::GET, "/v2/members/leader");
                let resp = self
                    .send_bounded(leader_req, Some((snapshot.clone(), 0)))
                    .await
                    .map_err(|_| Error::NoLeaderEndpoint)?;
                if resp.status != StatusCode::OK {
                    return Err(Error::NoLeaderEndpoint);
                }
                let leader: crate::wire::Member =
                    serde_json::from_slice(&resp.body).map_err(|_| Error::NoLeaderEndpoint)?;
                let first = leader.client_urls.first().ok_or(Error::NoLeaderEndpoint)?;
                let pinned = snapshot.iter().position(|e| &e.text == first).unwrap_or(0);
                self.install(snapshot.as_ref().clone(), pinned);
            }
        }
        Ok(())
    }
}

/// Whether `req` goes through the leader (a write or a quorum read): such a
/// request waits for a leader when the client doubts there is one.
fn needs_leader(req: &Request) -> bool {
    if req.long_poll {
        return false;
    }
    let read = req.method == http::Method::GET || req.method == http::Method::HEAD;
    !read || req.query.iter().any(|(k, v)| k == "quorum" && v == "true")
}

/// Whether `e` says the endpoint itself did not answer (in time, or at all):
/// a header timeout, a failed liveness probe, a refused connection.
fn unanswered(e: &Error) -> bool {
    match e {
        Error::HeaderTimeout { .. } | Error::Unresponsive { .. } => true,
        Error::Transport(t) => t.kind == crate::transport::TransportErrorKind::Connect,
        _ => false,
    }
}

/// Whether two endpoint URLs name the same server (scheme, host, port).
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn in_flight_set(in_flight: &Mutex<Option<String>>) -> bool {
    in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_some()
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The everyday calls, usable without importing [`Client`]; the trait's
/// methods delegate to these.
impl HttpClient {
    /// Calls [`HttpClient::sync`] every `interval` until a sync fails (returning
    /// that error) or the client is closed ([`Error::Cancelled`]). A recommended
    /// interval is 10 s to 1 min. Run it in its own task:
    ///
    /// ```no_run
    /// # async fn demo(client: etcd_sdk::HttpClient) {
    /// let syncer = client.clone();
    /// tokio::spawn(async move { syncer.auto_sync(std::time::Duration::from_secs(30)).await });
    /// # }
    /// ```
    pub async fn auto_sync(&self, interval: Duration) -> Result<()> {
        loop {
            self.sync().await?;
            tokio::select! {
                biased;
                _ = self.closed() => return Err(Error::Cancelled),
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// A copy of the current endpoints, in the order they are tried after the pin.
    pub fn endpoints(&self) -> Vec<String> {
        self.state()
            .endpoints
            .iter()
            .map(|e| e.text.clone())
            .collect()
    }

    /// Replaces the endpoints (validated: `http`/`https` URLs with a host; at
    /// least one); on an error the old list stays.
    pub fn set_endpoints(&self, endpoints: &[String]) -> Result<()> {
        if endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        let mut parsed = endpoints
            .iter()
            .map(|e| {
                parse_endpoint(e).map(|url| Endpoint {
                    url,
                    text: e.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !self.inner.keep_endpoint_order {
            parsed.shuffle(&mut rand::rng());
        }
        self.install(parsed, 0);
        Ok(())
    }

    /// The server and cluster versions (`GET /version`).
    pub async fn get_version(&self) -> Result<Version> {
        let resp = self
            .send(Request::new(http::Method::GET, "/version"))
            .await?;
        if resp.status == StatusCode::OK {
            if resp.body.is_empty() {
                return Err(Error::EmptyBody);
            }
            return serde_json::from_slice(&resp.body)
                .map_err(|e| Error::invalid_json(e, &resp.body));
        }
        let body: crate::wire::ErrorBody =
            serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))?;
        Err(Error::Api(body.into()))
    }
}

#[async_trait]
impl Client for HttpClient {
    async fn send(&self, req: Request) -> Result<Response> {
        HttpClient::send(self, req).await
    }

    async fn sync(&self) -> Result<()> {
        HttpClient::sync(self).await
    }

    async fn auto_sync(&self, interval: Duration) -> Result<()> {
        HttpClient::auto_sync(self, interval).await
    }

    fn endpoints(&self) -> Vec<String> {
        HttpClient::endpoints(self)
    }

    fn set_endpoints(&self, endpoints: &[String]) -> Result<()> {
        HttpClient::set_endpoints(self, endpoints)
    }

    async fn get_version(&self) -> Result<Version> {
        HttpClient::get_version(self).await
    }
}
