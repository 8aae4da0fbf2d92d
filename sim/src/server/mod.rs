//! The server: what members replicate, how they apply it, and the interface the
//! API handlers call. It sits between the API and the state it changes:
//! `api/` → `server/` → `store/`, `auth/`, `raft/` (checked by
//! `scripts/check-layers.sh`: nothing here names `crate::api` or `crate::member`).
//!
//! - [`backend`]: [`backend::V2Backend`], what the v2 handlers need from a member
//!   (replication, the local store, the response headers' state), with
//!   [`backend::ReplicationError`] and [`backend::RaftStatus`]. The member
//!   (`crate::member`) implements it.
//! - [`v2_command`]: the replicated v2 commands and their applier.
//! - [`v2_auth`]: v2 auth through a backend: reads and writes of `/2`, the
//!   `/v2/auth/*` operations, and the request checks (bcrypt off the store lock).
//! - `testing` (tests only): `Local`, a one-member backend that applies at once.
//!
//! - [`v3_state`]: [`v3_state::V3Stores`], a member's v3 state (MVCC store,
//!   lessor, watchable store) under one lock, and its snapshot blob.
//! - [`v3_command`]: the replicated v3 requests (etcd's `InternalRaftRequest`)
//!   and their applier.
//! - [`v3_compactor`]: etcd's automatic compaction schedules (periodic and
//!   revision), pure; the member proposes what they pick.
//! - [`v3_backend`]: [`v3_backend::V3Backend`], what the v3 gRPC services need
//!   from a member; `v3_testing` (tests only): a one-member stand-in.
//!
//! - [`v3_auth`]: the auth half of the v3 applier: permission checks of logged
//!   requests with their header's user and auth revision, and the Auth requests.
//!   The gRPC side (tokens, serve-time read checks) is in `api::v3`, the pure
//!   parts in `auth::v3`.

pub mod backend;
#[cfg(test)]
pub(crate) mod testing;
pub mod v2_auth;
pub mod v2_command;
pub mod v3_alarm;
pub mod v3_auth;
pub mod v3_backend;
pub mod v3_command;
pub mod v3_compactor;
pub mod v3_quota;
pub mod v3_snapshot_file;
pub mod v3_state;
#[cfg(test)]
pub(crate) mod v3_testing;
