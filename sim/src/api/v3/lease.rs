//! The `etcdserverpb.Lease` service (etcd's `v3rpc/lease.go` and the lease calls
//! of `v3_server.go`).
//!
//! - LeaseGrant (ID 0 → a new positive id from the backend) and LeaseRevoke go
//!   through the log.
//! - LeaseKeepAlive (a bidi stream) and LeaseTimeToLive are served by the leader:
//!   on the leader the local lessor renews / answers (TTL 0 for an unknown lease on
//!   keepalive, -1 on TimeToLive); a renewal of a lease that awaits its revoke (or
//!   asked before the new leader's lessor is promoted) waits, polling, and asks
//!   again. A follower forwards to the leader's client URLs over gRPC (a cached
//!   channel per URL set; etcd forwards over its peer port). Everything waits at
//!   most the request timeout: then, as etcd, "etcdserver: no leader" when no
//!   leader was known, else "etcdserver: request timed out" (etcd would wait for a
//!   pending revoke without that bound; the leader revokes within ~0.5 s).
//! - LeaseLeases lists the local lessor's leases.
//!
//! Headers are filled before the renewal, as etcd does.

use super::auth_info::{Credentials, caller, stamp};
use super::error::{etcd_status, lease_status, no_leader, unexpected};
use super::header::fill;
use super::learner::{Rpc, check_learner};
use super::metadata::{NO_LEADER_CHECK_INTERVAL, check_leader, leader_lost, requires_leader};
use super::propose::propose;
use super::quota::check_quota;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_command::V3Applied;
use crate::server::v3_quota::Costed;
use crate::store::v3::lease::{LeaseError, Renewal};
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::lease_client::LeaseClient;
use etcd_sdk::v3::pb::etcdserverpb::lease_server::Lease;
use etcd_sdk::v3::pb::etcdserverpb::{
    InternalRaftRequest, LeaseCheckpoint, LeaseCheckpointRequest, LeaseGrantRequest,
    LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest,
    LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use etcd_sdk::v3::tonic::{self, Request, Response, Status, Streaming};
use futures_util::{Stream, StreamExt as _};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often a waiting keepalive or TimeToLive asks again (a lease awaiting its
/// revoke, a leader not yet promoted, no leader).
const RETRY_INTERVAL: Duration = Duration::from_millis(50);

/// Responses buffered per keepalive stream before the stream waits for the client.
const KEEPALIVE_BUFFER: usize = 16;

/// The stream a LeaseKeepAlive call answers with.
pub type KeepAliveStream =
    Pin<Box<dyn Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send + 'static>>;

/// The Lease service of one member.
#[derive(Clone)]
pub struct LeaseService {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn V3Backend>,
    /// How long a keepalive or TimeToLive waits for a leader (or for an answer on
    /// the leader) before failing: etcd's request timeout.
    wait_limit: Duration,
    /// How often `hasleader` keepalive streams check for a leader.
    leader_check: Duration,
    /// gRPC clients to leaders, per client URL set.
    leaders: Mutex<BTreeMap<Vec<String>, LeaseClient<Channel>>>,
}

impl LeaseService {
    /// The Lease service over `backend`; calls wait for a leader up to the
    /// lessor's request timeout.
    pub fn new(backend: Arc<dyn V3Backend>) -> LeaseService {
        let wait_limit = {
            let stores = backend.v3_stores();
            let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.lessor.config().expired_retry_interval
        };
        LeaseService::with_wait_limit(backend, wait_limit)
    }

    /// The Lease service over `backend`, waiting at most `wait_limit` for a leader.
    pub fn with_wait_limit(backend: Arc<dyn V3Backend>, wait_limit: Duration) -> LeaseService {
        LeaseService {
            inner: Arc::new(Inner {
                backend,
                wait_limit,
                leader_check: NO_LEADER_CHECK_INTERVAL,
                leaders: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Opens a keepalive stream over `requests` (after the learner and
    /// `hasleader` checks on `meta`): the LeaseKeepAlive call over any request
    /// stream.
    ///
    /// # Errors
    ///
    /// Unavailable on a learner, or when `meta` requires a leader and none is known.
    pub fn open_keep_alive<S>(
        &self,
        meta: &MetadataMap,
        requests: S,
    ) -> Result<KeepAliveStream, Status>
    where
        S: Stream<Item = Result<LeaseKeepAliveRequest, Status>> + Send + 'static,
    {
        check_learner(self.inner.backend.as_ref(), Rpc::Other)?;
        check_leader(meta, self.inner.backend.as_ref())?;
        Ok(self.keep_alive_stream(requests, requires_leader(meta)))
    }

    /// The keepalive stream's core: answers each request of `requests` in order
    /// until the stream ends or fails, or the client stops reading; with
    /// `require_leader` (`hasleader: true`), until the leader stays unknown.
    pub fn keep_alive_stream<S>(&self, requests: S, require_leader: bool) -> KeepAliveStream
    where
        S: Stream<Item = Result<LeaseKeepAliveRequest, Status>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(KEEPALIVE_BUFFER);
        let inner = self.inner.clone();
        let mut lost = leader_lost(require_leader, inner.backend.clone(), inner.leader_check);
        tokio::spawn(async move {
            let mut requests = Box::pin(requests);
            loop {
                let next = tokio::select! {
                    biased;
                    _ = tx.closed() => return,
                    _ = &mut lost => {
                        let _ = tx.send(Err(no_leader())).await;
                        return;
                    }
                    next = requests.next() => next,
                };
                let Some(Ok(req)) = next else {
                    return;
                };
                let answer = tokio::select! {
                    biased;
                    _ = tx.closed() => return,
                    answer = inner.keep_alive_once(req.id) => answer,
                };
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    return;
                }
            }
        });
        Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }
}

/// `call`, given up (Unavailable) at `deadline`: a forwarded call to an
/// unreachable leader may hang in connecting.
async fn bounded<T>(
    deadline: Instant,
    call: impl std::future::Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(left, call)
        .await
        .unwrap_or_else(|_| Err(Status::unavailable("forwarded call timed out")))
}

/// Where a leader-served call goes now.
enum Route {
    /// This member leads.
    Local,
    /// Another member leads, at these client URLs.
    Forward(Vec<String>),
    /// No leader yet: wait.
    Wait,
}

impl Inner {
    fn route(&self) -> Route {
        if self.backend.is_leader() {
            return Route::Local;
        }
        match self.backend.leader_client_urls() {
            Some(urls) if !urls.is_empty() => Route::Forward(urls),
            _ => Route::Wait,
        }
    }

    /// A gRPC client to the leader at `urls` (cached per URL set).
    fn leader_client(&self, urls: &[String]) -> Result<LeaseClient<Channel>, Status> {
        let mut leaders = self.leaders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = leaders.get(urls) {
            return Ok(c.clone());
        }
        let mut endpoints = Vec::with_capacity(urls.len());
        for url in urls {
            let ep = Endpoint::from_shared(url.clone())
                .map_err(|e| Status::unavailable(format!("leader url {url}: {e}")))?;
            endpoints.push(ep);
        }
        let client = LeaseClient::new(Channel::balance_list(endpoints.into_iter()));
        leaders.insert(urls.to_vec(), client.clone());
        Ok(client)
    }

    /// Waits a retry interval, or fails when `deadline` has passed: "no leader"
    /// when none was known, "request timed out" when there was one but no answer
    /// came (etcd's forwarding loop).
    async fn wait_or_give_up(&self, deadline: Instant, had_leader: bool) -> Result<(), Status> {
        if Instant::now() >= deadline {
            return Err(if had_leader {
                etcd_status(EtcdError::Timeout)
            } else {
                no_leader()
            });
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
        Ok(())
    }

    /// One keepalive: renewed on the leader's lessor, or forwarded.
    async fn keep_alive_once(&self, id: i64) -> Result<LeaseKeepAliveResponse, Status> {
        let deadline = Instant::now() + self.wait_limit;
        loop {
            let route = self.route();
            let had_leader = !matches!(route, Route::Wait);
            match route {
                Route::Local => {
                    let mut header = None;
                    fill(&mut header, &self.backend.header());
                    let renewal = {
                        let stores = self.backend.v3_stores();
                        let mut stores = stores.lock().unwrap_or_else(|p| p.into_inner());
                        let renewal = stores.lessor.renew(id, Instant::now());
                        if let Ok(Renewal::Renewed { .. }) = &renewal {
                            stores.metrics.lease_renewed();
                        }
                        renewal
                    };
                    match renewal {
                        Ok(r) => {
                            if let Renewal::Renewed {
                                clear_checkpoint: true,
                                ..
                            } = r
                            {
                                self.clear_checkpoint(id).await?;
                            }
                            if let Some(ttl) = r.keepalive_ttl() {
                                return Ok(LeaseKeepAliveResponse { header, id, ttl });
                            }
                        }
                        // Leading, but the lessor is not promoted yet: ask again.
                        Err(LeaseError::NotPrimary) => {}
                        Err(e) => return Err(lease_status(e)),
                    }
                }
                Route::Forward(urls) => {
                    match bounded(deadline, self.forward_keep_alive(&urls, id)).await {
                        Ok(ttl) => {
                            let mut header = None;
                            fill(&mut header, &self.backend.header());
                            return Ok(LeaseKeepAliveResponse { header, id, ttl });
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, id, "lease: keepalive not forwarded");
                        }
                    }
                }
                Route::Wait => {}
            }
            self.wait_or_give_up(deadline, had_leader).await?;
        }
    }

    /// Proposes `LeaseCheckpoint { id, remaining_TTL: 0 }` (a renewal forgets a
    /// checkpointed remaining TTL on every member).
    async fn clear_checkpoint(&self, id: i64) -> Result<(), Status> {
        let entry = InternalRaftRequest {
            lease_checkpoint: Some(LeaseCheckpointRequest {
                checkpoints: vec![LeaseCheckpoint {
                    id,
                    remaining_ttl: 0,
                }],
            }),
            ..Default::default()
        };
        propose(self.backend.as_ref(), entry).await.map(|_| ())
    }

    /// One keepalive sent to the leader: its TTL answer.
    async fn forward_keep_alive(&self, urls: &[String], id: i64) -> Result<i64, Status> {
        let mut client = self.leader_client(urls)?;
        let req = LeaseKeepAliveRequest { id };
        let mut answers = client
            .lease_keep_alive(futures_util::stream::iter([req]))
            .await?
            .into_inner();
        match answers.message().await? {
            Some(resp) => Ok(resp.ttl),
            None => Err(Status::unavailable("leader closed the keepalive stream")),
        }
    }

    /// TimeToLive: the leader's lessor, or forwarded.
    async fn time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, Status> {
        let deadline = Instant::now() + self.wait_limit;
        loop {
            let route = self.route();
            let had_leader = !matches!(route, Route::Wait);
            match route {
                Route::Local => {
                    let mut header = None;
                    fill(&mut header, &self.backend.header());
                    let ttl = {
                        let stores = self.backend.v3_stores();
                        let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
                        stores.lessor.time_to_live(req.id, Instant::now(), req.keys)
                    };
                    return Ok(LeaseTimeToLiveResponse {
                        header,
                        id: ttl.id,
                        ttl: ttl.ttl,
                        granted_ttl: ttl.granted_ttl,
                        keys: ttl.keys,
                    });
                }
                Route::Forward(urls) => {
                    let forwarded = async {
                        let mut client = self.leader_client(&urls)?;
                        client.lease_time_to_live(req).await
                    };
                    match bounded(deadline, forwarded).await {
                        Ok(resp) => {
                            let mut resp = resp.into_inner();
                            resp.header = None;
                            fill(&mut resp.header, &self.backend.header());
                            return Ok(resp);
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, id = req.id, "lease: TimeToLive not forwarded");
                        }
                    }
                }
                Route::Wait => {}
            }
            self.wait_or_give_up(deadline, had_leader).await?;
        }
    }
}

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        let backend = self.inner.backend.as_ref();
        check_learner(backend, Rpc::Other)?;
        check_leader(req.metadata(), backend)?;
        let (meta, ext) = (req.metadata().clone(), req.extensions().clone());
        check_quota(backend, Costed::LeaseGrant).await?;
        let mut req = req.into_inner();
        let who = caller(Credentials::new(&meta, &ext), backend).await?;
        if req.id == 0 {
            req.id = backend.next_id();
        }
        let mut entry = InternalRaftRequest {
            lease_grant: Some(req),
            ..Default::default()
        };
        stamp(&mut entry, who.as_ref());
        let V3Applied::LeaseGrant(mut resp) = propose(backend, entry).await? else {
            return Err(unexpected("lease_grant"));
        };
        fill(&mut resp.header, &backend.header());
        Ok(Response::new(resp))
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        let backend = self.inner.backend.as_ref();
        check_learner(backend, Rpc::Other)?;
        check_leader(req.metadata(), backend)?;
        let who = caller(&req, backend).await?;
        let mut entry = InternalRaftRequest {
            lease_revoke: Some(req.into_inner()),
            ..Default::default()
        };
        // Checked when applied: WRITE on every key attached to the lease.
        stamp(&mut entry, who.as_ref());
        let V3Applied::LeaseRevoke(mut resp) = propose(backend, entry).await? else {
            return Err(unexpected("lease_revoke"));
        };
        fill(&mut resp.header, &backend.header());
        Ok(Response::new(resp))
    }

    type LeaseKeepAliveStream = KeepAliveStream;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let meta = req.metadata().clone();
        Ok(Response::new(
            self.open_keep_alive(&meta, req.into_inner())?,
        ))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        check_learner(self.inner.backend.as_ref(), Rpc::Other)?;
        check_leader(req.metadata(), self.inner.backend.as_ref())?;
        Ok(Response::new(
            self.inner.time_to_live(req.into_inner()).await?,
        ))
    }

    async fn lease_leases(
        &self,
        req: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        let backend = self.inner.backend.as_ref();
        check_learner(backend, Rpc::Other)?;
        check_leader(req.metadata(), backend)?;
        let mut header = None;
        fill(&mut header, &backend.header());
        let leases = {
            let stores = backend.v3_stores();
            let stores = stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.lessor.leases()
        };
        Ok(Response::new(LeaseLeasesResponse {
            header,
            leases: leases.into_iter().map(|id| LeaseStatus { id }).collect(),
        }))
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
