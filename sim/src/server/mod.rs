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
//! v3 follows the same shape: its commands and applier in `server::v3_command`,
//! its backend trait in `server::v3_backend`, the proposing half of its auth in
//! `server::v3_auth`; parsing and handlers in `api::v3`, the pure parts in
//! `auth::v3` and `store::v3`.

pub mod backend;
#[cfg(test)]
pub(crate) mod testing;
pub mod v2_auth;
pub mod v2_command;
