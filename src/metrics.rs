//! Client metrics, off by default: what the v3 and v2 clients did, recorded
//! through the [`metrics`](https://docs.rs/metrics) facade when the crate is
//! built with the `metrics` feature and the application has installed a
//! recorder (a Prometheus exporter, `metrics-util`'s debugging recorder, ...).
//! Without the feature nothing is recorded and the facade is not a dependency;
//! with it and no recorder installed, each record is a no-op call.
//!
//! | name | kind | labels | counts |
//! | --- | --- | --- | --- |
//! | [`CALLS`] | counter | `api`, `method` | finished unary calls (a call retried on several endpoints is one call) |
//! | [`ERRORS`] | counter | `api`, `method`, `code` | calls that ended in an error, by code |
//! | [`CALL_DURATION`] | histogram (seconds) | `api`, `method` | each call's latency, retries included |
//! | [`ENDPOINT_SWITCHES`] | counter | `api` | times the client moved off an endpoint |
//! | [`WATCH_RESUMES`] | counter | — | v3 watch streams that failed and were resumed on a new one |
//! | [`KEEPALIVE_MISSES`] | counter | — | v3 leases whose keepalive got no answer before the lease's deadline |
//!
//! Labels:
//!
//! - `api`: `v3` or `v2`.
//! - `method`: v3: the RPC (`Range`, `Put`, `DeleteRange`, `Txn`, `Compaction`,
//!   `LeaseGrant`, `MemberList`, `Status`, ...); v2: the HTTP method and the API
//!   (`GET /v2/keys`, `PUT /v2/keys`, `GET /v2/members`, ...; a watch's
//!   long poll is `WATCH /v2/keys`).
//! - `code`: v3: the gRPC code of the server's answer (`InvalidArgument`,
//!   `Unavailable`, `NotFound`, ...), or the client's own outcome:
//!   `OutcomeUnknown` (a write that may have been applied), `DeadlineExceeded`
//!   (the call's deadline), `Canceled` (the client was closed), `Client` (a
//!   local refusal: invalid config, TLS settings, ...). v2: the HTTP status of
//!   an error answer (`404`, `412`, ...), or `OutcomeUnknown`,
//!   `DeadlineExceeded`, `Canceled`, `Unavailable` (no endpoint answered),
//!   `Client`.
//!
//! An endpoint switch is, in v3, an endpoint's circuit breaker opening (calls
//! and streams go to the others until a probe brings it back); in v2, the
//! pinned endpoint moving to another after a failure.
//!
//! In sim builds the same metrics are recorded, on virtual time.
//!
//! ```ignore
//! // Cargo.toml: etcd-sdk = { version = "...", features = ["metrics"] }
//! // and an exporter, e.g. metrics-exporter-prometheus:
//! metrics_exporter_prometheus::PrometheusBuilder::new().install()?;
//! let client = etcd_sdk::v3::Client::connect(["127.0.0.1:2379"]).await?;
//! // ... every call now shows up as etcd_client_calls_total{api="v3",method="Put"} ...
//! ```

use std::time::Duration;

/// Counter: finished unary calls, by `api` and `method`.
pub const CALLS: &str = "etcd_client_calls_total";
/// Counter: calls that failed, by `api`, `method` and `code`.
pub const ERRORS: &str = "etcd_client_errors_total";
/// Histogram: a call's latency in seconds (all its attempts), by `api` and `method`.
pub const CALL_DURATION: &str = "etcd_client_call_duration_seconds";
/// Counter: the client moved off an endpoint, by `api`.
pub const ENDPOINT_SWITCHES: &str = "etcd_client_endpoint_switches_total";
/// Counter: v3 watch streams that failed and were resumed on a new stream.
pub const WATCH_RESUMES: &str = "etcd_client_watch_resumes_total";
/// Counter: v3 leases whose keepalive went unanswered until the lease's deadline.
pub const KEEPALIVE_MISSES: &str = "etcd_client_keepalive_misses_total";

/// The `api` label of the v3 client.
pub(crate) const V3: &str = "v3";
/// The `api` label of the v2 client.
pub(crate) const V2: &str = "v2";

/// Records one finished call: `error` is the code label of its error, if
/// it failed.
#[cfg(feature = "metrics")]
pub(crate) fn call(api: &'static str, method: String, elapsed: Duration, error: Option<String>) {
    metrics::counter!(CALLS, "api" => api, "method" => method.clone()).increment(1);
    metrics::histogram!(CALL_DURATION, "api" => api, "method" => method.clone())
        .record(elapsed.as_secs_f64());
    if let Some(code) = error {
        metrics::counter!(ERRORS, "api" => api, "method" => method, "code" => code).increment(1);
    }
}

