use super::*;
use crate::api::v3::kv::KvService;
use crate::server::v3_testing::{CLUSTER_ID, LocalV3, MEMBER_ID, RAFT_TERM};
use etcd_sdk::v3::pb::etcdserverpb::kv_server::Kv as _;
use etcd_sdk::v3::pb::etcdserverpb::{PutRequest, RangeRequest, ResponseHeader};
use etcd_sdk::v3::tonic::Code;

fn full(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: MEMBER_ID,
        revision,
        raft_term: RAFT_TERM,
    })
}

async fn grant(l: &LeaseService, id: i64, ttl: i64) -> Result<LeaseGrantResponse, Status> {
    l.lease_grant(Request::new(LeaseGrantRequest { ttl, id }))
        .await
        .map(Response::into_inner)
}

async fn ttl_of(l: &LeaseService, id: i64, keys: bool) -> LeaseTimeToLiveResponse {
    l.lease_time_to_live(Request::new(LeaseTimeToLiveRequest { id, keys }))
        .await
        .unwrap()
        .into_inner()
}

/// A keepalive stream fed from a channel.
fn keep_alive(
    l: &LeaseService,
) -> (
    mpsc::UnboundedSender<Result<LeaseKeepAliveRequest, Status>>,
    KeepAliveStream,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let requests = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (tx, l.keep_alive_stream(requests, false))
}

#[tokio::test]
async fn grant_picks_ids_raises_ttls_and_refuses_duplicates() {
    let l = LeaseService::new(Arc::new(LocalV3::new()));
    let g = grant(&l, 0, 1).await.unwrap();
    assert!(g.id > 0, "a server-chosen id is positive");
    assert_eq!((g.ttl, g.header, g.error.as_str()), (2, full(1), ""));
    let g = grant(&l, -7, 30).await.unwrap();
    assert_eq!((g.id, g.ttl), (-7, 30));
    let e = grant(&l, -7, 30).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::FailedPrecondition, "etcdserver: lease already exists")
    );
    let e = grant(&l, 9, 9_000_000_001).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::OutOfRange, "etcdserver: too large lease TTL")
    );
    let list = l
        .lease_leases(Request::new(LeaseLeasesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let mut ids: Vec<i64> = list.leases.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&-7));
    assert_eq!(list.header, full(1));
}

