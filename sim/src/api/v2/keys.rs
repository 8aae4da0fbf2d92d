//! The `/v2/keys` handler: parse and validate, then serve locally, replicate, or
//! watch, and answer with etcd's exact bodies, statuses and headers (spec §2).

use super::dispatch::Dispatch;
use super::event_json::event_json_line;
use super::form::Form;
use super::http_checks::{BodyError, form_body_error};
use super::keys_request::KeysRequest;
use super::response::{Body, json, key_error, method_not_allowed, set_header};
use crate::server::backend::V2Backend;
use crate::store::v2::{KEYS_NAMESPACE, Reply, StoreError, drop_wire_node, trim_event_prefix};
use bytes::Bytes;
use etcd_sdk::wire::{Action, ErrorBody, ErrorCode};
use futures_util::stream;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use std::convert::Infallible;

/// The request parts the handler reads.
pub struct KeysCall<'a> {
    /// The method.
    pub method: &'a str,
    /// The percent-decoded path after `/v2/keys`.
    pub key_path: &'a str,
    /// The raw query string.
    pub raw_query: Option<&'a str>,
    /// The Content-Type header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The `Authorization` header (v2 auth, spec §6.4).
    pub authorization: Option<&'a str>,
    /// The common names of the verified client certificate chain
    /// (`--client-cert-auth`; empty otherwise).
    pub cert_names: &'a [String],
    /// Why the body could not be read, if it could not.
    pub body_error: Option<&'a BodyError>,
}

/// Serves one `/v2/keys` request.
pub async fn handle(backend: &dyn V2Backend, call: KeysCall<'_>) -> Response<Body> {
    let cluster_id = backend.cluster_id();
    if !matches!(call.method, "GET" | "HEAD" | "PUT" | "POST" | "DELETE") {
        return method_not_allowed("HEAD,GET,PUT,POST,DELETE");
    }
    if let Some(cause) = form_body_error(call.method, call.content_type, call.body_error) {
        let err = ErrorBody::new(ErrorCode::INVALID_FORM, cause, 0);
        return key_error(cluster_id, &err);
    }
    let form = Form::parse(call.method, call.raw_query, call.content_type, call.body);
    let mut req = match KeysRequest::parse(call.method, call.key_path, form) {
        Ok(r) => r,
        Err(e) => return key_error(cluster_id, &e),
    };
    if !crate::server::v2_auth::key_allowed_as(
        backend,
        call.authorization,
        call.cert_names,
        call.key_path,
        call.method,
        req.recursive,
    )
    .await
    {
        let denied = ErrorBody::new(ErrorCode::UNAUTHORIZED, "Insufficient credentials", 0);
        return key_error(cluster_id, &denied);
    }
    let now = backend.now();
    let head = call.method == "HEAD";
    match Dispatch::of(&mut req, now) {
        Dispatch::LocalGet => {
            let result = backend
                .v2_store()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&req.path, req.recursive, now);
            let resp = reply(backend, result, req.no_value_on_success);
            if head { strip_body(resp) } else { resp }
        }
        Dispatch::Propose(command) => match backend.propose_v2(command, now).await {
            Ok(result) => reply(backend, result, req.no_value_on_success),
            Err(e) => key_error(
                cluster_id,
                &ErrorBody::new(ErrorCode::RAFT_INTERNAL, e.0, 0),
            ),
        },
        Dispatch::Watch => watch(backend, &req),
    }
}

/// A success or store-error response.
fn reply(
    backend: &dyn V2Backend,
    result: Result<Reply, StoreError>,
    no_value_on_success: bool,
) -> Response<Body> {
    let cluster_id = backend.cluster_id();
    let reply = match result {
        Ok(r) => r,
        Err(e) => return key_error(cluster_id, &e.trim_cause_prefix(KEYS_NAMESPACE).to_body()),
    };
    let status = if reply.is_created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut event = trim_event_prefix(reply.event, KEYS_NAMESPACE);
    if no_value_on_success
        && matches!(
            event.action,
            Action::Set | Action::Create | Action::Update | Action::CompareAndSwap
        )
    {
        event.node = None;
        event.prev_node = None;
    }
    let mut resp = json(status, event_json_line(&event));
    success_headers(backend, &mut resp, reply.etcd_index);
    // A recursive get's node is as deep as the tree: free it without recursion.
    if let Some(node) = event.node {
        drop_wire_node(node);
    }
    resp
}

fn success_headers(backend: &dyn V2Backend, resp: &mut Response<Body>, etcd_index: u64) {
    let raft = backend.raft_status();
    set_header(
        resp,
        "X-Etcd-Cluster-Id",
        format!("{:x}", backend.cluster_id()),
    );
    set_header(resp, "X-Etcd-Index", etcd_index);
    set_header(resp, "X-Raft-Index", raft.commit_index);
    set_header(resp, "X-Raft-Term", raft.term);
}

/// HEAD: the GET's headers (Content-Length included), no body.
fn strip_body(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    if let Some(len) = http_body::Body::size_hint(&body).exact() {
        if let Ok(v) = http::HeaderValue::from_str(&len.to_string()) {
            parts.headers.insert(http::header::CONTENT_LENGTH, v);
        }
    }
    Response::from_parts(parts, super::response::full(Bytes::new()))
}

