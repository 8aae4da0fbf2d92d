//! URL lists and the initial-cluster map as etcd parses them (`pkg/types`: `NewURLs`,
//! `NewURLsMap`), with etcd's error texts.

use std::collections::BTreeMap;

/// Name → peer URLs (sorted), as etcd's `URLsMap`.
pub type UrlsMap = BTreeMap<String, Vec<String>>;

/// Parses one URL as etcd accepts it (scheme http, https, unix or unixs; a
/// `host:port`; no path) and returns its normalised form (lower-case scheme).
///
/// # Errors
///
/// etcd's text for the first problem.
pub fn parse_url(input: &str) -> Result<String, String> {
    let input = input.trim();
    let Some((scheme, rest)) = split_scheme(input) else {
        if input.contains(':') && !input.contains('/') {
            return Err(format!(
                "parse {input:?}: first path segment in URL cannot contain colon"
            ));
        }
        return Err(format!(
            "URL scheme must be http, https, unix, or unixs: {input}"
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "unix" | "unixs") {
        return Err(format!(
            "URL scheme must be http, https, unix, or unixs: {input}"
        ));
    }
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(format!(
            "URL address does not have the form \"host:port\": {input}"
        ));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host_port, tail) = rest.split_at(end);
    if host_port.contains(' ') {
        return Err(format!(
            "parse {input:?}: invalid character \" \" in host name"
        ));
    }
    let Some((_, port)) = split_host_port(host_port) else {
        return Err(format!(
            "URL address does not have the form \"host:port\": {input}"
        ));
    };
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "parse {input:?}: invalid port \":{port}\" after host"
        ));
    }
    if tail.starts_with('/') {
        return Err(format!("URL must not contain a path: {input}"));
    }
    Ok(format!("{scheme}://{host_port}{tail}"))
}

/// The scheme and the rest, if `s` starts with a valid URL scheme and a colon.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// Splits `host:port` (`[v6]:port` for IPv6) as Go's `net.SplitHostPort`; the host
/// may be empty.
pub fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// The host part of an already parsed URL (`scheme://host:port`).
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    split_host_port(&rest[..end]).map_or("", |(h, _)| h)
}

/// The port of an already parsed URL, if numeric.
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    split_host_port(&rest[..end]).and_then(|(_, p)| p.parse().ok())
}

/// Parses a comma-separated URL list (etcd's `--listen-client-urls` and friends):
/// every URL checked, duplicates dropped, sorted. An empty string is an empty list.
///
/// # Errors
///
/// etcd's text for the first bad URL.
pub fn parse_url_list(s: &str) -> Result<Vec<String>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut urls = s.split(',').map(parse_url).collect::<Result<Vec<_>, _>>()?;
    urls.sort();
    urls.dedup();
    Ok(urls)
}

/// Parses etcd's `--initial-cluster` (`name=url,name=url,...`; a name may repeat to
/// give a member several URLs).
///
/// # Errors
///
/// etcd's text for the first bad URL.
pub fn parse_initial_cluster(s: &str) -> Result<UrlsMap, String> {
    let mut raw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in s.split(',').filter(|i| !i.is_empty()) {
        let (name, url) = item.split_once('=').unwrap_or((item, ""));
        raw.entry(name.to_string())
            .or_default()
            .push(url.to_string());
    }
    let mut map = UrlsMap::new();
    for (name, urls) in raw {
        let mut parsed = urls
            .iter()
            .map(|u| parse_url(u))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.sort();
        map.insert(name, parsed);
    }
    Ok(map)
}

/// etcd's `URLsMap.String()`: `name=url` pairs sorted, comma-joined.
pub fn urls_map_string(map: &UrlsMap) -> String {
    let mut pairs: Vec<String> = map
        .iter()
        .flat_map(|(name, urls)| urls.iter().map(move |u| format!("{name}={u}")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// Go's `%q` of a string list: `["a" "b"]`.
pub fn go_quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{:?}", s.as_ref())).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_like_etcd() {
        assert_eq!(
            parse_url(" HTTP://127.0.0.1:2379").unwrap(),
            "http://127.0.0.1:2379"
        );
        assert_eq!(parse_url("http://[::1]:2379").unwrap(), "http://[::1]:2379");
        assert_eq!(
            parse_url("http://127.0.0.1").unwrap_err(),
            "URL address does not have the form \"host:port\": http://127.0.0.1"
        );
        assert_eq!(
            parse_url("ftp://127.0.0.1:1").unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:1"
        );
        assert_eq!(
            parse_url("localhost:2379").unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: localhost:2379"
        );
        assert_eq!(
            parse_url("127.0.0.1:2379").unwrap_err(),
            "parse \"127.0.0.1:2379\": first path segment in URL cannot contain colon"
        );
        assert_eq!(
            parse_url("http://127.0.0.1:1/").unwrap_err(),
            "URL must not contain a path: http://127.0.0.1:1/"
        );
        assert_eq!(
            parse_url("http://127.0.0.1:abc").unwrap_err(),
            "parse \"http://127.0.0.1:abc\": invalid port \":abc\" after host"
        );
        assert_eq!(
            parse_url("").unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: "
        );
    }

    #[test]
    fn lists_are_sorted_and_unique() {
        assert_eq!(
            parse_url_list("http://b:1,http://a:1,http://b:1").unwrap(),
            vec!["http://a:1".to_string(), "http://b:1".to_string()]
        );
        assert!(parse_url_list("").unwrap().is_empty());
        assert_eq!(url_host("http://10.0.0.1:2380"), "10.0.0.1");
        assert_eq!(url_port("http://[::1]:2380"), Some(2380));
    }

    #[test]
    fn initial_cluster_map() {
        let m = parse_initial_cluster("b=http://h:2,a=http://h:1,b=http://h:0").unwrap();
        assert_eq!(m["a"], vec!["http://h:1".to_string()]);
        assert_eq!(
            m["b"],
            vec!["http://h:0".to_string(), "http://h:2".to_string()]
        );
        assert_eq!(
            urls_map_string(&m),
            "a=http://h:1,b=http://h:0,b=http://h:2"
        );
        assert_eq!(
            parse_initial_cluster("foo").unwrap_err(),
            "URL scheme must be http, https, unix, or unixs: "
        );
        assert!(parse_initial_cluster("").unwrap().is_empty());
        assert_eq!(go_quoted_list(&["a", "b"]), "[\"a\" \"b\"]");
    }
}
