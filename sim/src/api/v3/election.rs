//! The `v3electionpb.Election` service (etcd 3.4's `v3election/election.go`):
//! each call is the SDK's [`Election`] on the request's name, over a session
//! on the caller's lease, driven by a client of the member's own v3 API
//! ([`super::own_client`]). The session neither keeps the lease alive nor
//! revokes it (etcd orphans it at once).
//!
//! - Campaign(name, lease, value): waits until this lease's key
//!   `<name>/<lease hex>` is the oldest under `<name>/`, and answers the
//!   leader key (name, key, create revision, lease). When the caller goes away
//!   (or its `grpc-timeout` passes) while it waits, the candidacy is resigned.
//! - Proclaim(leader, value): writes the value if the key still has its
//!   revision, else "election: not leader".
//! - Resign(leader): deletes the key if it still has its revision; a stale
//!   key is answered with a header, as etcd does.
//! - Leader(name): the oldest candidacy's key-value, or "election: no leader".
//! - Observe(name): a stream of the leader's key-value, once per leader and
//!   per proclamation; it ends (without an error, as etcd's) when observing
//!   fails.
//!
//! Every failure is code Unknown with its text (live etcd's codes); a missing
//! leader key is `"leader" field must be provided`. A learner refuses them.

use super::learner::{Rpc, check_learner};
use super::own_client::{CallerLease, OwnClient, concurrency_status, request_context, text};
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::Client;
use etcd_sdk::v3::concurrency::{Context, Election, Session, SessionOptions};
use etcd_sdk::v3::pb::v3electionpb::election_server::Election as ElectionRpc;
use etcd_sdk::v3::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use futures_util::{Stream, StreamExt as _};
use std::pin::Pin;
use std::sync::Arc;

/// etcd's `ErrMissingLeaderKey`.
const MISSING_LEADER_KEY: &str = "\"leader\" field must be provided";

/// The stream an Observe call answers with.
pub type ObserveStream =
    Pin<Box<dyn Stream<Item = Result<LeaderResponse, Status>> + Send + 'static>>;

/// The Election service of one member.
#[derive(Clone)]
pub struct ElectionService {
    backend: Arc<dyn V3Backend>,
    client: OwnClient,
}

impl ElectionService {
    /// The service of the member behind `backend`, calling its v3 API with
    /// `client`.
    pub fn new(backend: Arc<dyn V3Backend>, client: OwnClient) -> ElectionService {
        ElectionService { backend, client }
    }

    /// What every call starts with: the learner gate, the caller's deadline as a
    /// context, and a client that calls as the caller.
    async fn start(&self, metadata: &MetadataMap) -> Result<(Context, Client), Status> {
        check_learner(&*self.backend, Rpc::Other)?;
        let ctx = request_context(metadata);
        Ok((ctx, self.client.for_caller(metadata).await?))
    }

    /// A session on `lease` that neither keeps it alive nor revokes it (etcd's
    /// `session`: made with the lease, then orphaned). Leader and Observe use
    /// lease -1, as etcd does: they write nothing.
    async fn session(
        &self,
        client: Client,
        ctx: &Context,
        lease: i64,
    ) -> Result<Session<CallerLease>, Status> {
        Session::with_options(
            CallerLease(client),
            SessionOptions::new()
                .with_lease(lease)
                .with_context(ctx.clone()),
        )
        .await
        .map_err(|e| concurrency_status(&e))
    }

    /// The election a leader key names, resumed (etcd's `ResumeElection`).
    async fn resume(
        &self,
        client: Client,
        ctx: &Context,
        leader: Option<LeaderKey>,
    ) -> Result<Election<CallerLease>, Status> {
        let leader = leader.ok_or_else(|| Status::unknown(MISSING_LEADER_KEY))?;
        let session = self.session(client, ctx, leader.lease).await?;
        Ok(Election::resume(
            &session,
            text(&leader.name),
            text(&leader.key),
            leader.rev,
        ))
    }
}

