//! The v3 gRPC API served on a member's client port (etcd's `v3rpc`).
//!
//! - [`health`]: `grpc.health.v1.Health` (service `""` SERVING).
//! - [`kv`]: `etcdserverpb.KV` (Range, Put, DeleteRange, Txn, Compact).
//! - [`lease`]: `etcdserverpb.Lease` (grant, revoke, keepalive, TTL, list).
//! - [`watch`]: `etcdserverpb.Watch` (the bidi watch stream).
//! - [`cluster`]: `etcdserverpb.Cluster` (member list, add, remove, update,
//!   promote) over the membership the v2 members API shares.
//! - [`learner`]: the gate every service passes first (a learner serves only
//!   Status and serializable ranges).
//! - [`auth`]: `etcdserverpb.Auth` (users, roles, enable/disable, tokens);
//!   [`auth_info`]: tokens → users, the serve-time checks, and
//!   [`auth_info::authorize_admin`] for the admin-only RPCs of other services.
//! - [`error`], [`header`], [`metadata`], [`propose`]: what the services share —
//!   etcd's statuses, response headers, the `hasleader` check, proposing with the
//!   request size limit.
//! - [`metered`]: the gRPC metrics counted around every service (`Metered`).
//! - [`services`]: the set of services one client port serves ([`V3Services`]),
//!   as a tonic router over HTTP/2 in real builds (the member's listener hands it
//!   the HTTP/2 connections and keeps HTTP/1.1 for the v2 API and the gateway, on
//!   the same port, as etcd's connection multiplexer does) and as a madsim-tonic
//!   server on the same address in sim builds.
//! - [`extra_services`] (real builds): an embedding application's own gRPC
//!   services on the same port (etcd's `embed.Config.ServiceRegister`).
//! - [`gateway`]: etcd's HTTP/JSON gateway (`/v3/...` and `/v3beta/...` over
//!   HTTP/1.1), a translator that calls the services above over gRPC, on the
//!   member's own client address, as etcd's grpc-gateway does.

pub mod auth;
pub mod auth_info;
pub mod cluster;
pub mod election;
pub mod error;
#[cfg(not(madsim))]
pub mod extra_services;
pub mod gateway;
pub mod header;
pub mod health;
pub mod kv;
pub mod learner;
pub mod lease;
pub mod lock;
pub mod maintenance;
pub mod metadata;
pub mod metered;
mod metered_services;
pub mod own_client;
pub mod propose;
pub mod quota;
pub mod services;
pub mod watch;

pub use services::V3Services;
