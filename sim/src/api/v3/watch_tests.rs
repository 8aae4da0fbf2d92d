use super::*;
use crate::api::v3::kv::KvService;
use crate::server::v3_backend::V3Limits;
use crate::server::v3_testing::{CLUSTER_ID, LocalV3, MEMBER_ID, RAFT_TERM};
use etcd_sdk::v3::pb::etcdserverpb::kv_server::Kv as _;
use etcd_sdk::v3::pb::etcdserverpb::watch_create_request::FilterType;
use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, DeleteRangeRequest, PutRequest, WatchCancelRequest, WatchCreateRequest,
    WatchProgressRequest,
};
use etcd_sdk::v3::pb::mvccpb::event::EventType;
use etcd_sdk::v3::tonic::Code;
use std::time::Duration;

struct Fixture {
    backend: Arc<LocalV3>,
    kv: KvService,
    watch: WatchService,
}

fn fixture(limits: V3Limits) -> Fixture {
    let backend = Arc::new(LocalV3::with_limits(limits));
    Fixture {
        kv: KvService::new(backend.clone()),
        watch: WatchService::new(backend.clone()),
        backend,
    }
}

type Requests = mpsc::UnboundedSender<Result<WatchRequest, Status>>;

fn open(f: &Fixture) -> (Requests, WatchStream) {
    let (tx, rx) = mpsc::unbounded_channel();
    let requests = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let out = f.watch.open(&MetadataMap::new(), requests).unwrap();
    (tx, out)
}

fn create(key: &str, f: impl FnOnce(&mut WatchCreateRequest)) -> Result<WatchRequest, Status> {
    let mut c = WatchCreateRequest {
        key: key.into(),
        ..Default::default()
    };
    f(&mut c);
    Ok(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(c)),
    })
}

fn cancel(watch_id: i64) -> Result<WatchRequest, Status> {
    Ok(WatchRequest {
        request_union: Some(RequestUnion::CancelRequest(WatchCancelRequest { watch_id })),
    })
}

fn progress() -> Result<WatchRequest, Status> {
    Ok(WatchRequest {
        request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
    })
}

async fn next(out: &mut WatchStream) -> WatchResponse {
    tokio::time::timeout(Duration::from_secs(3), out.next())
        .await
        .expect("a response in time")
        .expect("the stream is open")
        .expect("not an error")
}

async fn silent(out: &mut WatchStream, ms: u64) -> bool {
    tokio::time::timeout(Duration::from_millis(ms), out.next())
        .await
        .is_err()
}

async fn put(f: &Fixture, key: &str, value: &str) {
    f.kv.put(Request::new(PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }))
    .await
    .unwrap();
}

fn full(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: MEMBER_ID,
        revision,
        raft_term: RAFT_TERM,
    })
}

#[tokio::test]
async fn create_events_cancel_and_progress_request() {
    let f = fixture(V3Limits::default());
    let (tx, mut out) = open(&f);
    tx.send(create("a", |_| {})).unwrap();
    let c = next(&mut out).await;
    assert!(c.created && !c.canceled);
    assert_eq!((c.watch_id, c.header), (0, full(1)));
    tx.send(create("b", |c| c.range_end = b"c".to_vec()))
        .unwrap();
    assert_eq!(next(&mut out).await.watch_id, 1);

    put(&f, "a", "1").await;
    let ev = next(&mut out).await;
    assert_eq!((ev.watch_id, ev.header), (0, full(2)));
    assert_eq!(ev.events.len(), 1);
    assert_eq!(ev.events[0].kv.as_ref().unwrap().value, b"1");
    put(&f, "b1", "2").await;
    let ev = next(&mut out).await;
    assert_eq!((ev.watch_id, ev.events.len()), (1, 1));

    tx.send(cancel(0)).unwrap();
    let c = next(&mut out).await;
    assert!(c.canceled && !c.created);
    assert_eq!((c.watch_id, c.header), (0, full(3)));
    put(&f, "a", "3").await;
    // An unknown id gets no reply: the next message is the progress answer.
    tx.send(cancel(42)).unwrap();
    tx.send(progress()).unwrap();
    let p = next(&mut out).await;
    assert_eq!((p.watch_id, p.header), (-1, full(4)));
    assert!(p.events.is_empty());
    assert!(silent(&mut out, 100).await);
}

