//! The server's client-facing APIs.

pub mod v2;
