//! The v3 gRPC API served on a member's client port (etcd's `v3rpc`).
//!
//! - [`health`]: `grpc.health.v1.Health` (service `""` SERVING).
//! - [`services`]: the set of services one client port serves ([`V3Services`]),
//!   as a tonic router over HTTP/2 in real builds (the member's listener hands it
//!   the HTTP/2 connections and keeps HTTP/1.1 for the v2 API and the gateway, on
//!   the same port, as etcd's connection multiplexer does) and as a madsim-tonic
//!   server on the same address in sim builds.
//!
//! - [`gateway`]: etcd's HTTP/JSON gateway (`/v3/...` and `/v3beta/...` over
//!   HTTP/1.1), a translator that calls the services above over gRPC.
//!
//! The KV, Watch and Lease services join [`V3Services`] with the v3 store.

pub mod gateway;
pub mod health;
pub mod services;

pub use services::V3Services;
