//! Authentication and authorization.
//!
//! - [`v2`]: etcd's v2 auth (`/v2/auth/*`): users, roles, the root and guest roles,
//!   enable/disable, bcrypt passwords and the key permission check of `/v2/keys`.
//! - [`v3`]: etcd's v3 auth: users, roles, key-range permissions, simple tokens
//!   (a separate store from v2's, as in etcd 3.4).

pub mod v2;
pub mod v3;
