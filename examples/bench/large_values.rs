//! Part of section `memory`: the servers' RSS with large v2 values. Two
//! scenarios, each on a fresh 1-member cluster with its data on disk:
//! overwriting one key 8 times in a row with a 9 MiB value, and 16 concurrent
//! 9 MiB PUTs to distinct keys. Both servers run in the same bench run, so the
//! table compares them on the same machine state.

use crate::harness::raw_http;
use crate::paths::Storage;
use crate::report::Table;
use crate::servers::{Binaries, Memory, ServerKind, memory_of, mib};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The value size: 9 MiB, under etcd's 10 MiB form limit.
pub const VALUE_BYTES: usize = 9 << 20;
/// Overwrites of one key in the sequential scenario.
const OVERWRITES: usize = 8;
/// PUTs in flight at once in the concurrent scenario.
const CONCURRENT: usize = 16;
/// Time for one 9 MiB PUT (etcd fsyncs the entry; a busy machine is slow).
const PUT_TIMEOUT: Duration = Duration::from_secs(120);

/// Which scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// One key overwritten [`OVERWRITES`] times, one PUT after the other.
    Sequential,
    /// [`CONCURRENT`] PUTs to distinct keys at once.
    Concurrent,
}

impl Scenario {
    fn label(self) -> String {
        match self {
            Scenario::Sequential => format!("{OVERWRITES} overwrites of 1 key"),
            Scenario::Concurrent => format!("{CONCURRENT} concurrent PUTs"),
        }
    }
}

/// One server in one scenario.
#[derive(Serialize)]
pub struct LargeRow {
    server: ServerKind,
    scenario: Scenario,
    value_bytes: usize,
    secs: f64,
    errors: usize,
    started: Memory,
    finished: Memory,
}

/// Runs both scenarios on both servers.
pub async fn run(bins: &Binaries) -> Result<Vec<LargeRow>, String> {
    let value = value_form();
    let mut rows = Vec::new();
    for scenario in [Scenario::Sequential, Scenario::Concurrent] {
        for kind in [ServerKind::EtcdSim, ServerKind::Etcd] {
            rows.push(one(bins, kind, scenario, &value).await?);
        }
    }
    Ok(rows)
}

/// The form body `value=<9 MiB of letters>` (nothing to percent-decode).
fn value_form() -> Vec<u8> {
    let mut body = b"value=".to_vec();
    body.extend((0..VALUE_BYTES).map(|i| b'a' + (i % 26) as u8));
    body
}

async fn one(
    bins: &Binaries,
    kind: ServerKind,
    scenario: Scenario,
    form: &[u8],
) -> Result<LargeRow, String> {
    let cluster = bins.start(kind, 1, Storage::Disk).await?;
    let url = cluster.client_urls()[0].clone();
    let pid = cluster
        .member(0)
        .pid()
        .ok_or("server not running")?
        .to_string();
    let started = memory_of(&pid)?;
    let t = Instant::now();
    let errors = match scenario {
        Scenario::Sequential => {
            let mut errors = 0;
            for _ in 0..OVERWRITES {
                if put(&url, "/v2/keys/bench/big/one", form).await.is_err() {
                    errors += 1;
                }
            }
            errors
        }
        Scenario::Concurrent => {
            let form: std::sync::Arc<[u8]> = form.into();
            let mut tasks = Vec::new();
            for i in 0..CONCURRENT {
                let (url, form) = (url.clone(), form.clone());
                tasks.push(tokio::spawn(async move {
                    put(&url, &format!("/v2/keys/bench/big/c{i:02}"), &form).await
                }));
            }
            let mut errors = 0;
            for task in tasks {
                if !matches!(task.await, Ok(Ok(()))) {
                    errors += 1;
                }
            }
            errors
        }
    };
    let secs = t.elapsed().as_secs_f64();
    let finished = memory_of(&pid)?;
    eprintln!(
        "[memory] {} {}: {secs:.1} s ({errors} errors), RSS {} -> {} MiB, peak {} MiB",
        kind.name(),
        scenario.label(),
        mib(started.rss_kib),
        mib(finished.rss_kib),
        mib(finished.hwm_kib)
    );
    Ok(LargeRow {
        server: kind,
        scenario,
        value_bytes: VALUE_BYTES,
        secs,
        errors,
        started,
        finished,
    })
}

/// One form PUT; an error unless the server answers 2xx.
async fn put(url: &str, path: &str, form: &[u8]) -> Result<(), String> {
    let r = raw_http::request(
        url,
        "PUT",
        path,
        Some(("application/x-www-form-urlencoded", form)),
        PUT_TIMEOUT,
    )
    .await?;
    if r.status >= 300 {
        let text = r.text();
        return Err(format!(
            "PUT {path}: {} {}",
            r.status,
            &text[..text.len().min(200)]
        ));
    }
    Ok(())
}

/// The table: etcd and etcd-sim side by side per scenario.
pub fn table(rows: &[LargeRow]) -> Table {
    let mut t = Table::new(
        format!(
            "Server memory with large values: 1 member, data on disk, {} MiB values",
            VALUE_BYTES >> 20
        ),
        &[
            "scenario",
            "server",
            "s",
            "errors",
            "RSS at start MiB",
            "RSS after MiB",
            "RSS growth MiB",
            "peak RSS MiB",
            "peak ÷ etcd",
        ],
    );
    for r in rows {
        let etcd_peak = rows
            .iter()
            .find(|e| e.server == ServerKind::Etcd && e.scenario == r.scenario)
            .map_or(0, |e| e.finished.hwm_kib);
        t.row(vec![
            r.scenario.label(),
            r.server.name().to_string(),
            format!("{:.1}", r.secs),
            r.errors.to_string(),
            mib(r.started.rss_kib),
            mib(r.finished.rss_kib),
            mib(r.finished.rss_kib.saturating_sub(r.started.rss_kib)),
            mib(r.finished.hwm_kib),
            crate::stats::ratio(r.finished.hwm_kib as f64, etcd_peak as f64),
        ]);
    }
    t.note("each row on a fresh cluster; peak RSS: VmHWM of the server process at the end");
    t
}
