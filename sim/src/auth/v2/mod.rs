//! etcd's v2 auth (spec §6): users with bcrypt-hashed passwords, roles holding key
//! patterns, the built-in `root` role, the `guest` role of anonymous requests, and
//! the enabled flag, all stored as JSON in the v2 store under `/2` and changed by
//! replicated v2 writes.
//!
//! This module is pure: it decides over data passed in (a locked [`Store`], a user,
//! a role) and never proposes. What proposes through a member (reads through Raft,
//! the writes of `/v2/auth/*`, the request checks that run bcrypt off the store
//! lock) is [`crate::server::v2_auth`]; the HTTP handlers are
//! [`crate::api::v2::auth`]. v3's auth will sit beside this as `auth::v3`, with its
//! proposing half in `server::v3_auth`.
//!
//! Layout:
//! - [`model`]: store paths, the built-in roles, the root-user rule.
//! - [`password`]: bcrypt hashing (seeded salts) and verification.
//! - [`store`]: reading `/2` from a store passed in, and the JSON written there.
//! - [`merge`]: grant and revoke.
//! - [`check`]: who is calling and what they may do (keys, root-only actions).
//!
//! [`Store`]: crate::store::v2::Store

pub mod check;
pub mod error;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod merge;
pub mod model;
pub mod password;
pub mod store;

pub use check::{Caller, Identity, require_root};
pub use error::AuthError;