#[tokio::test]
async fn filters_prev_kv_and_history_replay() {
    let f = fixture(V3Limits::default());
    put(&f, "k", "1").await; // rev 2
    let (tx, mut out) = open(&f);
    tx.send(create("k", |c| {
        c.prev_kv = true;
        c.start_revision = 1;
    }))
    .unwrap();
    tx.send(create("k", |c| c.filters = vec![FilterType::Noput as i32]))
        .unwrap();
    let mut created = 0;
    let mut replayed = None;
    while created < 2 || replayed.is_none() {
        let r = next(&mut out).await;
        if r.created {
            created += 1;
        } else {
            replayed = Some(r);
        }
    }
    let replayed = replayed.unwrap();
    assert_eq!(replayed.watch_id, 0);
    assert_eq!(replayed.events.len(), 1);
    assert!(
        replayed.events[0].prev_kv.is_none(),
        "a create has no prev_kv"
    );

    put(&f, "k", "2").await; // rev 3
    let ev = next(&mut out).await;
    assert_eq!(ev.watch_id, 0, "the NOPUT watcher gets nothing");
    assert_eq!(ev.events[0].prev_kv.as_ref().unwrap().value, b"1");
    f.kv.delete_range(Request::new(DeleteRangeRequest {
        key: b"k".to_vec(),
        ..Default::default()
    }))
    .await
    .unwrap(); // rev 4
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = next(&mut out).await;
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.events[0].r#type, EventType::Delete as i32);
        seen.push((r.watch_id, r.events[0].prev_kv.is_some()));
    }
    seen.sort_unstable();
    assert_eq!(seen, vec![(0, true), (1, false)]);
}

#[tokio::test]
async fn compaction_and_empty_ranges_cancel_the_create() {
    let f = fixture(V3Limits::default());
    for v in ["1", "2", "3"] {
        put(&f, "k", v).await;
    }
    f.kv.compact(Request::new(CompactionRequest {
        revision: 3,
        physical: false,
    }))
    .await
    .unwrap();
    let (tx, mut out) = open(&f);
    tx.send(create("k", |c| c.start_revision = 2)).unwrap();
    let c = next(&mut out).await;
    assert!(c.created);
    let cancelled = next(&mut out).await;
    assert!(cancelled.canceled);
    assert_eq!(cancelled.compact_revision, 3);
    assert_eq!(
        cancelled.header,
        Some(ResponseHeader {
            cluster_id: CLUSTER_ID,
            member_id: MEMBER_ID,
            revision: 0,
            raft_term: RAFT_TERM,
        }),
        "the compaction cancel keeps revision 0"
    );
    tx.send(create("b", |c| c.range_end = b"a".to_vec()))
        .unwrap();
    let r = next(&mut out).await;
    assert!(r.created && r.canceled);
    assert_eq!(
        (r.watch_id, r.cancel_reason.as_str()),
        (-1, "mvcc: watcher range is empty")
    );
}

#[tokio::test]
async fn progress_notifications_reach_idle_synced_watchers() {
    let f = fixture(V3Limits {
        watch_progress_notify_interval: Duration::from_millis(100),
        ..V3Limits::default()
    });
    let (tx, mut out) = open(&f);
    tx.send(create("p", |c| c.progress_notify = true)).unwrap();
    assert!(next(&mut out).await.created);
    put(&f, "other", "x").await;
    let n = next(&mut out).await;
    assert_eq!((n.watch_id, n.header), (0, full(2)));
    assert!(n.events.is_empty() && !n.created && !n.canceled);
}

