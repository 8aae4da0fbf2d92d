//! Decoding a `/v2/keys` HTTP response into a [`Response`] or an error (Go's
//! `unmarshalHTTPResponse`, spec §8.7 "Response decoding").

use super::Response;
use crate::client::Response as HttpResponse;
use crate::error::{Error, Result};
use crate::wire::{ErrorBody, Event};
use http::{HeaderName, StatusCode};

// Header names as constants (lower case, as HTTP/1 headers are matched): a
// lookup by `&str` would parse and lower-case the name on every response.
/// `X-Etcd-Index`: the store index when the response was made.
const ETCD_INDEX: HeaderName = HeaderName::from_static("x-etcd-index");
/// `X-Etcd-Cluster-Id`.
const CLUSTER_ID: HeaderName = HeaderName::from_static("x-etcd-cluster-id");
/// `X-Raft-Index`.
const RAFT_INDEX: HeaderName = HeaderName::from_static("x-raft-index");
/// `X-Raft-Term`.
const RAFT_TERM: HeaderName = HeaderName::from_static("x-raft-term");

/// 200 and 201 decode as an event (an empty body is [`Error::EmptyBody`]); any
/// other status decodes as an API error body.
///
/// `X-Etcd-Index`, when present, must be a number (otherwise
/// [`Error::InvalidResponse`], as Go fails). The `X-Raft-*` headers, which Go's
/// client ignores, are taken when they parse and left `None` otherwise.
pub(crate) fn decode(resp: &HttpResponse) -> Result<Response> {
    if resp.status != StatusCode::OK && resp.status != StatusCode::CREATED {
        let body: ErrorBody =
            serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))?;
        return Err(Error::Api(body.into()));
    }
    if resp.body.is_empty() {
        return Err(Error::EmptyBody);
    }
    let event: Event =
        serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))?;
    let index = match resp.headers.get(&ETCD_INDEX) {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::InvalidResponse(format!("X-Etcd-Index is not a number: {v:?}"))
            })?,
    };
    let text = |name: &HeaderName| resp.headers.get(name).and_then(|v| v.to_str().ok());
    let number = |name: &HeaderName| text(name).and_then(|s| s.parse::<u64>().ok());
    Ok(Response {
        action: event.action,
        node: event.node,
        prev_node: event.prev_node,
        index,
        cluster_id: text(&CLUSTER_ID).unwrap_or_default().to_string(),
        raft_index: number(&RAFT_INDEX),
        raft_term: number(&RAFT_TERM),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Action, ErrorCode, Node};
    use bytes::Bytes;
    use http::{HeaderMap, HeaderName, HeaderValue};
    use std::time::{Duration, UNIX_EPOCH};

    fn http_response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::try_from(*k).unwrap(),
                HeaderValue::try_from(*v).unwrap(),
            );
        }
        HttpResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_string()),
            endpoint: "http://192.0.2.1:2379".into(),
        }
    }

    #[test]
    fn success_takes_event_and_headers() {
        let resp = http_response(
            200,
            &[
                ("X-Etcd-Index", "42"),
                ("X-Etcd-Cluster-Id", "cdf818194e3a8c32"),
                ("X-Raft-Index", "138"),
                ("X-Raft-Term", "2"),
            ],
            r#"{"action":"compareAndSwap","node":{"key":"/a","value":"2","modifiedIndex":42,"createdIndex":40},"prevNode":{"key":"/a","value":"1","modifiedIndex":40,"createdIndex":40}}"#,
        );
        let got = decode(&resp).unwrap();
        assert_eq!(
            got,
            Response {
                action: Action::CompareAndSwap,
                node: Some(Node {
                    key: "/a".into(),
                    value: Some("2".into()),
                    modified_index: 42,
                    created_index: 40,
                    ..Default::default()
                }),
                prev_node: Some(Node {
                    key: "/a".into(),
                    value: Some("1".into()),
                    modified_index: 40,
                    created_index: 40,
                    ..Default::default()
                }),
                index: 42,
                cluster_id: "cdf818194e3a8c32".into(),
                raft_index: Some(138),
                raft_term: Some(2),
            }
        );
    }

    #[test]
    fn created_decodes_like_ok_and_missing_headers_are_zero() {
        let got = decode(&http_response(201, &[], r#"{"action":"create","node":{"key":"/q/00000000000000000017","value":"job","modifiedIndex":17,"createdIndex":17}}"#)).unwrap();
        assert_eq!(got.action, Action::Create);
        assert_eq!(got.index, 0);
        assert_eq!(got.cluster_id, "");
        assert_eq!((got.raft_index, got.raft_term), (None, None));
        assert!(got.prev_node.is_none());
    }

    #[test]
    fn no_value_on_success_body_has_no_node() {
        let got = decode(&http_response(
            200,
            &[("X-Etcd-Index", "9")],
            "{\"action\":\"set\"}\n",
        ))
        .unwrap();
        assert_eq!((got.action, got.node, got.index), (Action::Set, None, 9));
    }

    #[test]
    fn node_with_expiration_and_children() {
        let body = r#"{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/t","value":"v","expiration":"2026-11-20T23:05:45.37565503Z","ttl":7,"modifiedIndex":5,"createdIndex":5},{"key":"/d/sub","dir":true,"modifiedIndex":4,"createdIndex":4}],"modifiedIndex":3,"createdIndex":3}}"#;
        let got = decode(&http_response(200, &[("X-Etcd-Index", "5")], body)).unwrap();
        let dir = got.node.unwrap();
        assert!(dir.dir);
        assert_eq!(dir.value_str(), "");
        assert_eq!(dir.nodes.len(), 2);
        let file = &dir.nodes[0];
        assert_eq!(
            file.expiration,
            Some(UNIX_EPOCH + Duration::new(1_795_215_945, 375_655_030))
        );
        assert_eq!(file.ttl_duration(), Duration::from_secs(7));
        assert!(dir.nodes[1].dir && dir.nodes[1].nodes.is_empty());
    }

    #[test]
    fn empty_success_body_is_empty_body() {
        for status in [200, 201] {
            assert!(matches!(
                decode(&http_response(status, &[("X-Etcd-Index", "1")], "")),
                Err(Error::EmptyBody)
            ));
        }
    }

    #[test]
    fn bad_success_json_is_invalid_json() {
        for body in [
            "{",
            "<html>404</html>",
            r#"{"action":"frobnicate"}"#,
            r#"{"Action":"get"}"#,
            r#"{"action":"get","node":{"expiration":"yesterday"}}"#,
        ] {
            assert!(
                matches!(
                    decode(&http_response(200, &[], body)),
                    Err(Error::InvalidJson { .. })
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn unparsable_index_header_is_invalid_response() {
        let got = decode(&http_response(
            200,
            &[("X-Etcd-Index", "nope")],
            r#"{"action":"get"}"#,
        ));
        assert!(matches!(got, Err(Error::InvalidResponse(m)) if m.contains("X-Etcd-Index")));
    }

    #[test]
    fn unparsable_raft_headers_are_ignored() {
        let got = decode(&http_response(
            200,
            &[("X-Raft-Index", "x"), ("X-Raft-Term", "")],
            r#"{"action":"get"}"#,
        ))
        .unwrap();
        assert_eq!((got.raft_index, got.raft_term), (None, None));
    }

    #[test]
    fn other_statuses_are_api_errors() {
        let cases = [
            (
                404,
                r#"{"errorCode":100,"message":"Key not found","cause":"/foo","index":18}"#,
                ErrorCode::KEY_NOT_FOUND,
                "/foo",
                18,
            ),
            (
                412,
                r#"{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":7}"#,
                ErrorCode::TEST_FAILED,
                "[a != b]",
                7,
            ),
            (
                400,
                r#"{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [1008/7]","index":2007}"#,
                ErrorCode::EVENT_INDEX_CLEARED,
                "the requested history has been cleared [1008/7]",
                2007,
            ),
            (
                403,
                r#"{"errorCode":102,"message":"Not a file","index":35}"#,
                ErrorCode::NOT_FILE,
                "",
                35,
            ),
            // Statuses other than 200/201 are errors even when 2xx.
            (
                202,
                r#"{"errorCode":300,"message":"Raft Internal Error","cause":"x","index":0}"#,
                ErrorCode::RAFT_INTERNAL,
                "x",
                0,
            ),
        ];
        for (status, body, code, cause, index) in cases {
            let err = decode(&http_response(status, &[], body)).unwrap_err();
            let api = err.api().unwrap_or_else(|| panic!("{status}: {err}"));
            assert_eq!(
                (api.code, api.cause.as_str(), api.index),
                (code, cause, index)
            );
        }
        assert!(
            decode(&http_response(
                404,
                &[],
                r#"{"errorCode":100,"message":"Key not found","cause":"/x","index":1}"#
            ))
            .unwrap_err()
            .is_key_not_found()
        );
    }

    #[test]
    fn undecodable_error_body_is_invalid_json() {
        for body in ["", "404 page not found\n", r#"{"message":"no code"}"#] {
            assert!(
                matches!(
                    decode(&http_response(404, &[], body)),
                    Err(Error::InvalidJson { .. })
                ),
                "{body:?}"
            );
        }
    }
}
