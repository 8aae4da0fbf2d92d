//! Unit tests of the HTTP members API against a scripted transport.

use super::*;
use crate::client::{Config, HttpClient};
use crate::error::{Error, MembersErrorKind};
use crate::transport::{Reply, ScriptedTransport, TransportRequest};
use ::http::Method;
use std::sync::Arc;

const EP: &str = "http://example.com:2379";
const NODE2: &str = r#"{"id":"94088180e21eb87b","name":"node2","peerURLs":["http://127.0.0.1:7002"],"clientURLs":["http://127.0.0.1:4002"]}"#;

fn api_with(transport: ScriptedTransport) -> (Arc<ScriptedTransport>, HttpMembersAPI) {
    let transport = Arc::new(transport);
    let client = HttpClient::new(Config {
        endpoints: vec![EP.to_string()],
        transport: Some(transport.clone()),
        ..Default::default()
    })
    .unwrap();
    (transport, new_members_api(Arc::new(client)))
}

fn api_replying(reply: Reply) -> (Arc<ScriptedTransport>, HttpMembersAPI) {
    api_with(ScriptedTransport::new(move |_| reply.clone()))
}

fn only_request(t: &ScriptedTransport) -> TransportRequest {
    let reqs = t.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    reqs.into_iter().next().unwrap()
}

fn content_type(r: &TransportRequest) -> Option<&str> {
    r.headers.get("content-type").and_then(|v| v.to_str().ok())
}

fn node2() -> Member {
    Member {
        id: "94088180e21eb87b".into(),
        name: "node2".into(),
        peer_urls: vec!["http://127.0.0.1:7002".into()],
        client_urls: vec!["http://127.0.0.1:4002".into()],
    }
}

