//! Parsing and validating a `/v2/keys` request, in etcd 3.4's exact check order
//! (spec §2.2): the first failing check decides the error, always with index 0.

use super::form::{Form, parse_bool, parse_uint};
use crate::store::v2::keys_path;
use etcd_sdk::wire::{ErrorBody, ErrorCode};

/// A validated `/v2/keys` request, before dispatch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeysRequest {
    /// The HTTP method (`GET`, `HEAD`, `PUT`, `POST`, `DELETE`).
    pub method: String,
    /// The store path: `/1` joined with the decoded, cleaned key path.
    pub path: String,
    /// `value` (first value; `""` when absent).
    pub value: String,
    /// `dir`.
    pub dir: bool,
    /// `prevValue` (`""`: no condition; an explicit empty value is rejected).
    pub prev_value: String,
    /// `prevIndex` (0: no condition).
    pub prev_index: u64,
    /// `prevExist`, when given.
    pub prev_exist: Option<bool>,
    /// `wait`.
    pub wait: bool,
    /// `waitIndex` (0: from now on).
    pub wait_index: u64,
    /// `recursive`.
    pub recursive: bool,
    /// `sorted`.
    pub sorted: bool,
    /// `quorum`.
    pub quorum: bool,
    /// `stream`.
    pub stream: bool,
    /// `refresh`, when given.
    pub refresh: Option<bool>,
    /// `ttl` in seconds, when given and non-empty.
    pub ttl: Option<u64>,
    /// `noValueOnSuccess`.
    pub no_value_on_success: bool,
}

fn invalid(code: ErrorCode, cause: &str) -> ErrorBody {
    ErrorBody::new(code, cause, 0)
}

fn get_uint(form: &Form, name: &str) -> Result<u64, ()> {
    match form.first(name) {
        None => Ok(0),
        Some(v) => parse_uint(v).ok_or(()),
    }
}

fn get_bool(form: &Form, name: &str) -> Result<bool, ()> {
    match form.first(name) {
        None => Ok(false),
        Some(v) => parse_bool(v).ok_or(()),
    }
}

