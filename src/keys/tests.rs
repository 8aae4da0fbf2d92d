//! [`HttpKeysAPI`] through a real [`HttpClient`] over a scripted transport: the
//! exact requests each call sends, escaping, prefixes, decoding and delivery.

use super::*;
use crate::client::{Client, Config, HttpClient};
use crate::error::Error;
use crate::transport::{Reply, ScriptedTransport, TransportRequest};
use crate::wire::Action;
use std::sync::Arc;
use std::time::Duration;

/// One endpoint; used where failover does not matter.
pub(super) const EP: &str = "http://192.0.2.1:2379";
/// Two endpoints, for failover (the client shuffles them).
pub(super) const TWO: [&str; 2] = ["http://192.0.2.1:2379", "http://192.0.2.2:2379"];

/// A client over `transport` with the given endpoints and otherwise default config.
pub(super) fn client(endpoints: &[&str], transport: &Arc<ScriptedTransport>) -> HttpClient {
    client_with(endpoints, transport, Config::default())
}

/// Like [`client`], keeping the other fields of `cfg`.
pub(super) fn client_with(
    endpoints: &[&str],
    transport: &Arc<ScriptedTransport>,
    cfg: Config,
) -> HttpClient {
    let transport: Arc<dyn crate::transport::Transport> = transport.clone();
    HttpClient::new(Config {
        endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
        transport: Some(transport),
        ..cfg
    })
    .unwrap()
}

/// A keys API at `/v2/keys` over one endpoint answering every request with `reply`.
fn api_replying(reply: Reply) -> (HttpKeysAPI, Arc<ScriptedTransport>) {
    let t = Arc::new(ScriptedTransport::new(move |_| reply.clone()));
    (new_keys_api(Arc::new(client(&[EP], &t))), t)
}

/// A successful event reply with the usual headers.
pub(super) fn event(action: &str, key: &str, modified: u64) -> Reply {
    let body = format!(
        r#"{{"action":"{action}","node":{{"key":"{key}","value":"v","modifiedIndex":{modified},"createdIndex":{modified}}}}}"#
    );
    Reply::json(200, body)
        .header("X-Etcd-Index", &modified.to_string())
        .header("X-Etcd-Cluster-Id", "cdf818194e3a8c32")
        .header("X-Raft-Index", &(modified + 100).to_string())
        .header("X-Raft-Term", "2")
}

/// What a test checks of a sent request.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Sent {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

pub(super) fn sent(r: &TransportRequest) -> Sent {
    Sent {
        method: r.method.to_string(),
        path: r.url.path().to_string(),
        query: r.url.query().map(str::to_string),
        content_type: r
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string()),
        body: String::from_utf8(r.body.to_vec()).unwrap(),
    }
}

