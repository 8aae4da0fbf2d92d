//! The SDK's client metrics (feature `metrics`, `etcd_sdk::metrics`) counted
//! by `metrics-util`'s debugging recorder after real calls against etcd
//! 3.4.23: calls and errors by method and code, latencies, an endpoint switch
//! off a dead endpoint, a watch resumed and a keepalive missed across a
//! paused (SIGSTOP) member, and the v2 client's calls.
//!
//! Each test installs the recorder as its thread's local recorder and runs on
//! a current-thread runtime, so every task the client spawns records into it
//! and tests running side by side do not mix their counts.
#![cfg(all(not(madsim), feature = "metrics"))]

use etcd_sdk::keys::{GetOptions as V2GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::metrics::{
    CALL_DURATION, CALLS, ENDPOINT_SWITCHES, ERRORS, KEEPALIVE_MISSES, WATCH_RESUMES,
};
use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, GetOptions, KV, Lease, Op, PutOptions, WatchOptions,
    Watcher,
};
use etcd_test_support::EtcdCluster;
use etcd_test_support::ports::closed_port;
use futures_util::StreamExt;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::collections::BTreeMap;
use std::time::Duration;

/// One metric: its kind, name and labels (sorted), as text.
type Id = (String, String, Vec<(String, String)>);

/// What the recorder holds now (counters as counts, histograms as sample
/// counts); reading resets it.
fn take(s: &Snapshotter) -> BTreeMap<Id, u64> {
    s.snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, value)| {
            let (kind, key) = ck.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_string(), l.value().to_string()))
                .collect();
            labels.sort();
            let kind = match kind {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
                MetricKind::Histogram => "histogram",
            };
            let n = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Gauge(g) => g.into_inner() as u64,
                DebugValue::Histogram(v) => {
                    assert!(v.iter().all(|x| x.into_inner() >= 0.0), "{v:?}");
                    v.len() as u64
                }
            };
            ((kind.to_string(), key.name().to_string(), labels), n)
        })
        .collect()
}

fn id(kind: &str, name: &str, labels: &[(&str, &str)]) -> Id {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    (kind.to_string(), name.to_string(), labels)
}

fn get(m: &BTreeMap<Id, u64>, kind: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    m.get(&id(kind, name, labels)).copied().unwrap_or(0)
}

