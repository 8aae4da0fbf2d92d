//! Unit tests of the cluster client ([`HttpClient`]) against a scripted transport:
//! pinning and rotation, 5xx handling, redirects, the header and request
//! timeouts, at-most-once delivery, close, credentials, endpoint validation,
//! sync (both selection modes), auto-sync and the version call.

use super::*;
use crate::error::Error;
use crate::transport::{Reply, ScriptedTransport, TransportErrorKind, TransportRequest};
use ::http::{Method, StatusCode};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

const A: &str = "http://a:1";
const B: &str = "http://b:2";
const C: &str = "http://c:3";

/// A client over a scripted transport whose replies are chosen per endpoint
/// origin (`http://a:1`) or, failing that, per path; the default is `200 ok`.
struct Harness {
    transport: Arc<ScriptedTransport>,
    replies: Arc<Mutex<BTreeMap<String, Reply>>>,
    client: HttpClient,
}

impl Harness {
    fn new(endpoints: &[&str]) -> Self {
        Self::with(endpoints, |_| {})
    }

    fn with(endpoints: &[&str], tweak: impl FnOnce(&mut Config)) -> Self {
        let replies: Arc<Mutex<BTreeMap<String, Reply>>> = Arc::default();
        let script = replies.clone();
        let transport = Arc::new(ScriptedTransport::new(move |req| {
            let map = script.lock().unwrap();
            map.get(&origin(req))
                .or_else(|| map.get(req.url.path()))
                .cloned()
                .unwrap_or_else(|| Reply::status(200, "ok"))
        }));
        let mut cfg = Config::new(endpoints.iter().copied());
        cfg.transport = Some(transport.clone());
        tweak(&mut cfg);
        let client = HttpClient::new(cfg).unwrap();
        Harness {
            transport,
            replies,
            client,
        }
    }

    /// Answers requests to `key` (an origin or a path) with `reply`.
    fn on(&self, key: &str, reply: Reply) {
        self.replies.lock().unwrap().insert(key.to_string(), reply);
    }

    /// The endpoints in rotation order, starting with the pinned one.
    fn order(&self) -> Vec<String> {
        let eps = self.client.endpoints();
        let pinned = self.client.pinned_endpoint().unwrap();
        let start = eps.iter().position(|e| *e == pinned).unwrap();
        eps[start..].iter().chain(&eps[..start]).cloned().collect()
    }

    fn sent_to(&self) -> Vec<String> {
        self.transport.requests().iter().map(origin).collect()
    }
}

fn origin(req: &TransportRequest) -> String {
    req.url.origin().ascii_serialization()
}

fn get(path: &str) -> Request {
    Request::new(Method::GET, path)
}

fn cluster_errors(r: Result<Response>) -> Vec<Error> {
    match r {
        Err(Error::Cluster(c)) => c.errors,
        other => panic!("expected a cluster error, got {other:?}"),
    }
}

fn outcome_unknown(r: Result<Response>) -> (String, Error) {
    match r {
        Err(Error::OutcomeUnknown { endpoint, cause }) => (endpoint, *cause),
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
}

fn body(r: &Response) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

const MEMBERS: &str = r#"{"members":[{"id":"2745e2525fce8fe","peerURLs":["http://127.0.0.1:7003"],"name":"node3","clientURLs":["http://127.0.0.1:4003"]},{"id":"42134f434382925","peerURLs":["http://127.0.0.1:2380","http://127.0.0.1:7001"],"name":"node1","clientURLs":["http://127.0.0.1:2379","http://127.0.0.1:4001"]},{"id":"94088180e21eb87b","peerURLs":["http://127.0.0.1:7002"],"name":"node2","clientURLs":["http://127.0.0.1:4002"]}]}"#;
const MEMBER_URLS: [&str; 4] = [
    "http://127.0.0.1:2379",
    "http://127.0.0.1:4001",
    "http://127.0.0.1:4002",
    "http://127.0.0.1:4003",
];
const NODE2: &str = r#"{"id":"94088180e21eb87b","peerURLs":["http://127.0.0.1:7002"],"name":"node2","clientURLs":["http://127.0.0.1:4002"]}"#;
const NODE3: &str = r#"{"id":"2745e2525fce8fe","peerURLs":["http://127.0.0.1:7003"],"name":"node3","clientURLs":["http://127.0.0.1:4003"]}"#;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---- pinning and rotation -------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_pinned_endpoint_is_reused() {
    let h = Harness::new(&[A, B, C]);
    let pinned = h.client.pinned_endpoint().unwrap();
    assert_eq!(
        pinned,
        h.client.endpoints()[0],
        "the first endpoint of the shuffled list is pinned"
    );
    for _ in 0..3 {
        let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
        assert_eq!(resp.endpoint, pinned);
    }
    assert_eq!(h.sent_to(), vec![pinned.clone(); 3]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), pinned);
}

#[tokio::test(start_paused = true)]
async fn a_success_on_another_endpoint_moves_the_pin() {
    let h = Harness::new(&[A, B, C]);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(resp.endpoint, order[1]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), order[1]);
    h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(
        h.sent_to(),
        vec![order[0].clone(), order[1].clone(), order[1].clone()]
    );
}

