//! Section `server-v3`: our `etcd-sim` against etcd 3.4.23 under the v3 load
//! tool (`etcd_sim::benchmark`, the library behind `etcd-sim benchmark`), one
//! and three members, data on disk with fsync in both. Every cell is measured
//! `--rounds` times, alternating the two servers (etcd, ours, etcd, ours, ...),
//! and reports the median round; the spread of the per-round ratios says how
//! stable the ratio is. A cell's size comes from a short probe of that server,
//! so each round lasts about `--duration` seconds.

use crate::cli::Options;
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, ServerKind};
use etcd_sim::benchmark::{
    self, Command, GlobalOptions, Report, delete::DeleteOptions, lease::LeaseOptions,
    put::PutOptions, range::RangeOptions, txn_put::TxnPutOptions, watch::WatchBenchOptions,
};
use serde::Serialize;

const SERVERS: [ServerKind; 2] = [ServerKind::Etcd, ServerKind::EtcdSim];

/// Bytes per value written.
const VAL_SIZE: usize = 256;
/// Keys the writes spread over.
const KEY_SPACE: u64 = 100_000;
/// Requests of the probe that sizes a cell.
const PROBE_TOTAL: u64 = 200;
/// Smallest cell.
const MIN_TOTAL: u64 = 100;
/// The key the reads read (written before them).
const RANGE_KEY: &str = "bench-v3-range-key";

/// One workload of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Workload {
    Put,
    RangeL,
    RangeS,
    TxnPut,
    Delete,
    LeaseKeepalive,
    /// One writer, this many watchers (10 streams) on one key.
    Watch(usize),
}

impl Workload {
    fn name(self) -> String {
        match self {
            Workload::Put => "put".into(),
            Workload::RangeL => "range l".into(),
            Workload::RangeS => "range s".into(),
            Workload::TxnPut => "txn-put (4 ops)".into(),
            Workload::Delete => "delete".into(),
            Workload::LeaseKeepalive => "lease keepalive".into(),
            Workload::Watch(n) => format!("watch fan-out {n}"),
        }
    }

    /// The tool's command for `total` requests (watch: events).
    fn command(self, total: u64) -> Command {
        match self {
            Workload::Put => Command::Put(PutOptions {
                val_size: VAL_SIZE,
                key_space_size: KEY_SPACE,
                total,
                ..PutOptions::default()
            }),
            Workload::RangeL | Workload::RangeS => Command::Range(RangeOptions {
                key: RANGE_KEY.as_bytes().to_vec(),
                serializable: self == Workload::RangeS,
                total,
                ..RangeOptions::default()
            }),
            Workload::TxnPut => Command::TxnPut(TxnPutOptions {
                val_size: VAL_SIZE,
                txn_ops: 4,
                key_space_size: KEY_SPACE,
                total,
                ..TxnPutOptions::default()
            }),
            Workload::Delete => Command::Delete(DeleteOptions {
                key_space_size: KEY_SPACE,
                total,
                ..DeleteOptions::default()
            }),
            Workload::LeaseKeepalive => Command::LeaseKeepalive(LeaseOptions { total, rate: None }),
            Workload::Watch(n) => Command::Watch(WatchBenchOptions {
                streams: 10,
                watch_per_stream: n.div_ceil(10),
                put_total: (total / n as u64).max(2),
                key_space_size: 1,
                ..WatchBenchOptions::default()
            }),
        }
    }

    /// The report the cell is judged by.
    fn report_name(self) -> &'static str {
        match self {
            Workload::Put => "put",
            Workload::RangeL | Workload::RangeS => "range",
            Workload::TxnPut => "txn-put",
            Workload::Delete => "delete",
            Workload::LeaseKeepalive => "lease-keepalive",
            Workload::Watch(_) => "watch events",
        }
    }
}

