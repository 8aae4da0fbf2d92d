//! etcd's v3 auth (`auth/` in etcd 3.4): the replicated auth store and the
//! pieces the server builds the Auth service and permission checks from.
//!
//! - [`store`]: [`AuthStore`] — users, roles, key permissions, root rules,
//!   enable/disable, the auth revision, the snapshot bytes.
//! - [`perms`]: [`RangePerms`] — one user's merged READ/WRITE intervals.
//! - [`token`]: [`SimpleTokens`] — etcd's `simple` tokens (`<16 letters>.<index>`).
//! - [`jwt`]: [`JwtTokens`] — etcd's `jwt` tokens; [`jwt_keys`]: their keys.
//! - [`provider`]: [`TokenProvider`], the trait both implement, and [`TokenKind`].
//! - [`password`]: bcrypt at `--bcrypt-cost`.
//! - [`error`]: [`AuthError`] with etcd's texts and typed errors.

pub mod error;
pub mod jwt;
pub mod jwt_es512;
pub mod jwt_keys;
pub mod password;
pub mod perms;
pub mod provider;
pub mod store;
pub mod token;

pub use error::AuthError;
pub use jwt::JwtTokens;
pub use perms::{Access, RangePerms};
pub use provider::{TokenInfo, TokenKind, TokenProvider};
pub use store::AuthStore;
pub use token::SimpleTokens;
