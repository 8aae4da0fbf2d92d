//! How each keys call becomes a [`Request`]: the exact query/form placement of
//! Go's client (spec §8.7) plus the delivery each call may use.

use super::{CreateInOrderOptions, DeleteOptions, GetOptions, PrevExist, SetOptions};
use crate::client::{Delivery, Request};
use http::Method;
use std::time::Duration;

/// The unescaped path of `key` under `prefix`, as Go's `v2KeysURL` joins them: a
/// leading `/` is added to each when missing (the client cleans and escapes it).
pub(crate) fn key_path(prefix: &str, key: &str) -> String {
    let mut path = String::with_capacity(prefix.len() + key.len() + 2);
    if !prefix.is_empty() && !prefix.starts_with('/') {
        path.push('/');
    }
    path.push_str(prefix);
    if !key.is_empty() && !key.starts_with('/') {
        path.push('/');
    }
    path.push_str(key);
    path
}

/// A TTL as etcd's form wants it: whole seconds, truncated.
fn ttl_seconds(ttl: Duration) -> String {
    ttl.as_secs().to_string()
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// `GET <path>?quorum=<b>&recursive=<b>&sorted=<b>`: all three, always.
pub(crate) fn get(path: String, opts: GetOptions) -> Request {
    Request::new(Method::GET, path)
        .query("recursive", opts.recursive.to_string())
        .query("sorted", opts.sort.to_string())
        .query("quorum", opts.quorum.to_string())
}

/// Whether a set carries a condition that makes repeating it unsafe: a create
/// (`prevExist=false`) or a compare-and-swap (a `prevValue` that is sent, or a
/// `prevIndex`).
fn set_is_conditional(opts: &SetOptions) -> bool {
    opts.prev_exist == PrevExist::NoExist
        || (!opts.dir && opts.prev_value.is_some())
        || opts.prev_index.is_some_and(|i| i > 0)
}

/// `PUT <path>`: conditions in the query, `value`/`ttl`/`refresh` in the form.
pub(crate) fn set(path: String, value: &str, opts: &SetOptions) -> Request {
    let mut req = Request::new(Method::PUT, path);
    let mut form = Vec::new();
    if opts.dir {
        req = req.query("dir", "true");
    } else {
        if let Some(prev) = &opts.prev_value {
            req = req.query("prevValue", prev.clone());
        }
        form.push(pair("value", value));
    }
    if let Some(index) = opts.prev_index.filter(|i| *i > 0) {
        req = req.query("prevIndex", index.to_string());
    }
    match opts.prev_exist {
        PrevExist::Ignore => {}
        PrevExist::Exist => req = req.query("prevExist", "true"),
        PrevExist::NoExist => req = req.query("prevExist", "false"),
    }
    if opts.no_value_on_success {
        req = req.query("noValueOnSuccess", "true");
    }
    if let Some(ttl) = opts.ttl {
        form.push(pair("ttl", ttl_seconds(ttl)));
    }
    if opts.refresh {
        form.push(pair("refresh", "true"));
    }
    req = req.form(&form);
    if set_is_conditional(opts) {
        req = req.at_most_once();
    }
    req
}

/// `POST <dir>` with form `value` and optional `ttl`: at-most-once.
pub(crate) fn create_in_order(path: String, value: &str, opts: CreateInOrderOptions) -> Request {
    let mut form = vec![pair("value", value)];
    if let Some(ttl) = opts.ttl {
        form.push(pair("ttl", ttl_seconds(ttl)));
    }
    Request::new(Method::POST, path).form(&form).at_most_once()
}

/// `DELETE <path>` with its conditions in the query and an empty form body:
/// always at-most-once.
///
/// A `prev_value` of `Some("")` is sent as `prevValue=` (etcd rejects it with
/// error 201) rather than dropped, which would turn a compare-and-delete into an
/// unconditional delete.
pub(crate) fn delete(path: String, opts: &DeleteOptions) -> Request {
    let mut req = Request::new(Method::DELETE, path);
    if let Some(prev) = &opts.prev_value {
        req = req.query("prevValue", prev.clone());
    }
    if let Some(index) = opts.prev_index.filter(|i| *i > 0) {
        req = req.query("prevIndex", index.to_string());
    }
    if opts.dir {
        req = req.query("dir", "true");
    }
    if opts.recursive {
        req = req.query("recursive", "true");
    }
    req.form(&[]).at_most_once()
}

/// `GET <path>?recursive=<b>&wait=true&waitIndex=<n>`: a long poll, retried on
/// other endpoints like any read.
pub(crate) fn wait(path: String, recursive: bool, wait_index: u64) -> Request {
    let req = Request::new(Method::GET, path)
        .query("recursive", recursive.to_string())
        .query("wait", "true")
        .query("waitIndex", wait_index.to_string())
        .long_poll();
    debug_assert_eq!(req.delivery, Delivery::Retry);
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_path_adds_missing_slashes_like_go() {
        assert_eq!(key_path("/v2/keys", "foo"), "/v2/keys/foo");
        assert_eq!(key_path("/v2/keys", "/foo"), "/v2/keys/foo");
        assert_eq!(key_path("v2/keys", "foo/"), "/v2/keys/foo/");
        assert_eq!(key_path("/v2/keys", ""), "/v2/keys");
        assert_eq!(key_path("", "foo"), "/foo");
        assert_eq!(key_path("", ""), "");
    }

    #[test]
    fn conditional_sets_are_at_most_once() {
        let d = |o: SetOptions| set("/k".into(), "v", &o).delivery;
        assert_eq!(d(SetOptions::default()), Delivery::Retry);
        assert_eq!(
            d(SetOptions {
                prev_exist: PrevExist::Exist,
                ..Default::default()
            }),
            Delivery::Retry
        );
        assert_eq!(
            d(SetOptions {
                ttl: Some(Duration::from_secs(3)),
                refresh: true,
                ..Default::default()
            }),
            Delivery::Retry
        );
        assert_eq!(
            d(SetOptions {
                prev_index: Some(0),
                ..Default::default()
            }),
            Delivery::Retry
        );
        assert_eq!(
            d(SetOptions {
                prev_exist: PrevExist::NoExist,
                ..Default::default()
            }),
            Delivery::AtMostOnce
        );
        assert_eq!(
            d(SetOptions {
                prev_value: Some("a".into()),
                ..Default::default()
            }),
            Delivery::AtMostOnce
        );
        assert_eq!(
            d(SetOptions {
                prev_value: Some(String::new()),
                ..Default::default()
            }),
            Delivery::AtMostOnce
        );
        assert_eq!(
            d(SetOptions {
                prev_index: Some(7),
                ..Default::default()
            }),
            Delivery::AtMostOnce
        );
        // prevValue is not sent with dir, so it is no comparison.
        assert_eq!(
            d(SetOptions {
                dir: true,
                prev_value: Some("a".into()),
                ..Default::default()
            }),
            Delivery::Retry
        );
        assert_eq!(
            d(SetOptions {
                dir: true,
                prev_exist: PrevExist::NoExist,
                ..Default::default()
            }),
            Delivery::AtMostOnce
        );
    }

    #[test]
    fn every_other_call_has_its_delivery() {
        assert_eq!(
            get("/k".into(), GetOptions::default()).delivery,
            Delivery::Retry
        );
        assert_eq!(
            delete("/k".into(), &DeleteOptions::default()).delivery,
            Delivery::AtMostOnce
        );
        let r = create_in_order("/q".into(), "v", CreateInOrderOptions::default());
        assert_eq!(r.delivery, Delivery::AtMostOnce);
        let w = wait("/k".into(), false, 0);
        assert_eq!(w.delivery, Delivery::Retry);
        assert!(w.long_poll);
        assert!(!get("/k".into(), GetOptions::default()).long_poll);
    }
}
