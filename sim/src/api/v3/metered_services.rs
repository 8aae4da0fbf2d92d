//! The generated service traits for [`Metered`] services: every method counted
//! (see [`super::metered`]) and answered by the wrapped service.

use super::auth::AuthService;
use super::cluster::ClusterService;
use super::election::ElectionService;
use super::health::HealthService;
use super::kv::KvService;
use super::lease::LeaseService;
use super::lock::LockService;
use super::maintenance::MaintenanceService;
use super::metered::{
    BoxStream, Metered, MeteredStream, code_of, counted_requests, server_stream, unary,
};
use super::watch::WatchService;
use crate::metrics::grpc::rpcs;
use etcd_sdk::v3::pb::etcdserverpb::auth_server::Auth;
use etcd_sdk::v3::pb::etcdserverpb::cluster_server::Cluster;
use etcd_sdk::v3::pb::etcdserverpb::kv_server::Kv;
use etcd_sdk::v3::pb::etcdserverpb::lease_server::Lease;
use etcd_sdk::v3::pb::etcdserverpb::maintenance_server::Maintenance;
use etcd_sdk::v3::pb::etcdserverpb::watch_server::Watch;
use etcd_sdk::v3::pb::etcdserverpb::*;
use etcd_sdk::v3::pb::grpc_health_v1::health_server::Health;
use etcd_sdk::v3::pb::grpc_health_v1::{HealthCheckRequest, HealthCheckResponse};
use etcd_sdk::v3::pb::v3electionpb::election_server::Election;
use etcd_sdk::v3::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use etcd_sdk::v3::pb::v3lockpb::lock_server::Lock;
use etcd_sdk::v3::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use etcd_sdk::v3::tonic::{self, Request, Response, Status, Streaming};
use std::sync::Arc;

/// Implements `$trait` for `Metered<$svc>`: the listed unary methods counted as
/// `$rpc`, then the methods written out in `{ ... }` (the streaming ones).
macro_rules! metered {
    (
        $trait:ident for $svc:ty {
            $( $name:ident($rpc:expr, $req:ty) -> $resp:ty; )*
        }
        $($streaming:item)*
    ) => {
        #[tonic::async_trait]
        impl $trait for Metered<$svc> {
            $(
                async fn $name(&self, req: Request<$req>) -> Result<Response<$resp>, Status> {
                    unary(&self.grpc, $rpc, req, |r| <$svc as $trait>::$name(&self.inner, r)).await
                }
            )*
            $($streaming)*
        }
    };
}

metered! {
    Kv for KvService {
        range(rpcs::RANGE, RangeRequest) -> RangeResponse;
        put(rpcs::PUT, PutRequest) -> PutResponse;
        delete_range(rpcs::DELETE_RANGE, DeleteRangeRequest) -> DeleteRangeResponse;
        txn(rpcs::TXN, TxnRequest) -> TxnResponse;
        compact(rpcs::COMPACT, CompactionRequest) -> CompactionResponse;
    }
}

metered! {
    Watch for WatchService {}

    type WatchStream = BoxStream<WatchResponse>;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let call = Arc::new(self.grpc.start(rpcs::WATCH_));
        let meta = req.metadata().clone();
        let requests = counted_requests(req.into_inner(), call.clone());
        match self.inner.open(&meta, requests) {
            Ok(stream) => Ok(Response::new(MeteredStream::boxed(stream, call))),
            Err(status) => {
                call.finish(code_of(&status));
                Err(status)
            }
        }
    }
}

metered! {
    Lease for LeaseService {
        lease_grant(rpcs::LEASE_GRANT, LeaseGrantRequest) -> LeaseGrantResponse;
        lease_revoke(rpcs::LEASE_REVOKE, LeaseRevokeRequest) -> LeaseRevokeResponse;
        lease_time_to_live(rpcs::LEASE_TIME_TO_LIVE, LeaseTimeToLiveRequest) -> LeaseTimeToLiveResponse;
        lease_leases(rpcs::LEASE_LEASES, LeaseLeasesRequest) -> LeaseLeasesResponse;
    }

    type LeaseKeepAliveStream = BoxStream<LeaseKeepAliveResponse>;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let call = Arc::new(self.grpc.start(rpcs::LEASE_KEEP_ALIVE));
        let meta = req.metadata().clone();
        let requests = counted_requests(req.into_inner(), call.clone());
        match self.inner.open_keep_alive(&meta, requests) {
            Ok(stream) => Ok(Response::new(MeteredStream::boxed(stream, call))),
            Err(status) => {
                call.finish(code_of(&status));
                Err(status)
            }
        }
    }
}

