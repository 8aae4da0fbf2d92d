//! What an API call asks of the cluster, and what comes back.

use super::url_path::encode_form;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use tokio::time::Instant;

/// Whether a request may be sent again to another endpoint after a failure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Safe to repeat: on any failure the client tries the next endpoint (reads,
    /// plain set and update, as Go's client does).
    #[default]
    Retry,
    /// Must not be applied twice (create, compare-and-swap, in-order create,
    /// delete). The client moves on to another endpoint only when the request
    /// certainly did not reach the server (the connection was refused); once it
    /// may have, a failure is [`crate::Error::OutcomeUnknown`] and nothing is re-sent.
    AtMostOnce,
}

/// One logical request to the cluster; the client picks the endpoint.
#[derive(Clone, Debug)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The path, unescaped (e.g. `/v2/keys/a b`); it is cleaned, escaped with Go's
    /// rules and joined under the endpoint's own path.
    pub path: String,
    /// Query parameters (sent sorted by name, as Go's `url.Values.Encode`).
    pub query: Vec<(String, String)>,
    /// The Content-Type header, if any.
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: Bytes,
    /// Whether the request may be repeated on another endpoint.
    pub delivery: Delivery,
    /// A long poll (watch): no header timeout and no overall request timeout.
    pub long_poll: bool,
    /// For a long poll: probe the endpoint serving it every this often (`GET
    /// /version`, bounded by the header timeout, or by the interval when none is
    /// set); if a probe fails, the poll is abandoned and re-sent to the next
    /// endpoint. Catches a member that keeps the connection open but never
    /// answers (SIGSTOP), which would otherwise hold a watch forever.
    pub liveness: Option<std::time::Duration>,
    /// This call's own deadline, on top of [`crate::Config::request_timeout`]
    /// (the earlier of the two applies). Unlike the client-wide timeout it bounds
    /// a long poll too. When it passes the call fails with
    /// [`crate::Error::Timeout`], or [`crate::Error::OutcomeUnknown`] for an
    /// at-most-once request that may already have reached a server. A
    /// [`crate::Client`] of your own should honour it the same way. API handles set
    /// it from `with_timeout` / `with_deadline`.
    pub deadline: Option<Instant>,
}

/// The form Content-Type.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// The JSON Content-Type.
pub const JSON_CONTENT_TYPE: &str = "application/json";

impl Request {
    /// A request with no query, no body, retry delivery.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            content_type: None,
            body: Bytes::new(),
            delivery: Delivery::Retry,
            long_poll: false,
            liveness: None,
            deadline: None,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    /// Sets a urlencoded form body (and its Content-Type, even when empty, as Go does).
    pub fn form(mut self, pairs: &[(String, String)]) -> Self {
        self.content_type = Some(FORM_CONTENT_TYPE);
        self.body = Bytes::from(encode_form(pairs));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: Vec<u8>) -> Self {
        self.content_type = Some(JSON_CONTENT_TYPE);
        self.body = Bytes::from(body);
        self
    }

    /// Marks the request at-most-once.
    pub fn at_most_once(mut self) -> Self {
        self.delivery = Delivery::AtMostOnce;
        self
    }

    /// Marks the request a long poll.
    pub fn long_poll(mut self) -> Self {
        self.long_poll = true;
        self
    }

    /// Probes the serving endpoint every `interval` while the long poll is
    /// outstanding (see [`Request::liveness`](Request#structfield.liveness)).
    pub fn liveness(mut self, interval: std::time::Duration) -> Self {
        self.liveness = Some(interval);
        self
    }

    /// Bounds this call by `deadline` (see
    /// [`Request::deadline`](Request#structfield.deadline)); an earlier deadline
    /// already set is kept.
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
        self
    }
}

/// A complete response from one endpoint.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status (never 5xx: those count as endpoint failures).
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// The endpoint that answered (as configured, before any redirect).
    pub endpoint: String,
}

impl Response {
    /// A header's value as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
