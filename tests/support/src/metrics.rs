//! A member's Prometheus metrics (`GET /metrics` on its client URL), read
//! for the gauges and counters that say which member serves a client's
//! streams: etcd's `etcd_debugging_mvcc_watch_stream_total` and
//! `etcd_debugging_mvcc_watcher_total`, and go-grpc-prometheus's
//! `grpc_server_started_total` / `grpc_server_handled_total` per method.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One member's metrics text.
pub struct Metrics {
    text: String,
}

impl Metrics {
    /// Fetches `GET /metrics` from `url` (`http://host:port`) over HTTP/1.0, so
    /// the body comes whole (no chunked encoding).
    pub async fn scrape(url: &str, timeout: Duration) -> Result<Metrics, String> {
        let authority = url.trim_start_matches("http://").trim_end_matches('/');
        let fetch = async {
            let mut sock = tokio::net::TcpStream::connect(authority)
                .await
                .map_err(|e| format!("connect {authority}: {e}"))?;
            let req = format!("GET /metrics HTTP/1.0\r\nHost: {authority}\r\n\r\n");
            sock.write_all(req.as_bytes())
                .await
                .map_err(|e| format!("write: {e}"))?;
            let mut buf = Vec::new();
            sock.read_to_end(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            let text = String::from_utf8_lossy(&buf).into_owned();
            match text.split_once("\r\n\r\n") {
                Some((head, body))
                    if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") =>
                {
                    Ok(Metrics {
                        text: body.to_string(),
                    })
                }
                _ => Err(format!(
                    "unexpected answer from {authority}/metrics: {:.200}",
                    text
                )),
            }
        };
        tokio::time::timeout(timeout, fetch)
            .await
            .map_err(|_| format!("{url}/metrics: no answer within {timeout:?}"))?
    }

    /// The sum of every sample of metric `name` whose labels contain every
    /// `label=value` pair in `labels` (0 when there is none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (metric, label_text) = match series.split_once('{') {
                    Some((m, rest)) => (m, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                if metric != name {
                    return None;
                }
                let all = labels
                    .iter()
                    .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")));
                all.then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }

    /// etcd's gauge of open watch streams.
    pub fn watch_streams(&self) -> u64 {
        self.sum("etcd_debugging_mvcc_watch_stream_total", &[]) as u64
    }

    /// etcd's gauge of watchers.
    pub fn watchers(&self) -> u64 {
        self.sum("etcd_debugging_mvcc_watcher_total", &[]) as u64
    }

    /// gRPC streams of `method` (e.g. `LeaseKeepAlive`) started and not yet
    /// handled: the ones open now.
    pub fn open_grpc_streams(&self, method: &str) -> u64 {
        let started = self.sum("grpc_server_started_total", &[("grpc_method", method)]);
        let handled = self.sum("grpc_server_handled_total", &[("grpc_method", method)]);
        (started - handled).max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_samples_by_name_and_labels() {
        let m = Metrics {
            text: "# HELP x\n\
                   etcd_debugging_mvcc_watch_stream_total 2\n\
                   grpc_server_started_total{grpc_method=\"LeaseKeepAlive\",grpc_service=\"etcdserverpb.Lease\"} 3\n\
                   grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"LeaseKeepAlive\"} 1\n\
                   grpc_server_handled_total{grpc_code=\"Canceled\",grpc_method=\"LeaseKeepAlive\"} 1\n\
                   grpc_server_started_total{grpc_method=\"Watch\"} 7\n"
                .into(),
        };
        assert_eq!(m.watch_streams(), 2);
        assert_eq!(m.watchers(), 0);
        assert_eq!(m.open_grpc_streams("LeaseKeepAlive"), 1);
        assert_eq!(m.open_grpc_streams("Watch"), 7);
    }
}
