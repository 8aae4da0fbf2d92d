//! Building v2 HTTP responses: bodies, the header sets of spec §2.5 and CORS.

use bytes::Bytes;
use etcd_sdk::wire::{ErrorBody, to_go_json_line};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;

/// A response body: whole, or streamed (watches).
pub type Body = BoxBody<Bytes, Infallible>;

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// Adds etcd's default CORS headers (`--cors=*`), which every response carries.
pub fn with_cors(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert("Access-Control-Allow-Origin", HeaderValue::from_static("*"));
    h.insert(
        "Access-Control-Allow-Methods",
        HeaderValue::from_static("POST, GET, OPTIONS, PUT, DELETE"),
    );
    h.insert(
        "Access-Control-Allow-Headers",
        HeaderValue::from_static("accept, content-type, authorization"),
    );
    resp
}

/// A plain-text response (404 page, 405), as Go's `http.Error` writes it.
pub fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut resp = Response::new(full(format!("{body}\n")));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// 405 with the handler's `Allow` list.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// A JSON response with the given status and already-encoded body.
pub fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Sets a header whose value is a number or other known-valid text.
pub fn set_header(resp: &mut Response<Body>, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        resp.headers_mut().insert(name, v);
    }
}

/// A v2 key error: its status, JSON body with newline, cluster id and
/// `X-Etcd-Index` = the error's index; no X-Raft headers.
pub fn key_error(cluster_id: u64, err: &ErrorBody) -> Response<Body> {
    let status =
        StatusCode::from_u16(err.error_code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json(status, to_go_json_line(err));
    set_header(&mut resp, "X-Etcd-Cluster-Id", format!("{cluster_id:x}"));
    set_header(&mut resp, "X-Etcd-Index", err.index);
    resp
}