metered! {
    Cluster for ClusterService {
        member_add(rpcs::MEMBER_ADD, MemberAddRequest) -> MemberAddResponse;
        member_remove(rpcs::MEMBER_REMOVE, MemberRemoveRequest) -> MemberRemoveResponse;
        member_update(rpcs::MEMBER_UPDATE, MemberUpdateRequest) -> MemberUpdateResponse;
        member_list(rpcs::MEMBER_LIST, MemberListRequest) -> MemberListResponse;
        member_promote(rpcs::MEMBER_PROMOTE, MemberPromoteRequest) -> MemberPromoteResponse;
    }
}

metered! {
    Maintenance for MaintenanceService {
        alarm(rpcs::ALARM, AlarmRequest) -> AlarmResponse;
        status(rpcs::STATUS, StatusRequest) -> StatusResponse;
        defragment(rpcs::DEFRAGMENT, DefragmentRequest) -> DefragmentResponse;
        hash(rpcs::HASH, HashRequest) -> HashResponse;
        hash_kv(rpcs::HASH_KV, HashKvRequest) -> HashKvResponse;
        move_leader(rpcs::MOVE_LEADER, MoveLeaderRequest) -> MoveLeaderResponse;
    }

    type SnapshotStream = BoxStream<SnapshotResponse>;

    async fn snapshot(
        &self,
        req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        server_stream(&self.grpc, rpcs::SNAPSHOT, req, |r| self.inner.snapshot(r)).await
    }
}

metered! {
    Auth for AuthService {
        auth_enable(rpcs::AUTH_ENABLE, AuthEnableRequest) -> AuthEnableResponse;
        auth_disable(rpcs::AUTH_DISABLE, AuthDisableRequest) -> AuthDisableResponse;
        authenticate(rpcs::AUTHENTICATE, AuthenticateRequest) -> AuthenticateResponse;
        user_add(rpcs::USER_ADD, AuthUserAddRequest) -> AuthUserAddResponse;
        user_get(rpcs::USER_GET, AuthUserGetRequest) -> AuthUserGetResponse;
        user_list(rpcs::USER_LIST, AuthUserListRequest) -> AuthUserListResponse;
        user_delete(rpcs::USER_DELETE, AuthUserDeleteRequest) -> AuthUserDeleteResponse;
        user_change_password(rpcs::USER_CHANGE_PASSWORD, AuthUserChangePasswordRequest) -> AuthUserChangePasswordResponse;
        user_grant_role(rpcs::USER_GRANT_ROLE, AuthUserGrantRoleRequest) -> AuthUserGrantRoleResponse;
        user_revoke_role(rpcs::USER_REVOKE_ROLE, AuthUserRevokeRoleRequest) -> AuthUserRevokeRoleResponse;
        role_add(rpcs::ROLE_ADD, AuthRoleAddRequest) -> AuthRoleAddResponse;
        role_get(rpcs::ROLE_GET, AuthRoleGetRequest) -> AuthRoleGetResponse;
        role_list(rpcs::ROLE_LIST, AuthRoleListRequest) -> AuthRoleListResponse;
        role_delete(rpcs::ROLE_DELETE, AuthRoleDeleteRequest) -> AuthRoleDeleteResponse;
        role_grant_permission(rpcs::ROLE_GRANT_PERMISSION, AuthRoleGrantPermissionRequest) -> AuthRoleGrantPermissionResponse;
        role_revoke_permission(rpcs::ROLE_REVOKE_PERMISSION, AuthRoleRevokePermissionRequest) -> AuthRoleRevokePermissionResponse;
    }
}

metered! {
    Health for HealthService {
        check(rpcs::HEALTH_CHECK, HealthCheckRequest) -> HealthCheckResponse;
    }

    type WatchStream = BoxStream<HealthCheckResponse>;

    async fn watch(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        server_stream(&self.grpc, rpcs::HEALTH_WATCH, req, |r| {
            <HealthService as Health>::watch(&self.inner, r)
        })
        .await
    }
}

metered! {
    Lock for LockService {
        lock(rpcs::LOCK_, LockRequest) -> LockResponse;
        unlock(rpcs::UNLOCK, UnlockRequest) -> UnlockResponse;
    }
}

metered! {
    Election for ElectionService {
        campaign(rpcs::CAMPAIGN, CampaignRequest) -> CampaignResponse;
        proclaim(rpcs::PROCLAIM, ProclaimRequest) -> ProclaimResponse;
        leader(rpcs::LEADER, LeaderRequest) -> LeaderResponse;
        resign(rpcs::RESIGN, ResignRequest) -> ResignResponse;
    }

    type ObserveStream = BoxStream<LeaderResponse>;

    async fn observe(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        server_stream(&self.grpc, rpcs::OBSERVE, req, |r| self.inner.observe(r)).await
    }
}