#[tonic::async_trait]
impl ElectionRpc for ElectionService {
    async fn campaign(
        &self,
        request: Request<CampaignRequest>,
    ) -> Result<Response<CampaignResponse>, Status> {
        let (ctx, client) = self.start(request.metadata()).await?;
        let req = request.into_inner();
        let session = self.session(client, &ctx, req.lease).await?;
        let mut election = Election::new(&session, text(&req.name));
        election
            .campaign(&ctx, req.value)
            .await
            .map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(CampaignResponse {
            header: election.header().cloned(),
            leader: Some(LeaderKey {
                name: req.name,
                key: election.key().as_bytes().to_vec(),
                rev: election.rev(),
                lease: session.lease(),
            }),
        }))
    }

    async fn proclaim(
        &self,
        request: Request<ProclaimRequest>,
    ) -> Result<Response<ProclaimResponse>, Status> {
        let (ctx, client) = self.start(request.metadata()).await?;
        let req = request.into_inner();
        let mut election = self.resume(client, &ctx, req.leader).await?;
        election
            .proclaim(&ctx, req.value)
            .await
            .map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(ProclaimResponse {
            header: election.header().cloned(),
        }))
    }

    async fn leader(
        &self,
        request: Request<LeaderRequest>,
    ) -> Result<Response<LeaderResponse>, Status> {
        let (ctx, client) = self.start(request.metadata()).await?;
        let req = request.into_inner();
        let session = self.session(client, &ctx, -1).await?;
        let resp = Election::new(&session, text(&req.name))
            .leader(&ctx)
            .await
            .map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(LeaderResponse {
            header: resp.header,
            kv: resp.kvs.into_iter().next(),
        }))
    }

    type ObserveStream = ObserveStream;

    async fn observe(
        &self,
        request: Request<LeaderRequest>,
    ) -> Result<Response<ObserveStream>, Status> {
        let (ctx, client) = self.start(request.metadata()).await?;
        let req = request.into_inner();
        let session = self.session(client, &ctx, -1).await?;
        let observed = Election::new(&session, text(&req.name)).observe(&ctx);
        let stream = observed
            .take_while(|item| {
                if let Err(e) = item {
                    tracing::debug!(error = %e, "v3 election: observing ended");
                }
                std::future::ready(item.is_ok())
            })
            .filter_map(|item| {
                std::future::ready(item.ok().and_then(|resp| {
                    let kv = resp.kvs.into_iter().next()?;
                    Some(Ok(LeaderResponse {
                        header: resp.header,
                        kv: Some(kv),
                    }))
                }))
            });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn resign(
        &self,
        request: Request<ResignRequest>,
    ) -> Result<Response<ResignResponse>, Status> {
        let (ctx, client) = self.start(request.metadata()).await?;
        let req = request.into_inner();
        let mut election = self.resume(client, &ctx, req.leader).await?;
        election
            .resign(&ctx)
            .await
            .map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(ResignResponse {
            header: election.header().cloned(),
        }))
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::super::own_client::serve_local;
    use crate::server::v3_testing::LocalV3;
    use etcd_sdk::v3::pb::v3electionpb::election_client::ElectionClient;
    use etcd_sdk::v3::pb::v3electionpb::{
        CampaignRequest, LeaderRequest, ProclaimRequest, ResignRequest,
    };
    use etcd_sdk::v3::tonic::Code;
    use etcd_sdk::v3::{Client, Lease};
    use futures_util::StreamExt;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    #[tokio::test]
    async fn campaign_leader_observe_proclaim_resign() {
        let url = serve_local(Arc::new(LocalV3::new())).await;
        let client = Client::connect([url.clone()]).await.unwrap();
        let mut ec = ElectionClient::connect(url).await.unwrap();
        let e = ec
            .leader(LeaderRequest { name: "e".into() })
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (Code::Unknown, "election: no leader")
        );
        let lease = client.grant(60).await.unwrap().id;
        let won = ec
            .campaign(CampaignRequest {
                name: "e".into(),
                lease,
                value: "v1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let key = won.leader.unwrap();
        assert_eq!(key.key, format!("e/{lease:x}").into_bytes());
        assert_eq!(key.lease, lease);
        let mut observe = ec
            .observe(LeaderRequest { name: "e".into() })
            .await
            .unwrap()
            .into_inner();
        let first = observe.next().await.unwrap().unwrap();
        assert_eq!(first.kv.unwrap().value, b"v1");
        ec.proclaim(ProclaimRequest {
            leader: Some(key.clone()),
            value: "v2".into(),
        })
        .await
        .unwrap();
        let second = observe.next().await.unwrap().unwrap();
        assert_eq!(second.kv.unwrap().value, b"v2");
        let now = ec
            .leader(LeaderRequest { name: "e".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(now.kv.unwrap().value, b"v2");
        let e = ec.resign(ResignRequest { leader: None }).await.unwrap_err();
        assert_eq!(e.message(), "\"leader\" field must be provided");
        ec.resign(ResignRequest { leader: Some(key) })
            .await
            .unwrap();
        let e = ec
            .leader(LeaderRequest { name: "e".into() })
            .await
            .unwrap_err();
        assert_eq!(e.message(), "election: no leader");
    }

    #[tokio::test]
    async fn a_learner_refuses_every_call() {
        let backend = Arc::new(LocalV3::new());
        let url = serve_local(backend.clone()).await;
        backend.learner.store(true, Ordering::SeqCst);
        let mut ec = ElectionClient::connect(url).await.unwrap();
        let refusals = [
            ec.campaign(CampaignRequest::default()).await.map(|_| ()),
            ec.proclaim(ProclaimRequest::default()).await.map(|_| ()),
            ec.leader(LeaderRequest::default()).await.map(|_| ()),
            ec.observe(LeaderRequest::default()).await.map(|_| ()),
            ec.resign(ResignRequest::default()).await.map(|_| ()),
        ];
        for r in refusals {
            let e = r.unwrap_err();
            assert_eq!(e.code(), Code::Unavailable);
            assert_eq!(e.message(), "etcdserver: rpc not supported for learner");
        }
    }
}
