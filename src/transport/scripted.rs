//! A scripted [`Transport`] for unit tests (ours and yours): answers each request
//! with a reply chosen by a closure and records every request it saw.

use super::{
    ResponseBody, Transport, TransportError, TransportErrorKind, TransportRequest,
    TransportResponse,
};
use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// What a [`ScriptedTransport`] answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A response with this status, headers and body.
    Response {
        /// The status.
        status: u16,
        /// Headers, in order.
        headers: Vec<(String, String)>,
        /// The body.
        body: Bytes,
    },
    /// A transport failure of this kind.
    Fail(TransportErrorKind, String),
    /// Never answers (models a SIGSTOPped server).
    Hang,
    /// Waits, then gives the inner reply.
    Delay(Duration, Box<Reply>),
}

impl Reply {
    /// A response with `status` and `body`, no headers.
    pub fn status(status: u16, body: impl Into<Bytes>) -> Self {
        Reply::Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A JSON response (`Content-Type: application/json`).
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Reply::status(status, body).header("Content-Type", "application/json")
    }

    /// Adds a header (only to [`Reply::Response`]).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Reply::Response { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// A refused connection: the request certainly did not reach the server.
    pub fn refused() -> Self {
        Reply::Fail(
            TransportErrorKind::Connect,
            "connect: connection refused".into(),
        )
    }

    /// A connection that broke after the request was sent (e.g. EOF).
    pub fn broken() -> Self {
        Reply::Fail(
            TransportErrorKind::Request,
            "connection closed before message completed".into(),
        )
    }
}

type Handler = Box<dyn Fn(&TransportRequest) -> Reply + Send + Sync>;

/// A [`Transport`] whose answers come from a closure or a queue.
pub struct ScriptedTransport {
    handler: Handler,
    requests: Mutex<Vec<TransportRequest>>,
}

impl ScriptedTransport {
    /// Answers every request with `handler(request)`.
    pub fn new(handler: impl Fn(&TransportRequest) -> Reply + Send + Sync + 'static) -> Self {
        ScriptedTransport {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Answers requests with `replies` in order; once they run out, refuses.
    pub fn sequence(replies: impl IntoIterator<Item = Reply>) -> Self {
        let queue = Mutex::new(replies.into_iter().collect::<VecDeque<_>>());
        Self::new(move |_| {
            queue
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()
                .unwrap_or_else(Reply::refused)
        })
    }

    /// Every request seen so far, in order.
    pub fn requests(&self) -> Vec<TransportRequest> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl Transport for ScriptedTransport {
    async fn send(&self, req: TransportRequest) -> Result<TransportResponse, TransportError> {
        let mut reply = (self.handler)(&req);
        let (method, url) = (req.method.clone(), req.url.clone());
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(req);
        loop {
            match reply {
                Reply::Delay(d, inner) => {
                    tokio::time::sleep(d).await;
                    reply = *inner;
                }
                Reply::Hang => std::future::pending::<()>().await,
                Reply::Fail(kind, msg) => {
                    return Err(TransportError::new(kind, &method, &url, msg));
                }
                Reply::Response {
                    status,
                    headers,
                    body,
                } => {
                    let mut map = HeaderMap::new();
                    for (k, v) in headers {
                        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v))
                        {
                            map.append(k, v);
                        }
                    }
                    let status =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    return Ok(TransportResponse {
                        status,
                        headers: map,
                        body: ResponseBody::from_bytes(body),
                    });
                }
            }
        }
    }
}
