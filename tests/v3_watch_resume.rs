//! The Watcher's stream bookkeeping against an in-process gRPC Watch server
//! whose every stream is scripted: the exact `start_revision` a watcher is
//! re-created with on a new stream (after its created reply only, after
//! events, after its own progress notification, never after a stream-wide
//! progress reply), fragments joined, compaction and refusals as typed
//! errors, cancel on drop, and a stream that never answers replaced.
#![cfg(not(madsim))]

use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::watch_server::{Watch, WatchServer};
use etcd_sdk::v3::pb::etcdserverpb::{
    ResponseHeader, WatchRequest, WatchResponse, watch_request::RequestUnion,
};
use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue};
use etcd_sdk::v3::{Client, Config, Error, WatchOptions, Watcher};
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

/// What the server does after a request.
enum Reply {
    Send(WatchResponse),
    Fail(Status),
}

/// `(stream, request index on that stream, request) -> replies`.
type Script = Arc<dyn Fn(usize, usize, &WatchRequest) -> Vec<Reply> + Send + Sync>;

#[derive(Clone)]
struct Scripted {
    script: Script,
    streams: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(usize, WatchRequest)>>>,
}

type Replies = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send>>;

#[async_trait]
impl Watch for Scripted {
    type WatchStream = Replies;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let stream = self.streams.fetch_add(1, Ordering::SeqCst);
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::unbounded_channel();
        let me = self.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Some(Ok(r)) = inbound.next().await {
                me.seen.lock().unwrap().push((stream, r.clone()));
                for reply in (me.script)(stream, n, &r) {
                    match reply {
                        Reply::Send(m) => {
                            let _ = tx.send(Ok(m));
                        }
                        Reply::Fail(s) => {
                            let _ = tx.send(Err(s));
                            return;
                        }
                    }
                }
                n += 1;
            }
        });
        let out =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
            );
        Ok(Response::new(Box::pin(out)))
    }
}

impl Scripted {
    /// The `start_revision` of every create, with its stream.
    fn creates(&self) -> Vec<(usize, i64)> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(s, r)| match &r.request_union {
                Some(RequestUnion::CreateRequest(c)) => Some((*s, c.start_revision)),
                _ => None,
            })
            .collect()
    }

    fn cancels(&self) -> Vec<i64> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, r)| match &r.request_union {
                Some(RequestUnion::CancelRequest(c)) => Some(c.watch_id),
                _ => None,
            })
            .collect()
    }
}