#[tokio::test(start_paused = true)]
async fn every_endpoint_failing_gives_a_cluster_error_in_rotation_order() {
    let h = Harness::new(&[A, B, C]);
    let order = h.order();
    for ep in &order {
        h.on(ep, Reply::refused());
    }
    let err = h.client.send(get("/v2/keys/x")).await.unwrap_err();
    let want: String = order
        .iter()
        .enumerate()
        .map(|(i, ep)| format!("; error #{i}: GET {ep}/v2/keys/x: connect: connection refused\n"))
        .collect();
    assert_eq!(
        err.to_string(),
        format!("client: etcd cluster is unavailable or misconfigured{want}")
    );
    let errors = cluster_errors(Err(err));
    assert_eq!(errors.len(), 3);
    for (e, ep) in errors.iter().zip(&order) {
        match e {
            Error::Transport(t) => {
                assert_eq!(t.kind, TransportErrorKind::Connect);
                assert!(t.url.starts_with(ep.as_str()), "{t:?} vs {ep}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(h.sent_to(), order);
    assert_eq!(
        h.client.pinned_endpoint().unwrap(),
        order[0],
        "a total failure leaves the pin"
    );
}

#[tokio::test(start_paused = true)]
async fn rotation_starts_at_the_pin_and_wraps_around() {
    let h = Harness::new(&[A, B, C]);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    h.client.send(get("/x")).await.unwrap(); // pin moves to order[1]
    for ep in &order {
        h.on(ep, Reply::refused());
    }
    let errors = cluster_errors(h.client.send(get("/x")).await);
    assert_eq!(errors.len(), 3);
    let sent = h.sent_to();
    assert_eq!(
        sent[2..],
        [order[1].clone(), order[2].clone(), order[0].clone()]
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_on_a_replaced_list_does_not_move_the_new_pin() {
    let h = Harness::new(&[A, B]);
    let order = h.order();
    h.on(
        &order[0],
        Reply::Delay(Duration::from_millis(100), Box::new(Reply::refused())),
    );
    let c = h.client.clone();
    let call = tokio::spawn(async move { c.send(get("/x")).await });
    tokio::time::sleep(Duration::from_millis(30)).await;
    h.client
        .set_endpoints(&["http://d:4".to_string(), "http://e:5".to_string()])
        .unwrap();
    let pinned = h.client.pinned_endpoint().unwrap();
    // The call goes on over the list it started with and succeeds on its second
    // endpoint, but that index means nothing in the new list.
    assert_eq!(call.await.unwrap().unwrap().endpoint, order[1]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), pinned);
}

#[tokio::test(start_paused = true)]
async fn no_endpoint_list_can_be_empty() {
    let t = Arc::new(ScriptedTransport::new(|_| Reply::status(200, "")));
    let cfg = Config {
        transport: Some(t),
        ..Default::default()
    };
    assert!(matches!(HttpClient::new(cfg), Err(Error::NoEndpoints)));
}

// ---- 5xx and 4xx ----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn internal_error_and_unavailable_mean_no_leader_and_fail_over() {
    let h = Harness::new(&[A, B, C]);
    let order = h.order();
    h.on(
        &order[0],
        Reply::json(500, r#"{"errorCode":300,"message":"Raft Internal Error"}"#),
    );
    h.on(
        &order[1],
        Reply::json(503, r#"{"message":"During election"}"#),
    );
    let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(resp.endpoint, order[2]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), order[2]);

    h.on(&order[2], Reply::status(502, "bad gateway"));
    let errors = cluster_errors(h.client.send(get("/v2/keys/x")).await);
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    // The rotation now starts at order[2].
    assert_eq!(
        texts,
        vec![
            format!(
                "client: etcd member {} returns server error [Bad Gateway]",
                order[2]
            ),
            format!("client: etcd member {} has no leader", order[0]),
            format!("client: etcd member {} has no leader", order[1]),
        ]
    );
    assert!(matches!(errors[0], Error::ServerError { status: 502, .. }));
    assert!(matches!(errors[1], Error::NoLeader { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_client_error_status_is_an_answer_and_moves_the_pin() {
    let h = Harness::new(&[A, B]);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    h.on(
        &order[1],
        Reply::json(404, r#"{"errorCode":100}"#).header("X-Etcd-Index", "7"),
    );
    let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    assert_eq!(body(&resp), r#"{"errorCode":100}"#);
    assert_eq!(resp.header("x-etcd-index"), Some("7"));
    assert_eq!(resp.endpoint, order[1]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), order[1]);
}

// ---- redirects ------------------------------------------------------------

fn single(
    replies: Vec<Reply>,
    tweak: impl FnOnce(&mut Config),
) -> (Arc<ScriptedTransport>, HttpClient) {
    let t = Arc::new(ScriptedTransport::sequence(replies));
    let mut cfg = Config::new([A]);
    cfg.transport = Some(t.clone());
    tweak(&mut cfg);
    (t, HttpClient::new(cfg).unwrap())
}

#[tokio::test(start_paused = true)]
async fn a_redirect_is_followed_with_the_same_method_body_and_credentials() {
    let h = Harness::with(&[A], |c| {
        c.username = Some("user".into());
        c.password = Some("pass".into());
    });
    h.on(
        A,
        Reply::status(307, "").header("Location", "http://other:9/v2/keys/moved?x=1"),
    );
    h.on("http://other:9", Reply::status(201, "created"));
    let req = Request::new(Method::PUT, "/v2/keys/k")
        .query("prevExist", "false")
        .form(&[("value".into(), "v".into())]);
    let resp = h.client.send(req).await.unwrap();
    assert_eq!(resp.status, StatusCode::CREATED);
    assert_eq!(body(&resp), "created");
    assert_eq!(
        resp.endpoint, A,
        "the response names the configured endpoint"
    );
    let reqs = h.transport.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].url.as_str(), "http://a:1/v2/keys/k?prevExist=false");
    assert_eq!(reqs[1].url.as_str(), "http://other:9/v2/keys/moved?x=1");
    for r in &reqs {
        assert_eq!(r.method, Method::PUT);
        assert_eq!(&r.body[..], b"value=v");
        assert_eq!(r.headers.get("content-type").unwrap(), FORM_CONTENT_TYPE);
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            "Basic dXNlcjpwYXNz"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_relative_location_is_resolved_against_the_request_url() {
    let (t, c) = single(
        vec![
            Reply::status(301, "").header("Location", "/v2/keys/dir/"),
            Reply::status(200, "here"),
        ],
        |_| {},
    );
    let resp = c
        .send(Request::new(Method::DELETE, "/v2/keys/dir"))
        .await
        .unwrap();
    assert_eq!(body(&resp), "here");
    let reqs = t.requests();
    assert_eq!(reqs[1].url.as_str(), "http://a:1/v2/keys/dir/");
    assert_eq!(reqs[1].method, Method::DELETE);
}

#[tokio::test(start_paused = true)]
async fn a_redirect_without_location_fails_the_endpoint() {
    let (t, c) = single(vec![Reply::status(307, "")], |_| {});
    let errors = cluster_errors(c.send(get("/x")).await);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].to_string(), "location header not set");
    assert_eq!(t.requests().len(), 1);

    let (_, c) = single(
        vec![Reply::status(307, "").header("Location", "http://exa mple.com/")],
        |_| {},
    );
    let errors = cluster_errors(c.send(get("/x")).await);
    assert_eq!(
        errors[0].to_string(),
        "location header not valid URL: http://exa mple.com/"
    );
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_follows_ten_redirects() {
    let t = Arc::new(ScriptedTransport::new(|_| {
        Reply::status(307, "").header("Location", "http://a:1/loop")
    }));
    let c = HttpClient::new(Config {
        endpoints: vec![A.into()],
        transport: Some(t.clone()),
        ..Default::default()
    })
    .unwrap();
    let errors = cluster_errors(c.send(get("/x")).await);
    assert!(
        matches!(errors[..], [Error::TooManyRedirects]),
        "{errors:?}"
    );
    assert_eq!(errors[0].to_string(), "client: too many redirects");
    assert_eq!(
        t.requests().len(),
        11,
        "the first request and ten redirects"
    );

    // Ten redirects, then an answer: fine.
    let mut replies: Vec<Reply> = (0..10)
        .map(|_| Reply::status(307, "").header("Location", "/next"))
        .collect();
    replies.push(Reply::status(200, "end"));
    let (t, c) = single(replies, |_| {});
    assert_eq!(body(&c.send(get("/x")).await.unwrap()), "end");
    assert_eq!(t.requests().len(), 11);
}

#[tokio::test(start_paused = true)]
async fn a_custom_redirect_policy_is_asked_before_each_follow() {
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let record = seen.clone();
    let policy: CheckRedirect = Arc::new(move |via| {
        record.lock().unwrap().push(via);
        if via >= 3 {
            Err(Error::InvalidArgument(format!("stop at {via}")))
        } else {
            Ok(())
        }
    });
    let redirect = || Reply::status(302, "").header("Location", "/again");
    let (t, c) = single(
        vec![redirect(), redirect(), redirect(), Reply::status(200, "")],
        |cfg| cfg.check_redirect = Some(policy.clone()),
    );
    let errors = cluster_errors(c.send(get("/x")).await);
    assert_eq!(errors[0].to_string(), "client: invalid argument: stop at 3");
    assert_eq!(t.requests().len(), 3);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);

    seen.lock().unwrap().clear();
    let (t, c) = single(
        vec![redirect(), redirect(), Reply::status(200, "ok")],
        |cfg| cfg.check_redirect = Some(policy.clone()),
    );
    assert_eq!(body(&c.send(get("/x")).await.unwrap()), "ok");
    assert_eq!(t.requests().len(), 3);
    assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_policy_that_never_stops_is_cut_off_after_100_requests() {
    let t = Arc::new(ScriptedTransport::new(|_| {
        Reply::status(307, "").header("Location", "/loop")
    }));
    let c = HttpClient::new(Config {
        endpoints: vec![A.into()],
        transport: Some(t.clone()),
        check_redirect: Some(Arc::new(|_| Ok(()))),
        ..Default::default()
    })
    .unwrap();
    let errors = cluster_errors(c.send(get("/x")).await);
    assert_eq!(errors[0].to_string(), "client: too many redirect checks");
    assert_eq!(t.requests().len(), 100);
}

// ---- header timeout -------------------------------------------------------

const HEADER_TIMEOUT: Duration = Duration::from_millis(100);

fn with_header_timeout(c: &mut Config) {
    c.header_timeout_per_request = Some(HEADER_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_endpoint_exceeds_the_header_timeout_and_the_next_answers() {
    for slow in [
        Reply::Hang,
        Reply::Delay(
            Duration::from_millis(300),
            Box::new(Reply::status(200, "late")),
        ),
    ] {
        let h = Harness::with(&[A, B], with_header_timeout);
        let order = h.order();
        h.on(&order[0], slow);
        h.on(&order[1], Reply::status(200, "fast"));
        let start = Instant::now();
        let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
        assert_eq!(body(&resp), "fast");
        assert!(start.elapsed() >= HEADER_TIMEOUT && start.elapsed() < Duration::from_millis(290));
        assert_eq!(h.client.pinned_endpoint().unwrap(), order[1]);
    }
}

#[tokio::test(start_paused = true)]
async fn header_timeouts_on_every_endpoint_are_reported_per_endpoint() {
    let h = Harness::with(&[A, B], with_header_timeout);
    let order = h.order();
    for ep in &order {
        h.on(ep, Reply::Hang);
    }
    let errors = cluster_errors(h.client.send(get("/x")).await);
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        order
            .iter()
            .map(|ep| format!("client: endpoint {ep} exceeded header timeout"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_ignores_the_header_timeout() {
    let h = Harness::with(&[A, B], with_header_timeout);
    let order = h.order();
    h.on(
        &order[0],
        Reply::Delay(
            Duration::from_millis(300),
            Box::new(Reply::status(200, "event")),
        ),
    );
    let resp = h
        .client
        .send(get("/v2/keys/x").query("wait", "true").long_poll())
        .await
        .unwrap();
    assert_eq!(body(&resp), "event");
    assert_eq!(h.sent_to(), vec![order[0].clone()]);
}

// ---- at-most-once delivery --------------------------------------------------

#[tokio::test(start_paused = true)]
async fn at_most_once_moves_on_when_the_connection_was_refused() {
    let h = Harness::new(&[A, B]);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    let resp = h
        .client
        .send(Request::new(Method::DELETE, "/v2/keys/x").at_most_once())
        .await
        .unwrap();
    assert_eq!(resp.endpoint, order[1]);
    assert_eq!(h.sent_to(), order);

    for ep in &order {
        h.on(ep, Reply::refused());
    }
    let errors = cluster_errors(
        h.client
            .send(Request::new(Method::DELETE, "/v2/keys/x").at_most_once())
            .await,
    );
    assert_eq!(errors.len(), 2, "refused everywhere: certainly not applied");
}

#[tokio::test(start_paused = true)]
async fn at_most_once_after_the_request_may_have_arrived_is_outcome_unknown() {
    type CauseCheck = fn(&Error) -> bool;
    let cases: Vec<(Reply, CauseCheck)> = vec![
        (
            Reply::broken(),
            |e| matches!(e, Error::Transport(t) if t.kind == TransportErrorKind::Request),
        ),
        (Reply::Hang, |e| matches!(e, Error::HeaderTimeout { .. })),
        (Reply::status(500, ""), |e| {
            matches!(e, Error::NoLeader { .. })
        }),
        (Reply::status(503, ""), |e| {
            matches!(e, Error::NoLeader { .. })
        }),
        (Reply::status(502, ""), |e| {
            matches!(e, Error::ServerError { status: 502, .. })
        }),
    ];
    for (reply, cause_ok) in cases {
        let h = Harness::with(&[A, B, C], with_header_timeout);
        let order = h.order();
        h.on(&order[0], reply.clone());
        let req = Request::new(Method::PUT, "/v2/keys/x")
            .query("prevExist", "false")
            .at_most_once();
        let (endpoint, cause) = outcome_unknown(h.client.send(req).await);
        assert_eq!(endpoint, order[0]);
        assert!(cause_ok(&cause), "{reply:?}: cause {cause:?}");
        assert_eq!(
            h.sent_to(),
            vec![order[0].clone()],
            "{reply:?}: exactly one request"
        );
        assert_eq!(
            h.client.pinned_endpoint().unwrap(),
            order[1],
            "{reply:?}: the pin moves on"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn at_most_once_writes_makes_a_plain_set_at_most_once() {
    for method in [Method::PUT, Method::POST, Method::DELETE] {
        let h = Harness::with(&[A, B], |c| c.at_most_once_writes = true);
        let order = h.order();
        h.on(&order[0], Reply::broken());
        // A plain (retry) request: with the option it is not re-sent.
        let (endpoint, _) = outcome_unknown(
            h.client
                .send(Request::new(method.clone(), "/v2/keys/x"))
                .await,
        );
        assert_eq!(endpoint, order[0], "{method}");
        assert_eq!(h.sent_to(), vec![order[0].clone()], "{method}: one request");
    }
}

#[tokio::test(start_paused = true)]
async fn at_most_once_writes_still_fails_over_a_refused_write_and_any_read() {
    let h = Harness::with(&[A, B], |c| c.at_most_once_writes = true);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    let resp = h
        .client
        .send(Request::new(Method::PUT, "/v2/keys/x"))
        .await
        .unwrap();
    assert_eq!(resp.endpoint, order[1], "a refused write was never sent");

    let h = Harness::with(&[A, B], |c| c.at_most_once_writes = true);
    let order = h.order();
    h.on(&order[0], Reply::broken());
    let resp = h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(resp.endpoint, order[1], "reads are still retried");
    assert_eq!(h.sent_to(), order);
}

#[tokio::test(start_paused = true)]
async fn keep_endpoint_order_pins_the_first_endpoint() {
    for _ in 0..20 {
        let h = Harness::with(&[C, A, B], |c| c.keep_endpoint_order = true);
        assert_eq!(h.client.endpoints(), [C, A, B]);
        assert_eq!(h.client.pinned_endpoint().as_deref(), Some(C));
        h.client
            .set_endpoints(&[B.to_string(), C.to_string()])
            .unwrap();
        assert_eq!(h.client.endpoints(), [B, C]);
        assert_eq!(h.client.pinned_endpoint().as_deref(), Some(B));
    }
}

#[tokio::test(start_paused = true)]
async fn a_retried_request_fails_over_where_at_most_once_would_not() {
    let h = Harness::new(&[A, B]);
    let order = h.order();
    h.on(&order[0], Reply::broken());
    let resp = h
        .client
        .send(Request::new(Method::PUT, "/v2/keys/x"))
        .await
        .unwrap();
    assert_eq!(resp.endpoint, order[1]);
    assert_eq!(h.sent_to(), order);
}

// ---- request timeout and close ------------------------------------------------

const REQUEST_TIMEOUT: Duration = Duration::from_millis(150);

fn with_request_timeout(c: &mut Config) {
    c.request_timeout = Some(REQUEST_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn the_request_timeout_bounds_a_whole_call() {
    let h = Harness::with(&[A, B], with_request_timeout);
    for ep in h.order() {
        h.on(&ep, Reply::Hang);
    }
    let start = Instant::now();
    assert!(matches!(
        h.client.send(get("/x")).await,
        Err(Error::Timeout)
    ));
    assert!(start.elapsed() >= REQUEST_TIMEOUT && start.elapsed() < Duration::from_secs(2));

    let (endpoint, cause) = outcome_unknown(h.client.send(get("/x").at_most_once()).await);
    assert!(matches!(cause, Error::Timeout));
    assert_eq!(endpoint, h.order()[0]);
}

#[tokio::test(start_paused = true)]
async fn the_request_timeout_names_the_endpoint_an_at_most_once_request_reached() {
    let h = Harness::with(&[A, B], with_request_timeout);
    let order = h.order();
    h.on(&order[0], Reply::refused());
    h.on(&order[1], Reply::Hang);
    let (endpoint, cause) = outcome_unknown(h.client.send(get("/x").at_most_once()).await);
    assert_eq!(endpoint, order[1]);
    assert!(matches!(cause, Error::Timeout));
}

#[tokio::test(start_paused = true)]
async fn a_long_poll_ignores_the_request_timeout() {
    let h = Harness::with(&[A], with_request_timeout);
    h.on(
        A,
        Reply::Delay(
            Duration::from_millis(300),
            Box::new(Reply::status(200, "event")),
        ),
    );
    let resp = h.client.send(get("/v2/keys/x").long_poll()).await.unwrap();
    assert_eq!(body(&resp), "event");
}

#[tokio::test(start_paused = true)]
async fn close_cancels_calls_in_flight_and_later_ones() {
    let h = Harness::new(&[A]);
    h.on(A, Reply::Hang);
    let c = h.client.clone();
    let retry = tokio::spawn(async move { c.send(get("/x")).await });
    let c = h.client.clone();
    let once = tokio::spawn(async move { c.send(get("/y").at_most_once()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!h.client.is_closed());
    h.client.close();
    assert!(h.client.is_closed());
    assert!(matches!(retry.await.unwrap(), Err(Error::Cancelled)));
    let (endpoint, cause) = outcome_unknown(once.await.unwrap());
    assert_eq!(endpoint, A);
    assert!(matches!(cause, Error::Cancelled));

    let sent = h.transport.requests().len();
    assert!(matches!(
        h.client.send(get("/z")).await,
        Err(Error::Cancelled)
    ));
    assert_eq!(
        h.transport.requests().len(),
        sent,
        "nothing is sent after close"
    );
}

// ---- credentials ------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn basic_auth_is_sent_to_every_endpoint_tried_when_a_username_is_set() {
    let h = Harness::with(&[A, B], |c| {
        c.username = Some("user".into());
        c.password = Some("pass".into());
    });
    h.on(&h.order()[0], Reply::refused());
    h.client.send(get("/x")).await.unwrap();
    let reqs = h.transport.requests();
    assert_eq!(reqs.len(), 2);
    for r in reqs {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            "Basic dXNlcjpwYXNz"
        );
    }

    for username in [None, Some(String::new())] {
        let h = Harness::with(&[A], |c| {
            c.username = username;
            c.password = Some("pass".into());
        });
        h.client.send(get("/x")).await.unwrap();
        assert!(
            h.transport.requests()[0]
                .headers
                .get("authorization")
                .is_none()
        );
    }
}

// ---- endpoints ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn set_endpoints_validates_and_keeps_the_old_list_on_error() {
    let h = Harness::new(&[A, B]);
    let before = h.client.endpoints();
    assert!(matches!(
        h.client.set_endpoints(&[]),
        Err(Error::NoEndpoints)
    ));
    for bad in [":", "ftp://x:1", "127.0.0.1:2379", "http://"] {
        let r = h.client.set_endpoints(&[C.to_string(), bad.to_string()]);
        assert!(
            matches!(r, Err(Error::InvalidEndpoint { ref endpoint, .. }) if endpoint == bad),
            "{bad}: {r:?}"
        );
    }
    assert_eq!(h.client.endpoints(), before);

    let new = vec!["http://127.0.0.1:4009".to_string()];
    h.client.set_endpoints(&new).unwrap();
    assert_eq!(h.client.endpoints(), new);
    assert_eq!(h.client.pinned_endpoint().unwrap(), new[0]);
    h.client.send(get("/x")).await.unwrap();
    assert_eq!(h.sent_to(), vec!["http://127.0.0.1:4009"]);

    let t = Arc::new(ScriptedTransport::new(|_| Reply::status(200, "")));
    let cfg = Config {
        endpoints: vec![":".into()],
        transport: Some(t),
        ..Default::default()
    };
    assert!(matches!(
        HttpClient::new(cfg),
        Err(Error::InvalidEndpoint { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn endpoints_are_a_shuffled_permutation_of_the_input() {
    let input: Vec<String> = [A, B, C].iter().map(|s| s.to_string()).collect();
    let mut first_counts: BTreeMap<String, usize> = BTreeMap::new();
    let rounds = 300;
    for _ in 0..rounds {
        let h = Harness::new(&[A, B, C]);
        let eps = h.client.endpoints();
        assert_eq!(sorted(eps.clone()), input);
        assert_eq!(h.client.pinned_endpoint().unwrap(), eps[0]);
        *first_counts.entry(eps[0].clone()).or_default() += 1;
    }
    // Each endpoint is pinned about a third of the time (100 ± 50 is > 6 sigma).
    for ep in &input {
        let n = first_counts.get(ep).copied().unwrap_or(0);
        assert!(
            (50..=150).contains(&n),
            "{ep} pinned {n} times in {rounds}: {first_counts:?}"
        );
    }
}

// ---- sync ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn sync_collects_every_client_url_of_every_member() {
    let h = Harness::new(&["http://127.0.0.1:2379"]);
    h.on("/v2/members", Reply::json(200, MEMBERS));
    h.client.sync().await.unwrap();
    assert_eq!(sorted(h.client.endpoints()), MEMBER_URLS);
    let reqs = h.transport.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, Method::GET);
    assert_eq!(reqs[0].url.as_str(), "http://127.0.0.1:2379/v2/members");

    h.client
        .set_endpoints(&["http://127.0.0.1:4009".to_string()])
        .unwrap();
    assert_eq!(h.client.endpoints(), vec!["http://127.0.0.1:4009"]);
}

#[tokio::test(start_paused = true)]
async fn sync_with_the_same_members_keeps_order_and_pin() {
    let h = Harness::new(&MEMBER_URLS);
    h.on("/v2/members", Reply::json(200, MEMBERS));
    let order = h.client.endpoints();
    let pinned = h.client.pinned_endpoint().unwrap();
    for _ in 0..3 {
        h.client.sync().await.unwrap();
        assert_eq!(h.client.endpoints(), order);
        assert_eq!(h.client.pinned_endpoint().unwrap(), pinned);
    }
    // A moved pin survives an unchanged sync too.
    h.on(&pinned, Reply::refused());
    h.client.send(get("/x")).await.unwrap();
    let moved = h.client.pinned_endpoint().unwrap();
    assert_ne!(moved, pinned);
    h.client.sync().await.unwrap();
    assert_eq!(h.client.pinned_endpoint().unwrap(), moved);
}

#[tokio::test(start_paused = true)]
async fn sync_with_different_members_replaces_the_endpoints() {
    let h = Harness::new(&MEMBER_URLS);
    let without_node3 = r#"{"members":[{"id":"42134f434382925","peerURLs":["http://127.0.0.1:2380"],"name":"node1","clientURLs":["http://127.0.0.1:2379","http://127.0.0.1:4001"]},{"id":"94088180e21eb87b","peerURLs":["http://127.0.0.1:7002"],"name":"node2","clientURLs":["http://127.0.0.1:4002"]}]}"#;
    h.on("/v2/members", Reply::json(200, without_node3));
    h.client.sync().await.unwrap();
    assert_eq!(sorted(h.client.endpoints()), &MEMBER_URLS[..3]);
    assert_eq!(h.client.pinned_endpoint().unwrap(), h.client.endpoints()[0]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_sync_leaves_the_endpoints() {
    let h = Harness::new(&["http://127.0.0.1:2379"]);
    let before = h.client.endpoints();
    h.on("/v2/members", Reply::refused());
    assert!(matches!(h.client.sync().await, Err(Error::Cluster(_))));
    h.on("/v2/members", Reply::json(404, "404 page not found"));
    assert!(matches!(
        h.client.sync().await,
        Err(Error::UnexpectedStatus(404))
    ));
    h.on("/v2/members", Reply::json(200, r#"{"members":[{"id":"#));
    assert!(matches!(
        h.client.sync().await,
        Err(Error::InvalidJson { .. })
    ));
    h.on(
        "/v2/members",
        Reply::json(
            200,
            r#"{"members":[{"id":"1","name":"n","peerURLs":["http://p:1"],"clientURLs":[]}]}"#,
        ),
    );
    assert!(matches!(h.client.sync().await, Err(Error::NoEndpoints)));
    h.on(
        "/v2/members",
        Reply::json(
            200,
            r#"{"members":[{"id":"1","clientURLs":["ftp://x:1"]}]}"#,
        ),
    );
    assert!(matches!(
        h.client.sync().await,
        Err(Error::InvalidEndpoint { .. })
    ));
    assert_eq!(h.client.endpoints(), before);
}

fn prioritize_leader(c: &mut Config) {
    c.selection_mode = EndpointSelectionMode::PrioritizeLeader;
}

#[tokio::test(start_paused = true)]
async fn sync_in_prioritize_leader_mode_pins_the_leader() {
    let h = Harness::with(&["http://127.0.0.1:2379"], prioritize_leader);
    h.on("/v2/members", Reply::json(200, MEMBERS));
    h.on("/v2/members/leader", Reply::json(200, NODE3));
    h.client.sync().await.unwrap();
    assert_eq!(h.client.pinned_endpoint().unwrap(), "http://127.0.0.1:4003");
    // The list is the members' order, not shuffled.
    let member_order = [
        "http://127.0.0.1:4003",
        "http://127.0.0.1:2379",
        "http://127.0.0.1:4001",
        "http://127.0.0.1:4002",
    ];
    assert_eq!(h.client.endpoints(), member_order);

    h.on("/v2/members/leader", Reply::json(200, NODE2));
    h.client.sync().await.unwrap();
    assert_eq!(h.client.pinned_endpoint().unwrap(), "http://127.0.0.1:4002");
    let paths: Vec<String> = h
        .transport
        .requests()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/v2/members",
            "/v2/members/leader",
            "/v2/members",
            "/v2/members/leader"
        ]
    );
    // Requests now go to the leader.
    h.client.send(get("/v2/keys/x")).await.unwrap();
    assert_eq!(h.sent_to().last().unwrap(), "http://127.0.0.1:4002");
}

#[tokio::test(start_paused = true)]
async fn a_leader_url_missing_from_the_list_pins_the_first_member_url() {
    let h = Harness::with(&["http://127.0.0.1:2379"], prioritize_leader);
    h.on("/v2/members", Reply::json(200, MEMBERS));
    h.on(
        "/v2/members/leader",
        Reply::json(200, r#"{"id":"9","clientURLs":["http://elsewhere:1"]}"#),
    );
    h.client.sync().await.unwrap();
    assert_eq!(h.client.pinned_endpoint().unwrap(), "http://127.0.0.1:4003");
}

#[tokio::test(start_paused = true)]
async fn no_leader_in_prioritize_leader_mode_is_no_leader_endpoint() {
    let leader_replies = [
        Reply::json(404, r#"{"message":"Not found"}"#),
        Reply::json(503, r#"{"message":"During election"}"#),
        Reply::refused(),
        Reply::json(200, r#"{"id":"9","clientURLs":[]}"#),
        Reply::json(200, "not json"),
    ];
    for reply in leader_replies {
        let h = Harness::with(&["http://127.0.0.1:2379"], prioritize_leader);
        h.on("/v2/members", Reply::json(200, MEMBERS));
        h.on("/v2/members/leader", reply.clone());
        let r = h.client.sync().await;
        assert!(
            matches!(r, Err(Error::NoLeaderEndpoint)),
            "{reply:?}: {r:?}"
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "client: no leader endpoint available"
        );
        assert_eq!(
            h.client.endpoints(),
            vec!["http://127.0.0.1:2379"],
            "{reply:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn auto_sync_returns_the_first_sync_error() {
    let h = Harness::new(&["http://127.0.0.1:2379"]);
    h.on("/v2/members", Reply::refused());
    let err = h
        .client
        .auto_sync(Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("client: etcd cluster is unavailable or misconfigured"),
        "{err}"
    );
    assert_eq!(h.transport.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn auto_sync_syncs_until_closed() {
    let h = Harness::new(&["http://127.0.0.1:2379"]);
    h.on("/v2/members", Reply::json(200, MEMBERS));
    let c = h.client.clone();
    let task = tokio::spawn(async move { c.auto_sync(Duration::from_millis(50)).await });
    tokio::time::sleep(Duration::from_millis(180)).await;
    h.client.close();
    assert!(matches!(task.await.unwrap(), Err(Error::Cancelled)));
    assert!(h.transport.requests().len() >= 2, "synced repeatedly");
    assert_eq!(sorted(h.client.endpoints()), MEMBER_URLS);
    assert!(matches!(
        h.client.auto_sync(Duration::from_millis(50)).await,
        Err(Error::Cancelled)
    ));
}

// ---- version -------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn get_version_decodes_the_versions() {
    let h = Harness::new(&MEMBER_URLS);
    h.on(
        "/version",
        Reply::status(200, r#"{"etcdserver":"2.3.2","etcdcluster":"2.3.0"}"#),
    );
    let v = h.client.get_version().await.unwrap();
    assert_eq!(
        v,
        Version {
            server: "2.3.2".into(),
            cluster: "2.3.0".into()
        }
    );
    let reqs = h.transport.requests();
    assert_eq!(
        (reqs[0].method.clone(), reqs[0].url.path()),
        (Method::GET, "/version")
    );
}

#[tokio::test(start_paused = true)]
async fn get_version_errors() {
    let h = Harness::new(&[A]);
    h.on("/version", Reply::status(200, ""));
    assert!(matches!(
        h.client.get_version().await,
        Err(Error::EmptyBody)
    ));
    h.on("/version", Reply::status(200, "etcd 2.0.12"));
    assert!(matches!(
        h.client.get_version().await,
        Err(Error::InvalidJson { .. })
    ));
    h.on("/version", Reply::status(404, "404 page not found"));
    assert!(matches!(
        h.client.get_version().await,
        Err(Error::InvalidJson { .. })
    ));
    h.on("/version", Reply::json(403, r#"{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}"#));
    match h.client.get_version().await {
        Err(Error::Api(e)) => assert_eq!(
            e.to_string(),
            "110: The request requires user authentication (Insufficient credentials) [0]"
        ),
        other => panic!("{other:?}"),
    }
}

// ---- per-call deadline ---------------------------------------------------------

fn within(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// `start` was `ms` ago: exactly on tokio's paused clock, give or take the
/// simulator's per-step overhead (µs) in sim builds.
#[track_caller]
fn assert_took(start: Instant, ms: u64, why: &str) {
    let want = Duration::from_millis(ms);
    let took = start.elapsed();
    assert!(
        took >= want && took < want + Duration::from_millis(5),
        "took {took:?}, expected {want:?}: {why}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_deadline_makes_a_sent_at_most_once_request_outcome_unknown() {
    let h = Harness::new(&[A, B]);
    for ep in h.order() {
        h.on(&ep, Reply::Hang);
    }
    let start = Instant::now();
    let (endpoint, cause) = outcome_unknown(
        h.client
            .send(get("/x").at_most_once().deadline(within(100)))
            .await,
    );
    assert_took(start, 100, "the call's deadline");
    assert_eq!(endpoint, h.order()[0]);
    assert!(matches!(cause, Error::Timeout), "{cause:?}");
    assert_eq!(h.sent_to(), vec![endpoint], "not re-sent anywhere");
}

#[tokio::test(start_paused = true)]
async fn a_call_deadline_on_a_retryable_request_is_a_timeout() {
    let h = Harness::new(&[A, B]);
    for ep in h.order() {
        h.on(&ep, Reply::Hang);
    }
    let start = Instant::now();
    let r = h.client.send(get("/x").deadline(within(100))).await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    assert_took(start, 100, "the call's deadline");
}

#[tokio::test(start_paused = true)]
async fn a_call_deadline_that_already_passed_sends_nothing() {
    let h = Harness::new(&[A]);
    let past = Instant::now();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let r = h.client.send(get("/x").at_most_once().deadline(past)).await;
    assert!(
        matches!(r, Err(Error::Timeout)),
        "certainly not applied: {r:?}"
    );
    assert!(h.transport.requests().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_earlier_of_the_call_deadline_and_the_request_timeout_applies() {
    for (call_ms, want_ms) in [(50, 50), (500, 150)] {
        let h = Harness::with(&[A], with_request_timeout);
        h.on(A, Reply::Hang);
        let start = Instant::now();
        let r = h.client.send(get("/x").deadline(within(call_ms))).await;
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        assert_took(start, want_ms, "the earlier bound");
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_deadline_bounds_a_long_poll_too() {
    let h = Harness::with(&[A], with_request_timeout);
    h.on(A, Reply::Hang);
    let start = Instant::now();
    let r = h
        .client
        .send(get("/v2/keys/x").long_poll().deadline(within(400)))
        .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    assert_took(
        start,
        400,
        "the client-wide timeout (150 ms) leaves long polls alone",
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_deadline_does_not_touch_calls_that_finish_in_time() {
    let h = Harness::new(&[A]);
    h.on(
        A,
        Reply::Delay(
            Duration::from_millis(90),
            Box::new(Reply::status(200, "ok")),
        ),
    );
    let resp = h
        .client
        .send(get("/x").at_most_once().deadline(within(100)))
        .await
        .unwrap();
    assert_eq!(body(&resp), "ok");
    // A later deadline set on top keeps the earlier one.
    let req = get("/x").deadline(within(100)).deadline(within(500));
    assert_eq!(req.deadline, Some(within(100)));
}

// ---- config validation ---------------------------------------------------------

#[test]
fn new_validates_the_config() {
    let t: Arc<dyn crate::transport::Transport> =
        Arc::new(ScriptedTransport::new(|_| Reply::status(200, "")));
    let base = || Config {
        transport: Some(t.clone()),
        ..Config::new([A])
    };
    for (cfg, field) in [
        (
            Config {
                request_timeout: Some(Duration::ZERO),
                ..base()
            },
            "request_timeout",
        ),
        (
            Config {
                header_timeout_per_request: Some(Duration::ZERO),
                ..base()
            },
            "header_timeout_per_request",
        ),
        (
            Config {
                username: Some("a:b".into()),
                ..base()
            },
            "username",
        ),
    ] {
        match HttpClient::new(cfg) {
            Err(Error::InvalidConfig { field: f, reason }) => {
                assert_eq!(f, field);
                assert!(!reason.is_empty());
            }
            other => panic!("{field}: expected InvalidConfig, got {other:?}"),
        }
    }
    assert!(matches!(
        Config {
            endpoints: vec![],
            ..base()
        }
        .validate(),
        Err(Error::NoEndpoints)
    ));
    for bad in [
        "",
        ":",
        "127.0.0.1:2379",
        "ftp://a:1",
        "http://a:1/?x=1",
        "http://",
    ] {
        let cfg = Config {
            endpoints: vec![A.into(), bad.into()],
            ..base()
        };
        assert!(
            matches!(cfg.validate(), Err(Error::InvalidEndpoint { ref endpoint, .. }) if endpoint == bad),
            "{bad:?}"
        );
    }
    let fine = Config {
        request_timeout: Some(Duration::from_millis(1)),
        header_timeout_per_request: Some(Duration::from_millis(1)),
        username: Some("root".into()),
        password: Some("pw:with:colons".into()),
        ..base()
    };
    assert!(fine.validate().is_ok());
    assert!(HttpClient::new(fine).is_ok());
    // A password without a username is ignored, as in Go.
    let no_user = Config {
        password: Some("pw".into()),
        ..base()
    };
    assert!(no_user.validate().is_ok());
}

#[test]
fn https_works_with_every_default_transport_and_tls_goes_to_it() {
    assert!(Config::new(["https://a:1"]).validate().is_ok());
    assert!(HttpClient::new(Config::new(["https://a:1"])).is_ok());
    let custom = Config {
        transport: Some(Arc::new(ScriptedTransport::new(|_| Reply::status(200, "")))),
        ..Config::new(["https://a:1"])
    };
    assert!(custom.validate().is_ok());
    // TLS settings are for the default transport: with one's own, refused.
    let both = Config {
        tls: Some(crate::tls::TlsConfig::new()),
        ..custom
    };
    assert!(matches!(
        both.validate(),
        Err(Error::InvalidConfig { field: "tls", .. })
    ));
    // Settings that do not load fail the client's construction, naming the file.
    let unreadable = Config {
        tls: Some(crate::tls::TlsConfig::new().ca_file("/nonexistent/ca.pem")),
        ..Config::new(["https://a:1"])
    };
    match HttpClient::new(unreadable) {
        Err(e @ Error::Tls(_)) => assert!(e.to_string().contains("TLS"), "{e}"),
        other => panic!("expected Error::Tls, got {other:?}"),
    }
}
