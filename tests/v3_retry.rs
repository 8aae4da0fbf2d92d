//! The v3 client's retry policy and deadline classification (spec §4.2)
//! against an in-process gRPC KV server whose answers each test scripts:
//! reads are re-sent on Unavailable, writes are sent once and fail with
//! outcome-unknown when they may have been applied, refusals stay typed, and
//! a write is moved past an endpoint that refuses connections.
#![cfg(not(madsim))]

use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::kv_server::{Kv, KvServer};
use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
};
use etcd_sdk::v3::{Client, Config, EtcdError, GetOptions, KV, PutOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tonic::{Code, Request, Response, Status};

/// What the scripted server answers to the n-th call (0-based) of a method.
type Script = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

#[derive(Clone)]
enum Answer {
    Ok,
    Fail(Code, &'static str),
    Hang,
}

#[derive(Clone)]
struct Scripted {
    script: Script,
    ranges: Arc<AtomicUsize>,
    puts: Arc<AtomicUsize>,
}

impl Scripted {
    async fn answer<T: Default>(&self, counter: &AtomicUsize) -> Result<Response<T>, Status> {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        match (self.script)(n) {
            Answer::Ok => Ok(Response::new(T::default())),
            Answer::Fail(code, msg) => Err(Status::new(code, msg)),
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(Status::new(Code::Internal, "unreachable"))
            }
        }
    }
}

#[async_trait]
impl Kv for Scripted {
    async fn range(&self, _: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        let mut r: Response<RangeResponse> = self.answer(&self.ranges).await?;
        r.get_mut().header = Some(ResponseHeader {
            revision: 7,
            ..Default::default()
        });
        Ok(r)
    }
    async fn put(&self, _: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        self.answer(&self.puts).await
    }
    async fn delete_range(
        &self,
        _: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        Err(Status::new(Code::Unimplemented, "not scripted"))
    }
    async fn txn(&self, _: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        Err(Status::new(Code::Unimplemented, "not scripted"))
    }
    async fn compact(
        &self,
        _: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        Err(Status::new(Code::Unimplemented, "not scripted"))
    }
}

/// Serves `script` on a free loopback port; returns the server's handle and URL.
async fn serve(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> (Scripted, String) {
    let svc = Scripted {
        script: Arc::new(script),
        ranges: Arc::default(),
        puts: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder().add_service(KvServer::new(svc.clone()));
    tokio::spawn(async move { server.serve_with_incoming(incoming).await });
    (svc, format!("http://{addr}"))
}

/// A loopback URL where nothing listens.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

async fn client(urls: Vec<String>) -> Client {
    Client::new(Config {
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(urls)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_read_is_resent_on_unavailable_until_it_succeeds() {
    let (svc, url) = serve(|n| {
        if n < 3 {
            Answer::Fail(Code::Unavailable, "etcdserver: leader changed")
        } else {
            Answer::Ok
        }
    })
    .await;
    let g = client(vec![url])
        .await
        .get("k", GetOptions::default())
        .await
        .unwrap();
    assert_eq!(g.header.map(|h| h.revision), Some(7));
    assert_eq!(svc.ranges.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_read_refused_otherwise_is_not_resent_and_stays_typed() {
    let (svc, url) = serve(|_| {
        Answer::Fail(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        )
    })
    .await;
    let err = client(vec![url])
        .await
        .get("k", GetOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_compacted(), "{err:?}");
    assert_eq!(svc.ranges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_write_that_reached_the_server_is_sent_once_and_outcome_unknown() {
    let (svc, url) =
        serve(|_| Answer::Fail(Code::Unavailable, "etcdserver: request timed out")).await;
    let err = client(vec![url])
        .await
        .put("k", "v", PutOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.etcd(), Some(EtcdError::Timeout));
    assert_eq!(svc.puts.load(Ordering::SeqCst), 1, "never re-sent");
}

#[tokio::test]
async fn a_refused_write_is_typed_not_outcome_unknown() {
    let (svc, url) =
        serve(|_| Answer::Fail(Code::InvalidArgument, "etcdserver: key is not provided")).await;
    let err = client(vec![url])
        .await
        .put("k", "v", PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.etcd(), Some(EtcdError::EmptyKey));
    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert_eq!(svc.puts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_hanging_write_is_outcome_unknown_and_a_hanging_read_a_timeout() {
    let (svc, url) = serve(|_| Answer::Hang).await;
    let c = client(vec![url])
        .await
        .with_timeout(Duration::from_millis(200));
    let err = c.put("k", "v", PutOptions::default()).await.unwrap_err();
    assert!(
        matches!(&err, etcd_sdk::v3::Error::OutcomeUnknown { cause } if cause.is_timeout()),
        "{err:?}"
    );
    let err = c.get("k", GetOptions::default()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(svc.puts.load(Ordering::SeqCst), 1);
    assert_eq!(svc.ranges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn writes_move_past_an_endpoint_that_refuses_connections() {
    let (svc, url) = serve(|_| Answer::Ok).await;
    let c = client(vec![dead_url(), url, dead_url()]).await;
    for i in 0..10 {
        c.put(format!("k{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(
        svc.puts.load(Ordering::SeqCst),
        10,
        "each put reached the live server once"
    );
}

#[tokio::test]
async fn only_dead_endpoints_give_a_plain_failure_not_outcome_unknown() {
    let c = client(vec![dead_url(), dead_url()]).await;
    let err = c
        .with_timeout(Duration::from_secs(1))
        .put("k", "v", PutOptions::default())
        .await
        .unwrap_err();
    assert!(!err.is_outcome_unknown(), "nothing was sent: {err:?}");
}
