//! The cURL debug switch: log every request as an equivalent `curl` command.

use super::TransportRequest;
use std::sync::atomic::{AtomicBool, Ordering};

static CURL_DEBUG: AtomicBool = AtomicBool::new(false);

/// Logs every request the SDK sends as a `curl` command (at `info` level, target
/// `etcd_sdk::curl`), like Go's `client.EnablecURLDebug`. Authorization headers
/// are never logged.
pub fn enable_curl_debug() {
    CURL_DEBUG.store(true, Ordering::Relaxed);
}

/// Turns [`enable_curl_debug`] off.
pub fn disable_curl_debug() {
    CURL_DEBUG.store(false, Ordering::Relaxed);
}

/// Whether cURL debug logging is on.
pub fn curl_debug_enabled() -> bool {
    CURL_DEBUG.load(Ordering::Relaxed)
}

/// The curl command for `req`: `curl -X <METHOD> <url> [-d "<body>"]`.
pub(crate) fn curl_command(req: &TransportRequest) -> String {
    let mut cmd = format!("curl -X {} {}", req.method, req.url);
    if !req.body.is_empty() {
        let body = String::from_utf8_lossy(&req.body)
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        cmd.push_str(&format!(" -d \"{body}\""));
    }
    cmd
}

/// Logs `req` if cURL debugging is on.
pub(crate) fn log_curl_command(req: &TransportRequest) {
    if curl_debug_enabled() {
        tracing::info!(target: "etcd_sdk::curl", "cURL Command: {}", curl_command(req));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_method_url_and_body() {
        let req = TransportRequest {
            method: http::Method::PUT,
            url: url::Url::parse("http://127.0.0.1:2379/v2/keys/a").unwrap(),
            headers: Default::default(),
            body: bytes::Bytes::from_static(b"value=\"x\""),
        };
        assert_eq!(
            curl_command(&req),
            r#"curl -X PUT http://127.0.0.1:2379/v2/keys/a -d "value=\"x\"""#
        );
        let get = TransportRequest {
            method: http::Method::GET,
            body: bytes::Bytes::new(),
            ..req
        };
        assert_eq!(
            curl_command(&get),
            "curl -X GET http://127.0.0.1:2379/v2/keys/a"
        );
    }
}
