//! etcd's v3 API: the client ([`Client`]) and the generated gRPC code ([`pb`]).
//!
//! # What exists
//!
//! - [`Client`] with a channel and a circuit breaker per endpoint (unary
//!   calls go round-robin over the endpoints whose breaker is closed; a
//!   stopped or dead member leaves the rotation after one lost call and comes
//!   back when it answers a probe; streams pick their endpoint the same
//!   way) plus one tonic channel balanced over the same set; HTTP/2 keepalive, Go's retry policy for unary
//!   calls, per-call deadlines ([`Client::with_timeout`],
//!   [`Client::with_deadline`], [`Config::request_timeout`]) that report a
//!   write which may have been applied as [`Error::OutcomeUnknown`], and the
//!   auth token fetched at connect (refreshed once when the server calls it
//!   invalid or stale). Endpoint management: [`Client::set_endpoints`],
//!   [`Client::sync`], [`Config::auto_sync_interval`],
//!   [`Config::reject_old_cluster`].
//! - [`Config`] with [`Config::validate`], and [`Config::layer`]: the
//!   user's `tower` layers over every gRPC channel (real builds).
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
//! - [`Watcher`]: [`Watcher::watch`] gives a [`WatchStream`] (a `futures`
//!   stream of `Result<`[`WatchResponse`]`>` with typed [`Event`]s) for every
//!   Go watch option ([`WatchOptions`]); [`Watcher::request_progress`],
//!   [`Watcher::close`]. One gRPC stream per metadata set (plain,
//!   `require_leader`) carries every watcher of the client; creates are
//!   serialized, fragments joined, dropped watchers cancelled on the server,
//!   and a failed stream (error, end, lost connection, restarted member, "no
//!   leader") is re-created with every watcher resumed at its next revision
//!   (never a duplicate, never a gap); compaction ends a watch with
//!   [`Error::WatchCompacted`]. With [`Config::keep_alive_time`] set, a
//!   stream silent that long gets a progress request, and one that does not
//!   answer within [`Config::keep_alive_timeout`] is replaced (a stopped
//!   member is left in about the sum of the two). Each stream (watch, lease
//!   keepalive) is opened on the next endpoint whose breaker is closed, and
//!   its outcome feeds that breaker as a unary call's does. A
//!   [`Watcher::request_progress`] made while a stream is being replaced is
//!   sent on the new one once its watchers are created there.
//! - [`Lease`]: grant, revoke, time-to-live (with keys), leases, and
//!   [`Lease::keep_alive`] over one shared LeaseKeepAlive stream (renewal a
//!   third of the TTL after each answer; a [`KeepAliveStream`] per caller that
//!   ends with [`Error::KeepAliveHalted`] when the lease is gone or its
//!   deadline passes; the stream re-opened 500 ms after a failure),
//!   [`Lease::keep_alive_once`], [`Lease::close`].
//! - [`concurrency`]: sessions, locks, elections, STM and Go's recipes over
//!   the [`KV`], [`Lease`] and [`Watcher`] traits, with Go's key layouts
//!   (interoperable with `etcdctl lock` / `elect`).
//!
//! # Known limits of this slice
//!
//! - Go's ±10 % jitter on the 25 ms retry pause is left out (determinism in
//!   the simulator).
//! - Without [`Config::keep_alive_time`] a stream to a stopped member hangs
//!   (as Go's does) until the operating system drops the connection.
//!
//! # What comes in later slices
//!
//! TLS (`https://`) endpoints.
//!
//! # Packages over the traits
//!
//! Go's client packages, built only on the traits above so that they stack
//! (e.g. an [`ordering::Kv`] over a [`namespace::Kv`] over a [`Client`]):
//! [`namespace`] (keys under a prefix), [`ordering`] (no read older than
//! one already returned), [`leasing`] (reads of owned keys served from a
//! local cache, Go's lease-key protocol), [`util`] (`key_exists` / `key_missing`
//! compares), [`mirror`] (a consistent copy of a prefix and its updates;
//! `etcdctl make-mirror`), [`yaml`] (Go's client config file),
//! [`snapshot`] (save a backend snapshot to a file, checking its SHA-256), and
//! [`concurrency`] (sessions, mutexes, elections, STM and Go's recipes).

pub mod auth;
mod breaker;
pub mod client;
pub mod cluster;
pub mod compare;
pub mod concurrency;
pub mod config;
mod dial;
mod endpoints;
pub mod error;
pub mod kv;
pub mod layer;
pub mod lease;
pub mod leasing;
pub mod maintenance;
pub mod mirror;
pub mod namespace;
pub mod naming;
pub mod op;
pub mod ordering;
pub mod pb;
pub mod snapshot;
mod streams;
pub mod txn;
pub mod util;
pub mod watch;
pub mod yaml;

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
pub use layer::ChannelLayer;
pub use lease::{
    KeepAliveStream, Lease, LeaseGrantResponse, LeaseId, LeaseKeepAliveResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseStatus, LeaseTimeToLiveResponse,
    TimeToLiveOptions,
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
pub use watch::{Event, EventType, WatchOptions, WatchResponse, WatchStream, Watcher};

/// The gRPC crate the generated code ([`pb`]) and [`Client`] use: tonic in
/// real builds, madsim-tonic in sim builds (e.g. to build a `tonic::Request`
/// with metadata for a [`pb`] client).
pub use tonic;
