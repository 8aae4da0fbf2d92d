//! `/metrics` of the `etcd-sim` binary beside etcd 3.4.23's: the same small
//! workload (puts, a range, a txn, a watch stream kept open, a lease granted and
//! kept alive, a Range on a compacted revision) driven over gRPC on both, both
//! scraped and parsed. Every family we export exists in etcd's with the same
//! type; the counters we share moved the same way; the watch gauges agree while
//! the stream is open and fall back once it is closed. Then
//! `--listen-metrics-urls` and `--metrics extensive` on both.

#![cfg(not(madsim))]

use etcd_sdk::v3::pb::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_sdk::v3::pb::etcdserverpb::kv_client::KvClient;
use etcd_sdk::v3::pb::etcdserverpb::lease_client::LeaseClient;
use etcd_sdk::v3::pb::etcdserverpb::watch_client::WatchClient;
use etcd_sdk::v3::pb::etcdserverpb::watch_request::RequestUnion;
use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, Compare, LeaseGrantRequest, LeaseKeepAliveRequest, PutRequest, RangeRequest,
    RequestOp, TxnRequest, WatchCreateRequest, WatchRequest, request_op,
};
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use etcd_test_support::EtcdCluster;
use etcd_test_support::ports::free_ports;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

/// The bound on any one wait.
const STEP: Duration = Duration::from_secs(10);

/// One sample: its labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// A parsed text exposition.
#[derive(Debug, Default)]
struct Exposition {
    /// `# TYPE` of each family.
    types: BTreeMap<String, String>,
    /// Samples by metric name (a histogram's `_bucket`, `_sum`, `_count` apart).
    samples: BTreeMap<String, Vec<Sample>>,
}

/// Parses `name{k="v",...} value` (label values may hold escaped quotes).
fn parse_sample(line: &str) -> Option<(String, Sample)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    let (name, mut rest) = match series.split_once('{') {
        Some((n, r)) => (n, r.strip_suffix('}')?),
        None => (series, ""),
    };
    let mut labels = BTreeMap::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"")?;
        let mut val = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => val.push(chars.next()?.1),
                (i, '"') => break i,
                (_, c) => val.push(c),
            }
        };
        labels.insert(key.to_string(), val);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Some((name.to_string(), (labels, value)))
}

fn parse(text: &str) -> Exposition {
    let mut e = Exposition::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').expect("TYPE line");
            e.types.insert(name.into(), kind.into());
        } else if !line.starts_with('#') {
            let (name, sample) =
                parse_sample(line).unwrap_or_else(|| panic!("unreadable sample: {line}"));
            e.samples.entry(name).or_default().push(sample);
        }
    }
    e
}

impl Exposition {
    /// The sum of `name`'s samples whose labels include every pair of `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(l, _)| {
                labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// The single unlabelled value of `name`.
    fn value(&self, name: &str) -> f64 {
        let samples = self
            .samples
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(samples.len(), 1, "{name}: {samples:?}");
        samples[0].1
    }

    /// The families' names with their types.
    fn families(&self) -> &BTreeMap<String, String> {
        &self.types
    }
}

