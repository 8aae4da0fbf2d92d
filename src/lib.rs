//! etcd SDK: a Rust client for etcd's v2 HTTP API that runs unchanged against
//! real clusters and inside the madsim simulator.
pub mod auth;
pub mod client;
pub mod error;
pub mod keys;
pub mod members;
pub mod transport;
pub mod wire;

pub use auth::{
    AuthAPI, AuthRoleAPI, AuthUserAPI, HttpAuthAPI, HttpAuthRoleAPI, HttpAuthUserAPI,
    PermissionType, new_auth_api, new_auth_role_api, new_auth_user_api,
};
pub use client::{Client, Config, EndpointSelectionMode, HttpClient};
pub use error::{ApiError, ClusterError, Error, Result};
pub use keys::{KeysAPI, Watcher};
pub use members::{HttpMembersAPI, MembersAPI, new_members_api};
