//! Streaming gateway calls (Watch and LeaseKeepAlive, both ways; Snapshot and
//! Observe, server to client): each reply is written as `{"result":...}` and a
//! newline as soon as it arrives, and a stream that fails ends with
//! `{"error":{...}}`.
//!
//! As grpc-gateway does, the requests of a bidirectional call are the JSON values
//! of the request body, sent in order, after which the gateway half-closes its
//! side: Watch goes on (etcd's watch server keeps a stream open after its client
//! half-closes), LeaseKeepAlive ends. The HTTP answer starts with the first reply
//! (its status is the mapped error status, and its body the error chunk, if the
//! stream fails before replying: live etcd answers a watch with
//! `Grpc-Metadata-hasleader: true` on a leaderless member with 503 and
//! `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader",
//! "http_status":"Service Unavailable"}}`, and ends an open one with that chunk),
//! and the gRPC stream is dropped when the HTTP client goes away.

use super::codec::{decode_one, decode_stream, encode_result};
use super::errors::{CallError, call_error, http_status, stream_error_chunk};
use super::unary::ok_headers;
use crate::api::v2::response::Body;
use bytes::Bytes;
use etcd_sdk::v3::tonic::codec::Streaming;
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::{Request, Response as GrpcResponse, Status};
use http::Response;
use http_body_util::BodyExt;
use hyper::body::Frame;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// How many encoded replies may wait for a slow HTTP client before the gRPC
/// stream is no longer read.
const BUFFERED_REPLIES: usize = 16;

/// The stream of requests a bidirectional call sends.
pub type Requests<Req> = futures_util::stream::Iter<std::vec::IntoIter<Req>>;

/// A bidirectional call: the body's JSON values are the requests.
pub async fn bidi<Req, Resp, F, Fut>(body: &[u8], md: MetadataMap, call: F) -> Response<Body>
where
    Req: DeserializeOwned,
    Resp: Serialize + Send + 'static,
    F: FnOnce(Request<Requests<Req>>) -> Fut,
    Fut: Future<Output = Result<GrpcResponse<Streaming<Resp>>, Status>>,
{
    let (reqs, err) = decode_stream::<Req>(body);
    if let Some(e) = err {
        if reqs.is_empty() {
            return call_error(&CallError::BadStreamRequest(e));
        }
        tracing::debug!(error = %e, "gateway: stream request not decoded; no more requests sent");
    }
    let mut req = Request::new(futures_util::stream::iter(reqs));
    *req.metadata_mut() = md;
    respond(call(req).await.map(GrpcResponse::into_inner)).await
}

/// A server-streaming call: the body's first JSON value is the request.
pub async fn server<Req, Resp, F, Fut>(body: &[u8], md: MetadataMap, call: F) -> Response<Body>
where
    Req: DeserializeOwned + Default,
    Resp: Serialize + Send + 'static,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<GrpcResponse<Streaming<Resp>>, Status>>,
{
    let req: Req = match decode_one(body) {
        Ok(r) => r,
        Err(e) => return call_error(&CallError::BadRequest(e)),
    };
    let mut req = Request::new(req);
    *req.metadata_mut() = md;
    respond(call(req).await.map(GrpcResponse::into_inner)).await
}

/// The HTTP answer of a call's reply stream, once its first reply (or its end
/// or failure) is known. A call that fails before its first reply (the server
/// refused the stream, say "etcdserver: no leader" for `hasleader`) is answered
/// with the error's HTTP status and the stream error chunk, as etcd does (not
/// with the unary error object).
async fn respond<Resp: Serialize + Send + 'static>(
    call: Result<Streaming<Resp>, Status>,
) -> Response<Body> {
    let (replies, first) = match call {
        Ok(mut replies) => {
            let first = replies.message().await;
            (Some(replies), first)
        }
        Err(status) => (None, Err(status)),
    };
    let (tx, rx) = mpsc::channel(BUFFERED_REPLIES);
    let mut resp = Response::new(ChannelBody { rx }.boxed());
    match first {
        Ok(Some(msg)) => {
            ok_headers(&mut resp);
            // The channel is new and empty: the first reply always fits.
            let _ = tx.try_send(Bytes::from(encode_result(&msg)));
            if let Some(replies) = replies {
                tokio::spawn(forward(replies, tx));
            }
        }
        Ok(None) => ok_headers(&mut resp),
        Err(status) => {
            let _ = tx.try_send(Bytes::from(stream_error_chunk(&status)));
            *resp.status_mut() = http_status(status.code());
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
        }
    }
    resp
}

/// Encodes each reply into the HTTP body until the stream ends, fails or the
/// HTTP client goes away.
async fn forward<Resp: Serialize>(mut replies: Streaming<Resp>, tx: mpsc::Sender<Bytes>) {
    loop {
        let next = tokio::select! {
            biased;
            _ = tx.closed() => return,
            m = replies.message() => m,
        };
        let (chunk, last) = match next {
            Ok(Some(msg)) => (encode_result(&msg), false),
            Ok(None) => return,
            Err(status) => (stream_error_chunk(&status), true),
        };
        if tx.send(Bytes::from(chunk)).await.is_err() || last {
            return;
        }
    }
}

/// A response body fed by a channel; the body ends when every sender is gone.
struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}
