//! Section `server`: our `etcd-sim` against etcd 3.4.23 under the same SDK load
//! (v2 set and quorum get), one and three members, data on disk with fsync in
//! both. The two clusters run side by side and the cells alternate between them,
//! so machine noise hits both alike.

use crate::cli::Options;
use crate::clients::{SdkKv, SdkTransport};
use crate::load::{Op, run_cell};
use crate::paths::Storage;
use crate::report::{Table, publish};
use crate::servers::{Binaries, ServerKind};
use crate::stats::{Summary, ms, ratio};
use serde::Serialize;
use std::sync::Arc;

const SERVERS: [ServerKind; 2] = [ServerKind::Etcd, ServerKind::EtcdSim];

/// One measured cell.
#[derive(Serialize)]
struct Row {
    server: ServerKind,
    members: usize,
    op: Op,
    concurrency: usize,
    summary: Summary,
}

/// Runs the section and publishes its table.
pub async fn run(opts: &Options, bins: &Binaries) -> Result<(), String> {
    let mut rows = Vec::new();
    for members in [1, 3] {
        let mut clusters = Vec::new();
        for kind in SERVERS {
            clusters.push(bins.start(kind, members, Storage::Disk).await?);
        }
        // Every request goes to the leader, so a follower's forwarding (which
        // endpoint the client happened to pin) does not decide the comparison.
        let mut clients = Vec::new();
        for cluster in &clusters {
            let leader = cluster
                .leader_index()
                .await
                .ok_or("no leader after start-up")?;
            let endpoint = cluster.member(leader).client_url().to_string();
            clients.push(Arc::new(SdkKv::new(
                &[endpoint],
                SdkTransport::Default,
                None,
            )?));
        }
        for op in Op::ALL {
            for &c in &opts.concurrency {
                for (kind, client) in SERVERS.iter().zip(&clients) {
                    let cell = format!("server-{}-m{members}-c{c}", kind.name());
                    let summary = run_cell(client.clone(), op, &cell, c, opts.window()).await;
                    eprintln!(
                        "[server] {} members={members} {} c={c}: {:.0} ops/s p50 {} ms p99 {} ms ({} errors{})",
                        kind.name(),
                        op.name(),
                        summary.ops_per_sec,
                        ms(summary.p50_us),
                        ms(summary.p99_us),
                        summary.errors,
                        summary
                            .first_error
                            .as_deref()
                            .map(|e| format!(", first: {e}"))
                            .unwrap_or_default()
                    );
                    rows.push(Row {
                        server: *kind,
                        members,
                        op,
                        concurrency: c,
                        summary,
                    });
                }
            }
        }
    }
    publish("server", opts, &[table(&rows)], &rows)
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(
        "etcd-sim vs etcd 3.4.23: SDK v2 set / quorum get, data on disk (fsync)",
        &[
            "members",
            "op",
            "conc",
            "etcd ops/s",
            "etcd p99 ms",
            "ours ops/s",
            "ours p99 ms",
            "ops/s ours÷etcd",
            "p99 ours÷etcd",
        ],
    );
    for etcd in rows.iter().filter(|r| r.server == ServerKind::Etcd) {
        let Some(ours) = rows.iter().find(|r| {
            r.server == ServerKind::EtcdSim
                && r.members == etcd.members
                && r.op == etcd.op
                && r.concurrency == etcd.concurrency
        }) else {
            continue;
        };
        let (e, o) = (&etcd.summary, &ours.summary);
        t.row(vec![
            etcd.members.to_string(),
            etcd.op.name().to_string(),
            etcd.concurrency.to_string(),
            format!("{:.0}", e.ops_per_sec),
            ms(e.p99_us),
            format!("{:.0}", o.ops_per_sec),
            ms(o.p99_us),
            ratio(o.ops_per_sec, e.ops_per_sec),
            ratio(o.p99_us as f64, e.p99_us as f64),
        ]);
    }
    let errors: u64 = rows.iter().map(|r| r.summary.errors).sum();
    t.note("the SDK (default transport) talks to the leader only; quorum gets go through Raft in both servers");
    t.note(format!(
        "errors in all cells: {errors} (details in server.json)"
    ));
    t
}
