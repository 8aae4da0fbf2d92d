//! Client-side validation of peer URLs, with the rules (and messages) of etcd's
//! `types.NewURLs`, which the server applies too: scheme `http`, `https`, `unix`
//! or `unixs`; an address of the form `host:port`; no path.

use crate::error::{Error, Result};

/// Checks one peer URL; the error says what is wrong, as etcd words it.
pub(crate) fn validate_peer_url(raw: &str) -> Result<()> {
    let invalid = |why: &str| Err(Error::InvalidArgument(format!("{why}: {raw}")));
    if let Err(e) = url::Url::parse(raw) {
        return Err(Error::InvalidArgument(format!("invalid URL {raw:?}: {e}")));
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return invalid("URL scheme must be http, https, unix, or unixs");
    };
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "unix" | "unixs"
    ) {
        return invalid("URL scheme must be http, https, unix, or unixs");
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if !has_host_and_port(host_port) {
        return invalid(r#"URL address does not have the form "host:port""#);
    }
    if tail.starts_with('/') {
        return invalid("URL must not contain a path");
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
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("{raw}: expected InvalidArgument, got {other:?}"),
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
        assert!(message("notaurl").starts_with("invalid URL"));
        assert!(message("").starts_with("invalid URL"));
    }
}
