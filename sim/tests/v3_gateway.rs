//! The v3 HTTP/JSON gateway against etcd 3.4.23's: the same raw HTTP requests go
//! to etcd's gateway and to ours, and the answers must agree in status, content
//! type and JSON structure (keys and value types; the values differ: ids,
//! revisions). Our gateway calls a small in-memory KV + Lease + Watch gRPC server
//! (the member's real services are wired separately), served on a loopback port.
#![cfg(not(madsim))]

use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, PutRequest, PutResponse, RangeRequest,
    RangeResponse, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse, WatchRequest,
    WatchResponse, compare,
    kv_server::{Kv, KvServer},
    lease_server::{Lease, LeaseServer},
    request_op, response_op, watch_request,
    watch_server::{Watch, WatchServer},
};
use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue, event};
use etcd_sdk::v3::tonic::{self, Request, Response, Status, Streaming};
use etcd_sim::api::v3::gateway::{Gateway, is_gateway_path, rewrite_beta};
use etcd_test_support::EtcdCluster;
use etcd_test_support::ports::free_ports;
use etcd_test_support::raw_http::{self, RawResponse};
use futures_util::Stream;
use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

const TIMEOUT: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------ the fake

/// A lease of the fake.
struct FakeLease {
    ttl: i64,
    keys: BTreeSet<Vec<u8>>,
}

/// The fake's store: one revision counter, keys, leases.
#[derive(Default)]
struct State {
    rev: i64,
    compacted: i64,
    kvs: BTreeMap<Vec<u8>, KeyValue>,
    leases: BTreeMap<i64, FakeLease>,
    next_lease: i64,
}

/// An in-memory KV + Lease + Watch with etcd's answers for what the test sends.
struct Fake {
    state: Mutex<State>,
    /// Each write's revision and events, for the watchers.
    events: broadcast::Sender<(i64, Vec<Event>)>,
}

#[derive(Clone)]
struct Svc(Arc<Fake>);

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: 14841639068965178418,
        member_id: 10276657743932975437,
        revision,
        raft_term: 2,
    })
}

/// A nested (txn) header: only the revision, as etcd fills it.
fn inner_header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    match end {
        [] => key == start,
        [0] => key >= start,
        _ => key >= start && key < end,
    }
}

impl State {
    fn keys_in(&self, start: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
        self.kvs
            .keys()
            .filter(|k| in_range(k, start, end))
            .cloned()
            .collect()
    }

    fn range(&self, r: &RangeRequest) -> RangeResponse {
        let all: Vec<KeyValue> = self
            .keys_in(&r.key, &r.range_end)
            .iter()
            .filter_map(|k| self.kvs.get(k).cloned())
            .collect();
        let count = all.len() as i64;
        let limit = if r.limit > 0 {
            r.limit as usize
        } else {
            usize::MAX
        };
        let more = all.len() > limit;
        let kvs = if r.count_only {
            Vec::new()
        } else {
            all.into_iter()
                .take(limit)
                .map(|mut kv| {
                    if r.keys_only {
                        kv.value.clear();
                    }
                    kv
                })
                .collect()
        };
        RangeResponse {
            header: header(self.rev),
            kvs,
            more,
            count,
        }
    }

    /// A put at revision `rev`; its event.
    fn put_at(&mut self, rev: i64, r: &PutRequest) -> Result<(Option<KeyValue>, Event), Status> {
        if r.key.is_empty() {
            return Err(Status::invalid_argument("etcdserver: key is not provided"));
        }
        if r.lease != 0 && !self.leases.contains_key(&r.lease) {
            return Err(Status::not_found("etcdserver: requested lease not found"));
        }
        let prev = self.kvs.get(&r.key).cloned();
        let kv = KeyValue {
            key: r.key.clone(),
            create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
            mod_revision: rev,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value: r.value.clone(),
            lease: r.lease,
        };
        if let Some(l) = self.leases.get_mut(&r.lease) {
            l.keys.insert(r.key.clone());
        }
        self.kvs.insert(r.key.clone(), kv.clone());
        let ev = Event {
            r#type: event::EventType::Put as i32,
            kv: Some(kv),
            prev_kv: prev.clone(),
        };
        Ok((prev, ev))
    }

