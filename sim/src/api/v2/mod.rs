//! The v2 HTTP API: form parsing, request validation, the keys handler and the
//! response helpers. Members, auth, stats and routing come with the member server.

pub mod auth;
pub mod backend;
pub mod form;
pub mod keys;
pub mod keys_request;
pub mod response;
