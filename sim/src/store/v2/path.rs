//! Store paths: cleaning (Go's `path.Clean` on rooted paths), joining, the three
//! namespaces, and the helpers that turn internal paths into what clients see.
//!
//! The store works on full internal paths: user keys live under [`KEYS_NAMESPACE`]
//! (`/1/foo`), cluster data under [`MEMBERS_NAMESPACE`] (`/0/...`) and v2 auth data
//! under [`AUTH_NAMESPACE`] (`/2/...`). The HTTP layer maps a user key to its internal
//! path with [`keys_path`] and strips the prefix from everything it sends back with
//! [`trim_event_prefix`] and [`StoreError::trim_cause_prefix`](super::StoreError::trim_cause_prefix),
//! as etcd's v2http does.

use etcd_sdk::wire::{Event, Node};

/// Namespace of cluster membership and the cluster version (`/0`).
pub const MEMBERS_NAMESPACE: &str = "/0";
/// Namespace of the user keys served at `/v2/keys` (`/1`).
pub const KEYS_NAMESPACE: &str = "/1";
/// Namespace of the v2 auth users, roles and `enabled` flag (`/2`). Unlike `/0` and
/// `/1` it is not created with the store and is not read-only: the auth layer
/// creates it with its first write.
pub const AUTH_NAMESPACE: &str = "/2";

/// Cleans a path as Go's `path.Clean(path.Join("/", p))`: the result is rooted, has
/// no empty, `.` or `..` elements and no trailing slash (except the root `/`).
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(p.len() + 1);
    for s in parts {
        out.push('/');
        out.push_str(s);
    }
    out
}

/// The internal path of a user key: `/1` followed by the cleaned key. The key is
/// cleaned on its own first, so `..` can never leave the `/1` namespace (etcd
/// answers unclean URLs with a 301 before they reach the store).
pub fn keys_path(user_key: &str) -> String {
    let cleaned = clean_path(user_key);
    if cleaned == "/" {
        KEYS_NAMESPACE.to_string()
    } else {
        format!("{KEYS_NAMESPACE}{cleaned}")
    }
}

/// Joins a clean parent path and a child name (Go's `path.Join(parent, name)` for a
/// single, clean element).
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Splits a clean path into (parent directory path, last element). The root splits
/// into (`/`, ``).
pub(crate) fn split(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(0) => ("/", &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("/", p),
    }
}

/// The elements of a clean path (`/a/b` gives `a`, `b`; the root gives nothing).
pub(crate) fn components(p: &str) -> impl Iterator<Item = &str> {
    p.split('/').filter(|s| !s.is_empty())
}

/// Whether a node name is hidden (starts with `_`).
pub(crate) fn is_hidden_name(name: &str) -> bool {
    name.starts_with('_')
}

/// Whether `key` is hidden as seen from a watcher at `watch_path` (etcd's
/// `isHidden`): some element of `key` below `watch_path` starts with `_`. A watch
/// path longer than the key (a delete callback on a removed descendant) is never
/// hidden.
pub(crate) fn is_hidden_below(watch_path: &str, key: &str) -> bool {
    if watch_path.len() > key.len() {
        return false;
    }
    let rest = key.get(watch_path.len()..).unwrap_or("");
    components(rest).any(is_hidden_name)
}

/// The ancestors of a clean path, root first, ending with the path itself:
/// `/1/a` gives `/`, `/1`, `/1/a`.
pub(crate) fn prefixes(p: &str) -> Vec<String> {
    let mut out = vec!["/".to_string()];
    let mut cur = String::new();
    for c in components(p) {
        cur.push('/');
        cur.push_str(c);
        out.push(cur.clone());
    }
    out
}

/// Strips `prefix` from a key if it starts with it (Go's `strings.TrimPrefix`).
pub fn trim_key_prefix<'a>(key: &'a str, prefix: &str) -> &'a str {
    key.strip_prefix(prefix).unwrap_or(key)
}