/// A long poll: headers at once (with the index at watch start), then one event
/// (or, with `stream`, every event, one JSON line each).
fn watch(backend: &dyn V2Backend, req: &KeysRequest) -> Response<Body> {
    let cluster_id = backend.cluster_id();
    let watcher = {
        let store = backend.v2_store();
        let store = store.lock().unwrap_or_else(|p| p.into_inner());
        store.watch(&req.path, req.recursive, req.stream, req.wait_index)
    };
    let watcher = match watcher {
        Ok(w) => w,
        Err(e) => return key_error(cluster_id, &e.trim_cause_prefix(KEYS_NAMESPACE).to_body()),
    };
    let start_index = watcher.start_index();
    let stream_mode = req.stream;
    let events = stream::unfold(Some(watcher), move |state| async move {
        let mut watcher = state?;
        let event = watcher.recv().await?;
        let line = event_json_line(&trim_event_prefix(event, KEYS_NAMESPACE));
        let next = if stream_mode { Some(watcher) } else { None };
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(line))), next))
    });
    let mut resp = Response::new(StreamBody::new(events).boxed());
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    success_headers(backend, &mut resp, start_index);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::testing::Local;
    use std::sync::Arc;

    async fn call(b: &Local, method: &str, path: &str, query: &str, body: &str) -> Response<Body> {
        handle(
            b,
            KeysCall {
                method,
                key_path: path,
                raw_query: Some(query),
                content_type: Some("application/x-www-form-urlencoded"),
                body: body.as_bytes(),
                authorization: None,
                cert_names: &[],
                body_error: None,
            },
        )
        .await
    }

    async fn body_text(resp: Response<Body>) -> String {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
        resp.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn set_get_and_errors_are_byte_exact() {
        let b = Local::new();
        let resp = call(&b, "PUT", "/message", "", "value=Hello+world").await;
        assert_eq!(resp.status(), 201);
        assert_eq!(header(&resp, "X-Etcd-Cluster-Id"), Some("cdf818194e3a8c32"));
        assert_eq!(header(&resp, "X-Etcd-Index"), Some("1"));
        assert_eq!(header(&resp, "X-Raft-Index"), Some("9"));
        assert_eq!(header(&resp, "X-Raft-Term"), Some("2"));
        assert_eq!(
            body_text(resp).await,
            "{\"action\":\"set\",\"node\":{\"key\":\"/message\",\"value\":\"Hello world\",\"modifiedIndex\":1,\"createdIndex\":1}}\n"
        );
        let resp = call(&b, "PUT", "/message", "", "value=Hello+etcd").await;
        assert_eq!(resp.status(), 200, "a set with a prevNode is 200");

        let resp = call(&b, "GET", "/nokey", "", "").await;
        assert_eq!(resp.status(), 404);
        assert_eq!(header(&resp, "X-Etcd-Index"), Some("2"));
        assert_eq!(
            header(&resp, "X-Raft-Index"),
            None,
            "errors carry no X-Raft headers"
        );
        assert_eq!(
            body_text(resp).await,
            "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/nokey\",\"index\":2}\n"
        );

        let resp = call(&b, "PUT", "/foo", "", "ttl=abc").await;
        assert_eq!(
            (resp.status().as_u16(), header(&resp, "X-Etcd-Index")),
            (400, Some("0"))
        );

        let resp = call(&b, "PATCH", "/foo", "", "").await;
        assert_eq!(resp.status(), 405);
        assert_eq!(header(&resp, "Allow"), Some("HEAD,GET,PUT,POST,DELETE"));
    }

    #[tokio::test]
    async fn ttl_no_value_on_success_and_head() {
        let b = Local::new();
        let resp = call(&b, "PUT", "/foo", "", "value=bar&ttl=5").await;
        let text = body_text(resp).await;
        assert!(
            text.contains(r#""expiration":"2026-11-20T23:01:24Z","ttl":5"#),
            "{text}"
        );
        let resp = call(&b, "PUT", "/q", "noValueOnSuccess=true", "value=x").await;
        assert_eq!(body_text(resp).await, "{\"action\":\"set\"}\n");
        let get = call(&b, "GET", "/q", "", "").await;
        let get_len = body_text(get).await.len();
        let head = call(&b, "HEAD", "/q", "", "").await;
        assert_eq!(
            header(&head, "Content-Length"),
            Some(get_len.to_string().as_str())
        );
        assert_eq!(body_text(head).await, "");
    }

    #[tokio::test]
    async fn replication_failure_is_error_300() {
        let b = Local::failing();
        let resp = call(&b, "PUT", "/foo", "", "value=x").await;
        assert_eq!(resp.status(), 500);
        assert_eq!(
            body_text(resp).await,
            "{\"errorCode\":300,\"message\":\"Raft Internal Error\",\"cause\":\"etcdserver: request timed out\",\"index\":0}\n"
        );
    }

    #[tokio::test]
    async fn a_watch_answers_headers_first_then_the_event() {
        let b = Arc::new(Local::new());
        call(&b, "PUT", "/w1", "", "value=a").await;
        let resp = call(&b, "GET", "/w1", "wait=true", "").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            header(&resp, "X-Etcd-Index"),
            Some("1"),
            "the index at watch start"
        );
        let reader = tokio::spawn(body_text(resp));
        call(&b, "PUT", "/w1", "", "value=b").await;
        let text = reader.await.unwrap();
        assert!(
            text.starts_with(
                "{\"action\":\"set\",\"node\":{\"key\":\"/w1\",\"value\":\"b\",\"modifiedIndex\":2"
            ),
            "{text}"
        );
        assert!(text.ends_with("}\n"));

        let resp = call(&b, "GET", "/w1", "wait=true&waitIndex=1", "").await;
        assert!(
            body_text(resp).await.contains("\"modifiedIndex\":1"),
            "from history"
        );
    }
}