    /// Deletes `keys` at revision `rev`; the deleted pairs and events.
    fn delete_at(&mut self, rev: i64, keys: &[Vec<u8>]) -> (Vec<KeyValue>, Vec<Event>) {
        let mut prevs = Vec::new();
        let mut evs = Vec::new();
        for k in keys {
            if let Some(prev) = self.kvs.remove(k) {
                evs.push(Event {
                    r#type: event::EventType::Delete as i32,
                    kv: Some(KeyValue {
                        key: k.clone(),
                        mod_revision: rev,
                        ..Default::default()
                    }),
                    prev_kv: Some(prev.clone()),
                });
                prevs.push(prev);
            }
        }
        (prevs, evs)
    }

    fn compare(&self, c: &etcd_sdk::v3::pb::etcdserverpb::Compare) -> bool {
        use compare::{CompareResult, CompareTarget, TargetUnion};
        let kv = self.kvs.get(&c.key);
        let ord = match (&c.target_union, kv) {
            (Some(TargetUnion::Value(v)), Some(kv)) => kv.value.cmp(v),
            (Some(TargetUnion::Value(_)), None) => return false,
            (Some(TargetUnion::Version(v)), kv) => kv.map_or(0, |k| k.version).cmp(v),
            (Some(TargetUnion::CreateRevision(v)), kv) => {
                kv.map_or(0, |k| k.create_revision).cmp(v)
            }
            (Some(TargetUnion::ModRevision(v)), kv) => kv.map_or(0, |k| k.mod_revision).cmp(v),
            (Some(TargetUnion::Lease(v)), kv) => kv.map_or(0, |k| k.lease).cmp(v),
            (None, _) => return false,
        };
        let _ = CompareTarget::Value;
        match CompareResult::try_from(c.result).unwrap_or(CompareResult::Equal) {
            CompareResult::Equal => ord.is_eq(),
            CompareResult::Greater => ord.is_gt(),
            CompareResult::Less => ord.is_lt(),
            CompareResult::NotEqual => ord.is_ne(),
        }
    }
}

impl Fake {
    fn new() -> Arc<Fake> {
        Arc::new(Fake {
            state: Mutex::new(State {
                rev: 1,
                next_lease: 0x6edb_a1fb_4ae6_4a00,
                ..Default::default()
            }),
            events: broadcast::channel(64).0,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

type ReplyStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// A stream of what `rx` receives.
fn channel_stream<T: Send + 'static>(rx: mpsc::Receiver<Result<T, Status>>) -> ReplyStream<T> {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|m| (m, rx))
    }))
}

#[tonic::async_trait]
impl Kv for Svc {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        Ok(Response::new(self.0.state().range(req.get_ref())))
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let r = req.into_inner();
        let mut s = self.0.state();
        let rev = s.rev + 1;
        let (prev, ev) = s.put_at(rev, &r)?;
        s.rev = rev;
        let _ = self.0.events.send((rev, vec![ev]));
        Ok(Response::new(PutResponse {
            header: header(rev),
            prev_kv: prev.filter(|_| r.prev_kv),
        }))
    }

    async fn delete_range(
        &self,
        req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        let r = req.into_inner();
        let mut s = self.0.state();
        let keys = s.keys_in(&r.key, &r.range_end);
        if keys.is_empty() {
            return Ok(Response::new(DeleteRangeResponse {
                header: header(s.rev),
                ..Default::default()
            }));
        }
        let rev = s.rev + 1;
        let (prevs, evs) = s.delete_at(rev, &keys);
        s.rev = rev;
        let _ = self.0.events.send((rev, evs));
        Ok(Response::new(DeleteRangeResponse {
            header: header(rev),
            deleted: prevs.len() as i64,
            prev_kvs: if r.prev_kv { prevs } else { Vec::new() },
        }))
    }

    async fn txn(&self, req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let r = req.into_inner();
        let mut s = self.0.state();
        let succeeded = r.compare.iter().all(|c| s.compare(c));
        let ops = if succeeded { &r.success } else { &r.failure };
        let writes = ops
            .iter()
            .any(|o| !matches!(o.request, Some(request_op::Request::RequestRange(_))));
        let rev = if writes { s.rev + 1 } else { s.rev };
        let mut responses = Vec::new();
        let mut events = Vec::new();
        for RequestOp { request } in ops {
            let response = match request {
                Some(request_op::Request::RequestRange(rr)) => {
                    let mut resp = s.range(rr);
                    resp.header = inner_header(s.rev);
                    response_op::Response::ResponseRange(resp)
                }
                Some(request_op::Request::RequestPut(p)) => {
                    let (prev, ev) = s.put_at(rev, p)?;
                    events.push(ev);
                    response_op::Response::ResponsePut(PutResponse {
                        header: inner_header(rev),
                        prev_kv: prev.filter(|_| p.prev_kv),
                    })
                }
                Some(request_op::Request::RequestDeleteRange(d)) => {
                    let keys = s.keys_in(&d.key, &d.range_end);
                    let (prevs, evs) = s.delete_at(rev, &keys);
                    events.extend(evs);
                    response_op::Response::ResponseDeleteRange(DeleteRangeResponse {
                        header: inner_header(rev),
                        deleted: prevs.len() as i64,
                        prev_kvs: if d.prev_kv { prevs } else { Vec::new() },
                    })
                }
                _ => return Err(Status::invalid_argument("etcdserver: key not found")),
            };
            responses.push(ResponseOp {
                response: Some(response),
            });
        }
        if !events.is_empty() {
            s.rev = rev;
            let _ = self.0.events.send((rev, events));
        }
        Ok(Response::new(TxnResponse {
            header: header(s.rev),
            succeeded,
            responses,
        }))
    }

    async fn compact(
        &self,
        req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        let r = req.into_inner();
        let mut s = self.0.state();
        if r.revision <= s.compacted {
            return Err(Status::out_of_range(
                "etcdserver: mvcc: required revision has been compacted",
            ));
        }
        if r.revision > s.rev {
            return Err(Status::out_of_range(
                "etcdserver: mvcc: required revision is a future revision",
            ));
        }
        s.compacted = r.revision;
        Ok(Response::new(CompactionResponse {
            header: header(s.rev),
        }))
    }
}

