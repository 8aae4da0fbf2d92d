//! etcd's v3 API: the client ([`Client`]) and the generated gRPC code ([`pb`]).
//!
//! # What exists
//!
//! - [`Client`] with a channel and a circuit breaker per endpoint (unary
//!   calls go round-robin over the endpoints whose breaker is closed; a
//!   stopped or dead member leaves the rotation after one lost call and comes
//!   back when it answers a probe) plus one tonic channel balanced over the
//!   same set for streams; HTTP/2 keepalive, Go's retry policy for unary
//!   calls, per-call deadlines ([`Client::with_timeout`],
//!   [`Client::with_deadline`], [`Config::request_timeout`]) that report a
//!   write which may have been applied as [`Error::OutcomeUnknown`], and the
//!   auth token fetched at connect (refreshed once when the server calls it
//!   invalid or stale). Endpoint management: [`Client::set_endpoints`],
//!   [`Client::sync`], [`Config::auto_sync_interval`],
//!   [`Config::reject_old_cluster`].
//! - [`Config`] with [`Config::validate`].
//! - [`KV`]: get, put, delete, compact, [`KV::do_op`] and the [`Txn`] builder;
//!   [`GetOptions`], [`PutOptions`], [`DeleteOptions`], [`Op`], [`Compare`],
//!   [`get_prefix_range_end`].
//! - [`Cluster`]: member list, add (voter or learner), remove, update,
//!   promote.
//! - [`Auth`]: enable/disable, authenticate, users, roles and
//!   [`Permission`]s.
//! - [`Maintenance`]: alarms, status, hash_kv, defragment (aimed at one
//!   endpoint), the [`Snapshot`] stream, move_leader (sent to the leader).
//! - [`Error`], with every server error of etcd's table as an [`EtcdError`].
//!
//! # Known limits of this slice
//!
//! - Go's ±10 % jitter on the 25 ms retry pause is left out (determinism in
//!   the simulator).
//! - Outcomes of streams (watch, lease keepalive) over the balanced channel
//!   do not feed the breakers; only unary calls do.
//!
//! # What comes in later slices
//!
//! TLS (`https://`) endpoints; the namespace, ordering and concurrency
//! packages.

pub mod auth;
mod breaker;
pub mod client;
pub mod cluster;
pub mod compare;
pub mod config;
mod endpoints;
pub mod error;
pub mod kv;
pub mod maintenance;
pub mod op;
pub mod pb;
pub mod txn;

pub use auth::{
    Auth, AuthResponse, AuthenticateResponse, Permission, PermissionType, RoleGetResponse,
    RoleListResponse, UserAddOptions, UserGetResponse, UserListResponse,
};
pub use client::Client;
pub use cluster::{
    Cluster, Member, MemberAddResponse, MemberChangeResponse, MemberListResponse,
    MemberPromoteResponse, MemberRemoveResponse, MemberUpdateResponse,
};
pub use compare::{Compare, CompareOp};
pub use config::Config;
pub use error::{Error, EtcdError, Result};
pub use kv::{
    CompactOptions, CompactResponse, DeleteResponse, GetResponse, KV, OpResponse, PutResponse,
    ResponseHeader, TxnResponse,
};
pub use maintenance::{
    AlarmMember, AlarmResponse, AlarmType, DefragmentResponse, HashKvResponse, Maintenance,
    MoveLeaderResponse, Snapshot, StatusResponse,
};
pub use op::{
    DeleteOptions, GetOptions, KeyRange, Op, PutOptions, SortOrder, SortTarget,
    get_prefix_range_end,
};
pub use pb::mvccpb::KeyValue;
pub use txn::Txn;

/// The gRPC crate the generated code ([`pb`]) and [`Client`] use: tonic in
/// real builds, madsim-tonic in sim builds (e.g. to build a `tonic::Request`
/// with metadata for a [`pb`] client).
pub use tonic;
