//! Authentication and authorization.
//!
//! - [`v2`]: etcd's v2 auth (`/v2/auth/*`): users, roles, the root and guest roles,
//!   enable/disable, bcrypt passwords and the key permission check of `/v2/keys`.

pub mod v2;
