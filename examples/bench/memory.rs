//! Section `memory`: the servers' peak RSS after writing many keys and with
//! large values (`large_values`), and the SDK's RSS with many concurrent watches
//! (measured in a child process of this bench, so earlier sections do not blur
//! it). `--keys 0` or `--watches 0` skips that part.

use crate::cli::Options;
use crate::clients::{SdkKv, SdkTransport};
use crate::harness::raw_http;
use crate::load::KvClient;
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, Memory, ServerKind, memory_of, mib};
use etcd_sdk::keys::{KeysAPI, WatcherOptions};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Writers filling the server.
const FILL_CONCURRENCY: usize = 64;

/// A server's memory before and after the keys were written.
#[derive(Serialize)]
struct ServerRow {
    server: ServerKind,
    keys: usize,
    fill_secs: f64,
    fill_errors: usize,
    started: Memory,
    filled: Memory,
}

/// The SDK's memory with the watches in place.
#[derive(Serialize, serde::Deserialize)]
struct WatchRow {
    watches: usize,
    before_kib: u64,
    after_kib: u64,
    peak_kib: u64,
}

/// Runs the section and publishes its tables.
pub async fn run(opts: &Options, bins: &Binaries) -> Result<(), String> {
    let mut servers = Vec::new();
    let mut tables = Vec::new();
    if opts.keys > 0 {
        for kind in [ServerKind::EtcdSim, ServerKind::Etcd] {
            servers.push(server_rss(bins, kind, opts.keys).await?);
        }
        tables.push(server_table(&servers));
    }
    let large = crate::large_values::run(bins).await?;
    tables.push(crate::large_values::table(&large));
    let watch = if opts.watches > 0 {
        let watch = watch_rss_child(bins, opts.watches).await?;
        tables.push(watch_table(&watch));
        Some(watch)
    } else {
        None
    };
    let json = serde_json::json!({
        "servers": servers,
        "large_values": large,
        "sdk_watches": watch,
    });
    publish("memory", opts, &tables, &[json])
}

