//! The v2 HTTP API: form parsing, request validation, the handlers (keys, members,
//! stats, version, health, machines), the response helpers and the router that
//! serves them all.

pub mod auth;
pub mod dispatch;
pub mod event_json;
pub mod form;
pub mod head_guard;
pub mod http_checks;
pub mod keys;
pub mod keys_request;
pub mod members;
pub mod misc;
pub mod response;
pub mod router;
pub mod stats;
pub mod user_handlers;