#[tokio::test]
async fn list_sends_get_and_decodes_members() {
    let (t, api) = api_replying(Reply::json(200, format!(r#"{{"members":[{NODE2}]}}"#)));
    assert_eq!(api.list().await.unwrap(), vec![node2()]);
    let r = only_request(&t);
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.url.as_str(), "http://example.com:2379/v2/members");
    assert!(r.body.is_empty());
    assert_eq!(content_type(&r), None);
}

#[tokio::test]
async fn list_accepts_empty_and_null_collections() {
    for body in [
        r#"{}"#,
        r#"{"members":[]}"#,
        r#"{"members":null}"#,
        r#"{"Members":[]}"#,
    ] {
        let (_, api) = api_replying(Reply::json(200, body));
        assert_eq!(api.list().await.unwrap(), vec![], "{body}");
    }
}

#[tokio::test]
async fn list_joins_under_the_endpoint_path() {
    let t = Arc::new(ScriptedTransport::new(|_| {
        Reply::json(200, r#"{"members":[]}"#)
    }));
    let client = HttpClient::new(Config {
        endpoints: vec!["http://foo.example.com:4002/pants".into()],
        transport: Some(t.clone()),
        ..Default::default()
    })
    .unwrap();
    new_members_api(Arc::new(client)).list().await.unwrap();
    assert_eq!(
        only_request(&t).url.as_str(),
        "http://foo.example.com:4002/pants/v2/members"
    );
}

#[tokio::test]
async fn list_rejects_other_statuses_and_bad_json() {
    let (_, api) = api_replying(Reply::status(418, ""));
    assert!(matches!(
        api.list().await,
        Err(Error::UnexpectedStatus(418))
    ));
    let (_, api) = api_replying(Reply::json(200, r#"[{"id":"XX"#));
    assert!(matches!(api.list().await, Err(Error::InvalidJson { .. })));
    let (_, api) = api_replying(Reply::refused());
    assert!(matches!(api.list().await, Err(Error::Cluster(_))));
}

#[tokio::test]
async fn add_posts_peer_urls_as_json_and_returns_the_new_member() {
    let (t, api) = api_replying(Reply::json(
        201,
        r#"{"id":"94088180e21eb87b","peerURLs":["http://127.0.0.1:7002"]}"#,
    ));
    let m = api.add("http://127.0.0.1:7002").await.unwrap();
    assert_eq!(
        m,
        Member {
            id: "94088180e21eb87b".into(),
            peer_urls: vec!["http://127.0.0.1:7002".into()],
            ..Default::default()
        }
    );
    let r = only_request(&t);
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.url.as_str(), "http://example.com:2379/v2/members");
    assert_eq!(content_type(&r), Some("application/json"));
    assert_eq!(&r.body[..], br#"{"peerURLs":["http://127.0.0.1:7002"]}"#);
}

#[tokio::test]
async fn add_validates_the_peer_url_before_sending() {
    for bad in [":", "ftp://h:1", "http://h", "http://h:1/path", ""] {
        let (t, api) = api_replying(Reply::json(201, NODE2));
        assert!(
            matches!(api.add(bad).await, Err(Error::InvalidPeerUrl(_))),
            "{bad}"
        );
        assert!(t.requests().is_empty(), "{bad}: nothing may be sent");
    }
}

#[tokio::test]
async fn add_errors() {
    let ok_peer = "http://example.com:2380";
    let (_, api) = api_replying(Reply::json(
        409,
        r#"{"message":"membership: peerURL exists"}"#,
    ));
    match api.add(ok_peer).await {
        Err(Error::Members(e)) => {
            assert_eq!(e.message, "membership: peerURL exists");
            assert_eq!((e.status, e.kind()), (409, MembersErrorKind::PeerUrlExists));
        }
        other => panic!("{other:?}"),
    }
    let (_, api) = api_replying(Reply::json(409, r#"{""#));
    assert!(matches!(
        api.add(ok_peer).await,
        Err(Error::InvalidJson { .. })
    ));
    let (_, api) = api_replying(Reply::status(418, ""));
    assert!(matches!(
        api.add(ok_peer).await,
        Err(Error::UnexpectedStatus(418))
    ));
    let (_, api) = api_replying(Reply::json(415, r#"{"message":"Bad Content-Type"}"#));
    assert!(matches!(
        api.add(ok_peer).await,
        Err(Error::UnexpectedStatus(415))
    ));
    let (_, api) = api_replying(Reply::json(201, r#"{"id":"XX"#));
    assert!(matches!(
        api.add(ok_peer).await,
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn add_is_sent_at_most_once() {
    // Two endpoints; whichever is tried first breaks after the request was sent:
    // the add must not be repeated on the other endpoint.
    let t = Arc::new(ScriptedTransport::new(|_| Reply::broken()));
    let client = HttpClient::new(Config {
        endpoints: vec!["http://a:2379".into(), "http://b:2379".into()],
        transport: Some(t.clone()),
        ..Default::default()
    })
    .unwrap();
    let err = new_members_api(Arc::new(client))
        .add("http://127.0.0.1:7002")
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test]
async fn remove_sends_delete_and_accepts_204_and_410() {
    for status in [204, 410] {
        let (t, api) = api_replying(Reply::status(status, ""));
        api.remove("94088180e21eb87b").await.unwrap();
        let r = only_request(&t);
        assert_eq!(r.method, Method::DELETE);
        assert_eq!(
            r.url.as_str(),
            "http://example.com:2379/v2/members/94088180e21eb87b"
        );
        assert!(r.body.is_empty());
        assert_eq!(content_type(&r), None);
    }
}

#[tokio::test]
async fn remove_errors() {
    let (_, api) = api_replying(Reply::json(404, r#"{"message":"No such member: 1234"}"#));
    match api.remove("1234").await {
        Err(e @ Error::UnexpectedStatus(404)) => {
            assert_eq!(e.to_string(), "unexpected status code 404")
        }
        other => panic!("{other:?}"),
    }
    let (_, api) = api_replying(Reply::status(500, ""));
    assert!(matches!(api.remove("1234").await, Err(Error::Cluster(_))));
    let (t, api) = api_replying(Reply::status(204, ""));
    assert!(matches!(
        api.remove("").await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn update_puts_peer_urls() {
    let (t, api) = api_replying(Reply::status(204, ""));
    let urls = vec![
        "https://127.0.0.1:8081".to_string(),
        "http://127.0.0.1:8080".to_string(),
    ];
    api.update("0xabcd", &urls).await.unwrap();
    let r = only_request(&t);
    assert_eq!(r.method, Method::PUT);
    assert_eq!(r.url.as_str(), "http://example.com:2379/v2/members/0xabcd");
    assert_eq!(content_type(&r), Some("application/json"));
    assert_eq!(
        &r.body[..],
        br#"{"peerURLs":["https://127.0.0.1:8081","http://127.0.0.1:8080"]}"#
    );
}

#[tokio::test]
async fn update_errors() {
    let (_, api) = api_replying(Reply::json(404, r#"{"message":"No such member: 1234"}"#));
    match api.update("1234", &["http://h:1".into()]).await {
        Err(Error::Members(e)) => {
            assert_eq!(e.message, "No such member: 1234");
            assert_eq!(e.kind(), MembersErrorKind::MemberNotFound);
        }
        other => panic!("{other:?}"),
    }
    let (_, api) = api_replying(Reply::json(
        409,
        r#"{"message":"membership: peerURL exists"}"#,
    ));
    match api.update("1234", &["http://h:1".into()]).await {
        Err(e @ Error::Members(_)) => assert_eq!(e.to_string(), "membership: peerURL exists"),
        other => panic!("{other:?}"),
    }
    let (_, api) = api_replying(Reply::json(409, "not json"));
    assert!(matches!(
        api.update("1234", &["http://h:1".into()]).await,
        Err(Error::InvalidJson { .. })
    ));
    let (_, api) = api_replying(Reply::status(400, ""));
    assert!(matches!(
        api.update("1234", &["http://h:1".into()]).await,
        Err(Error::UnexpectedStatus(400))
    ));
    let (t, api) = api_replying(Reply::status(204, ""));
    assert!(matches!(
        api.update("1234", &["http://h:1/x".into()]).await,
        Err(Error::InvalidPeerUrl(_))
    ));
    assert!(t.requests().is_empty());
}

#[tokio::test]
async fn leader_gets_the_leader() {
    let (t, api) = api_replying(Reply::json(200, NODE2));
    assert_eq!(api.leader().await.unwrap(), node2());
    let r = only_request(&t);
    assert_eq!(r.method, Method::GET);
    assert_eq!(r.url.as_str(), "http://example.com:2379/v2/members/leader");
}

#[tokio::test]
async fn leader_errors() {
    let (_, api) = api_replying(Reply::json(200, r#"[{"id":"XX"#));
    assert!(matches!(api.leader().await, Err(Error::InvalidJson { .. })));
    let (_, api) = api_replying(Reply::status(418, ""));
    assert!(matches!(
        api.leader().await,
        Err(Error::UnexpectedStatus(418))
    ));
    let (_, api) = api_replying(Reply::json(404, r#"{"message":"Not found"}"#));
    assert!(
        matches!(api.leader().await, Err(Error::Members(e)) if e.message == "Not found" && e.status == 404)
    );
    // "During election" comes with a 503, which the client counts as an endpoint
    // failure ("has no leader") before the members API sees it.
    let (_, api) = api_replying(Reply::json(503, r#"{"message":"During election"}"#));
    match api.leader().await {
        Err(Error::Cluster(c)) => assert!(matches!(c.errors[..], [Error::NoLeader { .. }])),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn with_timeout_makes_a_sent_add_outcome_unknown_and_a_list_time_out() {
    let (t, api) = api_replying(Reply::Hang);
    let api = api.with_timeout(std::time::Duration::from_millis(100));
    match api.add("http://127.0.0.1:2380").await {
        Err(Error::OutcomeUnknown { endpoint, cause }) => {
            assert_eq!(endpoint, EP);
            assert!(matches!(*cause, Error::Timeout), "{cause:?}");
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(api.list().await.unwrap_err().is_timeout());
    let past = tokio::time::Instant::now();
    assert!(
        api.with_deadline(past)
            .leader()
            .await
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(t.requests().len(), 2, "nothing sent past the deadline");
}