/// One measured round of one cell on one server.
#[derive(Clone, Debug, Serialize)]
struct Row {
    server: ServerKind,
    members: usize,
    workload: Workload,
    clients: usize,
    round: usize,
    count: u64,
    errors: u64,
    secs: f64,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs the section and publishes its table.
pub async fn run(opts: &Options, bins: &Binaries) -> Result<(), String> {
    let mut rows = Vec::new();
    for members in [1, 3] {
        let mut clusters = Vec::new();
        for kind in SERVERS {
            clusters.push(bins.start(kind, members, Storage::Disk).await?);
        }
        let mut endpoints = Vec::new();
        for c in &clusters {
            let leader = c.leader_index().await.ok_or("no leader after start-up")?;
            endpoints.push(c.member(leader).client_url().to_string());
        }
        for ep in &endpoints {
            write_range_key(ep).await?;
        }
        let mut cells: Vec<(Workload, usize)> = Vec::new();
        for w in [
            Workload::Put,
            Workload::RangeL,
            Workload::RangeS,
            Workload::TxnPut,
            Workload::Delete,
            Workload::LeaseKeepalive,
        ] {
            for &c in &opts.concurrency {
                cells.push((w, c));
            }
        }
        for n in &opts.v3_watchers {
            cells.push((Workload::Watch(*n), 1));
        }
        for (w, clients) in cells {
            let mut totals = Vec::new();
            for ep in &endpoints {
                totals.push(size_cell(ep, w, clients, opts.duration_secs).await?);
            }
            for round in 0..opts.rounds {
                for ((kind, ep), total) in SERVERS.iter().zip(&endpoints).zip(&totals) {
                    if w == Workload::Delete {
                        // Give the deletes keys to remove (not measured).
                        refill(ep, *total).await?;
                    }
                    let reports = measure(ep, w, clients, *total).await?;
                    let row = row_of(*kind, members, w, clients, round, &reports)?;
                    eprintln!(
                        "[server-v3] {} m={members} {} c={clients} round {round}: {:.0}/s p50 {:.2} ms p99 {:.2} ms ({} in {:.1} s, {} errors)",
                        kind.name(),
                        w.name(),
                        row.ops_per_sec,
                        row.p50_ms,
                        row.p99_ms,
                        row.count,
                        row.secs,
                        row.errors
                    );
                    rows.push(row);
                }
            }
        }
    }
    publish("server-v3", opts, &[table(&rows, opts.rounds)], &rows)
}

fn global(endpoint: &str, clients: usize) -> GlobalOptions {
    GlobalOptions {
        endpoints: vec![endpoint.to_string()],
        conns: clients.clamp(1, 4),
        clients,
        ..GlobalOptions::default()
    }
}

async fn measure(
    endpoint: &str,
    w: Workload,
    clients: usize,
    total: u64,
) -> Result<Vec<Report>, String> {
    benchmark::run(&global(endpoint, clients), &w.command(total))
        .await
        .map_err(|e| format!("{} on {endpoint}: {e}", w.name()))
}

/// How many requests make a round of about `secs` seconds on this server.
async fn size_cell(endpoint: &str, w: Workload, clients: usize, secs: f64) -> Result<u64, String> {
    let probe = match w {
        Workload::Watch(n) => (n as u64) * 5,
        _ => PROBE_TOTAL.max(clients as u64 * 4),
    };
    if w == Workload::Delete {
        refill(endpoint, probe).await?;
    }
    let reports = measure(endpoint, w, clients, probe).await?;
    let stats = pick(&reports, w)?;
    Ok(((stats.requests_per_sec * secs) as u64).max(MIN_TOTAL))
}

fn pick(reports: &[Report], w: Workload) -> Result<&etcd_sim::benchmark::Stats, String> {
    reports
        .iter()
        .find(|r| r.name == w.report_name())
        .map(|r| &r.stats)
        .ok_or_else(|| format!("{}: no report {}", w.name(), w.report_name()))
}

fn row_of(
    server: ServerKind,
    members: usize,
    workload: Workload,
    clients: usize,
    round: usize,
    reports: &[Report],
) -> Result<Row, String> {
    let s = pick(reports, workload)?;
    Ok(Row {
        server,
        members,
        workload,
        clients,
        round,
        count: s.count,
        errors: reports.iter().flat_map(|r| r.stats.errors.values()).sum(),
        secs: s.total,
        ops_per_sec: s.requests_per_sec,
        p50_ms: s.percentile(50.0) * 1000.0,
        p99_ms: s.percentile(99.0) * 1000.0,
    })
}

/// Writes the key the reads read.
async fn write_range_key(endpoint: &str) -> Result<(), String> {
    use etcd_sdk::v3::{Client, KV, PutOptions as SdkPut};
    let c = Client::connect([endpoint])
        .await
        .map_err(|e| e.to_string())?;
    c.put(RANGE_KEY, vec![b'v'; VAL_SIZE], SdkPut::default())
        .await
        .map_err(|e| e.to_string())?;
    c.close();
    Ok(())
}

/// Writes keys `0..n` of the delete workload's sequence (64 writers).
async fn refill(endpoint: &str, n: u64) -> Result<(), String> {
    let cmd = Command::Put(PutOptions {
        val_size: 8,
        key_space_size: KEY_SPACE,
        sequential_keys: true,
        total: n.min(KEY_SPACE),
        ..PutOptions::default()
    });
    benchmark::run(&global(endpoint, 64), &cmd)
        .await
        .map(|_| ())
        .map_err(|e| format!("refill {endpoint}: {e}"))
}

/// The median of `v` (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn table(rows: &[Row], rounds: usize) -> Table {
    let mut t = Table::new(
        "etcd-sim vs etcd 3.4.23: v3 load tool (etcd-sim benchmark), leader endpoint, data on disk (fsync)",
        &[
            "members",
            "workload",
            "clients",
            "etcd ops/s",
            "etcd p50/p99 ms",
            "ours ops/s",
            "ours p50/p99 ms",
            "ops/s ours÷etcd",
            "ratio min–max",
            "p99 ours÷etcd",
        ],
    );
    let mut keys: Vec<(usize, Workload, usize)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.members, r.workload, r.clients)) {
            keys.push((r.members, r.workload, r.clients));
        }
    }
    for (members, workload, clients) in keys {
        let side = |kind: ServerKind| -> Vec<&Row> {
            rows.iter()
                .filter(|r| {
                    r.server == kind
                        && r.members == members
                        && r.workload == workload
                        && r.clients == clients
                })
                .collect()
        };
        let (e, o) = (side(ServerKind::Etcd), side(ServerKind::EtcdSim));
        let med = |rs: &[&Row], f: fn(&Row) -> f64| median(rs.iter().map(|r| f(r)).collect());
        let ratios: Vec<f64> = e
            .iter()
            .zip(&o)
            .filter(|(e, _)| e.ops_per_sec > 0.0)
            .map(|(e, o)| o.ops_per_sec / e.ops_per_sec)
            .collect();
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        let (e_ops, o_ops) = (med(&e, |r| r.ops_per_sec), med(&o, |r| r.ops_per_sec));
        let (e99, o99) = (med(&e, |r| r.p99_ms), med(&o, |r| r.p99_ms));
        t.row(vec![
            members.to_string(),
            workload.name(),
            clients.to_string(),
            format!("{e_ops:.0}"),
            format!("{:.2}/{e99:.2}", med(&e, |r| r.p50_ms)),
            format!("{o_ops:.0}"),
            format!("{:.2}/{o99:.2}", med(&o, |r| r.p50_ms)),
            crate::stats::ratio(o_ops, e_ops),
            if ratios.is_empty() {
                "-".into()
            } else {
                format!("{lo:.2}–{hi:.2}")
            },
            crate::stats::ratio(o99, e99),
        ]);
    }
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    t.note(format!(
        "median of {rounds} rounds per cell, the servers alternating; ratio min–max: the per-round ratios (stable when narrow)"
    ));
    t.note("watch fan-out: one writer, watchers in 10 streams on one key; ops/s = events delivered per second, latency = put start to event");
    t.note(format!(
        "errors in all cells: {errors} (details in server-v3.json)"
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
