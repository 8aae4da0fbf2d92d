//! The v2 HTTP API: request parsing and validation (the handlers come with the server).

pub mod form;
pub mod keys_request;