/// `GET path` on `url` over HTTP/1.0 (the body comes whole): status line,
/// headers (lower-cased names) and body.
async fn http_get(url: &str, path: &str) -> (String, BTreeMap<String, String>, String) {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let fetch = async {
        let mut sock = tokio::net::TcpStream::connect(authority)
            .await
            .expect("connect");
        let req = format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
        sock.write_all(req.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        sock.read_to_end(&mut buf).await.expect("read");
        String::from_utf8_lossy(&buf).into_owned()
    };
    let text = tokio::time::timeout(STEP, fetch).await.expect("no answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body.to_string())
}

async fn scrape(url: &str) -> Exposition {
    let (status, headers, body) = http_get(url, "/metrics").await;
    assert!(status.ends_with("200 OK"), "{url}/metrics: {status}");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8"),
        "{url}"
    );
    parse(&body)
}

/// Scrapes `url` until `ok` holds (within [`STEP`]); the last scrape.
async fn scrape_until(url: &str, what: &str, ok: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = Instant::now() + STEP;
    loop {
        let e = scrape(url).await;
        if ok(&e) {
            return e;
        }
        assert!(Instant::now() < deadline, "{url}: {what} not seen: {e:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

fn put(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}

/// A watch stream left open by [`drive`]: dropping it closes the stream.
struct OpenWatch {
    _requests: mpsc::UnboundedSender<WatchRequest>,
    _responses: etcd_sdk::v3::tonic::Streaming<etcd_sdk::v3::pb::etcdserverpb::WatchResponse>,
}

/// The workload, on the member at `url`; returns the watch stream it opened.
async fn drive(url: &str) -> OpenWatch {
    let ch = channel(url).await;
    let mut kv = KvClient::new(ch.clone());
    for (k, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        kv.put(put(k, v)).await.expect("put");
    }
    let got = kv
        .range(RangeRequest {
            key: "a".into(),
            ..Default::default()
        })
        .await
        .expect("range")
        .into_inner();
    assert_eq!(got.kvs.len(), 1);
    let txn = TxnRequest {
        compare: vec![Compare {
            result: CompareResult::Equal as i32,
            target: CompareTarget::Value as i32,
            key: "a".into(),
            target_union: Some(TargetUnion::Value("1".into())),
            ..Default::default()
        }],
        success: vec![
            RequestOp {
                request: Some(request_op::Request::RequestPut(put("d", "4"))),
            },
            RequestOp {
                request: Some(request_op::Request::RequestRange(RangeRequest {
                    key: "b".into(),
                    ..Default::default()
                })),
            },
        ],
        failure: vec![],
    };
    assert!(kv.txn(txn).await.expect("txn").into_inner().succeeded);
    kv.compact(CompactionRequest {
        revision: 3,
        physical: false,
    })
    .await
    .expect("compact");
    let compacted = kv
        .range(RangeRequest {
            key: "a".into(),
            revision: 1,
            ..Default::default()
        })
        .await
        .expect_err("a compacted revision");
    assert_eq!(compacted.code(), etcd_sdk::v3::tonic::Code::OutOfRange);

    // A lease granted and kept alive once; its stream then closed.
    let mut lease = LeaseClient::new(ch.clone());
    let id = lease
        .lease_grant(LeaseGrantRequest { ttl: 60, id: 0 })
        .await
        .expect("grant")
        .into_inner()
        .id;
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(LeaseKeepAliveRequest { id }).expect("queue");
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    let mut answers = lease
        .lease_keep_alive(requests)
        .await
        .expect("keepalive")
        .into_inner();
    let renewed = answers.message().await.expect("answer").expect("one");
    assert_eq!(renewed.ttl, 60);
    drop((tx, answers));

    // A watch stream with one watcher, left open.
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: "w".into(),
            ..Default::default()
        })),
    })
    .expect("queue");
    let requests =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    let mut responses = WatchClient::new(ch)
        .watch(requests)
        .await
        .expect("watch")
        .into_inner();
    let created = responses.message().await.expect("created").expect("one");
    assert!(created.created);
    OpenWatch {
        _requests: tx,
        _responses: responses,
    }
}

fn kv_method<'a>(method: &'a str, code: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("grpc_service", "etcdserverpb.KV"),
        ("grpc_method", method),
        ("grpc_code", code),
    ]
}

