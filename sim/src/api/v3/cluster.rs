//! The `etcdserverpb.Cluster` service (etcd's `v3rpc/member.go`): the member
//! list and the membership changes, over the one membership both APIs share
//! (the member's [`ClusterBackend`], which `/v2/members` serves too: the same
//! Raft configuration changes, the same strict reconfiguration checks).
//!
//! - MemberList: the applied membership, ordered by id, learners flagged (3.4's
//!   request has no `linearizable` field: the list is this member's).
//! - MemberAdd: the peer URLs parsed as etcd's `types.NewURLs` (InvalidArgument
//!   "etcdserver: given member URLs are invalid"), then a voter or a learner
//!   added.
//! - MemberRemove, MemberUpdate (peer URLs taken as given, as etcd does).
//! - MemberPromote: only the leader knows how far a learner has caught up; a
//!   member that does not lead forwards the call to the leader's Cluster
//!   service on its client URLs (etcd forwards it over the peer port; the
//!   outcome is the same), retrying until [`FORWARD_LIMIT`].
//!
//! Responses carry a header without a revision (cluster id, member id, term).

use super::error::{etcd_status, text_status};
use super::learner::{Rpc, check_learner};
use crate::api::v2::members::{ClusterBackend, MembersError, validate_urls};
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::cluster_client::ClusterClient;
use etcd_sdk::v3::pb::etcdserverpb::cluster_server::Cluster;
use etcd_sdk::v3::pb::etcdserverpb::{
    Member, MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, ResponseHeader,
};
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a promotion asked of a follower keeps trying to reach the leader:
/// etcd's request timeout (5 s plus two election timeouts of 1 s).
pub const FORWARD_LIMIT: Duration = Duration::from_secs(7);

/// Between two tries to reach the leader.
const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// The Cluster service of one member.
#[derive(Clone)]
pub struct ClusterService {
    backend: Arc<dyn V3Backend>,
    cluster: Arc<dyn ClusterBackend>,
}

impl ClusterService {
    /// The Cluster service over `backend` (headers, the learner gate, the
    /// leader's URLs) and `cluster` (the membership).
    pub fn new(backend: Arc<dyn V3Backend>, cluster: Arc<dyn ClusterBackend>) -> ClusterService {
        ClusterService { backend, cluster }
    }

    /// etcd's `ClusterServer.header`: ids and term, no revision.
    fn header(&self) -> Option<ResponseHeader> {
        let member = self.backend.header();
        Some(ResponseHeader {
            revision: 0,
            ..member
        })
    }

    fn members(&self) -> Vec<Member> {
        self.cluster.v3_members()
    }

    /// Promotes on this member when it leads; otherwise asks the leader,
    /// until one answers or [`FORWARD_LIMIT`] passes. Returns the members as
    /// the member that applied the promotion lists them (this one, or the
    /// leader it asked, which may have applied it first, as etcd answers with
    /// the leader's list).
    async fn promote(&self, id: u64) -> Result<Vec<Member>, Status> {
        let deadline = Instant::now() + FORWARD_LIMIT;
        loop {
            let leader_urls = match self.cluster.promote_member(id).await {
                Ok(()) => return Ok(self.members()),
                Err(MembersError::NotLeader) => self.backend.leader_client_urls(),
                Err(e) => return Err(members_status(&e)),
            };
            if let Some(urls) = leader_urls {
                match forward_promote(&urls, id, deadline).await {
                    Ok(members) => return Ok(members),
                    Err(s) if is_final(&s) => return Err(s),
                    Err(s) => tracing::debug!(error = %s, id, "cluster: promote not forwarded"),
                }
            }
            if Instant::now() >= deadline {
                return Err(etcd_status(EtcdError::Timeout));
            }
            tokio::time::sleep(RETRY_INTERVAL).await;
        }
    }
}

/// Whether a forwarded promotion's refusal is the answer (etcd stops retrying
/// on "not ready", "not found" and "not a learner"; anything else, a leader
/// change included, is tried again).
fn is_final(s: &Status) -> bool {
    [
        EtcdError::LearnerNotReady,
        EtcdError::MemberNotFound,
        EtcdError::MemberNotLearner,
        EtcdError::MemberNotEnoughStarted,
    ]
    .iter()
    .any(|e| e.message() == s.message())
}

/// Asks the leader at `urls` to promote `id`, given up at `deadline`; returns
/// the leader's member list.
async fn forward_promote(
    urls: &[String],
    id: u64,
    deadline: Instant,
) -> Result<Vec<Member>, Status> {
    let mut endpoints = Vec::with_capacity(urls.len());
    for url in urls {
        let ep = Endpoint::from_shared(url.clone())
            .map_err(|e| Status::unavailable(format!("leader url {url}: {e}")))?;
        endpoints.push(ep);
    }
    let mut client = ClusterClient::new(Channel::balance_list(endpoints.into_iter()));
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, client.member_promote(MemberPromoteRequest { id })).await {
        Ok(r) => r.map(|r| r.into_inner().members),
        Err(_) => Err(Status::unavailable("forwarded promote timed out")),
    }
}

/// The status of a refused membership change: etcd's v3 error for each of the
/// membership's refusals, and a replication failure's own text.
pub fn members_status(e: &MembersError) -> Status {
    let etcd = match e {
        MembersError::IdExists => EtcdError::MemberExist,
        MembersError::PeerUrlExists => EtcdError::PeerUrlExist,
        MembersError::IdNotFound | MembersError::IdRemoved => EtcdError::MemberNotFound,
        MembersError::MemberNotLearner => EtcdError::MemberNotLearner,
        MembersError::TooManyLearners => EtcdError::TooManyLearners,
        MembersError::LearnerNotReady => EtcdError::LearnerNotReady,
        MembersError::NotLeader => EtcdError::NotLeader,
        MembersError::NotEnoughStarted => EtcdError::MemberNotEnoughStarted,
        MembersError::Unhealthy => EtcdError::Unhealthy,
        MembersError::Other(text) => return text_status(text),
    };
    etcd_status(etcd)
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(
        &self,
        req: Request<MemberAddRequest>,
    ) -> Result<Response<MemberAddResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        let req = req.into_inner();
        let urls =
            validate_urls(&req.peer_ur_ls).map_err(|_| etcd_status(EtcdError::MemberBadUrls))?;
        let member = self
            .cluster
            .add_member_as(urls, req.is_learner)
            .await
            .map_err(|e| members_status(&e))?;
        Ok(Response::new(MemberAddResponse {
            header: self.header(),
            member: Some(member),
            members: self.members(),
        }))
    }

    async fn member_remove(
        &self,
        req: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        self.cluster
            .remove_member(req.into_inner().id)
            .await
            .map_err(|e| members_status(&e))?;
        Ok(Response::new(MemberRemoveResponse {
            header: self.header(),
            members: self.members(),
        }))
    }

    async fn member_update(
        &self,
        req: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        let req = req.into_inner();
        self.cluster
            .update_member(req.id, req.peer_ur_ls)
            .await
            .map_err(|e| members_status(&e))?;
        Ok(Response::new(MemberUpdateResponse {
            header: self.header(),
            members: self.members(),
        }))
    }

    async fn member_list(
        &self,
        _req: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        Ok(Response::new(MemberListResponse {
            header: self.header(),
            members: self.members(),
        }))
    }

    async fn member_promote(
        &self,
        req: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        let members = self.promote(req.into_inner().id).await?;
        Ok(Response::new(MemberPromoteResponse {
            header: self.header(),
            members,
        }))
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
