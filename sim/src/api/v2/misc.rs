//! `/version`, `/health` and `/v2/machines` (spec §7).

use super::members::ClusterBackend;
use super::response::{Body, full, json, method_not_allowed, text};
use crate::server::backend::V2Backend;
use crate::server::v2_command::V2Command;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use std::time::Duration;

/// The server version `/version` reports.
pub const SERVER_VERSION: &str = "3.4.23";
/// What `/version` reports as the cluster version before it is decided.
pub const CLUSTER_VERSION_NOT_DECIDED: &str = "not_decided";
/// How long `/health` waits for its quorum read (etcd: 1 s).
pub const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct Versions {
    etcdserver: &'static str,
    etcdcluster: String,
}

/// `GET /version`: `{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}`, no newline.
pub fn version<B: ClusterBackend + ?Sized>(backend: &B, method: &str) -> Response<Body> {
    if method != "GET" {
        return method_not_allowed("GET");
    }
    let body = Versions {
        etcdserver: SERVER_VERSION,
        etcdcluster: backend
            .cluster_version()
            .unwrap_or_else(|| CLUSTER_VERSION_NOT_DECIDED.to_string()),
    };
    json(StatusCode::OK, etcd_sdk::wire::to_go_json(&body))
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The alarm names `/health?exclude=NAME&exclude=...` leaves out.
fn excluded_alarms(query: Option<&str>) -> Vec<&str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("exclude="))
        .filter(|name| !name.is_empty())
        .collect()
}

/// `GET /health` (etcd 3.4.23's checks, in order): unhealthy while a v3 alarm
/// not named in `?exclude=` is active, or no leader is known, or a quorum read
/// (a `QGET` through the log, as etcd does) does not succeed within a second.
pub async fn health<B>(backend: &B, method: &str, query: Option<&str>) -> Response<Body>
where
    B: V2Backend + ClusterBackend + ?Sized,
{
    if method != "GET" {
        return method_not_allowed("GET");
    }
    let excluded = excluded_alarms(query);
    let alarmed = backend
        .alarm_names()
        .iter()
        .any(|a| !excluded.contains(&a.as_str()));
    let healthy = !alarmed && backend.leader_id().is_some() && {
        let probe = backend.propose_v2(
            V2Command::QuorumGet {
                path: "/".into(),
                recursive: false,
            },
            backend.now(),
        );
        matches!(
            tokio::time::timeout(HEALTH_PROBE_TIMEOUT, probe).await,
            Ok(Ok(_))
        )
    };
    if healthy {
        plain(StatusCode::OK, r#"{"health":"true"}"#)
    } else {
        text(StatusCode::SERVICE_UNAVAILABLE, r#"{"health":"false"}"#)
    }
}

/// `/metrics`: the member's metrics in Prometheus's text format 0.0.4 (any
/// method, as etcd's promhttp handler; HEAD gets the headers only).
pub fn metrics(method: &str, text: String) -> Response<Body> {
    let mut resp = Response::new(full(if method == "HEAD" {
        String::new()
    } else {
        text
    }));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    resp
}

/// `GET`/`HEAD /v2/machines`: every member's client URLs, sorted, joined with
/// `", "`, as plain text (HEAD: the same headers, no body).
pub fn machines<B: ClusterBackend + ?Sized>(backend: &B, method: &str) -> Response<Body> {
    if !matches!(method, "GET" | "HEAD") {
        return method_not_allowed("GET,HEAD");
    }
    let mut urls: Vec<String> = backend
        .member_list()
        .into_iter()
        .flat_map(|m| m.client_urls)
        .collect();
    urls.sort();
    let body = urls.join(", ");
    if method == "HEAD" {
        let mut resp = plain(StatusCode::OK, Bytes::new());
        if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
            resp.headers_mut().insert(header::CONTENT_LENGTH, v);
        }
        return resp;
    }
    plain(StatusCode::OK, body)
}

#[cfg(test)]
mod tests {
    use super::excluded_alarms;

    #[test]
    fn exclude_names_alarms_to_ignore() {
        assert!(excluded_alarms(None).is_empty());
        assert_eq!(
            excluded_alarms(Some("exclude=NOSPACE&x=1&exclude=CORRUPT&exclude=")),
            vec!["NOSPACE", "CORRUPT"]
        );
    }
}
