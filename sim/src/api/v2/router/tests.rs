use super::fake::{Fake, body_text, header, send};
use super::*;

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

fn assert_cors(resp: &Response<Body>) {
    assert_eq!(header(resp, "Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        header(resp, "Access-Control-Allow-Methods"),
        Some("POST, GET, OPTIONS, PUT, DELETE")
    );
    assert_eq!(
        header(resp, "Access-Control-Allow-Headers"),
        Some("accept, content-type, authorization")
    );
}

#[tokio::test]
async fn options_is_an_empty_200_on_any_path() {
    let f = Fake::new();
    for path in ["/v2/keys/m", "/v2/members", "/nowhere", "/v2/keys//x"] {
        let resp = send(&f, "OPTIONS", path, None, "").await;
        assert_eq!(resp.status(), 200, "{path}");
        assert_cors(&resp);
        assert_eq!(header(&resp, "Content-Length"), Some("0"));
        assert_eq!(body_text(resp).await, "");
    }
}

#[tokio::test]
async fn unknown_paths_get_the_404_page() {
    let f = Fake::new();
    for path in [
        "/v2/nothing",
        "/v2/keysfoo",
        "/v2/machines/",
        "/v2/stats",
        "/",
        "/v2/auth",
        "/v2/auth/other",
    ] {
        let resp = send(&f, "GET", path, None, "").await;
        assert_eq!(resp.status(), 404, "{path}");
        assert_cors(&resp);
        assert_eq!(
            header(&resp, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(header(&resp, "X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(body_text(resp).await, "404 page not found\n");
    }
}

#[tokio::test]
async fn unclean_paths_redirect_with_the_query_kept() {
    let f = Fake::new();
    let resp = send(&f, "PUT", "/v2/keys//double//slash?x=1", FORM, "value=v").await;
    assert_eq!(resp.status(), 301);
    assert_cors(&resp);
    assert_eq!(header(&resp, "Location"), Some("/v2/keys/double/slash?x=1"));
    assert_eq!(header(&resp, "Content-Type"), None);
    assert_eq!(body_text(resp).await, "");

    let resp = send(&f, "GET", "/v2/keys/x/../y2", None, "").await;
    assert_eq!(header(&resp, "Location"), Some("/v2/keys/y2"));
    assert_eq!(
        header(&resp, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        body_text(resp).await,
        "<a href=\"/v2/keys/y2\">Moved Permanently</a>.\n\n"
    );

    // Decoded before cleaning; the location is escaped again.
    let resp = send(&f, "DELETE", "/v2/keys/a%2F%2Fb%20c", None, "").await;
    assert_eq!(header(&resp, "Location"), Some("/v2/keys/a/b%20c"));
    // A trailing slash is clean.
    let resp = send(&f, "PUT", "/v2/keys/trail/", FORM, "value=t").await;
    assert_eq!(resp.status(), 201);
    assert!(body_text(resp).await.contains(r#""key":"/trail""#));
}

#[tokio::test]
async fn paths_are_percent_decoded_before_routing() {
    let f = Fake::new();
    let resp = send(&f, "PUT", "/v2/keys/a%20b%2Fc", FORM, "value=x").await;
    assert_eq!(resp.status(), 201);
    assert_cors(&resp);
    assert!(body_text(resp).await.contains(r#""key":"/a b/c""#));
    let resp = send(&f, "GET", "/v2/keys/a/b%20c", None, "").await;
    assert_eq!(resp.status(), 404, "the key is /a b/c");
    let resp = send(&f, "GET", "/v2/ke%79s/a%20b/c", None, "").await;
    assert_eq!(resp.status(), 200);
    let resp = send(&f, "GET", "/v2/keys/%zz", None, "").await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn method_not_allowed_lists_per_handler() {
    let f = Fake::new();
    let cases = [
        ("PATCH", "/v2/keys/foo", Some("HEAD,GET,PUT,POST,DELETE")),
        ("PATCH", "/v2/members", Some("GET,POST,DELETE,PUT")),
        ("HEAD", "/v2/members", Some("GET,POST,DELETE,PUT")),
        ("POST", "/v2/machines", Some("GET,HEAD")),
        ("POST", "/v2/stats/self", Some("GET")),
        ("HEAD", "/v2/stats/store", Some("GET")),
        ("DELETE", "/v2/stats/leader", Some("GET")),
        ("POST", "/version", Some("GET")),
        ("PUT", "/health", Some("GET")),
        ("DELETE", "/v2/members", None),
        ("PUT", "/v2/members/", None),
    ];
    for (method, path, allow) in cases {
        let resp = send(&f, method, path, None, "").await;
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_cors(&resp);
        assert_eq!(header(&resp, "Allow"), allow, "{method} {path}");
        let with_cluster_id = path.starts_with("/v2/members") && allow.is_none();
        assert_eq!(
            header(&resp, "X-Etcd-Cluster-Id").is_some(),
            with_cluster_id,
            "{method} {path}"
        );
        assert_eq!(body_text(resp).await, "Method Not Allowed\n");
    }
}

#[tokio::test]
async fn version_health_and_machines() {
    let mut f = Fake::new();
    let resp = send(&f, "GET", "/version", None, "").await;
    assert_eq!(header(&resp, "Content-Type"), Some("application/json"));
    assert_cors(&resp);
    assert_eq!(
        body_text(resp).await,
        r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#
    );
    let resp = send(&f, "GET", "/health", None, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body_text(resp).await, r#"{"health":"true"}"#);
    assert_eq!(
        f.v2.with(|s| s.stats().gets_success),
        1,
        "the probe is a quorum get of /"
    );

    let resp = send(&f, "GET", "/v2/machines", None, "").await;
    assert_eq!(
        header(&resp, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    let text = body_text(resp).await;
    assert_eq!(text, "http://10.0.0.1:2379, http://10.0.0.2:2379");
    let resp = send(&f, "HEAD", "/v2/machines", None, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "Content-Length"),
        Some(text.len().to_string().as_str())
    );
    assert_eq!(body_text(resp).await, "");

    f.version = None;
    f.v2.fail = Some(crate::server::backend::ReplicationError::timed_out());
    let resp = send(&f, "GET", "/version", None, "").await;
    assert_eq!(
        body_text(resp).await,
        r#"{"etcdserver":"3.4.23","etcdcluster":"not_decided"}"#
    );
    let resp = send(&f, "GET", "/health", None, "").await;
    assert_eq!(resp.status(), 503, "the quorum probe fails");
    f.v2.fail = None;
    f.leader = None;
    let resp = send(&f, "GET", "/health", None, "").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(
        header(&resp, "Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body_text(resp).await, "{\"health\":\"false\"}\n");
}

#[tokio::test]
async fn stats_endpoints() {
    let mut f = Fake::new();
    send(&f, "PUT", "/v2/keys/a", FORM, "value=1").await;
    send(&f, "GET", "/v2/keys/missing", None, "").await;
    let resp = send(&f, "GET", "/v2/stats/store", None, "").await;
    assert_eq!(header(&resp, "Content-Type"), Some("application/json"));
    let text = body_text(resp).await;
    // getsFail counts the failed get of /missing and, as in etcd, the probe of
    // the auth flag (/2/enabled, never written) that precedes each keys request.
    assert!(
        text.starts_with(r#"{"getsSuccess":0,"getsFail":3,"setsSuccess":1,"#),
        "{text}"
    );
    assert!(text.ends_with(r#""expireCount":0,"watchers":0}"#), "{text}");
    let resp = send(&f, "GET", "/v2/stats/self", None, "").await;
    assert!(
        body_text(resp)
            .await
            .starts_with(r#"{"name":"one","id":"1","state":"StateLeader","#)
    );
    let resp = send(&f, "GET", "/v2/stats/leader", None, "").await;
    assert_eq!(body_text(resp).await, r#"{"leader":"1","followers":{}}"#);
    f.leader = Some(2);
    let resp = send(&f, "GET", "/v2/stats/leader", None, "").await;
    assert_eq!(resp.status(), 403);
    assert_eq!(header(&resp, "Content-Type"), Some("application/json"));
    assert_eq!(body_text(resp).await, r#"{"message":"not current leader"}"#);
}

#[test]
fn clean_path_is_gos() {
    assert_eq!(clean_path(""), "/");
    assert_eq!(clean_path("/v2/keys/"), "/v2/keys/");
    assert_eq!(clean_path("/v2//keys"), "/v2/keys");
    assert_eq!(clean_path("/a/./b/../c/"), "/a/c/");
    assert_eq!(clean_path("/.."), "/");
    assert_eq!(clean_path("//"), "/");
    assert_eq!(percent_decode("/a%2fb+c"), Some("/a/b+c".into()));
    assert_eq!(percent_decode("/a%2"), None);
    assert_eq!(escape_path("/a b?€"), "/a%20b%3F%E2%82%AC");
}