#[tonic::async_trait]
impl Lease for Svc {
    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        let r = req.into_inner();
        let mut s = self.0.state();
        if r.ttl > 9_000_000_000 {
            return Err(Status::out_of_range("etcdserver: too large lease TTL"));
        }
        let id = if r.id == 0 {
            s.next_lease += 1;
            s.next_lease
        } else {
            r.id
        };
        if s.leases.contains_key(&id) {
            return Err(Status::failed_precondition(
                "etcdserver: lease already exists",
            ));
        }
        let ttl = r.ttl.max(2);
        s.leases.insert(
            id,
            FakeLease {
                ttl,
                keys: BTreeSet::new(),
            },
        );
        Ok(Response::new(LeaseGrantResponse {
            header: header(s.rev),
            id,
            ttl,
            error: String::new(),
        }))
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        let id = req.into_inner().id;
        let mut s = self.0.state();
        let Some(lease) = s.leases.remove(&id) else {
            return Err(Status::not_found("etcdserver: requested lease not found"));
        };
        let keys: Vec<Vec<u8>> = lease.keys.into_iter().collect();
        if keys.iter().any(|k| s.kvs.contains_key(k)) {
            let rev = s.rev + 1;
            let (_, evs) = s.delete_at(rev, &keys);
            s.rev = rev;
            let _ = self.0.events.send((rev, evs));
        }
        Ok(Response::new(LeaseRevokeResponse {
            header: header(s.rev),
        }))
    }

    type LeaseKeepAliveStream = ReplyStream<LeaseKeepAliveResponse>;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let mut inbound = req.into_inner();
        let fake = self.0.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            // One reply per request; the stream ends when the client's side does.
            while let Ok(Some(r)) = inbound.message().await {
                let reply = {
                    let s = fake.state();
                    LeaseKeepAliveResponse {
                        header: header(s.rev),
                        id: r.id,
                        ttl: s.leases.get(&r.id).map_or(0, |l| l.ttl),
                    }
                };
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        let r = req.into_inner();
        let s = self.0.state();
        let resp = match s.leases.get(&r.id) {
            None => LeaseTimeToLiveResponse {
                header: header(s.rev),
                id: r.id,
                ttl: -1,
                ..Default::default()
            },
            Some(l) => LeaseTimeToLiveResponse {
                header: header(s.rev),
                id: r.id,
                ttl: l.ttl - 1,
                granted_ttl: l.ttl,
                keys: if r.keys {
                    l.keys.iter().cloned().collect()
                } else {
                    Vec::new()
                },
            },
        };
        Ok(Response::new(resp))
    }

    async fn lease_leases(
        &self,
        _req: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        let s = self.0.state();
        Ok(Response::new(LeaseLeasesResponse {
            header: header(s.rev),
            leases: s.leases.keys().map(|&id| LeaseStatus { id }).collect(),
        }))
    }
}

