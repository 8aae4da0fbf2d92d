//! The server's client-facing APIs: [`v2`] (HTTP/JSON) and [`v3`] (gRPC).

pub mod v2;
pub mod v3;
