//! Benchmarks (real builds): the SDK against etcd 3.4.23 next to a raw-HTTP floor
//! and the `etcd` crate, our server against etcd, failover time after a leader
//! SIGSTOP, and memory.
//!
//! ```text
//! cargo run --release --example bench -- all            # a few minutes
//! cargo run --release --example bench -- sdk --duration 10 --concurrency 1,16
//! cargo run --release --example bench -- server-v3 --rounds 3 --concurrency 1,64
//! cargo run --release --example bench -- all --long     # 30 s cells, 200 trials
//! ```
//!
//! Each section prints a progress line per cell and a table, and writes
//! `target/bench/<section>.json` (raw numbers) and `<section>.txt` (the table).
//! `scripts/bench.sh` runs this and the simulator benchmarks together. Timings
//! depend on the machine: compare the ratios within one run.

#[cfg(not(madsim))]
mod cli;
#[cfg(not(madsim))]
mod clients;
#[cfg(not(madsim))]
mod cost;
#[cfg(not(madsim))]
mod etcd_crate;
#[cfg(not(madsim))]
mod failover;
#[cfg(not(madsim))]
mod failover_v3;
#[cfg(not(madsim))]
mod harness;
#[cfg(not(madsim))]
mod large_values;
#[cfg(not(madsim))]
mod load;
#[cfg(not(madsim))]
mod memory;
#[cfg(not(madsim))]
mod paths;
#[cfg(not(madsim))]
mod report;
#[cfg(not(madsim))]
mod sdk_section;
#[cfg(not(madsim))]
mod server_section;
#[cfg(not(madsim))]
mod server_v3_section;
#[cfg(not(madsim))]
mod servers;
#[cfg(not(madsim))]
mod stats;

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use cli::{Options, Section};

    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n{}", cli::USAGE);
            return std::process::ExitCode::from(2);
        }
    };
    let result = async {
        if opts.section == Section::WatchRss {
            return memory::watch_rss(&opts).await;
        }
        if opts.section == Section::Cost {
            return cost::run(&opts).await;
        }
        if opts.section == Section::FailoverV3 {
            return failover_v3::run(&opts).await;
        }
        let bins = servers::Binaries::prepare(opts.etcd.clone())?;
        let all = opts.section == Section::All;
        if all || opts.section == Section::Sdk {
            sdk_section::run(&opts, &bins).await?;
        }
        if all || opts.section == Section::Server {
            server_section::run(&opts, &bins).await?;
        }
        if all || opts.section == Section::ServerV3 {
            server_v3_section::run(&opts, &bins).await?;
        }
        if all || opts.section == Section::Failover {
            failover::run(&opts, &bins).await?;
        }
        if all || opts.section == Section::Memory {
            memory::run(&opts, &bins).await?;
        }
        Ok::<(), String>(())
    }
    .await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The benchmarks measure real processes and sockets: nothing to do in sim builds.
#[cfg(madsim)]
fn main() {
    eprintln!("the bench example runs in real builds (without --cfg madsim)");
}