/// Records one finished call (the `metrics` feature is off: nothing).
#[cfg(not(feature = "metrics"))]
pub(crate) fn call(
    _api: &'static str,
    _method: String,
    _elapsed: Duration,
    _error: Option<String>,
) {
}

/// Records that the client moved off an endpoint.
pub(crate) fn endpoint_switch(api: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(ENDPOINT_SWITCHES, "api" => api).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = api;
}

/// Records that a watch stream failed and its watchers will resume on a new one.
pub(crate) fn watch_resume() {
    #[cfg(feature = "metrics")]
    metrics::counter!(WATCH_RESUMES).increment(1);
}

/// Records that a lease's keepalive got no answer before its deadline.
pub(crate) fn keepalive_miss() {
    #[cfg(feature = "metrics")]
    metrics::counter!(KEEPALIVE_MISSES).increment(1);
}

/// Whether calls are worth timing and labelling (the feature is on).
pub(crate) const ENABLED: bool = cfg!(feature = "metrics");

/// The v3 method a response type answers: `RangeResponse` -> `Range`,
/// `LeaseGrantResponse` -> `LeaseGrant` (the generated types are named after
/// their RPC).
pub(crate) fn v3_method<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let name = full.rsplit("::").next().unwrap_or(full);
    name.strip_suffix("Response").unwrap_or(name)
}

/// The `code` label of a v3 error.
pub(crate) fn v3_code(err: &crate::v3::Error) -> String {
    use crate::v3::Error;
    match err {
        Error::Etcd { status, .. } | Error::Status(status) | Error::Tls { status, .. } => {
            format!("{:?}", status.code())
        }
        Error::OutcomeUnknown { .. } => "OutcomeUnknown".into(),
        Error::Timeout => "DeadlineExceeded".into(),
        Error::Closed => "Canceled".into(),
        Error::NoAvailableEndpoints | Error::Connect(_) => "Unavailable".into(),
        _ => "Client".into(),
    }
}

/// The `method` label of a v2 request: `GET /v2/keys` (`WATCH /v2/keys` for a
/// long poll).
pub(crate) fn v2_method(method: &str, path: &str) -> String {
    let api: String = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(2)
        .fold(String::new(), |acc, s| acc + "/" + s);
    format!("{method} {api}")
}

/// The `code` label of a v2 outcome: an HTTP error status, or the error's class.
pub(crate) fn v2_code(result: &crate::Result<crate::client::Response>) -> Option<String> {
    use crate::Error;
    match result {
        Ok(resp) if resp.status.as_u16() >= 400 => Some(resp.status.as_u16().to_string()),
        Ok(_) => None,
        Err(e) => Some(
            match e {
                Error::OutcomeUnknown { .. } => "OutcomeUnknown",
                Error::Timeout | Error::HeaderTimeout { .. } => "DeadlineExceeded",
                Error::Cancelled => "Canceled",
                Error::Cluster(_)
                | Error::NoLeader { .. }
                | Error::Unresponsive { .. }
                | Error::Transport(_) => "Unavailable",
                Error::ServerError { status, .. } => return Some(status.to_string()),
                _ => "Client",
            }
            .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::pb::etcdserverpb::{LeaseGrantResponse, RangeResponse, TxnResponse};

    #[test]
    fn a_v3_method_is_its_response_type_without_the_suffix() {
        assert_eq!(v3_method::<RangeResponse>(), "Range");
        assert_eq!(v3_method::<TxnResponse>(), "Txn");
        assert_eq!(v3_method::<LeaseGrantResponse>(), "LeaseGrant");
    }

    #[test]
    fn a_v2_method_names_the_http_method_and_the_api() {
        assert_eq!(v2_method("GET", "/v2/keys/a/b"), "GET /v2/keys");
        assert_eq!(v2_method("PUT", "/v2/members"), "PUT /v2/members");
        assert_eq!(v2_method("GET", "/version"), "GET /version");
    }

    #[test]
    fn v3_codes_name_the_grpc_code_or_the_client_outcome() {
        let e = crate::v3::Error::from_status(tonic::Status::invalid_argument(
            "etcdserver: key is not provided",
        ));
        assert_eq!(v3_code(&e), "InvalidArgument");
        assert_eq!(v3_code(&crate::v3::Error::Timeout), "DeadlineExceeded");
        let unknown = crate::v3::Error::OutcomeUnknown {
            cause: Box::new(crate::v3::Error::Timeout),
        };
        assert_eq!(v3_code(&unknown), "OutcomeUnknown");
    }
}
