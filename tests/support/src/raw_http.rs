//! A tiny HTTP/1.0 client for the harness: it checks etcd's health and state
//! without going through the SDK, so a bug in the SDK cannot hide a bug in a test.
//!
//! HTTP/1.0 with `Connection: close` keeps it simple: etcd (Go's net/http) then
//! answers without chunked encoding and closes the connection at the end of the body.
//!
//! It uses `tokio::net`, so it runs unchanged under madsim against the simulated
//! cluster (the shared case bodies in [`crate::cases`] use it in both worlds).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A whole response.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body in the message if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// `X-Etcd-Index` as a number.
    pub fn etcd_index(&self) -> Option<u64> {
        self.header("x-etcd-index").and_then(|v| v.parse().ok())
    }
}

/// Sends one request to `url_base` (`http://host:port`) and reads the whole
/// response, all within `timeout`. `body` is `(content type, bytes)`.
pub async fn request(
    url_base: &str,
    method: &str,
    path_and_query: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<RawResponse, String> {
    let addr = url_base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url_base}"))?;
    let addr = addr.trim_end_matches('/').to_string();
    let work = async {
        let mut stream = TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let mut req =
            format!("{method} {path_and_query} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some((ct, b)) = body {
            req.push_str(&format!(
                "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        if let Some((_, b)) = body {
            bytes.extend_from_slice(b);
        }
        stream
            .write_all(&bytes)
            .await
            .map_err(|e| format!("write to {addr}: {e}"))?;
        // madsim's simulated TCP holds written bytes until a flush; a real socket
        // sends them at once, where the flush is a no-op.
        stream
            .flush()
            .await
            .map_err(|e| format!("flush to {addr}: {e}"))?;
        let mut buf = Vec::new();
        stream
            .read_to_end(&mut buf)
            .await
            .map_err(|e| format!("read from {addr}: {e}"))?;
        parse_response(&buf)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{method} {url_base}{path_and_query}: no complete answer within {timeout:?}"
        )),
    }
}

/// `GET` shorthand.
pub async fn get(
    url_base: &str,
    path_and_query: &str,
    timeout: Duration,
) -> Result<RawResponse, String> {
    request(url_base, "GET", path_and_query, None, timeout).await
}

fn parse_response(buf: &[u8]) -> Result<RawResponse, String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(buf)))?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(RawResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response() {
        let r = parse_response(
            b"HTTP/1.0 404 Not Found\r\nX-Etcd-Index: 5\r\nContent-Type: a\r\n\r\n{\"x\":1}\n",
        )
        .unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.etcd_index(), Some(5));
        assert_eq!(r.header("Content-Type"), Some("a"));
        assert_eq!(r.body, b"{\"x\":1}\n");
        assert!(parse_response(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
