//! etcd SDK: a Rust client for etcd's v2 HTTP API that runs unchanged against
//! real clusters and inside the madsim simulator.
pub mod auth;
pub mod client;
pub mod error;
pub mod keys;
pub mod members;
pub mod transport;
pub mod v3;
pub mod wire;

pub use auth::{AuthAPI, AuthRoleAPI, AuthUserAPI, PermissionType};
pub use client::{Client, Config, EndpointSelectionMode, HttpClient};
pub use error::{ApiError, ClusterError, Error, Result};
pub use keys::{KeysAPI, Watcher};
pub use members::MembersAPI;
