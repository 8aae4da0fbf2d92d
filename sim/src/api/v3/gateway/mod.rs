//! etcd's HTTP/JSON gateway (grpc-gateway, as etcd 3.4 sets it up): `POST /v3/...`
//! over HTTP/1.1 on a member's client port, each request translated to a gRPC
//! call on the member's own client address and the reply translated back, so the
//! gateway knows nothing of the server's internals (etcd dials its own listener
//! the same way).
//!
//! # What is served
//!
//! Every path of etcd 3.4's gateway ([`paths`]): KV (`/v3/kv/range`, `put`,
//! `deleterange`, `txn`, `compaction`), Watch (`/v3/watch`), Lease
//! (`/v3/lease/grant`, `revoke`, `keepalive`, `timetolive`, `leases`, and
//! `/v3/kv/lease/{revoke,timetolive,leases}`), Cluster, Maintenance, Auth, Lock
//! and Election. A path under `/v3beta/` is the same path under `/v3/`;
//! `/v3alpha/` is not served (Go's `404 page not found`, from the v2 router).
//!
//! # What live etcd 3.4.23 does, and we match
//!
//! - Success: 200, `Content-Type: application/json`,
//!   `Grpc-Metadata-Content-Type: application/grpc`, the reply's JSON.
//! - JSON (generated serde impls, see `etcd_sdk::v3::pb`): original proto field
//!   names on output (`create_revision`, `cluster_id`, `TTL`, `grantedTTL`,
//!   `response_range`), int64/uint64 as strings, enums by name (`"DELETE"`),
//!   bytes as base64, default values left out (a PUT event has no `type`).
//!   Requests take proto or lowerCamelCase names, numbers as strings or numbers,
//!   enums by name or number; unknown fields are ignored (so `{"ttl":60}` is an
//!   empty LeaseGrantRequest: the name is `TTL`). An empty body is the empty
//!   request; what follows the first JSON value is ignored.
//! - Errors ([`errors`]): a gRPC status as `{"error":M,"message":M,"code":C}`
//!   with grpc-gateway's HTTP status (code 3 and 11 → 400, 5 → 404, 14 → 503,
//!   ...); a body that does not decode → 400, code 3 (the text is our decoder's,
//!   not Go's); a path not in the table → 404 `Not Found`; another method than
//!   POST on a path in the table → 405 `Method Not Allowed`; `/v3` → 301 to `/v3/`
//!   (Go's mux). CORS headers and OPTIONS are the v2 router's, as in etcd.
//! - Streams ([`stream`]): `POST /v3/watch` with one or more JSON requests in the
//!   body answers `{"result":{...}}\n` per reply as it happens and stays open
//!   after the body ends; `/v3/lease/keepalive` answers one line per request
//!   and ends; a stream failure ends the body with `{"error":{"grpc_code":..,
//!   "http_code":..,"message":..,"http_status":..}}` (no newline), and a stream
//!   refused before its first reply is answered with the error's HTTP status and
//!   that chunk alone (live: `Grpc-Metadata-hasleader: true` on a leaderless
//!   member → 503 and `"message":"etcdserver: no leader"`); a first request that
//!   is not JSON → 500, code 2 (the unary error object). HTTP/1.0 clients get the
//!   stream close-delimited, HTTP/1.1 clients chunked.
//! - Auth ([`metadata`]): `Authorization` is forwarded as the metadata `token`,
//!   `Grpc-Metadata-<key>` headers as `<key>`.
//!
//! # Known differences
//!
//! - The request body is read whole before the call (the member's HTTP service
//!   reads bodies whole), so a watch client cannot send more requests on an open
//!   request body; each POST is one batch of requests.
//! - Decode error texts are serde_json's, not Go's; JSON key order follows the
//!   generated code (a oneof comes after the plain fields).
//! - `Grpc-Timeout` and the `grpcgateway-*` / `x-forwarded-*` metadata are not
//!   forwarded; the error trailer is only sent to clients asking for trailers.

pub mod codec;
pub mod errors;
pub mod metadata;
pub mod paths;
pub mod stream;
pub mod unary;

use crate::api::v2::response::Body;
use bytes::Bytes;
use etcd_sdk::v3::pb::etcdserverpb::{
    auth_client::AuthClient, cluster_client::ClusterClient, kv_client::KvClient,
    lease_client::LeaseClient, maintenance_client::MaintenanceClient, watch_client::WatchClient,
};
use etcd_sdk::v3::pb::v3electionpb::election_client::ElectionClient;
use etcd_sdk::v3::pb::v3lockpb::lock_client::LockClient;
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use http::{HeaderMap, Response};
use paths::{Lookup, Rpc};
use std::net::SocketAddr;

pub use paths::{is_gateway_path, rewrite_beta};

/// The gateway of one client listener: a lazily connected gRPC channel to the
/// listener's own address. Cheap to clone. The HTTP service hands it to the v2
/// router as a request extension.
#[derive(Clone, Debug)]
pub struct Gateway {
    channel: Channel,
}

/// Why a gateway could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("gateway: bad gRPC address {addr}")]
pub struct GatewayError {
    /// The address.
    addr: SocketAddr,
    /// Why tonic refused it.
    #[source]
    source: etcd_sdk::v3::tonic::transport::Error,
}