fn only_request(t: &ScriptedTransport) -> Sent {
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    sent(&reqs[0])
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

fn expect(
    method: &str,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> Sent {
    Sent {
        method: method.into(),
        path: path.into(),
        query: query.map(Into::into),
        content_type: content_type.map(Into::into),
        body: body.into(),
    }
}

#[tokio::test]
async fn get_always_sends_quorum_recursive_and_sorted() {
    let cases = [
        (
            GetOptions::default(),
            "quorum=false&recursive=false&sorted=false",
        ),
        (
            GetOptions {
                recursive: true,
                ..Default::default()
            },
            "quorum=false&recursive=true&sorted=false",
        ),
        (
            GetOptions {
                sort: true,
                ..Default::default()
            },
            "quorum=false&recursive=false&sorted=true",
        ),
        (
            GetOptions {
                quorum: true,
                ..Default::default()
            },
            "quorum=true&recursive=false&sorted=false",
        ),
        (
            GetOptions {
                recursive: true,
                sort: true,
                quorum: true,
            },
            "quorum=true&recursive=true&sorted=true",
        ),
    ];
    for (opts, query) in cases {
        let (api, t) = api_replying(event("get", "/foo", 5));
        let resp = api.get("/foo", opts).await.unwrap();
        assert_eq!(resp.action, Action::Get);
        assert_eq!(
            only_request(&t),
            expect("GET", "/v2/keys/foo", Some(query), None, "")
        );
    }
}

#[tokio::test]
async fn keys_are_cleaned_and_escaped_by_the_client() {
    let cases = [
        ("a b/c?", "/v2/keys/a%20b/c%3F"),
        ("foo", "/v2/keys/foo"),
        ("/foo", "/v2/keys/foo"),
        ("/dir/", "/v2/keys/dir/"),
        ("//a//./b/../c", "/v2/keys/a/c"),
        ("#%!*'()", "/v2/keys/%23%25%21%2A%27%28%29"),
        ("$&+,:;=@~", "/v2/keys/$&+,:;=@~"),
        ("snow☃", "/v2/keys/snow%E2%98%83"),
        ("", "/v2/keys"),
        ("/", "/v2/keys/"),
    ];
    for (key, path) in cases {
        let (api, t) = api_replying(event("get", "/x", 5));
        api.get(key, GetOptions::default()).await.unwrap();
        assert_eq!(only_request(&t).path, path, "key {key:?}");
    }
}

#[tokio::test]
async fn set_places_options_in_query_and_form() {
    let secs = Duration::from_secs;
    #[rustfmt::skip]
    let cases: Vec<(&str, SetOptions, Option<&str>, &str)> = vec![
        ("v", SetOptions::default(), None, "value=v"),
        ("", SetOptions::default(), None, "value="),
        ("a b&c=d", SetOptions::default(), None, "value=a+b%26c%3Dd"),
        ("v", SetOptions { prev_value: Some("old".into()), ..Default::default() }, Some("prevValue=old"), "value=v"),
        ("v", SetOptions { prev_value: Some(String::new()), ..Default::default() }, Some("prevValue="), "value=v"),
        ("v", SetOptions { prev_index: Some(0), ..Default::default() }, None, "value=v"),
        ("v", SetOptions { prev_index: Some(12), ..Default::default() }, Some("prevIndex=12"), "value=v"),
        ("v", SetOptions { prev_exist: PrevExist::Exist, ..Default::default() }, Some("prevExist=true"), "value=v"),
        ("v", SetOptions { prev_exist: PrevExist::NoExist, ..Default::default() }, Some("prevExist=false"), "value=v"),
        ("v", SetOptions { ttl: Some(secs(10)), ..Default::default() }, None, "ttl=10&value=v"),
        ("v", SetOptions { ttl: Some(Duration::from_millis(1999)), ..Default::default() }, None, "ttl=1&value=v"),
        ("v", SetOptions { ttl: Some(Duration::from_millis(500)), ..Default::default() }, None, "ttl=0&value=v"),
        ("", SetOptions { ttl: Some(secs(5)), refresh: true, ..Default::default() }, None, "refresh=true&ttl=5&value="),
        ("v", SetOptions { no_value_on_success: true, ..Default::default() }, Some("noValueOnSuccess=true"), "value=v"),
        ("ignored", SetOptions { dir: true, ..Default::default() }, Some("dir=true"), ""),
        ("ignored", SetOptions { dir: true, prev_value: Some("x".into()), ..Default::default() }, Some("dir=true"), ""),
        ("", SetOptions { dir: true, prev_exist: PrevExist::NoExist, ..Default::default() }, Some("dir=true&prevExist=false"), ""),
        ("", SetOptions { dir: true, prev_exist: PrevExist::Exist, ttl: Some(secs(20)), ..Default::default() }, Some("dir=true&prevExist=true"), "ttl=20"),
        (
            "v",
            SetOptions { prev_value: Some("a".into()), prev_index: Some(3), prev_exist: PrevExist::Exist, ttl: Some(secs(2)), refresh: true, dir: false, no_value_on_success: true },
            Some("noValueOnSuccess=true&prevExist=true&prevIndex=3&prevValue=a"),
            "refresh=true&ttl=2&value=v",
        ),
    ];
    for (value, opts, query, body) in cases {
        let (api, t) = api_replying(event("set", "/k", 7));
        api.set("/k", value, opts.clone()).await.unwrap();
        assert_eq!(
            only_request(&t),
            expect("PUT", "/v2/keys/k", query, FORM, body),
            "{opts:?}"
        );
    }
}

#[tokio::test]
async fn create_and_update_are_sets_with_prev_exist() {
    let (api, t) = api_replying(event("create", "/k", 7));
    api.create("/k", "v").await.unwrap();
    assert_eq!(
        only_request(&t),
        expect(
            "PUT",
            "/v2/keys/k",
            Some("prevExist=false"),
            FORM,
            "value=v"
        )
    );

    let (api, t) = api_replying(event("update", "/k", 8));
    api.update("k", "w").await.unwrap();
    assert_eq!(
        only_request(&t),
        expect("PUT", "/v2/keys/k", Some("prevExist=true"), FORM, "value=w")
    );
}

#[tokio::test]
async fn create_in_order_posts_to_the_dir() {
    let (api, t) = api_replying(event("create", "/q/00000000000000000017", 17));
    let resp = api
        .create_in_order("/q", "job", CreateInOrderOptions::default())
        .await
        .unwrap();
    assert_eq!(resp.node.unwrap().key, "/q/00000000000000000017");
    assert_eq!(
        only_request(&t),
        expect("POST", "/v2/keys/q", None, FORM, "value=job")
    );

    let (api, t) = api_replying(event("create", "/q/00000000000000000018", 18));
    api.create_in_order(
        "q",
        "a b",
        CreateInOrderOptions {
            ttl: Some(Duration::from_millis(10_900)),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        only_request(&t),
        expect("POST", "/v2/keys/q", None, FORM, "ttl=10&value=a+b")
    );
}

#[tokio::test]
async fn delete_places_conditions_in_query_with_empty_form() {
    #[rustfmt::skip]
    let cases: Vec<(DeleteOptions, Option<&str>)> = vec![
        (DeleteOptions::default(), None),
        (DeleteOptions { prev_value: Some("old".into()), ..Default::default() }, Some("prevValue=old")),
        (DeleteOptions { prev_value: Some(String::new()), ..Default::default() }, Some("prevValue=")),
        (DeleteOptions { prev_index: Some(0), ..Default::default() }, None),
        (DeleteOptions { prev_index: Some(4), ..Default::default() }, Some("prevIndex=4")),
        (DeleteOptions { dir: true, ..Default::default() }, Some("dir=true")),
        (DeleteOptions { recursive: true, ..Default::default() }, Some("recursive=true")),
        (
            DeleteOptions { prev_value: Some("x y".into()), prev_index: Some(4), recursive: true, dir: true },
            Some("dir=true&prevIndex=4&prevValue=x+y&recursive=true"),
        ),
    ];
    for (opts, query) in cases {
        let (api, t) = api_replying(event("delete", "/k", 9));
        api.delete("/k", opts.clone()).await.unwrap();
        assert_eq!(
            only_request(&t),
            expect("DELETE", "/v2/keys/k", query, FORM, ""),
            "{opts:?}"
        );
    }
}

#[tokio::test]
async fn watcher_request_shape() {
    let (api, t) = api_replying(event("set", "/k", 9));
    api.watcher("/k", WatcherOptions::default())
        .next()
        .await
        .unwrap();
    assert_eq!(
        only_request(&t),
        expect(
            "GET",
            "/v2/keys/k",
            Some("recursive=false&wait=true&waitIndex=0"),
            None,
            ""
        )
    );
}

#[tokio::test]
async fn custom_prefix_and_endpoint_path() {
    let t = Arc::new(ScriptedTransport::new(|_| event("get", "/foo", 1)));
    let c: Arc<dyn Client> = Arc::new(client(&["http://192.0.2.1:2379/base"], &t));
    let cases = [
        ("/custom/keys", "foo", "/base/custom/keys/foo"),
        ("custom", "/foo/", "/base/custom/foo/"),
        ("", "foo", "/base/foo"),
        ("/v2/keys/", "/a b", "/base/v2/keys/a%20b"),
    ];
    for (prefix, key, path) in cases {
        let api = new_keys_api_with_prefix(c.clone(), prefix);
        assert_eq!(api.prefix(), prefix);
        api.get(key, GetOptions::default()).await.unwrap();
        assert_eq!(
            sent(t.requests().last().unwrap()).path,
            path,
            "prefix {prefix:?} key {key:?}"
        );
    }
    assert_eq!(new_keys_api(c).prefix(), DEFAULT_KEYS_PREFIX);
}

#[tokio::test]
async fn responses_are_decoded_with_headers() {
    let (api, _) = api_replying(event("set", "/k", 7));
    let resp = api.set("/k", "v", SetOptions::default()).await.unwrap();
    assert_eq!(resp.action, Action::Set);
    assert_eq!(resp.index, 7);
    assert_eq!(resp.cluster_id, "cdf818194e3a8c32");
    assert_eq!((resp.raft_index, resp.raft_term), (Some(107), Some(2)));
    assert_eq!(resp.node.as_ref().map(|n| n.value_str()), Some("v"));
}

#[tokio::test]
async fn api_and_decoding_errors_reach_the_caller() {
    let not_found = Reply::json(
        404,
        r#"{"errorCode":100,"message":"Key not found","cause":"/k","index":18}"#,
    )
    .header("X-Etcd-Index", "18");
    let (api, _) = api_replying(not_found);
    let err = api.get("/k", GetOptions::default()).await.unwrap_err();
    assert!(err.is_key_not_found(), "{err}");
    assert_eq!(err.to_string(), "100: Key not found (/k) [18]");

    let exists = Reply::json(
        412,
        r#"{"errorCode":105,"message":"Key already exists","cause":"/k","index":3}"#,
    );
    let (api, _) = api_replying(exists);
    let err = api.create("/k", "v").await.unwrap_err();
    assert_eq!(
        err.api().map(|e| e.code),
        Some(crate::wire::ErrorCode::NODE_EXIST)
    );

    let (api, _) = api_replying(Reply::status(200, ""));
    assert!(matches!(
        api.get("/k", GetOptions::default()).await,
        Err(Error::EmptyBody)
    ));

    let (api, _) = api_replying(Reply::status(404, "404 page not found\n"));
    assert!(matches!(
        api.delete("/k", DeleteOptions::default()).await,
        Err(Error::InvalidJson { .. })
    ));

    let (api, _) = api_replying(event("get", "/k", 1).header("X-Etcd-Index", "x"));
    // Two X-Etcd-Index values: the first (a number) is read, like Go's Header.Get.
    assert_eq!(api.get("/k", GetOptions::default()).await.unwrap().index, 1);
    let (api, _) =
        api_replying(Reply::json(200, r#"{"action":"get"}"#).header("X-Etcd-Index", "-1"));
    assert!(matches!(
        api.get("/k", GetOptions::default()).await,
        Err(Error::InvalidResponse(_))
    ));
}

/// Runs `call` against two endpoints whose first answer is `first` and second a success.
async fn two_attempts<F, Fut>(
    first: Reply,
    call: F,
) -> (crate::Result<Response>, Vec<TransportRequest>)
where
    F: FnOnce(HttpKeysAPI) -> Fut,
    Fut: std::future::Future<Output = crate::Result<Response>>,
{
    let t = Arc::new(ScriptedTransport::sequence([first, event("set", "/k", 3)]));
    let api = new_keys_api(Arc::new(client(&TWO, &t)));
    let result = call(api).await;
    (result, t.requests())
}

async fn each_at_most_once_call(
    first: Reply,
) -> Vec<(&'static str, crate::Result<Response>, Vec<TransportRequest>)> {
    let mut out = Vec::new();
    let (r, q) = two_attempts(first.clone(), |a| async move { a.create("/k", "v").await }).await;
    out.push(("create", r, q));
    let (r, q) = two_attempts(first.clone(), |a| async move {
        a.set(
            "/k",
            "v",
            SetOptions {
                prev_value: Some("old".into()),
                ..Default::default()
            },
        )
        .await
    })
    .await;
    out.push(("compare-and-swap by value", r, q));
    let (r, q) = two_attempts(first.clone(), |a| async move {
        a.set(
            "/k",
            "v",
            SetOptions {
                prev_index: Some(2),
                prev_exist: PrevExist::Exist,
                ..Default::default()
            },
        )
        .await
    })
    .await;
    out.push(("compare-and-swap by index", r, q));
    let (r, q) = two_attempts(first.clone(), |a| async move {
        a.create_in_order("/q", "v", CreateInOrderOptions::default())
            .await
    })
    .await;
    out.push(("create in order", r, q));
    let (r, q) = two_attempts(first.clone(), |a| async move {
        a.delete("/k", DeleteOptions::default()).await
    })
    .await;
    out.push(("delete", r, q));
    let (r, q) = two_attempts(first, |a| async move {
        a.delete(
            "/k",
            DeleteOptions {
                prev_value: Some("v".into()),
                ..Default::default()
            },
        )
        .await
    })
    .await;
    out.push(("compare-and-delete", r, q));
    out
}

#[tokio::test]
async fn at_most_once_calls_are_not_resent_after_a_broken_connection() {
    for (name, result, reqs) in each_at_most_once_call(Reply::broken()).await {
        assert_eq!(reqs.len(), 1, "{name}: sent again");
        let err = result.expect_err(name);
        assert!(err.is_outcome_unknown(), "{name}: {err}");
        let Error::OutcomeUnknown { endpoint, .. } = &err else {
            unreachable!()
        };
        assert_eq!(
            *endpoint,
            reqs[0].url.origin().ascii_serialization(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn at_most_once_calls_move_on_after_a_refused_connection() {
    for (name, result, reqs) in each_at_most_once_call(Reply::refused()).await {
        result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(reqs.len(), 2, "{name}");
        assert_ne!(
            reqs[0].url.host_str(),
            reqs[1].url.host_str(),
            "{name}: same endpoint twice"
        );
        assert_eq!(sent(&reqs[0]), sent(&reqs[1]), "{name}: the retry differs");
    }
}

#[tokio::test]
async fn retried_calls_move_on_after_a_broken_connection() {
    let mut results = Vec::new();
    let (r, q) = two_attempts(Reply::broken(), |a| async move {
        a.set("/k", "v", SetOptions::default()).await
    })
    .await;
    results.push(("set", r, q));
    let (r, q) = two_attempts(
        Reply::broken(),
        |a| async move { a.update("/k", "v").await },
    )
    .await;
    results.push(("update", r, q));
    let (r, q) = two_attempts(Reply::broken(), |a| async move {
        a.get(
            "/k",
            GetOptions {
                quorum: true,
                ..Default::default()
            },
        )
        .await
    })
    .await;
    results.push(("get", r, q));
    let (r, q) = two_attempts(Reply::broken(), |a| async move {
        a.set(
            "/k",
            "",
            SetOptions {
                ttl: Some(Duration::from_secs(5)),
                refresh: true,
                ..Default::default()
            },
        )
        .await
    })
    .await;
    results.push(("refresh", r, q));
    for (name, result, reqs) in results {
        result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(reqs.len(), 2, "{name}");
        assert_ne!(
            reqs[0].url.host_str(),
            reqs[1].url.host_str(),
            "{name}: same endpoint twice"
        );
        assert_eq!(sent(&reqs[0]), sent(&reqs[1]), "{name}: the retry differs");
    }
}

#[tokio::test]
async fn server_errors_fail_over_only_for_retried_calls() {
    // A 503 means the member saw the request: a create may have been proposed.
    let (r, q) = two_attempts(Reply::status(503, ""), |a| async move {
        a.create("/k", "v").await
    })
    .await;
    assert_eq!(q.len(), 1);
    assert!(r.unwrap_err().is_outcome_unknown());
    let (r, q) = two_attempts(Reply::status(503, ""), |a| async move {
        a.set("/k", "v", SetOptions::default()).await
    })
    .await;
    assert_eq!(q.len(), 2);
    assert_eq!(r.unwrap().index, 3);
}

// ---- per-call bounds and constructors -------------------------------------------

fn hanging_api() -> (HttpKeysAPI, Arc<ScriptedTransport>) {
    let t = Arc::new(ScriptedTransport::new(|_| crate::transport::Reply::Hang));
    (new_keys_api(client(&[EP], &t)), t)
}

#[tokio::test(start_paused = true)]
async fn with_timeout_keeps_the_at_most_once_classification() {
    let (api, t) = hanging_api();
    let api = api.with_timeout(Duration::from_millis(100));
    let start = tokio::time::Instant::now();
    // At-most-once writes that were sent: the outcome is unknown.
    let at_most_once = [
        api.create("/k", "v").await,
        api.delete("/k", DeleteOptions::default()).await,
        api.set(
            "/k",
            "v",
            SetOptions {
                prev_value: Some("old".into()),
                ..Default::default()
            },
        )
        .await,
        api.create_in_order("/q", "job", CreateInOrderOptions::default())
            .await,
    ];
    for r in at_most_once {
        match r {
            Err(Error::OutcomeUnknown { endpoint, cause }) => {
                assert_eq!(endpoint, EP);
                assert!(matches!(*cause, Error::Timeout), "{cause:?}");
            }
            other => panic!("expected OutcomeUnknown, got {other:?}"),
        }
    }
    // Reads and retryable writes: a plain timeout.
    assert!(
        api.get("/k", GetOptions::default())
            .await
            .unwrap_err()
            .is_timeout()
    );
    assert!(api.update("/k", "v").await.unwrap_err().is_timeout());
    assert!(
        api.set("/k", "v", SetOptions::default())
            .await
            .unwrap_err()
            .is_timeout()
    );
    // 100 ms per call (exact on tokio's paused clock; the simulator adds µs per step).
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_millis(705),
        "{took:?}"
    );
    assert_eq!(t.requests().len(), 7, "nothing was re-sent");
}

#[tokio::test(start_paused = true)]
async fn with_deadline_is_one_budget_for_every_call() {
    let slow = || {
        crate::transport::Reply::Delay(Duration::from_millis(60), Box::new(event("set", "/k", 5)))
    };
    let t = Arc::new(ScriptedTransport::new(move |_| slow()));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
    let api = new_keys_api(client(&[EP], &t)).with_deadline(deadline);
    api.set("/k", "v", SetOptions::default()).await.unwrap();
    let err = api.set("/k", "v", SetOptions::default()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let now = tokio::time::Instant::now();
    assert!(now >= deadline && now < deadline + Duration::from_millis(5));
    // Past the deadline nothing is sent at all.
    assert!(
        api.get("/k", GetOptions::default())
            .await
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(t.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_watcher_keeps_its_place() {
    let replies = std::sync::Mutex::new(std::collections::VecDeque::from([
        crate::transport::Reply::Hang,
        event("set", "/k", 9),
    ]));
    let t = Arc::new(ScriptedTransport::new(move |_| {
        replies
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(crate::transport::Reply::Hang)
    }));
    let api = new_keys_api(client(&[EP], &t)).with_timeout(Duration::from_millis(100));
    let mut w = api.watcher(
        "/k",
        WatcherOptions {
            after_index: 4,
            recursive: false,
        },
    );
    assert!(w.next().await.unwrap_err().is_timeout());
    assert_eq!(w.next().await.unwrap().index, 9);
    let queries: Vec<_> = t
        .requests()
        .iter()
        .map(|r| sent(r).query.unwrap_or_default())
        .collect();
    assert_eq!(queries, ["recursive=false&wait=true&waitIndex=5"; 2]);
}

#[tokio::test]
async fn constructors_take_the_client_by_value_or_shared() {
    let t = Arc::new(ScriptedTransport::sequence([
        event("get", "/a", 1),
        event("get", "/b", 2),
        event("get", "/c", 3),
    ]));
    let http = client(&[EP], &t);
    let by_value = new_keys_api(http.clone());
    let in_arc = new_keys_api(Arc::new(http.clone()));
    let dynamic: Arc<dyn Client> = Arc::new(http);
    let as_dyn = new_keys_api_with_prefix(dynamic, "/v2/keys");
    for (api, want) in [(by_value, 1), (in_arc, 2), (as_dyn, 3)] {
        let got = api.get("/x", GetOptions::default()).await.unwrap();
        assert_eq!(got.index, want);
    }
    assert_eq!(
        t.requests().len(),
        3,
        "all three share one client and transport"
    );
}

#[tokio::test]
async fn a_watch_stream_yields_events_then_the_error_and_ends() {
    use futures_util::StreamExt;
    use futures_util::stream::FusedStream;
    let cleared = crate::transport::Reply::json(
        400,
        r#"{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [1008/7]","index":2007}"#,
    );
    let t = Arc::new(ScriptedTransport::sequence([
        event("set", "/k", 5),
        event("update", "/k", 6),
        cleared,
        event("set", "/k", 7),
    ]));
    let api = new_keys_api(client(&[EP], &t));
    let mut events = api.watcher("/k", WatcherOptions::default()).into_stream();
    assert_eq!(events.next().await.unwrap().unwrap().index, 5);
    assert_eq!(events.next().await.unwrap().unwrap().action, Action::Update);
    assert!(!events.is_terminated());
    let err = events.next().await.unwrap().unwrap_err();
    assert!(err.is_event_index_cleared(), "{err}");
    assert!(
        events.next().await.is_none(),
        "the stream ends after an error"
    );
    assert!(events.is_terminated());
    assert_eq!(t.requests().len(), 3, "nothing is polled after the error");
}