/// One watcher of a watch stream.
struct Watcher {
    key: Vec<u8>,
    range_end: Vec<u8>,
    prev_kv: bool,
}

#[tonic::async_trait]
impl Watch for Svc {
    type WatchStream = ReplyStream<WatchResponse>;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        // A leaderless member, as the client asked with `hasleader`.
        if req.metadata().get("hasleader").is_some_and(|v| v == "true") {
            return Err(Status::unavailable("etcdserver: no leader"));
        }
        let mut inbound = Some(req.into_inner());
        let fake = self.0.clone();
        let mut events = fake.events.subscribe();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut watchers: BTreeMap<i64, Watcher> = BTreeMap::new();
            let mut next_id = 0;
            loop {
                // Like etcd's, the stream stays open after the client half-closes.
                let incoming = async {
                    match inbound.as_mut() {
                        Some(s) => s.message().await,
                        None => std::future::pending().await,
                    }
                };
                let reply = tokio::select! {
                    biased;
                    _ = tx.closed() => return,
                    m = incoming => match m {
                        Ok(Some(WatchRequest { request_union: Some(watch_request::RequestUnion::CreateRequest(c)) })) => {
                            let id = if c.watch_id != 0 { c.watch_id } else { next_id };
                            next_id = id + 1;
                            if c.key == b"fail" {
                                // Created, then the stream fails (the leader is lost).
                                let created = WatchResponse { header: header(fake.state().rev), watch_id: id, created: true, ..Default::default() };
                                let _ = tx.send(Ok(created)).await;
                                let _ = tx.send(Err(Status::unavailable("etcdserver: no leader"))).await;
                                return;
                            }
                            watchers.insert(id, Watcher { key: c.key, range_end: c.range_end, prev_kv: c.prev_kv });
                            WatchResponse { header: header(fake.state().rev), watch_id: id, created: true, ..Default::default() }
                        }
                        Ok(Some(_)) => continue,
                        Ok(None) | Err(_) => {
                            inbound = None;
                            continue;
                        }
                    },
                    e = events.recv() => {
                        let Ok((rev, evs)) = e else { return };
                        for (id, w) in &watchers {
                            let mine: Vec<Event> = evs
                                .iter()
                                .filter(|ev| ev.kv.as_ref().is_some_and(|kv| in_range(&kv.key, &w.key, &w.range_end)))
                                .cloned()
                                .map(|mut ev| {
                                    if !w.prev_kv {
                                        ev.prev_kv = None;
                                    }
                                    ev
                                })
                                .collect();
                            if !mine.is_empty() {
                                let reply = WatchResponse { header: header(rev), watch_id: *id, events: mine, ..Default::default() };
                                if tx.send(Ok(reply)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        continue;
                    }
                };
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(channel_stream(rx)))
    }
}

// ------------------------------------------------------------------ the servers

/// Serves the fake's gRPC services on a free loopback port; its address.
async fn start_fake_grpc() -> SocketAddr {
    let addr: SocketAddr = ([127, 0, 0, 1], free_ports(1)[0]).into();
    let svc = Svc(Fake::new());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(KvServer::new(svc.clone()).max_decoding_message_size(usize::MAX))
            .add_service(LeaseServer::new(svc.clone()))
            .add_service(WatchServer::new(svc))
            .serve(addr),
    );
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return addr;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the fake gRPC server did not start on {addr}");
}

/// Serves `gateway` over HTTP/1.1 on a loopback port as the member's HTTP
/// service does for `/v3` paths; the base URL.
async fn start_gateway_http(gateway: Gateway) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let gateway = gateway.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes());
                        let body = body.map_err(|e| e.to_string());
                        let path = rewrite_beta(parts.uri.path().to_string());
                        assert!(is_gateway_path(&path), "{path}");
                        let resp = gateway
                            .handle(parts.method.as_str(), &path, &parts.headers, body)
                            .await;
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// etcd 3.4.23 (one member) and our gateway over the fake.
struct Pair {
    etcd: EtcdCluster,
    ours: String,
}

async fn start_pair() -> Pair {
    let etcd = EtcdCluster::start(1).await;
    let grpc = start_fake_grpc().await;
    let ours = start_gateway_http(Gateway::new(grpc).unwrap()).await;
    Pair { etcd, ours }
}

impl Pair {
    fn etcd_url(&self) -> &str {
        self.etcd.member(0).client_url()
    }
}

