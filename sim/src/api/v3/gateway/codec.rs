//! Request bodies to messages and messages to response bodies, with the serde
//! impls generated for the SDK's prost types (see `etcd_sdk::v3::pb`).
//!
//! As grpc-gateway decodes with Go's `json.Decoder`: a unary body is its first
//! JSON value (what follows it is ignored), an empty body is the empty request;
//! a stream's body is a sequence of JSON values, read until its end or the first
//! one that does not decode.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The request in a unary call's body: its first JSON value, or the default
/// message when the body holds none.
///
/// # Errors
///
/// The first value is not JSON, or not the message's JSON: the decoder's text.
pub fn decode_one<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<T>();
    match values.next() {
        None => Ok(T::default()),
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(e.to_string()),
    }
}

/// The requests a stream's body holds, in order; with the decoder's text for the
/// value that ended it, if one did not decode.
pub fn decode_stream<T: DeserializeOwned>(body: &[u8]) -> (Vec<T>, Option<String>) {
    let mut out = Vec::new();
    for v in serde_json::Deserializer::from_slice(body).into_iter::<T>() {
        match v {
            Ok(v) => out.push(v),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
    (out, None)
}

/// A response message as the gateway prints it.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // The generated impls fail only on values JSON cannot hold (none here).
    serde_json::to_vec(msg).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "gateway: response not encoded");
        b"{}".to_vec()
    })
}

/// One message of a response stream: `{"result":...}` and a newline.
pub fn encode_result<T: Serialize>(msg: &T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Chunk<'a, T> {
        result: &'a T,
    }
    let mut out = encode(&Chunk { result: msg });
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::{
        LeaseKeepAliveRequest, RangeRequest, WatchRequest, WatchResponse, watch_request,
    };

    #[test]
    fn an_empty_body_is_the_empty_request() {
        assert_eq!(
            decode_one::<RangeRequest>(b"").unwrap(),
            RangeRequest::default()
        );
        assert_eq!(
            decode_one::<RangeRequest>(b"  \n").unwrap(),
            RangeRequest::default()
        );
    }

    #[test]
    fn what_follows_the_first_value_is_ignored() {
        let r: RangeRequest = decode_one(br#"{"key":"Zm9v"} trailing"#).unwrap();
        assert_eq!(r.key, b"foo");
    }

    #[test]
    fn bad_bodies_are_errors() {
        for bad in [
            &br#"{"key":"#[..],
            br#"[1]"#,
            br#"{"key":"!!"}"#,
            br#"{"revision":"abc"}"#,
            br#"{"sort_order":"NOPE"}"#,
        ] {
            assert!(
                decode_one::<RangeRequest>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_stream_body_is_a_sequence_of_values_until_a_bad_one() {
        let (reqs, err) = decode_stream::<WatchRequest>(
            b"{\"create_request\":{\"key\":\"dw==\"}}\n{\"progress_request\":{}}{\"cancel_request\":{\"watch_id\":\"1\"}}",
        );
        assert!(err.is_none());
        assert_eq!(reqs.len(), 3);
        assert!(matches!(
            reqs[1].request_union,
            Some(watch_request::RequestUnion::ProgressRequest(_))
        ));
        let (reqs, err) = decode_stream::<LeaseKeepAliveRequest>(br#"{"ID":"77"}{"ID":"x"}"#);
        assert_eq!(reqs, vec![LeaseKeepAliveRequest { id: 77 }]);
        assert!(err.is_some());
        let (reqs, err) = decode_stream::<LeaseKeepAliveRequest>(b"");
        assert!(reqs.is_empty() && err.is_none());
    }

    #[test]
    fn stream_messages_are_result_lines() {
        let resp = WatchResponse {
            created: true,
            ..Default::default()
        };
        assert_eq!(encode_result(&resp), b"{\"result\":{\"created\":true}}\n");
    }
}
