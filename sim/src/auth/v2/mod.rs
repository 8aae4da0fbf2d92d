//! etcd's v2 auth (spec §6): users with bcrypt-hashed passwords, roles holding key
//! patterns, the built-in `root` role, the `guest` role of anonymous requests, and
//! the enabled flag, all stored as JSON in the v2 store under `/2` and changed by
//! replicated v2 writes.
//!
//! Layout:
//! - [`model`]: store paths, the built-in roles, the root-user rule.
//! - [`password`]: bcrypt hashing (seeded salts) and verification.
//! - [`store`]: reading (local or through Raft) and writing `/2`.
//! - [`merge`]: grant and revoke.
//! - [`ops`]: the operations behind `/v2/auth/*`, with etcd's errors.
//! - [`check`]: who is calling and what they may do (keys, root-only actions).
//!
//! The HTTP handlers are in [`crate::api::v2::auth`]; the `/v2/keys` handler calls
//! [`key_allowed`], and the members handler [`require_root`] or [`caller_is_root`].

pub mod check;
pub mod error;
pub mod merge;
pub mod model;
pub mod ops;
pub mod password;
pub mod store;

pub use check::{Caller, Identity, caller_is_root, key_allowed, require_root};
pub use error::AuthError;
pub use store::AuthStore;