#[tokio::test]
async fn dropping_the_response_stream_closes_the_store_stream() {
    let f = fixture(V3Limits::default());
    let (tx, mut out) = open(&f);
    tx.send(create("a", |_| {})).unwrap();
    assert!(next(&mut out).await.created);
    let stores = f.backend.v3_stores();
    assert_eq!(lock(&stores).watch.watcher_count(), 1);
    drop(out);
    let deadline = Instant::now() + Duration::from_secs(2);
    while lock(&stores).watch.watcher_count() > 0 {
        assert!(Instant::now() < deadline, "store stream not closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(tx.is_closed(), "the receive task stopped too");
}

#[tokio::test]
async fn a_failed_request_stream_ends_the_call_and_half_close_does_not() {
    let f = fixture(V3Limits::default());
    let (tx, mut out) = open(&f);
    tx.send(create("a", |_| {})).unwrap();
    assert!(next(&mut out).await.created);
    drop(tx); // half-close
    put(&f, "a", "1").await;
    assert_eq!(next(&mut out).await.events.len(), 1);

    let (tx, mut out) = open(&f);
    tx.send(Err(Status::cancelled("client went away"))).unwrap();
    let end = tokio::time::timeout(Duration::from_secs(2), out.next()).await;
    assert!(matches!(end, Ok(None)), "the stream ends");
}

#[tokio::test]
async fn many_watchers_on_many_streams_all_catch_up() {
    let f = fixture(V3Limits::default());
    for i in 0..20 {
        put(&f, &format!("k{i:02}"), "v").await;
    }
    let mut streams = Vec::new();
    for _ in 0..3 {
        let (tx, out) = open(&f);
        for _ in 0..5 {
            tx.send(create("k", |c| {
                c.range_end = b"l".to_vec();
                c.start_revision = 1;
            }))
            .unwrap();
        }
        streams.push((tx, out));
    }
    for (_tx, out) in &mut streams {
        let mut events = 0;
        let mut created = 0;
        while events < 5 * 20 || created < 5 {
            let r = next(out).await;
            created += usize::from(r.created);
            events += r.events.len();
        }
        assert_eq!(events, 100);
    }
}

#[tokio::test]
async fn hasleader_refuses_the_stream_without_a_leader() {
    let b = LocalV3::new();
    b.no_leader.store(true, std::sync::atomic::Ordering::SeqCst);
    let w = WatchService::new(Arc::new(b));
    let mut meta = MetadataMap::new();
    meta.insert("hasleader", "true".parse().unwrap());
    let Err(e) = w.open(&meta, futures_util::stream::pending()) else {
        panic!("refused");
    };
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unavailable, "etcdserver: no leader")
    );
    assert!(
        w.open(&MetadataMap::new(), futures_util::stream::pending())
            .is_ok()
    );
}

#[tokio::test]
async fn a_slow_reader_loses_no_event() {
    let f = fixture(V3Limits::default());
    let (tx, mut out) = open(&f);
    tx.send(create("s", |_| {})).unwrap();
    assert!(next(&mut out).await.created);
    for i in 0..400 {
        put(&f, "s", &i.to_string()).await;
    }
    let mut revisions = Vec::new();
    while revisions.len() < 400 {
        let r = next(&mut out).await;
        revisions.extend(r.events.iter().map(|e| e.kv.as_ref().unwrap().mod_revision));
    }
    assert_eq!(
        revisions,
        (2..402).collect::<Vec<i64>>(),
        "every event, in order"
    );
    assert!(silent(&mut out, 100).await);
}

#[tokio::test]
async fn a_hasleader_stream_ends_when_the_leader_stays_unknown() {
    let backend = Arc::new(LocalV3::new());
    let w = WatchService {
        backend: backend.clone(),
        leader_check: Duration::from_millis(20),
    };
    let mut meta = MetadataMap::new();
    meta.insert("hasleader", "true".parse().unwrap());
    let (tx, rx) = mpsc::unbounded_channel::<Result<WatchRequest, Status>>();
    let requests = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut out = w.open(&meta, requests).unwrap();
    let mut plain = w
        .open(&MetadataMap::new(), futures_util::stream::pending())
        .unwrap();
    tx.send(create("a", |_| {})).unwrap();
    assert!(next(&mut out).await.created);
    assert!(silent(&mut out, 100).await, "the leader is known");
    backend
        .no_leader
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let e = tokio::time::timeout(Duration::from_secs(2), out.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unavailable, "etcdserver: no leader")
    );
    assert!(
        silent(&mut plain, 150).await,
        "a stream without hasleader stays"
    );
}