/// What both servers must show after [`drive`], the watch still open.
fn check_workload(who: &str, m: &Exposition) {
    let at_least = |name: &str, labels: &[(&str, &str)], n: f64| {
        let v = m.sum(name, labels);
        assert!(
            v >= n,
            "{who}: {name}{labels:?} = {v}, expected at least {n}"
        );
    };
    at_least("grpc_server_handled_total", &kv_method("Put", "OK"), 3.0);
    at_least("grpc_server_handled_total", &kv_method("Range", "OK"), 1.0);
    at_least(
        "grpc_server_handled_total",
        &kv_method("Range", "OutOfRange"),
        1.0,
    );
    at_least("grpc_server_handled_total", &kv_method("Txn", "OK"), 1.0);
    at_least(
        "grpc_server_handled_total",
        &kv_method("Compact", "OK"),
        1.0,
    );
    let range = [
        ("grpc_method", "Range"),
        ("grpc_service", "etcdserverpb.KV"),
    ];
    at_least("grpc_server_started_total", &range, 2.0);
    at_least("grpc_server_msg_received_total", &range, 2.0);
    at_least("grpc_server_msg_sent_total", &range, 1.0);
    assert_eq!(
        m.sum("grpc_server_msg_sent_total", &range),
        m.sum("grpc_server_handled_total", &kv_method("Range", "OK")),
        "{who}: a failed unary call sends no message"
    );
    let watch = [
        ("grpc_method", "Watch"),
        ("grpc_service", "etcdserverpb.Watch"),
    ];
    at_least("grpc_server_started_total", &watch, 1.0);
    at_least("grpc_server_msg_received_total", &watch, 1.0);
    at_least("grpc_server_msg_sent_total", &watch, 1.0);
    let keepalive = [
        ("grpc_method", "LeaseKeepAlive"),
        ("grpc_type", "bidi_stream"),
    ];
    at_least("grpc_server_msg_received_total", &keepalive, 1.0);
    at_least("grpc_server_msg_sent_total", &keepalive, 1.0);
    at_least("etcd_network_client_grpc_received_bytes_total", &[], 1.0);
    at_least("etcd_network_client_grpc_sent_bytes_total", &[], 1.0);

    at_least("etcd_mvcc_put_total", &[], 4.0);
    at_least("etcd_mvcc_range_total", &[], 2.0);
    at_least("etcd_mvcc_txn_total", &[], 1.0);
    assert_eq!(m.value("etcd_mvcc_delete_total"), 0.0, "{who}");
    assert_eq!(
        m.value("etcd_debugging_mvcc_put_total"),
        m.value("etcd_mvcc_put_total")
    );
    assert_eq!(m.value("etcd_debugging_mvcc_keys_total"), 4.0, "{who}");
    assert_eq!(
        m.value("etcd_debugging_mvcc_compact_revision"),
        3.0,
        "{who}"
    );
    assert_eq!(
        m.value("etcd_debugging_mvcc_current_revision"),
        5.0,
        "{who}"
    );
    assert_eq!(m.value("etcd_debugging_lease_granted_total"), 1.0, "{who}");
    assert_eq!(m.value("etcd_debugging_lease_renewed_total"), 1.0, "{who}");
    assert_eq!(m.value("etcd_debugging_lease_revoked_total"), 0.0, "{who}");

    assert_eq!(m.value("etcd_server_has_leader"), 1.0, "{who}");
    assert_eq!(m.value("etcd_server_is_leader"), 1.0, "{who}");
    assert_eq!(m.value("etcd_server_is_learner"), 0.0, "{who}");
    at_least("etcd_server_leader_changes_seen_total", &[], 1.0);
    let committed = m.value("etcd_server_proposals_committed_total");
    assert!(committed >= 8.0, "{who}: committed {committed}");
    assert_eq!(
        m.value("etcd_server_proposals_applied_total"),
        committed,
        "{who}"
    );
    assert_eq!(m.value("etcd_server_proposals_pending"), 0.0, "{who}");
    assert_eq!(m.value("etcd_server_proposals_failed_total"), 0.0, "{who}");
    assert_eq!(
        m.sum("etcd_server_version", &[("server_version", "3.4.23")]),
        1.0,
        "{who}"
    );
    let id = &m.samples["etcd_server_id"];
    assert_eq!(id.len(), 1, "{who}");
    let hex = &id[0].0["server_id"];
    assert!(
        u64::from_str_radix(hex, 16).is_ok() && hex.len() > 8,
        "{who}: {hex}"
    );
    assert_eq!(
        m.sum("etcd_cluster_version", &[("cluster_version", "3.4")]),
        1.0
    );
    assert!(m.value("etcd_mvcc_db_total_size_in_bytes") > 0.0, "{who}");
    assert!(
        m.value("etcd_mvcc_db_total_size_in_use_in_bytes") > 0.0,
        "{who}"
    );
    at_least("etcd_disk_wal_fsync_duration_seconds_count", &[], 1.0);
    assert_eq!(
        m.sum(
            "etcd_disk_wal_fsync_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        m.value("etcd_disk_wal_fsync_duration_seconds_count"),
        "{who}"
    );
    assert!(
        m.sum(
            "etcd_disk_wal_fsync_duration_seconds_bucket",
            &[("le", "8.192")]
        ) > 0.0
    );
    assert!(
        !m.types.contains_key("grpc_server_handling_seconds"),
        "{who}: basic metrics have no handling histogram"
    );
}

fn open_watch(m: &Exposition) -> (f64, f64, f64) {
    (
        m.value("etcd_debugging_mvcc_watch_stream_total"),
        m.value("etcd_debugging_mvcc_watcher_total"),
        m.value("etcd_debugging_mvcc_slow_watcher_total"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_etcds_for_the_same_workload() {
    let etcd = EtcdCluster::start(1).await;
    let sim = EtcdCluster::start_with(Path::new(BIN), 1).await;
    let (etcd_url, sim_url) = (etcd.client_urls()[0].clone(), sim.client_urls()[0].clone());
    let etcd_watch = drive(&etcd_url).await;
    let sim_watch = drive(&sim_url).await;

    // The keepalive streams were closed: both count them handled.
    let keepalive = [("grpc_method", "LeaseKeepAlive")];
    let theirs = scrape_until(&etcd_url, "keepalive handled", |m| {
        m.sum("grpc_server_handled_total", &keepalive) >= 1.0
    })
    .await;
    let ours = scrape_until(&sim_url, "keepalive handled", |m| {
        m.sum("grpc_server_handled_total", &keepalive) >= 1.0
    })
    .await;

    // Every family we export is etcd's, with etcd's type.
    for (name, kind) in ours.families() {
        assert_eq!(
            theirs.families().get(name),
            Some(kind),
            "{name} ({kind}) is not in etcd's exposition with that type"
        );
    }
    for name in [
        "etcd_server_has_leader",
        "etcd_server_proposals_committed_total",
        "etcd_debugging_mvcc_watcher_total",
        "grpc_server_handled_total",
        "etcd_disk_wal_fsync_duration_seconds",
    ] {
        assert!(ours.families().contains_key(name), "we export {name}");
    }
    // Every method etcd lists up front, we list too (and every code for it).
    let listed = |m: &Exposition| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = m.samples["grpc_server_handled_total"]
            .iter()
            .filter(|(l, _)| l["grpc_service"] != "v3lockpb.Lock")
            .filter(|(l, _)| l["grpc_service"] != "v3electionpb.Election")
            .map(|(l, _)| {
                (
                    l["grpc_service"].clone(),
                    l["grpc_method"].clone(),
                    l["grpc_code"].clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(listed(&ours), listed(&theirs));

    check_workload("etcd", &theirs);
    check_workload("etcd-sim", &ours);
    assert_eq!(open_watch(&theirs), (1.0, 1.0, 0.0), "etcd, watch open");
    assert_eq!(
        open_watch(&ours),
        open_watch(&theirs),
        "the watch gauges agree"
    );

    // Closed: both fall back to no stream and no watcher.
    drop((etcd_watch, sim_watch));
    let closed = |m: &Exposition| open_watch(m) == (0.0, 0.0, 0.0);
    scrape_until(&etcd_url, "the watch closed", closed).await;
    let ours = scrape_until(&sim_url, "the watch closed", closed).await;
    let watch = [
        ("grpc_method", "Watch"),
        ("grpc_service", "etcdserverpb.Watch"),
    ];
    assert_eq!(
        ours.sum("grpc_server_handled_total", &watch),
        ours.sum("grpc_server_started_total", &watch),
        "the closed watch call is counted handled"
    );
}

/// Starts `bin` (or etcd) with its metrics on a URL of their own, extensive.
async fn with_metrics_url(bin: Option<&str>) -> (EtcdCluster, String) {
    let port = free_ports(1)[0];
    let metrics_url = format!("http://127.0.0.1:{port}");
    let flags = [
        "--metrics=extensive".to_string(),
        format!("--listen-metrics-urls={metrics_url}"),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let cluster = match bin {
        Some(bin) => EtcdCluster::start_bin_with_flags(Path::new(bin), 1, &flags).await,
        None => EtcdCluster::start_with_flags(1, &flags).await,
    };
    (cluster, metrics_url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_url_serves_metrics_and_health_and_extensive_adds_handling_time() {
    let mut histograms: Vec<Vec<(String, String)>> = Vec::new();
    for (who, bin) in [("etcd", None), ("etcd-sim", Some(BIN))] {
        let (cluster, metrics_url) = with_metrics_url(bin).await;
        let mut kv = KvClient::new(channel(&cluster.client_urls()[0]).await);
        kv.put(put("k", "v")).await.expect("put");

        let m = scrape(&metrics_url).await;
        assert_eq!(
            m.types
                .get("grpc_server_handling_seconds")
                .map(String::as_str),
            Some("histogram"),
            "{who}"
        );
        let put_call = [("grpc_method", "Put"), ("grpc_type", "unary")];
        assert!(
            m.sum("grpc_server_handling_seconds_count", &put_call) >= 1.0,
            "{who}"
        );
        assert!(
            m.sum("grpc_server_handling_seconds_bucket", &[("le", "10")]) >= 1.0,
            "{who}"
        );
        // One histogram per method listed, as the counters are.
        let methods: Vec<(String, String)> = m.samples["grpc_server_handling_seconds_count"]
            .iter()
            .map(|(l, _)| (l["grpc_service"].clone(), l["grpc_method"].clone()))
            .collect();
        histograms.push(methods);
        // The client URL serves the same families.
        let on_client_url = scrape(&cluster.client_urls()[0]).await;
        assert_eq!(on_client_url.types, m.types, "{who}");

        let (status, headers, body) = http_get(&metrics_url, "/health").await;
        assert!(status.ends_with("200 OK"), "{who}: {status}");
        assert_eq!(body, r#"{"health":"true"}"#, "{who}");
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{who}: no CORS"
        );
        let (status, _, _) = http_get(&metrics_url, "/version").await;
        assert!(status.ends_with("404 Not Found"), "{who}: {status}");
        // The client URL's /metrics has CORS, as every client URL answer.
        let (_, headers, _) = http_get(&cluster.client_urls()[0], "/metrics").await;
        assert_eq!(
            headers
                .get("access-control-allow-origin")
                .map(String::as_str),
            Some("*"),
            "{who}"
        );
    }
    assert_eq!(
        histograms[0], histograms[1],
        "the same handling-time histograms"
    );
}

#[test]
fn the_parser_reads_labels_escapes_and_types() {
    let e = parse(
        "# HELP x_total a\n# TYPE x_total counter\n\
         x_total{a=\"1\",b=\"q\\\"z\"} 3\nx_total 2\n\
         # TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n",
    );
    assert_eq!(e.types["x_total"], "counter");
    assert_eq!(e.sum("x_total", &[("b", "q\"z")]), 3.0);
    assert_eq!(e.sum("x_total", &[]), 5.0);
    assert_eq!(e.value("h_sum"), 0.5);
    assert_eq!(e.sum("h_bucket", &[("le", "+Inf")]), 1.0);
}