#[tokio::test]
async fn v3_calls_errors_and_latencies_by_method_and_code() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let c = EtcdCluster::start(1).await;
    let cl = Client::connect(c.client_urls()).await.unwrap();
    take(&snap); // whatever connecting did
    for i in 0..3 {
        cl.put(format!("k{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
    let got = cl.get("k", GetOptions::prefix()).await.unwrap();
    assert_eq!(got.kvs.len(), 3);
    let txn = cl
        .txn()
        .when([Compare::value("k0", CompareOp::Equal, "v")])
        .and_then([Op::put("k0", "w", PutOptions::default())])
        .commit()
        .await
        .unwrap();
    assert!(txn.succeeded);
    // Refused by etcd: a lease that does not exist (NotFound), and a txn
    // putting one key twice (InvalidArgument).
    let refused = cl.revoke(0x1234).await.unwrap_err();
    assert!(refused.etcd().is_some(), "{refused:?}");
    let dup = cl
        .txn()
        .and_then([
            Op::put("d", "1", PutOptions::default()),
            Op::put("d", "2", PutOptions::default()),
        ])
        .commit()
        .await
        .unwrap_err();
    assert!(dup.etcd().is_some(), "{dup:?}");

    let m = take(&snap);
    let v3 = |method| [("api", "v3"), ("method", method)];
    assert_eq!(get(&m, "counter", CALLS, &v3("Put")), 3, "{m:#?}");
    assert_eq!(get(&m, "counter", CALLS, &v3("Range")), 1, "{m:#?}");
    assert_eq!(get(&m, "counter", CALLS, &v3("Txn")), 2, "{m:#?}");
    assert_eq!(get(&m, "counter", CALLS, &v3("LeaseRevoke")), 1, "{m:#?}");
    assert_eq!(get(&m, "histogram", CALL_DURATION, &v3("Put")), 3, "{m:#?}");
    assert_eq!(get(&m, "histogram", CALL_DURATION, &v3("Txn")), 2, "{m:#?}");
    let errors = |method, code| [("api", "v3"), ("method", method), ("code", code)];
    assert_eq!(
        get(&m, "counter", ERRORS, &errors("LeaseRevoke", "NotFound")),
        1,
        "{m:#?}"
    );
    assert_eq!(
        get(&m, "counter", ERRORS, &errors("Txn", "InvalidArgument")),
        1,
        "{m:#?}"
    );
    let all_errors: u64 = m
        .iter()
        .filter(|(k, _)| k.1 == ERRORS)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(all_errors, 2, "only the two refusals failed: {m:#?}");
    assert_eq!(get(&m, "counter", ENDPOINT_SWITCHES, &[("api", "v3")]), 0);
}

#[tokio::test]
async fn v3_endpoint_switch_off_a_dead_endpoint() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let c = EtcdCluster::start(1).await;
    let mut urls = c.client_urls();
    urls.push(format!("http://127.0.0.1:{}", closed_port()));
    let cl = Client::new(Config {
        dial_timeout: Some(Duration::from_millis(500)),
        ..Config::new(urls)
    })
    .await
    .unwrap();
    // Round robin sends every other attempt to the dead endpoint until its
    // breaker opens (two refusals); reads are retried on the live one.
    for i in 0..8 {
        cl.get(format!("k{i}"), GetOptions::default())
            .await
            .unwrap();
    }
    let m = take(&snap);
    assert_eq!(
        get(&m, "counter", ENDPOINT_SWITCHES, &[("api", "v3")]),
        1,
        "{m:#?}"
    );
    assert_eq!(
        get(&m, "counter", CALLS, &[("api", "v3"), ("method", "Range")]),
        8,
        "{m:#?}"
    );
    assert!(
        !m.keys().any(|k| k.1 == ERRORS),
        "retried reads do not fail: {m:#?}"
    );
}

#[tokio::test]
async fn v3_watch_resume_and_keepalive_miss_across_a_paused_member() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let c = EtcdCluster::start(1).await;
    let cl = Client::new(Config {
        keep_alive_time: Some(Duration::from_millis(500)),
        keep_alive_timeout: Some(Duration::from_millis(1000)),
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(Duration::from_secs(5)),
        ..Config::new(c.client_urls())
    })
    .await
    .unwrap();
    let mut watch = cl.watch("w", WatchOptions::default()).await.unwrap();
    let lease = cl.grant(3).await.unwrap();
    let mut kept = cl.keep_alive(lease.id).await.unwrap();
    kept.next().await.expect("a first renewal").unwrap();
    take(&snap);

    // Frozen past the lease's TTL: the keepalive gets no answer in time,
    // and the watch stream dies with the connection's keepalive ping.
    c.member(0).pause();
    tokio::time::sleep(Duration::from_secs(5)).await;
    c.member(0).resume();

    // The watch resumes on a new stream and still delivers.
    cl.put("w", "after", PutOptions::default()).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("the watch resumed")
        .expect("an event")
        .unwrap();
    assert_eq!(ev.events[0].kv.value, b"after");
    // The keepalive stream ended: its lease was given up.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match kept.next().await {
                Some(Ok(_)) => continue,
                other => break other,
            }
        }
    })
    .await
    .expect("the keepalive halted");
    assert!(matches!(ended, Some(Err(_))), "{ended:?}");

    let m = take(&snap);
    assert!(get(&m, "counter", WATCH_RESUMES, &[]) >= 1, "{m:#?}");
    assert_eq!(get(&m, "counter", KEEPALIVE_MISSES, &[]), 1, "{m:#?}");
}

#[tokio::test]
async fn v2_calls_and_errors_by_method_and_status() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);

    let c = EtcdCluster::start(1).await;
    let client = etcd_sdk::HttpClient::new(etcd_sdk::Config {
        endpoints: c.client_urls(),
        ..Default::default()
    })
    .unwrap();
    let kapi = new_keys_api(client);
    take(&snap);
    kapi.set("/m/a", "1", SetOptions::default()).await.unwrap();
    kapi.set("/m/b", "2", SetOptions::default()).await.unwrap();
    kapi.get("/m/a", V2GetOptions::default()).await.unwrap();
    let missing = kapi
        .get("/m/none", V2GetOptions::default())
        .await
        .unwrap_err();
    assert!(missing.api().is_some(), "{missing:?}");

    let m = take(&snap);
    let v2 = |method| [("api", "v2"), ("method", method)];
    assert_eq!(get(&m, "counter", CALLS, &v2("PUT /v2/keys")), 2, "{m:#?}");
    assert_eq!(get(&m, "counter", CALLS, &v2("GET /v2/keys")), 2, "{m:#?}");
    assert_eq!(
        get(&m, "histogram", CALL_DURATION, &v2("GET /v2/keys")),
        2,
        "{m:#?}"
    );
    assert_eq!(
        get(
            &m,
            "counter",
            ERRORS,
            &[("api", "v2"), ("method", "GET /v2/keys"), ("code", "404")]
        ),
        1,
        "{m:#?}"
    );
}