impl Gateway {
    /// A gateway that calls the gRPC services served on `addr` (in real builds
    /// HTTP/2 to `http://addr`, in sim builds madsim's gRPC), connecting at the
    /// first call. Must be called inside the runtime.
    ///
    /// # Errors
    ///
    /// tonic refuses the address as an endpoint.
    pub fn new(addr: SocketAddr) -> Result<Gateway, GatewayError> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|source| GatewayError { addr, source })?;
        Ok(Gateway::with_channel(endpoint.connect_lazy()))
    }

    /// A gateway that calls the services on `channel`.
    pub fn with_channel(channel: Channel) -> Gateway {
        Gateway { channel }
    }

    /// Serves one request whose path (percent-decoded, `/v3beta/` rewritten,
    /// cleaned) starts with `/v3/`. `body` is the request body, or the text of
    /// the error that stopped its reading (answered as a request that does not
    /// decode: 400, code 3).
    pub async fn handle(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: Result<Bytes, String>,
    ) -> Response<Body> {
        match paths::lookup(method, path) {
            Lookup::Call(rpc) => match body {
                Ok(body) => self.call(rpc, headers, &body).await,
                Err(e) => errors::call_error(&errors::CallError::BadRequest(e)),
            },
            Lookup::MethodNotAllowed => errors::method_not_allowed(),
            Lookup::NotFound => errors::not_found(),
        }
    }

    async fn call(&self, rpc: Rpc, headers: &HeaderMap, body: &[u8]) -> Response<Body> {
        let md = metadata::from_headers(headers);
        let ch = self.channel.clone();
        // etcd's gateway lifts gRPC's receive limit (4 MiB by default): a large
        // range must come back whole.
        macro_rules! client {
            ($client:ident, $ch:ident) => {
                $client::new($ch).max_decoding_message_size(usize::MAX)
            };
        }
        macro_rules! unary {
            ($client:ident, $method:ident) => {
                unary::call(body, md, move |r| async move {
                    client!($client, ch).$method(r).await
                })
                .await
            };
        }
        macro_rules! bidi {
            ($client:ident, $method:ident) => {
                stream::bidi(body, md, move |r| async move {
                    client!($client, ch).$method(r).await
                })
                .await
            };
        }
        macro_rules! server_stream {
            ($client:ident, $method:ident) => {
                stream::server(body, md, move |r| async move {
                    client!($client, ch).$method(r).await
                })
                .await
            };
        }
        match rpc {
            Rpc::Range => unary!(KvClient, range),
            Rpc::Put => unary!(KvClient, put),
            Rpc::DeleteRange => unary!(KvClient, delete_range),
            Rpc::Txn => unary!(KvClient, txn),
            Rpc::Compact => unary!(KvClient, compact),
            Rpc::Watch => bidi!(WatchClient, watch),
            Rpc::LeaseGrant => unary!(LeaseClient, lease_grant),
            Rpc::LeaseRevoke => unary!(LeaseClient, lease_revoke),
            Rpc::LeaseKeepAlive => bidi!(LeaseClient, lease_keep_alive),
            Rpc::LeaseTimeToLive => unary!(LeaseClient, lease_time_to_live),
            Rpc::LeaseLeases => unary!(LeaseClient, lease_leases),
            Rpc::MemberAdd => unary!(ClusterClient, member_add),
            Rpc::MemberRemove => unary!(ClusterClient, member_remove),
            Rpc::MemberUpdate => unary!(ClusterClient, member_update),
            Rpc::MemberList => unary!(ClusterClient, member_list),
            Rpc::MemberPromote => unary!(ClusterClient, member_promote),
            Rpc::Alarm => unary!(MaintenanceClient, alarm),
            Rpc::Status => unary!(MaintenanceClient, status),
            Rpc::Defragment => unary!(MaintenanceClient, defragment),
            Rpc::Hash => unary!(MaintenanceClient, hash),
            Rpc::Snapshot => server_stream!(MaintenanceClient, snapshot),
            Rpc::MoveLeader => unary!(MaintenanceClient, move_leader),
            Rpc::AuthEnable => unary!(AuthClient, auth_enable),
            Rpc::AuthDisable => unary!(AuthClient, auth_disable),
            Rpc::Authenticate => unary!(AuthClient, authenticate),
            Rpc::UserAdd => unary!(AuthClient, user_add),
            Rpc::UserGet => unary!(AuthClient, user_get),
            Rpc::UserList => unary!(AuthClient, user_list),
            Rpc::UserDelete => unary!(AuthClient, user_delete),
            Rpc::UserChangePassword => unary!(AuthClient, user_change_password),
            Rpc::UserGrantRole => unary!(AuthClient, user_grant_role),
            Rpc::UserRevokeRole => unary!(AuthClient, user_revoke_role),
            Rpc::RoleAdd => unary!(AuthClient, role_add),
            Rpc::RoleGet => unary!(AuthClient, role_get),
            Rpc::RoleList => unary!(AuthClient, role_list),
            Rpc::RoleDelete => unary!(AuthClient, role_delete),
            Rpc::RoleGrantPermission => unary!(AuthClient, role_grant_permission),
            Rpc::RoleRevokePermission => unary!(AuthClient, role_revoke_permission),
            Rpc::Lock => unary!(LockClient, lock),
            Rpc::Unlock => unary!(LockClient, unlock),
            Rpc::Campaign => unary!(ElectionClient, campaign),
            Rpc::Proclaim => unary!(ElectionClient, proclaim),
            Rpc::Leader => unary!(ElectionClient, leader),
            Rpc::Observe => server_stream!(ElectionClient, observe),
            Rpc::Resign => unary!(ElectionClient, resign),
        }
    }
}

#[cfg(all(test, not(madsim)))]
mod hook_tests;
