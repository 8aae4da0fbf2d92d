//! Client-side validation of peer URLs, with the rules (and messages) of etcd's
//! `types.NewURLs`, which the server applies too: scheme `http`, `https`, `unix`
//! or `unixs`; an address of the form `host:port`; no path.

use crate::error::{Error, Result};

/// A peer URL refused before anything is sent, with etcd's wording (the server
/// applies the same rules).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerUrlError {
    /// Not a URL at all.
    #[error("invalid URL {url:?}")]
    Unparsable {
        /// The rejected text.
        url: String,
        /// Why the URL parser refused it.
        #[source]
        source: url::ParseError,
    },
    /// The scheme is not `http`, `https`, `unix` or `unixs`.
    #[error("URL scheme must be http, https, unix, or unixs: {url}")]
    Scheme {
        /// The rejected URL.
        url: String,
    },
    /// The address is not `host:port`.
    #[error(r#"URL address does not have the form "host:port": {url}"#)]
    HostPort {
        /// The rejected URL.
        url: String,
    },
    /// The URL has a path.
    #[error("URL must not contain a path: {url}")]
    Path {
        /// The rejected URL.
        url: String,
    },
}

/// Checks one peer URL; the error says what is wrong, as etcd words it.
pub(crate) fn validate_peer_url(raw: &str) -> Result<()> {
    check(raw).map_err(Error::InvalidPeerUrl)
}

fn check(raw: &str) -> std::result::Result<(), PeerUrlError> {
    let url = || raw.to_string();
    if let Err(source) = url::Url::parse(raw) {
        return Err(PeerUrlError::Unparsable { url: url(), source });
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(PeerUrlError::Scheme { url: url() });
    };
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "unix" | "unixs"
    ) {
        return Err(PeerUrlError::Scheme { url: url() });
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if !has_host_and_port(host_port) {
        return Err(PeerUrlError::HostPort { url: url() });
    }
    if tail.starts_with('/') {
        return Err(PeerUrlError::Path { url: url() });
    }
    Ok(())
}

/// Whether `s` is `host:port` (or `[v6]:port`) with a non-empty host and a numeric port.
fn has_host_and_port(s: &str) -> bool {
    let (host, port) = if let Some(bracketed) = s.strip_prefix('[') {
        match bracketed.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, p),
            _ => return false,
        }
    };
    !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        match validate_peer_url(raw) {
            Err(Error::InvalidPeerUrl(e)) => e.to_string(),
            other => panic!("{raw}: expected InvalidPeerUrl, got {other:?}"),
        }
    }

    #[test]
    fn accepts_etcd_peer_urls() {
        for ok in [
            "http://127.0.0.1:2380",
            "https://example.com:2380",
            "unix://localhost:1234",
            "unixs://localhost:1234",
            "http://[::1]:2380",
            "HTTP://h:1",
            "http://h:1?x=y",
        ] {
            assert!(validate_peer_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_scheme_address_and_path_with_etcds_messages() {
        assert_eq!(
            message("ftp://h:1"),
            "URL scheme must be http, https, unix, or unixs: ftp://h:1"
        );
        assert_eq!(
            message("http://h"),
            r#"URL address does not have the form "host:port": http://h"#
        );
        assert_eq!(
            message("http://[::1]"),
            r#"URL address does not have the form "host:port": http://[::1]"#
        );
        assert_eq!(
            message("http://h:1/"),
            "URL must not contain a path: http://h:1/"
        );
        assert_eq!(
            message("http://h:1/p"),
            "URL must not contain a path: http://h:1/p"
        );
        assert!(message(":").starts_with("invalid URL \":\""));
        match validate_peer_url(":") {
            Err(Error::InvalidPeerUrl(PeerUrlError::Unparsable { url, source })) => {
                assert_eq!(url, ":");
                assert_eq!(source, url::ParseError::RelativeUrlWithoutBase);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            validate_peer_url("http://h:1/p"),
            Err(Error::InvalidPeerUrl(PeerUrlError::Path { .. }))
        ));
        assert!(message("notaurl").starts_with("invalid URL"));
        assert!(message("").starts_with("invalid URL"));
    }
}
