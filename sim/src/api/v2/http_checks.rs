//! The checks Go's `net/http` (behind etcd's `cmux`) makes on a request head before
//! any handler runs, with the exact answers etcd 3.4.23 gives (measured with raw TCP
//! requests; `sim/tests/http_edges.rs` compares both servers):
//!
//! - the first request line of a connection, its `\n` included, must fit in 4096
//!   bytes (cmux's HTTP/1 matcher reads no further): otherwise the connection is
//!   closed without an answer;
//! - a head (request line and headers) may take 1 MiB + 4096 bytes (Go's
//!   `MaxHeaderBytes` plus its slack): beyond, 431;
//! - HTTP/1.1 requires exactly one `Host` header: none gives
//!   `400 Bad Request: missing required Host header`, two give `400 Bad Request`
//!   (two are refused in HTTP/1.0 too);
//! - the only transfer coding is a single `chunked`: anything else (`gzip`,
//!   `gzip, chunked`, two `chunked` lines) gives 501 `Unsupported transfer encoding`.
//!
//! Those answers are Go's raw ones: status line, `Content-Type: text/plain;
//! charset=utf-8`, `Connection: close`, the text, then the connection closes.
//! [`HeadGuard`](super::head_guard::HeadGuard) applies the checks to a connection's
//! bytes before hyper parses them.
//!
//! A body that fails to decode (a malformed chunk) reaches the handlers as
//! [`BodyError`] with Go's error text, so that `/v2/keys` answers error 210 as etcd's
//! `ParseForm` failure does.

/// The longest first request line of a connection, its `\n` included (cmux).
pub const MAX_FIRST_LINE: usize = 4096;

/// The longest request head: Go's default `MaxHeaderBytes` (1 MiB) plus the 4096
/// bytes of slack its server adds.
pub const MAX_HEAD_BYTES: usize = (1 << 20) + 4096;

/// What to do with a complete request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadVerdict {
    /// Pass it on; the body that follows is framed as said.
    Accept(BodyFraming),
    /// Answer with these raw bytes and close the connection.
    Reject(Vec<u8>),
}

/// How the body after an accepted head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body, or `Content-Length: 0`.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Framing the checks do not follow (an invalid `Content-Length`): hyper decides.
    Unknown,
}

/// Go's raw error answer: `HTTP/1.1 {status}`, a plain-text type, `Connection:
/// close`, and `body`.
pub fn go_error_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n{body}"
    )
    .into_bytes()
}

/// The answer to a head larger than [`MAX_HEAD_BYTES`].
pub fn head_too_large() -> Vec<u8> {
    go_error_response(
        "431 Request Header Fields Too Large",
        "431 Request Header Fields Too Large",
    )
}

/// Checks a complete head (`head` ends with its blank line).
pub fn check_head(head: &[u8]) -> HeadVerdict {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let http11 = request_line.ends_with(" HTTP/1.1");
    let mut hosts = 0usize;
    let mut codings: Vec<&str> = Vec::new();
    let mut lengths: Vec<&str> = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            codings.push(value);
        } else if name.eq_ignore_ascii_case("content-length") {
            lengths.push(value);
        }
    }
    if http11 && hosts == 0 {
        let msg = "400 Bad Request: missing required Host header";
        return HeadVerdict::Reject(go_error_response(msg, msg));
    }
    if hosts > 1 {
        let msg = "400 Bad Request";
        return HeadVerdict::Reject(go_error_response(msg, msg));
    }
    if http11 && !codings.is_empty() {
        if codings.len() != 1 || !codings[0].eq_ignore_ascii_case("chunked") {
            return HeadVerdict::Reject(go_error_response(
                "501 Not Implemented",
                "Unsupported transfer encoding",
            ));
        }
        return HeadVerdict::Accept(BodyFraming::Chunked);
    }
    let framing = match lengths.first() {
        None => BodyFraming::None,
        Some(v) => match v.parse::<u64>() {
            Ok(0) => BodyFraming::None,
            Ok(n) if lengths.iter().all(|o| o == v) => BodyFraming::Length(n),
            _ => BodyFraming::Unknown,
        },
    };
    HeadVerdict::Accept(framing)
}

/// A request body that could not be read, with Go's error text (request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyError(pub String);

/// Go's text for a body read error, from hyper's error chain: the chunked reader's
/// `invalid byte in chunk length`, `malformed chunked encoding` and
/// `http chunk length too large`, or `unexpected EOF` for a body cut short.
pub fn go_body_error_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut texts = String::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        texts.push_str(&e.to_string());
        texts.push('\n');
        cur = e.source();
    }
    let t = texts.to_ascii_lowercase();
    if t.contains("overflow") {
        "http chunk length too large".into()
    } else if t.contains("chunk size") {
        "invalid byte in chunk length".into()
    } else if t.contains("chunk") {
        "malformed chunked encoding".into()
    } else if t.contains("length limit exceeded") {
        "http: request body too large".into()
    } else {
        "unexpected EOF".into()
    }
}

/// The cause of error 210 when the body of a `/v2/keys` request failed to read:
/// Go's `ParseForm` reads the body only for POST, PUT and PATCH with a urlencoded
/// Content-Type, so only those fail.
pub fn form_body_error<'a>(
    method: &str,
    content_type: Option<&str>,
    body_error: Option<&'a BodyError>,
) -> Option<&'a str> {
    let err = body_error?;
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return None;
    }
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    media
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        .then_some(err.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(head: &str) -> HeadVerdict {
        check_head(head.as_bytes())
    }

    fn rejected_with(head: &str) -> String {
        match verdict(head) {
            HeadVerdict::Reject(b) => String::from_utf8(b).unwrap(),
            v => panic!("accepted: {v:?}"),
        }
    }

    #[test]
    fn host_rules() {
        assert_eq!(
            rejected_with("GET / HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 400 Bad Request: missing required Host header\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request: missing required Host header"
        );
        assert!(
            rejected_with("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n")
                .ends_with("\r\n\r\n400 Bad Request")
        );
        assert!(rejected_with("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n").contains("400"));
        assert_eq!(
            verdict("GET / HTTP/1.0\r\n\r\n"),
            HeadVerdict::Accept(BodyFraming::None)
        );
    }

    #[test]
    fn transfer_codings() {
        for te in ["gzip", "gzip, chunked", "chunked, chunked", "identity"] {
            let head = format!("PUT /k HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {te}\r\n\r\n");
            assert!(
                rejected_with(&head).ends_with("\r\n\r\nUnsupported transfer encoding"),
                "{te}"
            );
        }
        assert!(rejected_with("PUT /k HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").starts_with("HTTP/1.1 501 Not Implemented\r\n"));
        assert_eq!(
            verdict("PUT /k HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            HeadVerdict::Accept(BodyFraming::Chunked)
        );
        assert_eq!(
            verdict("PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n"),
            HeadVerdict::Accept(BodyFraming::Length(12))
        );
        assert_eq!(
            verdict("PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n"),
            HeadVerdict::Accept(BodyFraming::Unknown)
        );
    }

    #[test]
    fn form_errors_only_where_go_reads_the_body() {
        let e = BodyError("invalid byte in chunk length".into());
        let urlenc = Some("application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(form_body_error("PUT", urlenc, Some(&e)), Some(e.0.as_str()));
        assert_eq!(form_body_error("GET", urlenc, Some(&e)), None);
        assert_eq!(form_body_error("PUT", None, Some(&e)), None);
        assert_eq!(form_body_error("PUT", urlenc, None), None);
    }
}