impl KeysRequest {
    /// Validates a request whose decoded path after `/v2/keys` is `key_path`.
    pub fn parse(
        method: &str,
        key_path: &str,
        form: Result<Form, String>,
    ) -> Result<KeysRequest, ErrorBody> {
        let mut form = form.map_err(|e| invalid(ErrorCode::INVALID_FORM, &e))?;
        let prev_index = get_uint(&form, "prevIndex")
            .map_err(|_| invalid(ErrorCode::INDEX_NAN, r#"invalid value for "prevIndex""#))?;
        let wait_index = get_uint(&form, "waitIndex")
            .map_err(|_| invalid(ErrorCode::INDEX_NAN, r#"invalid value for "waitIndex""#))?;
        let mut flags = [false; 6];
        for (i, name) in ["recursive", "sorted", "wait", "dir", "quorum", "stream"]
            .iter()
            .enumerate()
        {
            flags[i] = get_bool(&form, name).map_err(|_| {
                invalid(
                    ErrorCode::INVALID_FIELD,
                    &format!("invalid value for \"{name}\""),
                )
            })?;
        }
        let [recursive, sorted, wait, dir, quorum, stream] = flags;
        if wait && method != "GET" {
            return Err(invalid(
                ErrorCode::INVALID_FIELD,
                r#""wait" can only be used with GET requests"#,
            ));
        }
        let prev_value = form.value("prevValue").to_string();
        if form.has("prevValue") && prev_value.is_empty() {
            return Err(invalid(
                ErrorCode::PREV_VALUE_REQUIRED,
                r#""prevValue" cannot be empty"#,
            ));
        }
        let no_value_on_success = get_bool(&form, "noValueOnSuccess").map_err(|_| {
            invalid(
                ErrorCode::INVALID_FIELD,
                r#"invalid value for "noValueOnSuccess""#,
            )
        })?;
        let ttl = match form.value("ttl") {
            "" => None,
            v => Some(
                parse_uint(v)
                    .ok_or_else(|| invalid(ErrorCode::TTL_NAN, r#"invalid value for "ttl""#))?,
            ),
        };
        let prev_exist =
            match form.first("prevExist") {
                None => None,
                Some(v) => Some(parse_bool(v).ok_or_else(|| {
                    invalid(ErrorCode::INVALID_FIELD, "invalid value for prevExist")
                })?),
            };
        let refresh = match form.first("refresh") {
            None => None,
            Some(v) => {
                let r = parse_bool(v).ok_or_else(|| {
                    invalid(ErrorCode::INVALID_FIELD, "invalid value for refresh")
                })?;
                if r {
                    if !form.value("value").is_empty() {
                        return Err(invalid(
                            ErrorCode::REFRESH_VALUE,
                            "A value was provided on a refresh",
                        ));
                    }
                    if ttl.is_none() {
                        return Err(invalid(ErrorCode::REFRESH_TTL_REQUIRED, "No TTL value set"));
                    }
                }
                Some(r)
            }
        };
        Ok(KeysRequest {
            method: method.to_string(),
            path: keys_path(key_path),
            // Moved, not copied: a value may be megabytes.
            value: form.take_first("value").unwrap_or_default(),
            dir,
            prev_value,
            prev_index,
            prev_exist,
            wait,
            wait_index,
            recursive,
            sorted,
            quorum,
            stream,
            refresh,
            ttl,
            no_value_on_success,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: &str, query: &str, body: &str) -> Result<KeysRequest, ErrorBody> {
        let form = Form::parse(
            method,
            Some(query),
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        );
        KeysRequest::parse(method, "/foo", form)
    }

    fn err(method: &str, query: &str, body: &str) -> (u32, String) {
        let e = parse(method, query, body).unwrap_err();
        assert_eq!(e.index, 0, "parse errors carry index 0");
        (e.error_code.0, e.cause)
    }

    #[test]
    fn validation_order_and_texts() {
        assert_eq!(
            err("PUT", "x=%zz", ""),
            (210, r#"invalid URL escape "%zz""#.into())
        );
        assert_eq!(
            err("PUT", "prevIndex=abc&waitIndex=x", ""),
            (203, r#"invalid value for "prevIndex""#.into())
        );
        assert_eq!(
            err("GET", "waitIndex=", ""),
            (203, r#"invalid value for "waitIndex""#.into())
        );
        assert_eq!(
            err("GET", "recursive=yes&sorted=no", ""),
            (209, r#"invalid value for "recursive""#.into())
        );
        assert_eq!(
            err("GET", "recursive=", ""),
            (209, r#"invalid value for "recursive""#.into())
        );
        assert_eq!(
            err("POST", "wait=true", ""),
            (209, r#""wait" can only be used with GET requests"#.into())
        );
        assert_eq!(
            err("HEAD", "wait=true", ""),
            (209, r#""wait" can only be used with GET requests"#.into())
        );
        assert_eq!(
            err("PUT", "prevValue=", ""),
            (201, r#""prevValue" cannot be empty"#.into())
        );
        assert_eq!(
            err("PUT", "noValueOnSuccess=x", ""),
            (209, r#"invalid value for "noValueOnSuccess""#.into())
        );
        assert_eq!(
            err("PUT", "", "ttl=-1"),
            (202, r#"invalid value for "ttl""#.into())
        );
        assert_eq!(
            err("PUT", "", "ttl=abc"),
            (202, r#"invalid value for "ttl""#.into())
        );
        assert_eq!(
            err("PUT", "prevExist=maybe", ""),
            (209, "invalid value for prevExist".into())
        );
        assert_eq!(
            err("PUT", "refresh=x", ""),
            (209, "invalid value for refresh".into())
        );
        assert_eq!(
            err("PUT", "", "refresh=true&ttl=5&value=v"),
            (211, "A value was provided on a refresh".into())
        );
        assert_eq!(
            err("PUT", "", "refresh=true"),
            (212, "No TTL value set".into())
        );
    }

    #[test]
    fn accepted_forms() {
        let r = parse("PUT", "prevExist=true&dir=T", "value=v&ttl=&refresh=false").unwrap();
        assert_eq!(r.prev_exist, Some(true));
        assert!(r.dir);
        assert_eq!(r.ttl, None, "an empty ttl counts as absent");
        assert_eq!(r.refresh, Some(false));
        assert_eq!(r.value, "v");
        assert_eq!(r.path, "/1/foo");
        let r = parse("PUT", "", "refresh=true&ttl=20&value=").unwrap();
        assert_eq!((r.refresh, r.ttl), (Some(true), Some(20)));
        let r = parse("GET", "wait=true&waitIndex=7&recursive=1&stream=true", "").unwrap();
        assert!(r.wait && r.recursive && r.stream);
        assert_eq!(r.wait_index, 7);
    }

    #[test]
    fn key_paths_are_cleaned_under_the_user_namespace() {
        assert_eq!(keys_path(""), "/1");
        assert_eq!(keys_path("/"), "/1");
        assert_eq!(keys_path("/trail/"), "/1/trail");
        assert_eq!(keys_path("/a b/c"), "/1/a b/c");
        assert_eq!(keys_path("/../x"), "/1/x");
    }
}
