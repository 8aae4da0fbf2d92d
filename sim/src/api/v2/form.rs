//! Go's `Request.ParseForm` semantics for the v2 API: query string plus a
//! urlencoded body (PUT/POST/PATCH only), body values first, first value wins.

use std::collections::BTreeMap;

/// The largest urlencoded body Go's `ParseForm` reads (10 MB).
pub const MAX_FORM_BYTES: usize = 10 << 20;

/// Parsed form values: every value of each name, body values before query values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    values: BTreeMap<String, Vec<String>>,
}

impl Form {
    /// Parses the query and, for PUT/POST/PATCH with a urlencoded Content-Type, the
    /// body. Errors carry Go's text (which etcd reports as the cause of error 210).
    pub fn parse(
        method: &str,
        raw_query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Form, String> {
        let mut form = Form::default();
        let mut first_err: Option<String> = None;
        if matches!(method, "POST" | "PUT" | "PATCH") {
            match media_type(content_type.unwrap_or("application/octet-stream")) {
                Err(e) => first_err = Some(e),
                Ok(mt) if mt == "application/x-www-form-urlencoded" => {
                    if body.len() > MAX_FORM_BYTES {
                        return Err("http: POST too large".to_string());
                    }
                    let text = String::from_utf8_lossy(body);
                    if let Err(e) = parse_query_into(&mut form, &text) {
                        first_err.get_or_insert(e);
                    }
                }
                Ok(_) => {}
            }
        }
        if let Err(e) = parse_query_into(&mut form, raw_query.unwrap_or("")) {
            first_err.get_or_insert(e);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(form),
        }
    }

    /// The first value of `name` (Go's `FormValue`), `""` when absent.
    pub fn value(&self, name: &str) -> &str {
        self.first(name).unwrap_or("")
    }

    /// The first value of `name`, or `None` when the name is absent.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Takes the first value of `name` out of the form (`None` when absent), so a
    /// large value moves on instead of being copied.
    pub fn take_first(&mut self, name: &str) -> Option<String> {
        self.values
            .get_mut(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.swap_remove(0))
    }

    /// Whether `name` appears at all (even with an empty value).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// `mime.ParseMediaType`'s media type, lowercased; Go's error texts for the
/// two malformations that matter here.
fn media_type(ct: &str) -> Result<String, String> {
    let base = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if base.is_empty() {
        return Err("mime: no media type".to_string());
    }
    if !base.contains('/') {
        return Err("mime: expected slash after first token".to_string());
    }
    Ok(base)
}

/// Go's `url.ParseQuery` into `form`: bad pairs are skipped, the first error kept.
fn parse_query_into(form: &mut Form, query: &str) -> Result<(), String> {
    let mut first_err = None;
    for pair in query.split('&') {
        if pair.contains(';') {
            first_err.get_or_insert_with(|| "invalid semicolon separator in query".to_string());
            continue;
        }
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (query_unescape(k), query_unescape(v)) {
            (Ok(k), Ok(v)) => form.values.entry(k).or_default().push(v),
            (Err(e), _) | (_, Err(e)) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; the result is taken
/// as UTF-8 (invalid sequences replaced, as Go strings would carry them raw).
/// Builds the result once: valid UTF-8 (the usual case) is not copied again.
fn query_unescape(s: &str) -> Result<String, String> {
    if !s.contains(['%', '+']) {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {bad:?}"));
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, 10, 64)`: digits only, no sign, fits in a u64.
pub fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn body_wins_over_query_and_first_value_wins() {
        let f = Form::parse("PUT", Some("value=fromquery"), FORM, b"value=frombody").unwrap();
        assert_eq!(f.value("value"), "frombody");
        let f = Form::parse("PUT", None, FORM, b"value=1&value=2").unwrap();
        assert_eq!(f.value("value"), "1");
    }

    #[test]
    fn body_is_ignored_unless_urlencoded_put_post_patch() {
        assert_eq!(
            Form::parse("PUT", None, None, b"value=x")
                .unwrap()
                .first("value"),
            None
        );
        assert_eq!(
            Form::parse("PUT", None, Some("application/json"), b"value=x")
                .unwrap()
                .first("value"),
            None
        );
        assert_eq!(
            Form::parse("DELETE", None, FORM, b"recursive=true")
                .unwrap()
                .first("recursive"),
            None
        );
        assert_eq!(
            Form::parse("GET", None, FORM, b"a=b").unwrap().first("a"),
            None
        );
        let f = Form::parse(
            "POST",
            None,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"a=b",
        )
        .unwrap();
        assert_eq!(f.value("a"), "b");
    }

    #[test]
    fn escapes_and_errors_follow_go() {
        let f = Form::parse("GET", Some("k=a+b%2Fc%E2%82%AC&empty=&bare"), None, b"").unwrap();
        assert_eq!(f.value("k"), "a b/c€");
        assert!(f.has("empty") && f.has("bare"));
        assert_eq!(f.first("empty"), Some(""));
        assert_eq!(
            Form::parse("PUT", None, FORM, b"value=%zz").unwrap_err(),
            r#"invalid URL escape "%zz""#
        );
        assert_eq!(
            Form::parse("GET", Some("x=%zz"), None, b"").unwrap_err(),
            r#"invalid URL escape "%zz""#
        );
        assert_eq!(
            Form::parse("GET", Some("x=%4"), None, b"").unwrap_err(),
            r#"invalid URL escape "%4""#
        );
        assert_eq!(
            Form::parse("GET", Some("a=1;b=2"), None, b"").unwrap_err(),
            "invalid semicolon separator in query"
        );
        assert_eq!(
            Form::parse("PUT", None, Some(""), b"").unwrap_err(),
            "mime: no media type"
        );
    }

    #[test]
    fn take_first_moves_the_first_value_out() {
        let mut f = Form::parse("PUT", Some("value=q"), FORM, b"value=a%20b&value=c").unwrap();
        assert_eq!(f.take_first("value").as_deref(), Some("a b"));
        assert_eq!(f.take_first("missing"), None);
        let f = Form::parse("GET", Some("v=%ff%41+"), None, b"").unwrap();
        assert_eq!(f.value("v"), "\u{fffd}A ", "invalid UTF-8 is replaced");
    }

    #[test]
    fn bool_and_uint_follow_strconv() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for bad in ["", "yes", "tRUE", "2"] {
            assert_eq!(parse_bool(bad), None);
        }
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "+1", "1.5", "18446744073709551616", "abc"] {
            assert_eq!(parse_uint(bad), None);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::proptest_config::proptest_config as config;

    /// Go's `url.QueryEscape`, for the round trip.
    fn escape(s: &str) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    fn stored_bytes(f: &Form) -> usize {
        f.values
            .iter()
            .map(|(k, vs)| k.len() + vs.iter().map(String::len).sum::<usize>())
            .sum()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_input_parses_or_errs_within_a_bound(
            method in prop::sample::select(vec!["GET", "PUT", "POST", "PATCH", "DELETE"]),
            query in proptest::option::of(".{0,64}"),
            content_type in proptest::option::of(prop_oneof![
                Just("application/x-www-form-urlencoded".to_string()),
                ".{0,24}",
            ]),
            body in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let q = query.as_deref().unwrap_or("");
            if let Ok(f) = Form::parse(method, query.as_deref(), content_type.as_deref(), &body) {
                // Lossy UTF-8 turns one bad byte into at most 3.
                prop_assert!(stored_bytes(&f) <= 3 * (q.len() + body.len()));
            }
        }

        #[test]
        fn escaped_pairs_round_trip_through_query_and_body(
            pairs in prop::collection::vec((".{1,12}", ".{0,12}"), 0..8),
        ) {
            let encoded = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
                .collect::<Vec<_>>()
                .join("&");
            let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (k, v) in &pairs {
                want.entry(k.clone()).or_default().push(v.clone());
            }
            let from_query = Form::parse("GET", Some(&encoded), None, b"").unwrap();
            prop_assert_eq!(&from_query.values, &want);
            let from_body = Form::parse(
                "PUT",
                None,
                Some("application/x-www-form-urlencoded"),
                encoded.as_bytes(),
            )
            .unwrap();
            prop_assert_eq!(&from_body.values, &want);
        }

        #[test]
        fn a_bad_escape_is_a_clear_error(
            prefix in "[a-z=&]{0,8}",
            bad in "%([g-z][a-z]?|[0-9a-f][g-z]|[0-9a-f]?)",
        ) {
            let query = format!("{prefix}{bad}");
            let err = Form::parse("GET", Some(&query), None, b"").unwrap_err();
            prop_assert!(err.starts_with("invalid URL escape"), "{}", err);
        }
    }
}
