//! Section `sdk`: the SDK's KeysAPI against etcd 3.4.23 (one member, data on
//! tmpfs and on disk), next to the raw-HTTP floor and the `etcd` crate.

use crate::cli::Options;
use crate::clients::{RawKv, SdkKv, SdkTransport};
use crate::etcd_crate::EtcdCrate;
use crate::load::{KvClient, Op, run_cell};
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, ServerKind};
use crate::stats::{Summary, ms, ratio};
use serde::Serialize;
use std::sync::Arc;

/// The clients, in table order; the first is the floor the ratios divide by.
const CLIENTS: [&str; 4] = ["raw-hyper", "sdk", "sdk-hyper", "etcd-crate"];

/// One measured cell.
#[derive(Serialize)]
struct Row {
    storage: Storage,
    op: Op,
    concurrency: usize,
    client: &'static str,
    /// Why there are no numbers (the etcd crate did not build or failed).
    unavailable: Option<String>,
    summary: Summary,
}

/// Runs the section and publishes its table.
pub async fn run(opts: &Options, bins: &Binaries) -> Result<(), String> {
    let etcd_crate = EtcdCrate::build();
    if let EtcdCrate::Unavailable(reason) = &etcd_crate {
        eprintln!("[sdk] etcd crate: {reason}");
    }
    let mut rows = Vec::new();
    for storage in [Storage::Tmpfs, Storage::Disk] {
        let cluster = bins.start(ServerKind::Etcd, 1, storage).await?;
        let endpoints = cluster.client_urls();
        let clients: [Option<Arc<dyn KvClient>>; 4] = [
            Some(Arc::new(RawKv::new(&endpoints[0]))),
            Some(Arc::new(SdkKv::new(
                &endpoints,
                SdkTransport::Default,
                None,
            )?)),
            Some(Arc::new(SdkKv::new(&endpoints, SdkTransport::Hyper, None)?)),
            None,
        ];
        for op in Op::ALL {
            for &c in &opts.concurrency {
                for (name, client) in CLIENTS.iter().zip(&clients) {
                    let cell = format!("sdk-{}-{name}-c{c}", storage.name());
                    let result = match client {
                        Some(client) => {
                            Ok(run_cell(client.clone(), op, &cell, c, opts.window()).await)
                        }
                        None => {
                            etcd_crate
                                .run_cell(&endpoints[0], op, &cell, c, opts.window())
                                .await
                        }
                    };
                    let (summary, unavailable) = match result {
                        Ok(s) => (s, None),
                        Err(e) => (Summary::default(), Some(e)),
                    };
                    progress(storage, op, c, name, &summary, unavailable.as_deref());
                    rows.push(Row {
                        storage,
                        op,
                        concurrency: c,
                        client: name,
                        unavailable,
                        summary,
                    });
                }
            }
        }
        drop(cluster);
    }
    publish("sdk", opts, &[table(&rows)], &rows)
}

fn progress(storage: Storage, op: Op, c: usize, client: &str, s: &Summary, na: Option<&str>) {
    match na {
        Some(reason) => eprintln!(
            "[sdk] {} {} c={c} {client}: {reason}",
            storage.name(),
            op.name()
        ),
        None => eprintln!(
            "[sdk] {} {} c={c} {client}: {:.0} ops/s p50 {} ms p99 {} ms ({} errors)",
            storage.name(),
            op.name(),
            s.ops_per_sec,
            ms(s.p50_us),
            ms(s.p99_us),
            s.errors
        ),
    }
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(
        "SDK vs raw hyper vs etcd crate: etcd 3.4.23, 1 member, v2 set / quorum get",
        &[
            "storage",
            "op",
            "conc",
            "client",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "ops/s ÷ raw",
            "p99 ÷ raw",
        ],
    );
    for row in rows {
        let floor = rows.iter().find(|r| {
            r.storage == row.storage
                && r.op == row.op
                && r.concurrency == row.concurrency
                && r.client == CLIENTS[0]
        });
        let s = &row.summary;
        let mut cells = vec![
            row.storage.name().to_string(),
            row.op.name().to_string(),
            row.concurrency.to_string(),
            row.client.to_string(),
        ];
        match &row.unavailable {
            Some(reason) => cells.push(reason.clone()),
            None => {
                cells.extend([
                    format!("{:.0}", s.ops_per_sec),
                    ms(s.p50_us),
                    ms(s.p99_us),
                    s.errors.to_string(),
                ]);
                if let Some(f) = floor.filter(|f| f.unavailable.is_none()) {
                    let f = &f.summary;
                    cells.push(ratio(s.ops_per_sec, f.ops_per_sec));
                    cells.push(ratio(s.p99_us as f64, f.p99_us as f64));
                }
            }
        }
        t.row(cells);
    }
    t.note("raw-hyper: hyper's pooled client, the SDK transport's connection settings, same requests, no SDK logic");
    t.note("sdk: default transport (reqwest); sdk-hyper: HyperTransport; etcd-crate: etcd 0.9 (child process)");
    t.note("etcd-crate gets are NOT quorum reads: etcd 0.9 never sends its GetOptions::strong_consistency (no quorum=true)");
    t
}
