//! HTTP request headers to the gRPC metadata of the call the gateway makes.
//!
//! - `Authorization: <token>` becomes the metadata `token` (the key etcd's server
//!   reads first; etcd's gateway forwards it as `authorization`, which etcd's
//!   server also accepts);
//! - `Grpc-Metadata-<Key>: <value>` becomes `<key>` (e.g. `Grpc-Metadata-hasleader:
//!   true` makes a leaderless member fail fast with "etcdserver: no leader");
//! - nothing else is forwarded (grpc-gateway also passes the standard HTTP headers
//!   as `grpcgateway-<name>` and adds `x-forwarded-for`/`-host`, which etcd ignores).

use etcd_sdk::v3::tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use http::HeaderMap;

/// The prefix of headers forwarded as metadata.
const GRPC_METADATA: &str = "grpc-metadata-";

/// The metadata of the call for a request with `headers`.
pub fn from_headers(headers: &HeaderMap) -> MetadataMap {
    let mut md = MetadataMap::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let key = if *name == http::header::AUTHORIZATION {
            if value.is_empty() {
                continue;
            }
            "token"
        } else if let Some(key) = name.as_str().strip_prefix(GRPC_METADATA) {
            key
        } else {
            continue;
        };
        // Binary (`-bin`) keys and values that are no metadata are skipped.
        let (Ok(k), Ok(v)) = (
            AsciiMetadataKey::from_bytes(key.as_bytes()),
            value.parse::<AsciiMetadataValue>(),
        ) else {
            continue;
        };
        md.append(k, v);
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_the_token_and_grpc_metadata_is_unprefixed() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "OHLTvSEDWIwycxSh.117".parse().unwrap());
        h.insert("grpc-metadata-hasleader", "true".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("user-agent", "curl".parse().unwrap());
        let md = from_headers(&h);
        assert_eq!(md.get("token").unwrap(), "OHLTvSEDWIwycxSh.117");
        assert_eq!(md.get("hasleader").unwrap(), "true");
        assert_eq!(md.len(), 2);
    }

    #[test]
    fn an_empty_authorization_is_none() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "".parse().unwrap());
        assert!(from_headers(&h).is_empty());
    }
}
