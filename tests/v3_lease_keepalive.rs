//! The shared keepalive stream against an in-process gRPC Lease server
//! whose keepalive streams are scripted: a lease with no answer before its
//! deadline halts with a timeout (after requests re-sent every 500 ms), and
//! a stream that fails is opened again with renewals going on.
#![cfg(not(madsim))]

use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::lease_server::{Lease as LeaseService, LeaseServer};
use etcd_sdk::v3::pb::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use etcd_sdk::v3::{Client, Config, Error, Lease};
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::{Request, Response, Status, Streaming};

enum Reply {
    Answer(i64),
    Fail,
}

/// `(stream, request index on that stream) -> replies`.
type Script = Arc<dyn Fn(usize, usize) -> Vec<Reply> + Send + Sync>;

#[derive(Clone)]
struct Scripted {
    script: Script,
    streams: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<(usize, Instant)>>>,
}

type Answers = Pin<Box<dyn Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send>>;

fn unscripted<T>() -> Result<Response<T>, Status> {
    Err(Status::unimplemented("not scripted"))
}

#[async_trait]
impl LeaseService for Scripted {
    async fn lease_grant(
        &self,
        _: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        unscripted()
    }

    async fn lease_revoke(
        &self,
        _: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        unscripted()
    }

    type LeaseKeepAliveStream = Answers;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Answers>, Status> {
        let stream = self.streams.fetch_add(1, Ordering::SeqCst);
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::unbounded_channel();
        let me = self.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Some(Ok(r)) = inbound.next().await {
                me.requests.lock().unwrap().push((stream, Instant::now()));
                for reply in (me.script)(stream, n) {
                    match reply {
                        Reply::Answer(ttl) => {
                            let _ = tx.send(Ok(LeaseKeepAliveResponse {
                                header: None,
                                id: r.id,
                                ttl,
                            }));
                        }
                        Reply::Fail => {
                            let _ = tx.send(Err(Status::unavailable("member went away")));
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

    async fn lease_time_to_live(
        &self,
        _: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        unscripted()
    }

    async fn lease_leases(
        &self,
        _: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        unscripted()
    }
}

async fn serve(
    script: impl Fn(usize, usize) -> Vec<Reply> + Send + Sync + 'static,
) -> (Scripted, Client) {
    let svc = Scripted {
        script: Arc::new(script),
        streams: Arc::default(),
        requests: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder().add_service(LeaseServer::new(svc.clone()));
    tokio::spawn(async move { server.serve_with_incoming(incoming).await });
    let client = Client::new(Config {
        dial_timeout: Some(Duration::from_millis(500)),
        ..Config::new([format!("http://{addr}")])
    })
    .await
    .unwrap();
    (svc, client)
}

#[tokio::test]
async fn no_answer_before_the_deadline_halts_with_a_timeout() {
    let (svc, c) = serve(|_, _| vec![]).await;
    let start = Instant::now();
    let mut ka = c.keep_alive(7).await.unwrap();
    let halted = tokio::time::timeout(Duration::from_secs(10), ka.next())
        .await
        .expect("halted in time");
    let took = start.elapsed();
    match halted {
        Some(Err(Error::KeepAliveHalted { id: 7, reason })) => {
            assert!(matches!(*reason, Error::Timeout), "{reason:?}")
        }
        other => panic!("expected a halt, got {other:?}"),
    }
    assert!(ka.next().await.is_none());
    // The first deadline: the dial timeout + 1 s.
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(3),
        "halted after {took:?}"
    );
    let sent = svc.requests.lock().unwrap().len();
    assert!(
        (3..=4).contains(&sent),
        "{sent} requests: one at once, then one every 500 ms until the deadline"
    );
}

#[tokio::test]
async fn a_failed_stream_is_reopened_and_renewals_go_on() {
    // Stream 0 answers its first request, then fails on the second.
    let (svc, c) = serve(|stream, n| match (stream, n) {
        (0, 0) => vec![Reply::Answer(3)],
        (0, _) => vec![Reply::Fail],
        _ => vec![Reply::Answer(3)],
    })
    .await;
    let mut ka = c.keep_alive(9).await.unwrap();
    let start = Instant::now();
    let mut answers = Vec::new();
    while answers.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(5), ka.next()).await {
            Ok(Some(Ok(a))) => answers.push((a.id, a.ttl, start.elapsed())),
            other => panic!("expected an answer, got {other:?}"),
        }
    }
    assert!(answers.iter().all(|a| (a.0, a.1) == (9, 3)), "{answers:?}");
    // TTL/3 = 1 s after the first answer the request fails the stream; the
    // new one opens 500 ms later and is sent at once.
    let second = answers[1].2;
    assert!(
        second >= Duration::from_millis(1400) && second < Duration::from_millis(2500),
        "{answers:?}"
    );
    assert_eq!(svc.streams.load(Ordering::SeqCst), 2);
}
