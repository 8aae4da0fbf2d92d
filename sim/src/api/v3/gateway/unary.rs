//! A unary gateway call: the body's JSON to the request message, one gRPC call
//! on the member's own client port, the reply's JSON (or the error object).

use super::codec::{decode_one, encode};
use super::errors::{CallError, call_error};
use crate::api::v2::response::{Body, full};
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::{Request, Response as GrpcResponse, Status};
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;

/// Decodes `body` as the request, makes the call with `call` (the request
/// carrying `md`) and answers with the reply's JSON.
pub async fn call<Req, Resp, F, Fut>(body: &[u8], md: MetadataMap, call: F) -> Response<Body>
where
    Req: DeserializeOwned + Default,
    Resp: Serialize,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<GrpcResponse<Resp>, Status>>,
{
    let req: Req = match decode_one(body) {
        Ok(r) => r,
        Err(e) => return call_error(&CallError::BadRequest(e)),
    };
    let mut req = Request::new(req);
    *req.metadata_mut() = md;
    match call(req).await {
        Ok(reply) => ok_json(encode(reply.get_ref())),
        Err(status) => call_error(&status.into()),
    }
}

/// A 200 answer with `json`, and the header grpc-gateway forwards from the
/// server's response metadata (`content-type: application/grpc` as
/// `Grpc-Metadata-Content-Type`).
pub fn ok_json(json: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(full(json));
    *resp.status_mut() = StatusCode::OK;
    ok_headers(&mut resp);
    resp
}

/// The headers of every successful gateway answer.
pub fn ok_headers(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        "Grpc-Metadata-Content-Type",
        HeaderValue::from_static("application/grpc"),
    );
}