// ------------------------------------------------------------------ comparing

/// The structure of a JSON value: its keys, and the type of each leaf.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

async fn post(base: &str, path: &str, body: &str) -> RawResponse {
    raw_http::request(
        base,
        "POST",
        path,
        Some(("application/json", body.as_bytes())),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| panic!("POST {base}{path}: {e}"))
}

/// Sends the same request to both; checks they agree; returns our answer.
async fn same(pair: &Pair, method: &str, path: &str, body: &str) -> RawResponse {
    let send = |base: String| async move {
        raw_http::request(
            &base,
            method,
            path,
            Some(("application/json", body.as_bytes())),
            TIMEOUT,
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {base}{path}: {e}"))
    };
    let theirs = send(pair.etcd_url().to_string()).await;
    let ours = send(pair.ours.clone()).await;
    let what = format!(
        "{method} {path} {body}\netcd: {}\nours: {}",
        theirs.text(),
        ours.text()
    );
    assert_eq!(ours.status, theirs.status, "status of {what}");
    assert_eq!(
        ours.header("content-type"),
        theirs.header("content-type"),
        "content type of {what}"
    );
    assert_eq!(
        ours.header("grpc-metadata-content-type"),
        theirs.header("grpc-metadata-content-type"),
        "{what}"
    );
    if theirs.header("content-type") == Some("application/json") {
        assert_eq!(
            shape(&ours.json()),
            shape(&theirs.json()),
            "shape of {what}"
        );
    } else {
        assert_eq!(ours.text(), theirs.text(), "{what}");
    }
    ours
}

#[tokio::test]
async fn kv_lease_and_errors_answer_as_etcds_gateway_does() {
    let p = start_pair().await;
    // KV: puts, ranges (one key, a limited prefix), txns both ways, deletes.
    same(&p, "POST", "/v3/kv/put", r#"{"key":"Zm9v","value":"YmFy"}"#).await;
    same(
        &p,
        "POST",
        "/v3/kv/put",
        r#"{"key":"Zm9vMg==","value":"YmFy"}"#,
    )
    .await;
    let r = same(
        &p,
        "POST",
        "/v3/kv/put",
        r#"{"key":"Zm9v","value":"YmF6","prev_kv":true}"#,
    )
    .await;
    assert_eq!(r.json()["prev_kv"]["value"], "YmFy");
    let r = same(&p, "POST", "/v3/kv/range", r#"{"key":"Zm9v"}"#).await;
    assert_eq!(r.json()["kvs"][0]["value"], "YmF6");
    assert_eq!(r.json()["kvs"][0]["version"], "2");
    assert_eq!(r.json()["count"], "1");
    let r = same(
        &p,
        "POST",
        "/v3beta/kv/range",
        r#"{"key":"Zm9v","rangeEnd":"Zm9w","limit":1,"keysOnly":true}"#,
    )
    .await;
    assert_eq!(r.json()["more"], true);
    assert_eq!(r.json()["count"], "2");
    same(&p, "POST", "/v3/kv/range", r#"{"key":"bm9uZQ=="}"#).await;
    let txn = r#"{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VALUE","value":"YmF6"}],
        "success":[{"request_range":{"key":"Zm9v"}},{"requestPut":{"key":"Zm9v","value":"cXV4","prev_kv":true}},
                   {"request_delete_range":{"key":"eA=="}}],
        "failure":[{"request_range":{"key":"Zm9v"}}]}"#;
    let r = same(&p, "POST", "/v3/kv/txn", txn).await;
    assert_eq!(r.json()["succeeded"], true);
    let r = same(&p, "POST", "/v3/kv/txn", txn).await;
    assert!(r.json().get("succeeded").is_none());
    let r = same(
        &p,
        "POST",
        "/v3/kv/deleterange",
        r#"{"key":"Zm9v","range_end":"Zm9w","prev_kv":true}"#,
    )
    .await;
    assert_eq!(r.json()["deleted"], "2");
    same(&p, "POST", "/v3/kv/deleterange", r#"{"key":"Zm9v"}"#).await;
    // Leases: grant with an ID, attach a key, time to live (known and not), the
    // list (also under /v3/kv/lease), revoke twice.
    let r = same(&p, "POST", "/v3/lease/grant", r#"{"TTL":60,"ID":1234}"#).await;
    assert_eq!(r.json()["ID"], "1234");
    assert_eq!(r.json()["TTL"], "60");
    same(
        &p,
        "POST",
        "/v3/kv/put",
        r#"{"key":"bGs=","value":"eA==","lease":"1234"}"#,
    )
    .await;
    let r = same(
        &p,
        "POST",
        "/v3/lease/timetolive",
        r#"{"ID":1234,"keys":true}"#,
    )
    .await;
    assert_eq!(r.json()["keys"], json!(["bGs="]));
    assert_eq!(r.json()["grantedTTL"], "60");
    let r = same(&p, "POST", "/v3/kv/lease/timetolive", r#"{"ID":"999"}"#).await;
    assert_eq!(r.json()["TTL"], "-1");
    let r = same(&p, "POST", "/v3/lease/leases", "{}").await;
    assert_eq!(r.json()["leases"], json!([{"ID": "1234"}]));
    same(&p, "POST", "/v3/kv/lease/leases", "").await;
    same(&p, "POST", "/v3/lease/revoke", r#"{"ID":1234}"#).await;
    let r = same(&p, "POST", "/v3/kv/lease/revoke", r#"{"ID":1234}"#).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "etcdserver: requested lease not found");
    assert_eq!(r.json()["code"], 5);
    // "ttl" is not the field's name: an empty grant (TTL raised to the minimum).
    let r = same(&p, "POST", "/v3/lease/grant", r#"{"ttl":"60"}"#).await;
    assert_eq!(r.json()["TTL"], "2");
    // Errors: from the server, from decoding, from routing.
    let r = same(&p, "POST", "/v3/lease/grant", r#"{"TTL":9000000001}"#).await;
    assert_eq!(r.json()["code"], 11);
    let r = same(&p, "POST", "/v3/kv/put", r#"{"key":""}"#).await;
    assert_eq!(
        r.json(),
        json!({"error": "etcdserver: key is not provided",
               "message": "etcdserver: key is not provided", "code": 3})
    );
    for bad in [
        r#"{"key":"#,
        r#"{"key":"!!"}"#,
        r#"{"sort_order":"NOPE"}"#,
        "[1]",
    ] {
        let r = same(&p, "POST", "/v3/kv/range", bad).await;
        assert_eq!(r.json()["code"], 3, "{bad}");
    }
    same(&p, "GET", "/v3/kv/range", "").await;
    same(&p, "PUT", "/v3/lease/grant", "{}").await;
    same(&p, "POST", "/v3/kv/nothere", "{}").await;
    same(&p, "POST", "/v3/kv/lease/keepalive", "{}").await;
    // Compaction: at the current revision, then again.
    let rev = post(&p.ours, "/v3/kv/range", r#"{"key":"eA=="}"#)
        .await
        .json()["header"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let etcd_rev = post(p.etcd_url(), "/v3/kv/range", r#"{"key":"eA=="}"#)
        .await
        .json()["header"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(rev, etcd_rev, "both stores at the same revision");
    let compact = format!(r#"{{"revision":"{rev}"}}"#);
    same(&p, "POST", "/v3/kv/compaction", &compact).await;
    let r = same(&p, "POST", "/v3/kv/compaction", &compact).await;
    assert_eq!(r.json()["code"], 11);
}

#[tokio::test]
async fn a_range_over_grpcs_default_4_mib_limit_comes_back_whole() {
    let grpc = start_fake_grpc().await;
    let ours = start_gateway_http(Gateway::new(grpc).unwrap()).await;
    let value = vec![b'v'; 5 << 20];
    let value64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &value);
    let put = format!(r#"{{"key":"Ymln","value":"{value64}"}}"#);
    assert_eq!(post(&ours, "/v3/kv/put", &put).await.status, 200);
    let r = post(&ours, "/v3/kv/range", r#"{"key":"Ymln"}"#).await;
    assert_eq!(r.status, 200, "{}", &r.text()[..r.text().len().min(300)]);
    assert_eq!(r.json()["kvs"][0]["value"].as_str(), Some(value64.as_str()));
}

// ------------------------------------------------------------------ streams

/// A streaming POST (HTTP/1.0, so both servers end the body by closing): the
/// status line and a reader of the body's lines.
struct StreamCall {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
    status: u16,
    /// Header lines, lowercase.
    headers: Vec<String>,
}

impl StreamCall {
    async fn open(base: &str, path: &str, body: &str) -> StreamCall {
        Self::open_with(base, path, "", body).await
    }

    /// As [`StreamCall::open`], with `headers` (each line ending in CRLF).
    async fn open_with(base: &str, path: &str, headers: &str, body: &str) -> StreamCall {
        let addr = base.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "POST {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(s).lines();
        let status_line = tokio::time::timeout(TIMEOUT, lines.next_line())
            .await
            .expect("a status line in time")
            .unwrap()
            .unwrap();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        // The headers, to the empty line.
        let mut headers = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.is_empty() {
                break;
            }
            headers.push(l.to_ascii_lowercase());
        }
        StreamCall {
            lines,
            status,
            headers,
        }
    }

    /// The next line of the body as JSON; `None` at the end.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(TIMEOUT, self.lines.next_line())
            .await
            .expect("a line in time")
            .unwrap()?;
        Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
    }
}

/// Opens a watch on key `w` with prev_kv at `base`, puts twice and deletes
/// through the gateway at `base`; the four lines the watch answered.
async fn watch_lines(base: &str) -> Vec<Value> {
    let mut watch = StreamCall::open(
        base,
        "/v3/watch",
        r#"{"create_request":{"key":"dw==","prev_kv":true}}"#,
    )
    .await;
    assert_eq!(watch.status, 200);
    let mut lines = vec![watch.next().await.expect("the created reply")];
    post(base, "/v3/kv/put", r#"{"key":"dw==","value":"MQ=="}"#).await;
    lines.push(watch.next().await.expect("the first put"));
    post(base, "/v3/kv/put", r#"{"key":"dw==","value":"Mg=="}"#).await;
    lines.push(watch.next().await.expect("the second put"));
    post(base, "/v3/kv/deleterange", r#"{"key":"dw=="}"#).await;
    lines.push(watch.next().await.expect("the delete"));
    lines
}

#[tokio::test]
async fn a_watch_streams_result_lines_as_events_happen() {
    let p = start_pair().await;
    let ours = watch_lines(&p.ours).await;
    let theirs = watch_lines(p.etcd_url()).await;
    assert_eq!(ours[0]["result"]["created"], true);
    let put = &ours[1]["result"]["events"][0];
    assert_eq!(put["kv"]["key"], "dw==");
    assert_eq!(put["kv"]["value"], "MQ==");
    assert!(put.get("type").is_none(), "PUT is the default: {put}");
    assert!(put.get("prev_kv").is_none(), "{put}");
    assert_eq!(ours[2]["result"]["events"][0]["prev_kv"]["value"], "MQ==");
    let del = &ours[3]["result"]["events"][0];
    assert_eq!(del["type"], "DELETE");
    assert_eq!(
        shape(&del["kv"]),
        json!({"key": "string", "mod_revision": "string"})
    );
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(shape(o), shape(t), "line {i}\nours: {o}\netcd: {t}");
    }
}

#[tokio::test]
async fn several_watch_requests_in_one_body_are_sent_in_order() {
    let p = start_pair().await;
    for base in [p.ours.clone(), p.etcd_url().to_string()] {
        let body = "{\"create_request\":{\"key\":\"YQ==\"}}\n{\"create_request\":{\"key\":\"Yg==\",\"watch_id\":7}}";
        let mut watch = StreamCall::open(&base, "/v3/watch", body).await;
        let first = watch.next().await.unwrap();
        assert_eq!(first["result"]["created"], true, "{base}");
        assert!(first["result"].get("watch_id").is_none(), "{base}: {first}");
        let second = watch.next().await.unwrap();
        assert_eq!(second["result"]["watch_id"], "7", "{base}");
        post(&base, "/v3/kv/put", r#"{"key":"Yg==","value":"MQ=="}"#).await;
        let ev = watch.next().await.unwrap();
        assert_eq!(ev["result"]["watch_id"], "7", "{base}: {ev}");
    }
}

#[tokio::test]
async fn a_keepalive_answers_each_request_and_ends() {
    let p = start_pair().await;
    let mut shapes = Vec::new();
    for base in [p.ours.clone(), p.etcd_url().to_string()] {
        post(&base, "/v3/lease/grant", r#"{"TTL":30,"ID":77}"#).await;
        let mut ka = StreamCall::open(
            &base,
            "/v3/lease/keepalive",
            "{\"ID\":77}\n{\"ID\":\"999\"}",
        )
        .await;
        assert_eq!(ka.status, 200);
        let known = ka.next().await.unwrap();
        assert_eq!(known["result"]["ID"], "77", "{base}");
        assert_eq!(known["result"]["TTL"], "30", "{base}");
        let unknown = ka.next().await.unwrap();
        assert_eq!(unknown["result"]["ID"], "999", "{base}");
        assert!(unknown["result"].get("TTL").is_none(), "{base}: {unknown}");
        assert!(ka.next().await.is_none(), "{base}: the stream ends");
        shapes.push((shape(&known), shape(&unknown)));
    }
    assert_eq!(shapes[0], shapes[1]);
}

#[tokio::test]
async fn a_stream_whose_first_request_is_not_json_is_a_500() {
    let p = start_pair().await;
    for base in [p.ours.clone(), p.etcd_url().to_string()] {
        let r = post(&base, "/v3/watch", "{bad").await;
        assert_eq!(r.status, 500, "{base}");
        assert_eq!(r.json()["code"], 2, "{base}");
    }
}

// ------------------------------------------------------------------ the member

/// The `etcd-sim` binary: its client port's gateway calls the member's own gRPC
/// services (HTTP/2 to its own listener): a put through the gateway is read back
/// through both the `/v3/` and the `/v3beta/` paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_gateway_calls_its_own_grpc_services() {
    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");
    let c = EtcdCluster::start_with(std::path::Path::new(BIN), 1).await;
    let url = c.member(0).client_url();
    let r = post(url, "/v3/kv/put", r#"{"key":"Zm9v","value":"YmFy"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["header"]["revision"], "2", "{}", r.text());
    for path in ["/v3/kv/range", "/v3beta/kv/range"] {
        let r = post(url, path, r#"{"key":"Zm9v"}"#).await;
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        let body = r.json();
        assert_eq!(r.status, 200, "{path}: {body}");
        assert_eq!(body["count"], "1", "{path}: {body}");
        assert_eq!(body["kvs"][0]["value"], "YmFy", "{path}: {body}");
        assert_eq!(body["kvs"][0]["mod_revision"], "2", "{path}: {body}");
    }
    let r = raw_http::get(url, "/v3/kv/range", TIMEOUT).await.unwrap();
    assert_eq!((r.status, r.text()), (405, "Method Not Allowed\n".into()));
    let r = post(url, "/v3/kv/nothere", "{}").await;
    assert_eq!((r.status, r.text()), (404, "Not Found\n".into()));
    let r = post(url, "/v3alpha/kv/range", "{}").await;
    assert_eq!((r.status, r.text()), (404, "404 page not found\n".into()));
    // The v2 API on the same port is unchanged.
    let r = raw_http::get(url, "/version", TIMEOUT).await.unwrap();
    assert_eq!(r.status, 200);
}

/// What live etcd 3.4.23 wrote for a watch stream that failed with "no leader"
/// (a watch with `Grpc-Metadata-hasleader: true` after the member lost quorum).
const NO_LEADER_CHUNK: &str = r#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#;

#[tokio::test]
async fn a_stream_refused_at_once_is_the_error_chunk_with_the_errors_status() {
    let grpc = start_fake_grpc().await;
    let ours = start_gateway_http(Gateway::new(grpc).unwrap()).await;
    // The header reaches the server as the metadata `hasleader`.
    let mut watch = StreamCall::open_with(
        &ours,
        "/v3/watch",
        "Grpc-Metadata-hasleader: true\r\n",
        r#"{"create_request":{"key":"eA=="}}"#,
    )
    .await;
    assert_eq!(watch.status, 503);
    assert!(
        watch
            .headers
            .contains(&"content-type: application/json".to_string())
    );
    let line = watch.lines.next_line().await.unwrap();
    assert_eq!(line.as_deref(), Some(NO_LEADER_CHUNK));
    assert_eq!(watch.lines.next_line().await.unwrap(), None);
}

#[tokio::test]
async fn a_stream_that_fails_later_ends_with_the_error_chunk() {
    let grpc = start_fake_grpc().await;
    let ours = start_gateway_http(Gateway::new(grpc).unwrap()).await;
    let mut watch = StreamCall::open(
        &ours,
        "/v3/watch",
        r#"{"create_request":{"key":"ZmFpbA=="}}"#,
    )
    .await;
    assert_eq!(watch.status, 200);
    assert_eq!(watch.next().await.unwrap()["result"]["created"], true);
    let line = watch.lines.next_line().await.unwrap();
    assert_eq!(line.as_deref(), Some(NO_LEADER_CHUNK));
    assert_eq!(watch.lines.next_line().await.unwrap(), None);
}