#[tokio::test]
async fn revoke_deletes_attached_keys_and_unknown_leases_are_not_found() {
    let backend: Arc<dyn V3Backend> = Arc::new(LocalV3::new());
    let l = LeaseService::new(backend.clone());
    let kv = KvService::new(backend);
    grant(&l, 5, 60).await.unwrap();
    for k in ["a", "b"] {
        kv.put(Request::new(PutRequest {
            key: k.into(),
            lease: 5,
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    let t = ttl_of(&l, 5, true).await;
    assert_eq!((t.id, t.granted_ttl), (5, 60));
    assert!(t.ttl > 55 && t.ttl <= 60, "remaining {}", t.ttl);
    assert_eq!(t.keys, vec![b"a".to_vec(), b"b".to_vec()]);
    assert!(ttl_of(&l, 5, false).await.keys.is_empty());
    let r = l
        .lease_revoke(Request::new(LeaseRevokeRequest { id: 5 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.header, full(4), "both keys deleted in one revision");
    let left = kv
        .range(Request::new(RangeRequest {
            key: b"a".to_vec(),
            range_end: b"c".to_vec(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.count, 0);
    let e = l
        .lease_revoke(Request::new(LeaseRevokeRequest { id: 5 }))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::NotFound, "etcdserver: requested lease not found")
    );
    let t = ttl_of(&l, 5, true).await;
    assert_eq!((t.ttl, t.granted_ttl, t.header), (-1, 0, full(4)));
}

#[tokio::test]
async fn keepalive_renews_known_leases_and_answers_zero_for_unknown_ones() {
    let l = LeaseService::new(Arc::new(LocalV3::new()));
    grant(&l, 8, 10).await.unwrap();
    let (tx, mut answers) = keep_alive(&l);
    for id in [8, 99, 8] {
        tx.send(Ok(LeaseKeepAliveRequest { id })).unwrap();
        let a = answers.next().await.unwrap().unwrap();
        let want = if id == 8 { 10 } else { 0 };
        assert_eq!((a.id, a.ttl, a.header), (id, want, full(1)));
    }
    drop(tx);
    assert!(answers.next().await.is_none(), "ends with the requests");
}

#[tokio::test]
async fn keepalive_of_an_expired_lease_waits_for_its_revoke() {
    let backend = Arc::new(LocalV3::new());
    let l = LeaseService::new(backend.clone());
    {
        let stores = backend.v3_stores();
        let mut s = stores.lock().unwrap();
        let past = Instant::now().checked_sub(Duration::from_secs(30)).unwrap();
        s.lessor.grant(4, 2, past).unwrap();
    }
    let (tx, mut answers) = keep_alive(&l);
    tx.send(Ok(LeaseKeepAliveRequest { id: 4 })).unwrap();
    let early = tokio::time::timeout(Duration::from_millis(150), answers.next()).await;
    assert!(early.is_err(), "no answer while the revoke is pending");
    l.lease_revoke(Request::new(LeaseRevokeRequest { id: 4 }))
        .await
        .unwrap();
    let a = tokio::time::timeout(Duration::from_secs(2), answers.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((a.id, a.ttl), (4, 0));
}

#[tokio::test]
async fn without_a_leader_keepalive_and_ttl_fail_after_the_wait() {
    let b = LocalV3::new();
    b.no_leader.store(true, std::sync::atomic::Ordering::SeqCst);
    let l = LeaseService::with_wait_limit(Arc::new(b), Duration::from_millis(120));
    let (tx, mut answers) = keep_alive(&l);
    tx.send(Ok(LeaseKeepAliveRequest { id: 1 })).unwrap();
    let e = answers.next().await.unwrap().unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unavailable, "etcdserver: no leader")
    );
    assert!(
        answers.next().await.is_none(),
        "the stream ends with the error"
    );
    let e = l
        .lease_time_to_live(Request::new(LeaseTimeToLiveRequest { id: 1, keys: false }))
        .await
        .unwrap_err();
    assert_eq!(e.message(), "etcdserver: no leader");
    let mut req = Request::new(LeaseGrantRequest { ttl: 5, id: 0 });
    req.metadata_mut()
        .insert("hasleader", "true".parse().unwrap());
    let e = l.lease_grant(req).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unavailable, "etcdserver: no leader")
    );
}

/// A follower forwards keepalives and TimeToLive to the leader's client URL.
#[cfg(not(madsim))]
#[tokio::test]
async fn a_follower_forwards_to_the_leader() {
    use etcd_sdk::v3::pb::etcdserverpb::lease_server::LeaseServer;
    use etcd_sdk::v3::tonic::transport::{Server, server::TcpIncoming};

    let leader = LeaseService::new(Arc::new(LocalV3::new()));
    grant(&leader, 3, 40).await.unwrap();
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = incoming.local_addr().unwrap();
    let server = tokio::spawn(
        Server::builder()
            .add_service(LeaseServer::new(leader.clone()))
            .serve_with_incoming(incoming),
    );
    let mut f = LocalV3::new();
    f.leader_urls = Some(vec![format!("http://{addr}")]);
    let follower = LeaseService::with_wait_limit(Arc::new(f), Duration::from_secs(5));
    let (tx, mut answers) = keep_alive(&follower);
    tx.send(Ok(LeaseKeepAliveRequest { id: 3 })).unwrap();
    let a = answers.next().await.unwrap().unwrap();
    assert_eq!((a.id, a.ttl, a.header), (3, 40, full(1)));
    tx.send(Ok(LeaseKeepAliveRequest { id: 77 })).unwrap();
    assert_eq!(answers.next().await.unwrap().unwrap().ttl, 0);
    let t = ttl_of(&follower, 3, false).await;
    assert_eq!((t.id, t.granted_ttl, t.header), (3, 40, full(1)));
    assert!(t.ttl > 35);
    assert_eq!(ttl_of(&follower, 77, false).await.ttl, -1);
    server.abort();
}

#[tokio::test]
async fn an_unreachable_leader_times_the_call_out() {
    let mut f = LocalV3::new();
    // Nothing listens on port 1 of the loopback address.
    f.leader_urls = Some(vec!["http://127.0.0.1:1".into()]);
    let l = LeaseService::with_wait_limit(Arc::new(f), Duration::from_millis(150));
    let e = l
        .lease_time_to_live(Request::new(LeaseTimeToLiveRequest { id: 1, keys: false }))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unavailable, "etcdserver: request timed out")
    );
}

#[tokio::test]
async fn a_hasleader_keepalive_stream_ends_when_the_leader_stays_unknown() {
    let backend = Arc::new(LocalV3::new());
    let mut l = LeaseService::new(backend.clone());
    Arc::get_mut(&mut l.inner).unwrap().leader_check = Duration::from_millis(20);
    grant(&l, 2, 30).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let requests = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut answers = l.keep_alive_stream(requests, true);
    tx.send(Ok(LeaseKeepAliveRequest { id: 2 })).unwrap();
    assert_eq!(answers.next().await.unwrap().unwrap().ttl, 30);
    backend
        .no_leader
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let e = tokio::time::timeout(Duration::from_secs(2), answers.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.message(), "etcdserver: no leader");
}