/// Starts a 1-member cluster of `kind`, writes `keys` keys through the SDK and
/// reads the server's memory.
async fn server_rss(bins: &Binaries, kind: ServerKind, keys: usize) -> Result<ServerRow, String> {
    let cluster = bins.start(kind, 1, Storage::Disk).await?;
    let pid = cluster
        .member(0)
        .pid()
        .ok_or("server not running")?
        .to_string();
    let started = memory_of(&pid)?;
    let sdk = Arc::new(SdkKv::new(
        &cluster.client_urls(),
        SdkTransport::Default,
        None,
    )?);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..FILL_CONCURRENCY {
        let (sdk, next, errors) = (sdk.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let value = crate::load::value();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys {
                    break;
                }
                if sdk
                    .set(&format!("/bench/mem/k{i:06}"), &value)
                    .await
                    .is_err()
                {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("writer failed: {e}"))?;
    }
    let fill_secs = t.elapsed().as_secs_f64();
    let filled = memory_of(&pid)?;
    let row = ServerRow {
        server: kind,
        keys,
        fill_secs,
        fill_errors: errors.load(Ordering::Relaxed),
        started,
        filled,
    };
    eprintln!(
        "[memory] {}: {keys} keys in {fill_secs:.1} s ({} errors), RSS {} MiB, peak {} MiB",
        kind.name(),
        row.fill_errors,
        mib(filled.rss_kib),
        mib(filled.hwm_kib)
    );
    Ok(row)
}

/// Runs `bench watch-rss` against a 1-member etcd and reads its JSON line.
async fn watch_rss_child(bins: &Binaries, watches: usize) -> Result<WatchRow, String> {
    let cluster = bins.start(ServerKind::Etcd, 1, Storage::Tmpfs).await?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["watch-rss", "--endpoint", &cluster.client_urls()[0]])
        .args(["--watches", &watches.to_string()]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| format!("watch-rss: {e}"))?
        .map_err(|e| format!("watch-rss: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "watch-rss failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let row: WatchRow =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("watch-rss output: {e}"))?;
    eprintln!(
        "[memory] SDK with {} watches: RSS {} -> {} MiB",
        row.watches,
        mib(row.before_kib),
        mib(row.after_kib)
    );
    Ok(row)
}

/// The child: one SDK client, `watches` watches on distinct keys, each waiting
/// in its own task; prints RSS before and once the server counts them all.
pub async fn watch_rss(opts: &Options) -> Result<(), String> {
    let sdk = SdkKv::new(
        std::slice::from_ref(&opts.endpoint),
        SdkTransport::Default,
        None,
    )?;
    // One request first, so the client, runtime and TLS-free pool are warmed up.
    sdk.set("/bench/watch/warm", "x").await?;
    let before = memory_of("self")?;
    let base = watchers_on_server(&opts.endpoint).await?;
    let mut tasks = Vec::new();
    for i in 0..opts.watches {
        let mut watcher = sdk
            .keys()
            .watcher(&format!("/bench/watch/k{i}"), WatcherOptions::default());
        tasks.push(tokio::spawn(async move { watcher.next().await.is_ok() }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = watchers_on_server(&opts.endpoint).await?;
        if n >= base + opts.watches as u64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {n} of {} watches registered", opts.watches));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = memory_of("self")?;
    for task in &tasks {
        task.abort();
    }
    let row = WatchRow {
        watches: opts.watches,
        before_kib: before.rss_kib,
        after_kib: after.rss_kib,
        peak_kib: after.hwm_kib,
    };
    println!(
        "{}",
        serde_json::to_string(&row).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The server's count of v2 watchers (`/v2/stats/store` `watchers`).
async fn watchers_on_server(endpoint: &str) -> Result<u64, String> {
    let r = raw_http::get(endpoint, "/v2/stats/store", Duration::from_secs(5)).await?;
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).map_err(|e| format!("/v2/stats/store: {e}"))?;
    v.get("watchers")
        .and_then(|w| w.as_u64())
        .ok_or_else(|| format!("/v2/stats/store has no watchers: {}", r.text()))
}

fn server_table(rows: &[ServerRow]) -> Table {
    let mut t = Table::new(
        "Server memory: 1 member, data on disk, keys written through the SDK",
        &[
            "server",
            "keys",
            "fill s",
            "errors",
            "RSS at start MiB",
            "RSS MiB",
            "peak RSS MiB",
            "peak ÷ etcd",
        ],
    );
    let etcd_peak = rows
        .iter()
        .find(|r| r.server == ServerKind::Etcd)
        .map_or(0, |r| r.filled.hwm_kib);
    for r in rows {
        t.row(vec![
            r.server.name().to_string(),
            r.keys.to_string(),
            format!("{:.1}", r.fill_secs),
            r.fill_errors.to_string(),
            mib(r.started.rss_kib),
            mib(r.filled.rss_kib),
            mib(r.filled.hwm_kib),
            crate::stats::ratio(r.filled.hwm_kib as f64, etcd_peak as f64),
        ]);
    }
    t.note("peak RSS: VmHWM of the server process after the writes");
    t
}

fn watch_table(row: &WatchRow) -> Table {
    let mut t = Table::new(
        "SDK memory: concurrent v2 watches on one client (etcd 3.4.23)",
        &[
            "watches",
            "RSS before MiB",
            "RSS after MiB",
            "per watch KiB",
        ],
    );
    let per = row.after_kib.saturating_sub(row.before_kib) as f64 / row.watches.max(1) as f64;
    t.row(vec![
        row.watches.to_string(),
        mib(row.before_kib),
        mib(row.after_kib),
        format!("{per:.1}"),
    ]);
    t.note("measured in a child process once the server counts every watch");
    t
}
