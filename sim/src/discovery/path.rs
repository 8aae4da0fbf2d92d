//! Go's `path.Join` for slash-separated keys (etcd builds its discovery keys
//! with it).

/// Joins `parts` with `/` and cleans the result as Go's `path.Join` does (empty
/// parts are skipped; `.`, `..` and repeated slashes are resolved). Empty when
/// every part is empty.
pub fn join(parts: &[&str]) -> String {
    let joined: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if joined.is_empty() {
        return String::new();
    }
    clean(&joined.join("/"))
}

/// Go's `path.Clean`.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|s| *s != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Go's `path.Base`: the last element (`/` for the root, `.` for empty).
pub fn base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_go() {
        assert_eq!(
            join(&["/", "/v2/keys/d/tok", "_config"]),
            "/v2/keys/d/tok/_config"
        );
        assert_eq!(join(&["/", "", "_config"]), "/_config");
        assert_eq!(join(&["/", "tok/", "abc"]), "/tok/abc");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(clean("a//b/./c/.."), "a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean(""), ".");
        assert_eq!(base("/tok/abc"), "abc");
        assert_eq!(base("/tok/_config/"), "_config");
        assert_eq!(base("/"), "/");
        assert_eq!(base(""), ".");
    }
}
