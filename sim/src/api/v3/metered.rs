//! gRPC metrics around the services: [`Metered`] wraps a service and counts
//! every call into the member's [`GrpcMetrics`] (etcd's grpc-prometheus
//! interceptors), implementing the same generated service trait by calling the
//! service's own method. This is done in the services rather than as a tower
//! layer because madsim-tonic ignores `Server::layer` in sim builds: one
//! counting path serves both builds.
//!
//! - unary calls: one message in, one out when it succeeds, handled with the
//!   status code returned;
//! - response streams ([`MeteredStream`]): a message out per item, handled with
//!   the code of the stream's error item, OK when it ends, and as abandoned
//!   (see [`crate::metrics::grpc::RpcType::abandoned_code`]) when the client
//!   goes away first;
//! - request streams (Watch, LeaseKeepAlive): a message in per request, counted
//!   on the stream the service reads ([`counted_requests`]).
//!
//! Message sizes are their protobuf encodings' (etcd counts what its codec
//! marshals); under madsim, where messages travel unencoded, the same sizes are
//! computed.

use crate::metrics::GrpcMetrics;
use crate::metrics::grpc::{CODE_OK, Rpc, RpcCall};
use etcd_sdk::v3::tonic::{Request, Response, Status};
use futures_util::{Stream, StreamExt as _};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A boxed response stream.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A service whose calls are counted.
#[derive(Clone)]
pub struct Metered<S> {
    pub(super) inner: S,
    pub(super) grpc: GrpcMetrics,
}

impl<S> Metered<S> {
    /// `inner`, counted into `grpc`.
    pub fn new(inner: S, grpc: GrpcMetrics) -> Metered<S> {
        Metered { inner, grpc }
    }
}

/// The number grpc-prometheus labels `status`'s code with.
pub(super) fn code_of(status: &Status) -> i32 {
    status.code() as i32
}

/// Counts one unary call of `rpc` that `handler` answers.
pub(super) async fn unary<Req, Resp, F, Fut>(
    grpc: &GrpcMetrics,
    rpc: Rpc,
    req: Request<Req>,
    handler: F,
) -> Result<Response<Resp>, Status>
where
    Req: prost::Message,
    Resp: prost::Message,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let call = grpc.start(rpc);
    call.received(req.get_ref().encoded_len());
    let result = handler(req).await;
    match &result {
        Ok(resp) => {
            call.sent(resp.get_ref().encoded_len());
            call.finish(CODE_OK);
        }
        Err(status) => call.finish(code_of(status)),
    }
    result
}

/// Counts one server-streaming call of `rpc` that `handler` opens.
pub(super) async fn server_stream<Req, Resp, St, F, Fut>(
    grpc: &GrpcMetrics,
    rpc: Rpc,
    req: Request<Req>,
    handler: F,
) -> Result<Response<BoxStream<Resp>>, Status>
where
    Req: prost::Message,
    Resp: prost::Message + 'static,
    St: Stream<Item = Result<Resp, Status>> + Send + Unpin + 'static,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<St>, Status>>,
{
    let call = Arc::new(grpc.start(rpc));
    call.received(req.get_ref().encoded_len());
    match handler(req).await {
        Ok(resp) => Ok(resp.map(|s| MeteredStream::boxed(s, call))),
        Err(status) => {
            call.finish(code_of(&status));
            Err(status)
        }
    }
}

/// `requests`, each counted as a message received by `call`.
pub(super) fn counted_requests<T, S>(
    requests: S,
    call: Arc<RpcCall>,
) -> impl Stream<Item = Result<T, Status>> + Send + 'static
where
    T: prost::Message + 'static,
    S: Stream<Item = Result<T, Status>> + Send + 'static,
{
    requests.inspect(move |item| {
        if let Ok(m) = item {
            call.received(m.encoded_len());
        }
    })
}

/// A response stream whose messages and end are counted.
pub struct MeteredStream<S> {
    inner: S,
    call: Arc<RpcCall>,
}

impl<S, T> MeteredStream<S>
where
    S: Stream<Item = Result<T, Status>> + Send + Unpin + 'static,
    T: prost::Message + 'static,
{
    /// `inner`, counted by `call`, boxed.
    pub fn boxed(inner: S, call: Arc<RpcCall>) -> BoxStream<T> {
        Box::pin(MeteredStream { inner, call })
    }
}

impl<S, T> Stream for MeteredStream<S>
where
    S: Stream<Item = Result<T, Status>> + Unpin,
    T: prost::Message,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.inner.poll_next_unpin(cx);
        match &item {
            Poll::Ready(Some(Ok(m))) => self.call.sent(m.encoded_len()),
            Poll::Ready(Some(Err(status))) => self.call.finish(code_of(status)),
            Poll::Ready(None) => self.call.finish(CODE_OK),
            Poll::Pending => {}
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::grpc::rpcs;
    use etcd_sdk::v3::pb::etcdserverpb::{RangeRequest, RangeResponse, WatchResponse};

    fn scrape(grpc: &GrpcMetrics) -> String {
        crate::metrics::exposition::encode(grpc.families())
    }

    #[tokio::test]
    async fn unary_calls_count_messages_and_codes() {
        let grpc = GrpcMetrics::new();
        let ok = unary(
            &grpc,
            rpcs::RANGE,
            Request::new(RangeRequest::default()),
            |_| async { Ok(Response::new(RangeResponse::default())) },
        );
        ok.await.unwrap();
        let failed = unary(
            &grpc,
            rpcs::RANGE,
            Request::new(RangeRequest::default()),
            |_| async { Err::<Response<RangeResponse>, _>(Status::out_of_range("compacted")) },
        );
        failed.await.unwrap_err();
        let text = scrape(&grpc);
        let range = r#"grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary""#;
        assert!(
            text.contains(&format!("grpc_server_started_total{{{range}}} 2\n")),
            "{text}"
        );
        assert!(text.contains(&format!("grpc_server_msg_received_total{{{range}}} 2\n")));
        assert!(text.contains(&format!("grpc_server_msg_sent_total{{{range}}} 1\n")));
        assert!(text.contains(&format!(
            "grpc_server_handled_total{{grpc_code=\"OK\",{range}}} 1\n"
        )));
        assert!(text.contains(&format!(
            "grpc_server_handled_total{{grpc_code=\"OutOfRange\",{range}}} 1\n"
        )));
    }

    #[tokio::test]
    async fn a_stream_counts_each_message_and_how_it_ended() {
        let grpc = GrpcMetrics::new();
        let call = Arc::new(grpc.start(rpcs::WATCH_));
        let requests = counted_requests(
            futures_util::stream::iter([Ok(RangeRequest::default()), Ok(RangeRequest::default())]),
            call.clone(),
        );
        assert_eq!(requests.count().await, 2);
        let items = futures_util::stream::iter([Ok(WatchResponse::default())]);
        let mut responses = MeteredStream::boxed(items, call);
        assert!(responses.next().await.is_some());
        drop(responses);
        let text = scrape(&grpc);
        let watch =
            r#"grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream""#;
        assert!(
            text.contains(&format!("grpc_server_msg_received_total{{{watch}}} 2\n")),
            "{text}"
        );
        assert!(text.contains(&format!("grpc_server_msg_sent_total{{{watch}}} 1\n")));
        // Dropped before its end: the client went away (etcd: Unavailable).
        assert!(text.contains(&format!(
            "grpc_server_handled_total{{grpc_code=\"Unavailable\",{watch}}} 1\n"
        )));
    }
}
