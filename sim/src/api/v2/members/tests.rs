use super::*;
use crate::api::v2::router::fake::{Fake, body_text, header, send};

const JSON: Option<&str> = Some("application/json");

#[tokio::test]
async fn list_leader_and_unknown_paths() {
    let mut f = Fake::new();
    for path in ["/v2/members", "/v2/members/"] {
        let resp = send(&f, "GET", path, None, "").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(header(&resp, "X-Etcd-Cluster-Id"), Some("f10b0bf1d8eda5d5"));
        assert_eq!(header(&resp, "Content-Type"), Some("application/json"));
        assert_eq!(
            body_text(resp).await,
            "{\"members\":[{\"id\":\"1\",\"name\":\"one\",\"peerURLs\":[\"http://10.0.0.1:2380\"],\"clientURLs\":[\"http://10.0.0.1:2379\"]},\
             {\"id\":\"2\",\"name\":\"two\",\"peerURLs\":[\"http://10.0.0.2:2380\"],\"clientURLs\":[\"http://10.0.0.2:2379\"]}]}\n"
        );
    }
    let resp = send(&f, "GET", "/v2/members/leader", None, "").await;
    assert_eq!(
        body_text(resp).await,
        "{\"id\":\"1\",\"name\":\"one\",\"peerURLs\":[\"http://10.0.0.1:2380\"],\"clientURLs\":[\"http://10.0.0.1:2379\"]}\n"
    );
    let resp = send(&f, "GET", "/v2/members/abc", None, "").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(body_text(resp).await, r#"{"message":"Not found"}"#);
    f.leader = None;
    let resp = send(&f, "GET", "/v2/members/leader", None, "").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(body_text(resp).await, r#"{"message":"During election"}"#);
}

#[tokio::test]
async fn add_validates_like_etcd() {
    let f = Fake::new();
    let body = r#"{"peerURLs":["http://10.0.0.3:2380"]}"#;
    let cases = [
        (
            Some("application/x-www-form-urlencoded"),
            body,
            415,
            r#"{"message":"Bad Content-Type application/x-www-form-urlencoded, accept application/json"}"#,
        ),
        (
            None,
            body,
            415,
            r#"{"message":"Bad Content-Type , accept application/json"}"#,
        ),
        (
            JSON,
            "{bad",
            400,
            r#"{"message":"invalid character 'b' looking for beginning of object key string"}"#,
        ),
        (
            JSON,
            r#"{"peerURLs":["notaurl"]}"#,
            400,
            r#"{"message":"URL scheme must be http, https, unix, or unixs: notaurl"}"#,
        ),
        (
            JSON,
            r#"{"peerURLs":["http://h"]}"#,
            400,
            r#"{"message":"URL address does not have the form \"host:port\": http://h"}"#,
        ),
        (
            JSON,
            r#"{"peerURLs":["http://h:1/p"]}"#,
            400,
            r#"{"message":"URL must not contain a path: http://h:1/p"}"#,
        ),
        (JSON, r#"{}"#, 400, r#"{"message":"no valid URLs given"}"#),
        (
            JSON,
            r#"{"peerURLs":"x"}"#,
            400,
            r#"{"message":"json: cannot unmarshal string into Go struct field .peerURLs of type []string"}"#,
        ),
        (
            JSON,
            r#"{"peerURLs":["http://10.0.0.1:2380"]}"#,
            409,
            r#"{"message":"membership: peerURL exists"}"#,
        ),
    ];
    for (ct, body, status, want) in cases {
        let resp = send(&f, "POST", "/v2/members", ct, body).await;
        assert_eq!(resp.status(), status, "{body}");
        assert_eq!(body_text(resp).await, want, "{body}");
    }
    let resp = send(
        &f,
        "POST",
        "/v2/members",
        Some("Application/JSON; charset=utf-8"),
        r#"{"PeerURLs":[" http://10.0.0.4:2380 "]}"#,
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "X-Etcd-Cluster-Id"), Some("f10b0bf1d8eda5d5"));
    assert_eq!(
        body_text(resp).await,
        "{\"id\":\"77de7ee9858fd88a\",\"name\":\"\",\"peerURLs\":[\"http://10.0.0.4:2380\"],\"clientURLs\":[]}\n"
    );
}

#[tokio::test]
async fn remove_and_update() {
    let f = Fake::new();
    let resp = send(&f, "DELETE", "/v2/members/1234", None, "").await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        body_text(resp).await,
        r#"{"message":"No such member: 1234"}"#
    );
    let resp = send(&f, "DELETE", "/v2/members/zzzz", None, "").await;
    assert_eq!(
        body_text(resp).await,
        r#"{"message":"No such member: zzzz"}"#
    );
    let resp = send(&f, "DELETE", "/v2/members/2", None, "").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(header(&resp, "X-Etcd-Cluster-Id"), Some("f10b0bf1d8eda5d5"));
    assert_eq!(body_text(resp).await, "");
    let resp = send(&f, "DELETE", "/v2/members/2", None, "").await;
    assert_eq!(resp.status(), 410);
    assert_eq!(
        body_text(resp).await,
        r#"{"message":"Member permanently removed: 2"}"#
    );

    let urls = r#"{"peerURLs":["http://10.0.0.9:2380"]}"#;
    let resp = send(&f, "PUT", "/v2/members/1234", JSON, urls).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        body_text(resp).await,
        r#"{"message":"No such member: 1234"}"#
    );
    let resp = send(&f, "PUT", "/v2/members/1", Some("text/plain"), urls).await;
    assert_eq!(resp.status(), 415);
    let resp = send(&f, "PUT", "/v2/members/1", JSON, urls).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        f.member_list()[0].peer_urls,
        vec!["http://10.0.0.9:2380".to_string()]
    );
}

#[test]
fn urls_are_validated_and_sorted_like_go() {
    assert_eq!(
        validate_urls(&["https://b:2".into(), "HTTP://a:1".into()]),
        Ok(vec!["http://a:1".to_string(), "https://b:2".to_string()])
    );
    assert!(validate_urls(&["http://[::1]:2380".into()]).is_ok());
    assert!(validate_urls(&["http://::1:2380".into()]).is_err());
    assert!(validate_urls(&["http://h:1?q".into()]).is_ok());
    assert!(validate_urls(&["ftp://h:1".into()]).is_err());
}
