//! Odd and hostile v3 requests, sent through the generated gRPC clients to etcd
//! 3.4.23 and to the `etcd-sim` binary: both must answer each the same way (the
//! same response fields or the same gRPC code and text), and etcd-sim must keep
//! serving afterwards. Oversized messages are compared by gRPC code only (the
//! texts are the gRPC libraries', not etcd's).
#![cfg(not(madsim))]

use etcd_sdk::v3::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest, WatchCreateRequest, WatchRequest,
    kv_client::KvClient, watch_client::WatchClient, watch_request::RequestUnion,
};
use etcd_sdk::v3::tonic::{self, transport::Channel};
use etcd_test_support::EtcdCluster;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

async fn channel(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// What a server answered, reduced to what must be equal: the response's
/// fields without the header, or the status code and message.
fn outcome<T: std::fmt::Debug>(
    r: Result<tonic::Response<T>, tonic::Status>,
    strip: impl Fn(T) -> String,
) -> String {
    match r {
        Ok(resp) => format!("ok {}", strip(resp.into_inner())),
        Err(s) => format!("err {:?} {}", s.code(), s.message()),
    }
}

/// The battery, against one server; returns one line per case.
async fn battery(url: &str) -> Vec<String> {
    let ch = channel(url).await;
    let mut kv = KvClient::new(ch.clone()).max_decoding_message_size(64 << 20);
    let mut out = Vec::new();
    let range = |key: &[u8], end: &[u8], limit: i64, revision: i64| RangeRequest {
        key: key.to_vec(),
        range_end: end.to_vec(),
        limit,
        revision,
        ..Default::default()
    };
    let put = |key: &[u8], value: Vec<u8>| PutRequest {
        key: key.to_vec(),
        value,
        ..Default::default()
    };
    let strip_range = |r: etcd_sdk::v3::pb::etcdserverpb::RangeResponse| {
        format!("count={} more={} kvs={}", r.count, r.more, r.kvs.len())
    };
    for k in [b"a".as_slice(), b"b", b"c"] {
        kv.put(put(k, b"v".to_vec())).await.unwrap();
    }
    let cases: Vec<(&str, RangeRequest)> = vec![
        ("range_end before key", range(b"c", b"a", 0, 0)),
        ("range_end equal to key", range(b"b", b"b", 0, 0)),
        ("huge limit", range(b"a", b"\0", i64::MAX, 0)),
        ("negative limit", range(b"a", b"\0", -5, 0)),
        ("negative revision", range(b"a", b"\0", 0, -3)),
        ("huge revision", range(b"a", b"\0", 0, i64::MAX)),
        ("empty key", range(b"", b"", 0, 0)),
        ("all keys", range(b"\0", b"\0", 0, 0)),
        (
            "bad sort order",
            RangeRequest {
                sort_order: 7,
                ..range(b"a", b"\0", 0, 0)
            },
        ),
    ];
    for (name, req) in cases {
        out.push(format!(
            "{name}: {}",
            outcome(kv.range(req).await, strip_range)
        ));
    }
    let del = DeleteRangeRequest {
        key: b"z".to_vec(),
        range_end: b"a".to_vec(),
        prev_kv: true,
    };
    out.push(format!(
        "delete backwards: {}",
        outcome(kv.delete_range(del).await, |r| format!(
            "deleted={} prev={}",
            r.deleted,
            r.prev_kvs.len()
        ))
    ));
    out.push(format!(
        "txn with no compare and no ops: {}",
        outcome(kv.txn(TxnRequest::default()).await, |r| format!(
            "succeeded={} responses={}",
            r.succeeded,
            r.responses.len()
        ))
    ));
    // Over the server's receive limit (1.5 MiB + 512 KiB): the gRPC layer refuses
    // it. Compared as refused or not: grpc-go (etcd) says ResourceExhausted
    // "grpc: received message larger than max", tonic (etcd-sim) OutOfRange
    // "decoded message length too large" — a known difference.
    let big = kv.put(put(b"big", vec![b'x'; 3 << 20])).await;
    out.push(format!("3 MiB put refused: {}", big.is_err()));
    // Between the proposal limit and the receive limit: etcd's own refusal.
    let large = kv.put(put(b"large", vec![b'x'; 1_700_000])).await;
    out.push(format!("1.7 MB put: {}", outcome(large, |_| String::new())));

    // A watch create storm on one stream: every create is answered, in order.
    let mut watch = WatchClient::new(ch.clone());
    let creates: Vec<WatchRequest> = (0..500)
        .map(|i| WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: format!("storm/{i}").into_bytes(),
                ..Default::default()
            })),
        })
        .collect();
    let mut stream = watch
        .watch(futures_util::stream::iter(creates).chain(futures_util::stream::pending()))
        .await
        .unwrap()
        .into_inner();
    let mut ids = Vec::new();
    while ids.len() < 500 {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("create replies in time")
            .unwrap()
            .unwrap();
        assert!(msg.created, "{msg:?}");
        ids.push(msg.watch_id);
    }
    out.push(format!(
        "500 creates: ids 0..500 in order: {}",
        ids == (0..500).collect::<Vec<i64>>()
    ));
    drop(stream);

    // Still serving.
    let after = kv.range(range(b"a", b"", 0, 0)).await.unwrap().into_inner();
    out.push(format!("afterwards: count={}", after.count));
    out
}

use futures_util::StreamExt as _;

/// A sorted Range with an unknown sort target crashes etcd 3.4.23 (a Go panic in
/// its sort, seen here: the process dies and its port closes). etcd-sim answers
/// it (the keys in key order) and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sort_target_is_answered_not_fatal() {
    let sim = EtcdCluster::start_with(Path::new(BIN), 1).await;
    let mut kv = KvClient::new(channel(&sim.client_urls()[0]).await);
    for k in ["b", "a", "c"] {
        kv.put(PutRequest {
            key: k.into(),
            value: b"v".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let r = kv
        .range(RangeRequest {
            key: b"a".to_vec(),
            range_end: b"\0".to_vec(),
            sort_order: 2,
            sort_target: 99,
            ..Default::default()
        })
        .await;
    let keys: Vec<Vec<u8>> = r
        .expect("answered")
        .into_inner()
        .kvs
        .into_iter()
        .map(|kv| kv.key)
        .collect();
    assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let after = kv
        .range(RangeRequest {
            key: b"a".to_vec(),
            range_end: b"\0".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.count, 3, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_requests_are_answered_as_etcd_answers_them() {
    let etcd = EtcdCluster::start(1).await;
    let sim = EtcdCluster::start_with(Path::new(BIN), 1).await;
    let want = battery(&etcd.client_urls()[0]).await;
    let got = battery(&sim.client_urls()[0]).await;
    let diffs: Vec<String> = want
        .iter()
        .zip(&got)
        .filter(|(w, g)| w != g)
        .map(|(w, g)| format!("  etcd:     {w}\n  etcd-sim: {g}"))
        .collect();
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
    assert_eq!(want.len(), got.len());
}