/// Strips `prefix` from a node's key and from all its children's keys, recursively.
pub fn trim_node_prefix(node: &mut Node, prefix: &str) {
    // An explicit stack: a recursive get returns a node as deep as the tree.
    let mut pending = vec![node];
    while let Some(n) = pending.pop() {
        if let Some(rest) = n.key.strip_prefix(prefix) {
            n.key = rest.to_string();
        }
        pending.extend(n.nodes.iter_mut());
    }
}

/// Strips `prefix` (normally [`KEYS_NAMESPACE`]) from the keys of an event's node and
/// prevNode, giving what `/v2/keys` sends: the event `/1/foo` becomes `/foo`, and the
/// `/1` root becomes the empty key (omitted in JSON).
pub fn trim_event_prefix(mut event: Event, prefix: &str) -> Event {
    if let Some(n) = event.node.as_mut() {
        trim_node_prefix(n, prefix);
    }
    if let Some(n) = event.prev_node.as_mut() {
        trim_node_prefix(n, prefix);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go_for_rooted_paths() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/foo/", "/foo"),
            ("foo", "/foo"),
            ("/a//b/./c/", "/a/b/c"),
            ("/a/b/../c", "/a/c"),
            ("/../../x", "/x"),
            ("/1/", "/1"),
        ];
        for (input, want) in cases {
            assert_eq!(clean_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn keys_path_stays_in_the_keys_namespace() {
        assert_eq!(keys_path("/foo"), "/1/foo");
        assert_eq!(keys_path("/"), "/1");
        assert_eq!(keys_path(""), "/1");
        assert_eq!(keys_path("/../0/members"), "/1/0/members");
        assert_eq!(keys_path("a//b/"), "/1/a/b");
    }

    #[test]
    fn split_join_components_prefixes() {
        assert_eq!(split("/1/foo"), ("/1", "foo"));
        assert_eq!(split("/1"), ("/", "1"));
        assert_eq!(split("/"), ("/", ""));
        assert_eq!(join("/", "1"), "/1");
        assert_eq!(join("/1", "a"), "/1/a");
        assert_eq!(components("/1/a/b").collect::<Vec<_>>(), ["1", "a", "b"]);
        assert_eq!(prefixes("/1/a"), ["/", "/1", "/1/a"]);
        assert_eq!(prefixes("/"), ["/"]);
    }

    #[test]
    fn hidden_relative_to_the_watch_path() {
        assert!(!is_hidden_below("/", "/foo"));
        assert!(is_hidden_below("/", "/_foo"));
        assert!(is_hidden_below("/", "/foo/_bar"));
        assert!(is_hidden_below("/", "/_foo/bar"));
        assert!(!is_hidden_below("/_foo", "/_foo"));
        assert!(!is_hidden_below("/_foo", "/_foo/bar"));
        assert!(is_hidden_below("/foo", "/foo/_bar"));
        assert!(is_hidden_below("/foo", "/foo/_bar/baz"));
        assert!(!is_hidden_below("/foo/bar", "/foo"));
        assert!(!is_hidden_below("/foo", "/foo/bar_x"));
    }

    #[test]
    fn trimming_strips_the_namespace_everywhere() {
        let ev = Event {
            action: etcd_sdk::wire::Action::Get,
            node: Some(Node {
                key: "/1".into(),
                dir: true,
                nodes: vec![Node {
                    key: "/1/a".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            prev_node: Some(Node {
                key: "/1/b".into(),
                ..Default::default()
            }),
        };
        let ev = trim_event_prefix(ev, KEYS_NAMESPACE);
        let node = ev.node.unwrap();
        assert_eq!(node.key, "");
        assert_eq!(node.nodes[0].key, "/a");
        assert_eq!(ev.prev_node.unwrap().key, "/b");
        assert_eq!(trim_key_prefix("/1/x", "/1"), "/x");
        assert_eq!(trim_key_prefix("/", "/1"), "/");
    }
}
