//! The gateway behind the v2 router (the hook in `api::v2::router`): which paths
//! reach it, the `/v3beta/` rewrite, Go's redirects, CORS. The gateway here dials
//! a closed port, so a call that reaches it fails with gRPC's Unavailable.

use super::Gateway;
use crate::api::v2::response::Body;
use crate::api::v2::router::fake::{Fake, body_text, header};
use crate::api::v2::router::route;
use bytes::Bytes;
use http::{Request, Response};

/// A gateway whose gRPC address refuses connections.
fn dead_gateway() -> Gateway {
    let port = etcd_test_support::ports::closed_port();
    Gateway::new(([127, 0, 0, 1], port).into()).unwrap()
}

async fn send(gateway: Option<&Gateway>, method: &str, uri: &str, body: &str) -> Response<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Bytes::from(body.to_string()))
        .unwrap();
    if let Some(g) = gateway {
        req.extensions_mut().insert(g.clone());
    }
    route(&Fake::new(), req).await
}

fn assert_cors(resp: &Response<Body>) {
    assert_eq!(header(resp, "Access-Control-Allow-Origin"), Some("*"));
}

#[tokio::test]
async fn v3_and_v3beta_calls_reach_the_gateway() {
    let g = dead_gateway();
    for uri in ["/v3/kv/range", "/v3beta/kv/range", "/v3/kv/range?x=1"] {
        let resp = send(Some(&g), "POST", uri, r#"{"key":"Zm9v"}"#).await;
        assert_eq!(resp.status(), 503, "{uri}");
        assert_cors(&resp);
        assert_eq!(header(&resp, "Content-Type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
        assert_eq!(body["code"], 14, "{uri}: {body}");
        assert_eq!(body["error"], body["message"]);
    }
}

#[tokio::test]
async fn a_bad_body_is_refused_before_any_call() {
    let g = dead_gateway();
    let resp = send(Some(&g), "POST", "/v3/kv/put", r#"{"key":"#).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
    assert_eq!(body["code"], 3);
}

#[tokio::test]
async fn a_body_that_could_not_be_read_is_a_bad_request() {
    let g = dead_gateway();
    let mut req = Request::builder()
        .method("POST")
        .uri("/v3/kv/put")
        .body(Bytes::new())
        .unwrap();
    req.extensions_mut().insert(g);
    req.extensions_mut()
        .insert(crate::api::v2::http_checks::BodyError(
            "unexpected EOF".into(),
        ));
    let resp = route(&Fake::new(), req).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        body_text(resp).await,
        r#"{"error":"unexpected EOF","message":"unexpected EOF","code":3}"#
    );
}

#[tokio::test]
async fn unknown_paths_and_methods_are_the_gateways_404_and_405() {
    let g = dead_gateway();
    let resp = send(Some(&g), "GET", "/v3/kv/range", "").await;
    assert_eq!(resp.status(), 405);
    assert_cors(&resp);
    assert_eq!(body_text(resp).await, "Method Not Allowed\n");
    for uri in ["/v3/kv/nothere", "/v3/", "/v3beta/", "/v3/kv/range/"] {
        let resp = send(Some(&g), "POST", uri, "{}").await;
        assert_eq!(resp.status(), 404, "{uri}");
        assert_eq!(body_text(resp).await, "Not Found\n", "{uri}");
    }
}

#[tokio::test]
async fn go_mux_redirects_and_other_versions_stay_v2s() {
    let g = dead_gateway();
    let resp = send(Some(&g), "POST", "/v3", "{}").await;
    assert_eq!(resp.status(), 301);
    assert_eq!(header(&resp, "Location"), Some("/v3/"));
    let resp = send(Some(&g), "POST", "/v3/kv//range", "{}").await;
    assert_eq!(resp.status(), 301);
    assert_eq!(header(&resp, "Location"), Some("/v3/kv/range"));
    // The rewrite comes before the cleaning: etcd redirects to the /v3 path.
    let resp = send(Some(&g), "POST", "/v3beta/kv//range", "{}").await;
    assert_eq!(header(&resp, "Location"), Some("/v3/kv/range"));
    for uri in ["/v3alpha/kv/range", "/v3beta"] {
        let resp = send(Some(&g), "POST", uri, "{}").await;
        assert_eq!(resp.status(), 404, "{uri}");
        assert_eq!(body_text(resp).await, "404 page not found\n", "{uri}");
    }
    let resp = send(Some(&g), "OPTIONS", "/v3/kv/range", "").await;
    assert_eq!(resp.status(), 200);
    assert_cors(&resp);
}

#[tokio::test]
async fn without_a_gateway_v3_paths_are_the_404_page() {
    for uri in ["/v3/kv/range", "/v3beta/kv/range", "/v3"] {
        let resp = send(None, "POST", uri, "{}").await;
        assert_eq!(resp.status(), 404, "{uri}");
        assert_eq!(body_text(resp).await, "404 page not found\n");
    }
}
