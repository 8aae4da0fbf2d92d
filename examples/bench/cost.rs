//! Section `cost` (internal): `--requests` sequential requests of one client
//! kind against `--endpoint`, so that `valgrind --tool=callgrind` can count the
//! instructions a request costs on each side (repeatable on a loaded machine,
//! unlike wall-clock time). Run it twice with different `--requests` and divide
//! the difference by the difference in requests to cancel the start-up cost.

use crate::cli::Options;
use crate::clients::{RawKv, SdkKv, SdkTransport};
use crate::load::{KvClient, value};
use std::time::Instant;

/// Runs the section: one warm-up request (connection set-up), then the loop.
pub async fn run(opts: &Options) -> Result<(), String> {
    let endpoints = vec![opts.endpoint.clone()];
    let client: Box<dyn KvClient> = match opts.client.as_str() {
        "raw" => Box::new(RawKv::new(&opts.endpoint)),
        "sdk" => Box::new(SdkKv::new(&endpoints, SdkTransport::Default, None)?),
        "sdk-hyper" => Box::new(SdkKv::new(&endpoints, SdkTransport::Hyper, None)?),
        other => return Err(format!("unknown client {other:?}")),
    };
    let (key, value) = ("/bench/cost", value());
    client.set(key, &value).await?;
    let started = Instant::now();
    for _ in 0..opts.requests {
        match opts.op.as_str() {
            "get" => client.quorum_get(key).await?,
            "set" => client.set(key, &value).await?,
            other => return Err(format!("unknown op {other:?}")),
        }
    }
    eprintln!(
        "[cost] {} {} x{}: {:.1} us/request",
        opts.client,
        opts.op,
        opts.requests,
        started.elapsed().as_secs_f64() * 1e6 / opts.requests.max(1) as f64
    );
    Ok(())
}
