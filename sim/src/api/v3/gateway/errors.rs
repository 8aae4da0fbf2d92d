//! The gateway's error answers, as grpc-gateway 1.x (etcd 3.4) writes them:
//!
//! - a failed call (a gRPC status, or a request that could not be decoded):
//!   the HTTP status mapped from the gRPC code, `Content-Type: application/json`
//!   and `{"error":M,"message":M,"code":C}`; when the server answered with a
//!   status, the body is chunked and announces the trailer
//!   `Grpc-Trailer-Content-Type` (which hyper sends only to clients that ask for
//!   trailers with `TE: trailers`);
//! - a stream that fails after it started: one last chunk
//!   `{"error":{"grpc_code":C,"http_code":H,"message":M,"http_status":T}}`
//!   (no newline after it), the HTTP status staying 200;
//! - a path not in the table or a method other than POST: Go's `http.Error`
//!   text, `Not Found` / `Method Not Allowed`.

use crate::api::v2::response::{Body, text};
use bytes::Bytes;
use etcd_sdk::v3::tonic::{Code, Status};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde::Serialize;
use std::convert::Infallible;

/// grpc-gateway's `HTTPStatusFromCode`: the HTTP status of a gRPC code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::REQUEST_TIMEOUT,
        Code::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
        Code::Aborted => StatusCode::CONFLICT,
        Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Why a gateway call failed before any of its response was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request body is not the request message's JSON: 400, code 3
    /// (InvalidArgument), no gRPC call made.
    #[error("{0}")]
    BadRequest(String),
    /// A stream's first request is not JSON: the gateway answers this with
    /// code 2 (Unknown), 500, as etcd does.
    #[error("{0}")]
    BadStreamRequest(String),
    /// The server answered with a gRPC status.
    #[error("{code:?}: {message}")]
    Status {
        /// The status code.
        code: Code,
        /// The status message (etcd's error text).
        message: String,
    },
}

impl From<Status> for CallError {
    fn from(s: Status) -> CallError {
        CallError::Status {
            code: s.code(),
            message: s.message().to_string(),
        }
    }
}

/// The JSON of a failed call.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    code: i32,
}

/// The answer to a failed call (see the module doc).
pub fn call_error(err: &CallError) -> Response<Body> {
    let (code, message, from_server) = match err {
        CallError::BadRequest(m) => (Code::InvalidArgument, m.as_str(), false),
        CallError::BadStreamRequest(m) => (Code::Unknown, m.as_str(), false),
        CallError::Status { code, message } => (*code, message.as_str(), true),
    };
    let json = error_json(code, message);
    let mut resp = if from_server {
        let mut trailers = HeaderMap::new();
        trailers.insert(
            "Grpc-Trailer-Content-Type",
            HeaderValue::from_static("application/grpc"),
        );
        let frames = futures_util::stream::iter([
            Ok::<_, Infallible>(Frame::data(Bytes::from(json))),
            Ok(Frame::trailers(trailers)),
        ]);
        let mut resp = Response::new(StreamBody::new(frames).boxed());
        resp.headers_mut().insert(
            header::TRAILER,
            HeaderValue::from_static("Grpc-Trailer-Content-Type"),
        );
        resp
    } else {
        Response::new(crate::api::v2::response::full(json))
    };
    *resp.status_mut() = http_status(code);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error":M,"message":M,"code":C}`.
pub fn error_json(code: Code, message: &str) -> Vec<u8> {
    let body = ErrorBody {
        error: message,
        message,
        code: code as i32,
    };
    serde_json::to_vec(&body).unwrap_or_else(|_| FALLBACK.to_vec())
}

/// What grpc-gateway writes when an error cannot be marshalled.
const FALLBACK: &[u8] = br#"{"error": "failed to marshal error message"}"#;

/// The last chunk of a stream that failed: `{"error":{...}}` (jsonpb: the
/// default values, such as an empty message, are left out).
pub fn stream_error_chunk(status: &Status) -> Vec<u8> {
    #[derive(Serialize)]
    struct StreamError<'a> {
        grpc_code: i32,
        http_code: u16,
        #[serde(skip_serializing_if = "str::is_empty")]
        message: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        http_status: &'a str,
    }
    #[derive(Serialize)]
    struct Chunk<'a> {
        error: StreamError<'a>,
    }
    let http = http_status(status.code());
    let chunk = Chunk {
        error: StreamError {
            grpc_code: status.code() as i32,
            http_code: http.as_u16(),
            message: status.message(),
            http_status: http.canonical_reason().unwrap_or(""),
        },
    };
    serde_json::to_vec(&chunk).unwrap_or_else(|_| FALLBACK.to_vec())
}

/// grpc-gateway's 404 for a path below `/v3/` that is not in its table.
pub fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "Not Found")
}

/// grpc-gateway's 405 for a method other than POST on a path in its table (no
/// `Allow` header).
pub fn method_not_allowed() -> Response<Body> {
    text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(resp: Response<Body>) -> (Vec<u8>, Option<HeaderMap>) {
        let collected = resp.into_body().collect().await.unwrap();
        let trailers = collected.trailers().cloned();
        (collected.to_bytes().to_vec(), trailers)
    }

    #[test]
    fn codes_map_to_grpc_gateways_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::OutOfRange), StatusCode::BAD_REQUEST);
        assert_eq!(http_status(Code::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(
            http_status(Code::FailedPrecondition),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            http_status(Code::Unavailable),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(
            http_status(Code::Unknown),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(http_status(Code::Cancelled), StatusCode::REQUEST_TIMEOUT);
    }

    #[tokio::test]
    async fn a_server_error_is_the_error_object_with_a_trailer() {
        let err = CallError::from(Status::out_of_range(
            "etcdserver: mvcc: required revision has been compacted",
        ));
        let resp = call_error(&err);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["trailer"], "Grpc-Trailer-Content-Type");
        let (body, trailers) = body_of(resp).await;
        // Byte for byte what etcd 3.4.23's gateway answered.
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}"#
        );
        assert_eq!(
            trailers.unwrap()["grpc-trailer-content-type"],
            "application/grpc"
        );
    }

    #[tokio::test]
    async fn a_bad_body_is_code_3_and_a_bad_stream_body_code_2() {
        let resp = call_error(&CallError::BadRequest("unexpected EOF".into()));
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert!(resp.headers().get("trailer").is_none());
        let (body, _) = body_of(resp).await;
        assert_eq!(
            body,
            br#"{"error":"unexpected EOF","message":"unexpected EOF","code":3}"#
        );
        let resp = call_error(&CallError::BadStreamRequest("bad".into()));
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let (body, _) = body_of(resp).await;
        assert_eq!(body, br#"{"error":"bad","message":"bad","code":2}"#);
    }

    #[test]
    fn a_stream_error_is_wrapped_in_error() {
        let chunk = stream_error_chunk(&Status::unavailable("etcdserver: no leader"));
        assert_eq!(
            String::from_utf8(chunk).unwrap(),
            r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#
        );
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_get_go_texts() {
        let resp = not_found();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(body_of(resp).await.0, b"Not Found\n");
        let resp = method_not_allowed();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(resp.headers().get("allow").is_none());
        assert_eq!(body_of(resp).await.0, b"Method Not Allowed\n");
    }
}