async fn serve(
    script: impl Fn(usize, usize, &WatchRequest) -> Vec<Reply> + Send + Sync + 'static,
) -> (Scripted, String) {
    let svc = Scripted {
        script: Arc::new(script),
        streams: Arc::default(),
        seen: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder().add_service(WatchServer::new(svc.clone()));
    tokio::spawn(async move { server.serve_with_incoming(incoming).await });
    (svc, format!("http://{addr}"))
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

fn created(watch_id: i64, revision: i64) -> Reply {
    Reply::Send(WatchResponse {
        header: header(revision),
        watch_id,
        created: true,
        ..Default::default()
    })
}

fn events(watch_id: i64, revision: i64, revs: &[i64], fragment: bool) -> Reply {
    Reply::Send(WatchResponse {
        header: header(revision),
        watch_id,
        fragment,
        events: revs
            .iter()
            .map(|&r| Event {
                kv: Some(KeyValue {
                    key: b"k".to_vec(),
                    mod_revision: r,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}

fn progress(watch_id: i64, revision: i64) -> Reply {
    Reply::Send(WatchResponse {
        header: header(revision),
        watch_id,
        ..Default::default()
    })
}

fn gone() -> Reply {
    Reply::Fail(Status::unavailable("member went away"))
}

async fn client(url: String, keepalive: Option<(Duration, Duration)>) -> Client {
    Client::new(Config {
        request_timeout: Some(Duration::from_secs(10)),
        keep_alive_time: keepalive.map(|k| k.0),
        keep_alive_timeout: keepalive.map(|k| k.1),
        ..Config::new([url])
    })
    .await
    .unwrap()
}

async fn next(
    w: &mut etcd_sdk::v3::WatchStream,
) -> etcd_sdk::v3::Result<etcd_sdk::v3::WatchResponse> {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("a response in time")
        .expect("the watch goes on")
}

fn revs(r: &etcd_sdk::v3::WatchResponse) -> Vec<i64> {
    r.events.iter().map(|e| e.kv.mod_revision).collect()
}

#[tokio::test]
async fn each_resume_starts_exactly_at_the_next_revision() {
    let (svc, url) = serve(|stream, n, _| match (stream, n) {
        // Created at 7, nothing delivered: the next revision is 8.
        (0, 0) => vec![created(0, 7), gone()],
        // Events 8 and 9: next is 10.
        (1, 0) => vec![created(0, 9), events(0, 9, &[8, 9], false), gone()],
        // Its own progress notification at 12: next is 13.
        (2, 0) => vec![created(0, 12), progress(0, 12), gone()],
        // A fragmented response, joined.
        (3, 0) => vec![
            created(5, 13),
            events(5, 14, &[13, 13], true),
            events(5, 14, &[14], false),
        ],
        _ => vec![],
    })
    .await;
    let c = client(url, None).await;
    let mut w = c.watch("k", WatchOptions::default()).await.unwrap();
    assert_eq!(revs(&next(&mut w).await.unwrap()), vec![8, 9]);
    let p = next(&mut w).await.unwrap();
    assert!(p.is_progress_notify() && p.revision() == 12, "{p:?}");
    let joined = next(&mut w).await.unwrap();
    assert_eq!(revs(&joined), vec![13, 13, 14], "fragments joined");
    assert_eq!(svc.creates(), vec![(0, 0), (1, 8), (2, 10), (3, 13)]);
}

#[tokio::test]
async fn a_stream_wide_progress_moves_nothing_and_compaction_ends_the_watch() {
    let (svc, url) = serve(|stream, n, _| match (stream, n) {
        (0, 0) => vec![created(0, 20)],
        // The progress request: answered for the whole stream, then the stream fails.
        (0, 1) => vec![progress(-1, 20), gone()],
        (1, 0) => vec![
            created(0, 20),
            Reply::Send(WatchResponse {
                header: header(20),
                watch_id: 0,
                canceled: true,
                compact_revision: 9,
                ..Default::default()
            }),
        ],
        _ => vec![],
    })
    .await;
    let c = client(url, None).await;
    let mut w = c
        .watch(
            "k",
            WatchOptions {
                revision: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.request_progress().await.unwrap();
    let p = next(&mut w).await.unwrap();
    assert!(p.is_progress_notify() && p.revision() == 20, "{p:?}");
    match next(&mut w).await {
        Err(Error::WatchCompacted { compact_revision }) => assert_eq!(compact_revision, 9),
        other => panic!("expected the compaction, got {other:?}"),
    }
    assert!(w.next().await.is_none());
    assert_eq!(
        svc.creates(),
        vec![(0, 5), (1, 5)],
        "the replay from 5 is still owed after a stream-wide progress reply"
    );
}

#[tokio::test]
async fn a_refused_create_fails_and_a_dropped_watcher_is_cancelled() {
    let (svc, url) = serve(|_, n, r| match (n, &r.request_union) {
        (0, _) => vec![created(0, 3)],
        (1, _) => vec![Reply::Send(WatchResponse {
            header: header(3),
            watch_id: -1,
            created: true,
            canceled: true,
            cancel_reason: "mvcc: watcher range is empty".into(),
            ..Default::default()
        })],
        (2, _) => vec![created(1, 3)],
        (_, Some(RequestUnion::CancelRequest(c))) => vec![Reply::Send(WatchResponse {
            header: header(3),
            watch_id: c.watch_id,
            canceled: true,
            ..Default::default()
        })],
        _ => vec![],
    })
    .await;
    let c = client(url, None).await;
    let kept = c.watch("a", WatchOptions::default()).await.unwrap();
    match c.watch("b", WatchOptions::default()).await {
        Err(Error::WatchCanceled { reason }) => assert_eq!(reason, "mvcc: watcher range is empty"),
        other => panic!("expected the refusal, got {other:?}"),
    }
    // With another watcher left the stream stays; the dropped one is
    // cancelled on it (dropping the last closes the stream instead).
    let mut other = c.watch("c", WatchOptions::default()).await.unwrap();
    drop(kept);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while svc.cancels().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no cancel sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(svc.cancels(), vec![0]);
    // Closing the client ends the rest.
    c.close();
    assert!(matches!(next(&mut other).await, Err(Error::Closed)));
    assert!(other.next().await.is_none());
    assert!(matches!(
        c.watch("d", WatchOptions::default()).await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn a_stream_that_never_answers_is_replaced() {
    // The first stream takes every request and answers none (a stopped member).
    let (svc, url) = serve(|stream, _, _| match stream {
        0 => vec![],
        _ => vec![created(0, 4)],
    })
    .await;
    let c = client(
        url,
        Some((Duration::from_millis(200), Duration::from_millis(300))),
    )
    .await;
    let start = tokio::time::Instant::now();
    let w = c.watch("k", WatchOptions::default()).await;
    assert!(w.is_ok(), "{w:?}");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "replaced after {took:?}"
    );
    let seen = svc.seen.lock().unwrap().clone();
    let first: Vec<_> = seen
        .iter()
        .filter(|(s, _)| *s == 0)
        .map(|(_, r)| match &r.request_union {
            Some(RequestUnion::CreateRequest(_)) => "create",
            Some(RequestUnion::ProgressRequest(_)) => "progress",
            _ => "other",
        })
        .collect();
    assert_eq!(
        first,
        vec!["create", "progress"],
        "probed once, then given up"
    );
}
