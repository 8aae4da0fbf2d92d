//! URL building with Go's rules: `CanonicalURLPath`, `URL.EscapedPath` and
//! `url.Values.Encode`, so requests look exactly as Go's client sends them.

use crate::error::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Bytes Go's `EscapedPath` escapes: all but `A-Z a-z 0-9 - _ . ~ $ & + , / : ; = @`.
const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// Bytes Go's `QueryEscape` escapes: all but `A-Z a-z 0-9 - _ . ~` (space is `+`).
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Go's `path.Clean`: collapse `//`, drop `.`, resolve `..`; `""` becomes `.`.
pub(crate) fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Whether `p` is already what [`canonical_url_path`] makes of it: rooted, no
/// empty, `.` or `..` segment (a trailing slash is allowed). The common case,
/// checked without allocating.
fn is_canonical(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    rest.is_empty() && p.len() == 1
        || !rest.is_empty()
            && rest
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Go's client `CanonicalURLPath`: [`clean`], but a trailing slash is kept and
/// the result always starts with `/`.
pub(crate) fn canonical_url_path(p: &str) -> String {
    if is_canonical(p) {
        return p.to_string();
    }
    if p.is_empty() {
        return "/".to_string();
    }
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    let mut out = clean(&p);
    if p.ends_with('/') && out != "/" {
        out.push('/');
    }
    out
}

/// Escapes a path as Go's `URL.EscapedPath` does.
pub(crate) fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for chunk in utf8_percent_encode(p, PATH_ESCAPE) {
        out.push_str(chunk);
    }
    out
}

/// Appends `s` escaped as Go's `QueryEscape` does (space as `+`). The
/// encoder yields unescaped runs and one `%XX` per escaped byte, and `%`
/// itself is always escaped, so a `%20` chunk is exactly an escaped space.
fn push_query_escaped(out: &mut String, s: &str) {
    for chunk in utf8_percent_encode(s, QUERY_ESCAPE) {
        if chunk == "%20" {
            out.push('+');
        } else {
            out.push_str(chunk);
        }
    }
}

/// Go's `QueryEscape`.
#[cfg(test)]
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_query_escaped(&mut out, s);
    out
}

/// Go's `url.Values.Encode`: sorted by key (stably, so repeated keys keep their
/// order), `k=v` joined with `&`.
pub fn encode_form(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let len: usize = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_query_escaped(&mut out, k);
        out.push('=');
        push_query_escaped(&mut out, v);
    }
    out
}

/// Parses and checks one endpoint: `http`/`https` with a host.
pub(crate) fn parse_endpoint(ep: &str) -> Result<url::Url> {
    let invalid = |reason: String| Error::InvalidEndpoint {
        endpoint: ep.to_string(),
        reason,
    };
    let u = url::Url::parse(ep).map_err(|e| invalid(e.to_string()))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(invalid(format!(
            "scheme must be http or https, not {:?}",
            u.scheme()
        )));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(invalid("an endpoint has no query or fragment".into()));
    }
    Ok(u)
}

/// The URL for `path` (unescaped; joined under the endpoint's own path) with `query`.
pub(crate) fn request_url(endpoint: &url::Url, path: &str, query: &[(String, String)]) -> url::Url {
    let base = endpoint.path().trim_end_matches('/');
    let full = if base.is_empty() {
        canonical_url_path(path)
    } else {
        canonical_url_path(&format!("{base}{path}"))
    };
    let mut u = endpoint.clone();
    u.set_path(&escape_path(&full));
    if query.is_empty() {
        u.set_query(None);
    } else {
        u.set_query(Some(&encode_form(query)));
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keeps_trailing_slash() {
        // Cases in the spirit of Go's TestV2KeysURLHelper / TestCanonicalURLPath.
        assert_eq!(canonical_url_path(""), "/");
        assert_eq!(canonical_url_path("/"), "/");
        assert_eq!(canonical_url_path("/foo/bar/baz/"), "/foo/bar/baz/");
        assert_eq!(canonical_url_path("//a//b/./c/../d"), "/a/b/d");
        assert_eq!(canonical_url_path("a/b"), "/a/b");
        assert_eq!(canonical_url_path("/../x"), "/x");
        assert_eq!(canonical_url_path("a/"), "/a/");
        assert_eq!(canonical_url_path("/a/."), "/a");
        assert_eq!(canonical_url_path("/a/./"), "/a/");
        assert_eq!(canonical_url_path("/a/b/.."), "/a");
        assert_eq!(canonical_url_path("/a//"), "/a/");
        assert_eq!(canonical_url_path("//"), "/");
        assert_eq!(canonical_url_path("/.a/b.c/..d"), "/.a/b.c/..d");
    }

    #[test]
    fn the_fast_path_agrees_with_clean() {
        for p in [
            "/",
            "/a",
            "/a/",
            "/a/b",
            "/v2/keys/x y",
            "/a/.b",
            "/a/b./",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a/..",
            "/a/.",
            "",
            "a",
            "/a/b//",
        ] {
            let slow = {
                let rooted = if p.starts_with('/') {
                    p.to_string()
                } else {
                    format!("/{p}")
                };
                let mut out = clean(&rooted);
                if rooted.ends_with('/') && out != "/" {
                    out.push('/');
                }
                out
            };
            assert_eq!(canonical_url_path(p), slow, "{p:?}");
        }
    }

    #[test]
    fn escaping_follows_go() {
        assert_eq!(
            escape_path("/v2/keys/a b?#%!*'()€"),
            "/v2/keys/a%20b%3F%23%25%21%2A%27%28%29%E2%82%AC"
        );
        assert_eq!(escape_path("/$&+,:;=@~-_."), "/$&+,:;=@~-_.");
        assert_eq!(query_escape("a b&c=d/é~*"), "a+b%26c%3Dd%2F%C3%A9~%2A");
    }

    #[test]
    fn form_is_sorted_by_key() {
        let q = vec![
            ("sorted".to_string(), "false".to_string()),
            ("quorum".to_string(), "true".to_string()),
            ("recursive".to_string(), "false".to_string()),
        ];
        assert_eq!(encode_form(&q), "quorum=true&recursive=false&sorted=false");
        let odd = vec![
            ("b".to_string(), "x y%20+&=".to_string()),
            ("a".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
        ];
        assert_eq!(encode_form(&odd), "a=2&a=1&b=x+y%2520%2B%26%3D");
        assert_eq!(encode_form(&[]), "");
    }

    #[test]
    fn request_url_joins_under_endpoint_path() {
        let ep = parse_endpoint("http://h:1/foo").unwrap();
        let u = request_url(&ep, "/bar/baz/", &[]);
        assert_eq!(u.as_str(), "http://h:1/foo/bar/baz/");
        let ep = parse_endpoint("http://h:1").unwrap();
        let u = request_url(&ep, "/v2/keys/a b", &[("wait".into(), "true".into())]);
        assert_eq!(u.as_str(), "http://h:1/v2/keys/a%20b?wait=true");
    }

    #[test]
    fn endpoint_validation() {
        assert!(parse_endpoint("http://127.0.0.1:2379").is_ok());
        assert!(parse_endpoint("https://e.example:2379").is_ok());
        for bad in [
            "",
            "127.0.0.1:2379",
            "ftp://h:1",
            "http://",
            "http://h:1/?a=b",
            "not a url",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
