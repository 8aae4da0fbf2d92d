//! KeysAPI load over the `etcd` crate 0.9 (futures 0.1, hyper 0.12, tokio 0.1).
//!
//! ```text
//! etcd-crate-load --endpoint http://127.0.0.1:2379 --op set|get --concurrency 16 \
//!     --key /bench/k --warmup-ms 300 --duration-ms 3000
//! ```
//!
//! `concurrency` workers each loop one request at a time until the deadline: `set`
//! writes `<key>/w<worker>` (a 64-byte value), `get` reads `<key>` with
//! `quorum=true`. Requests started during the warm-up are not recorded. The result
//! goes to stdout as one JSON object: op, concurrency, measured seconds, errors
//! and every recorded latency in microseconds (the caller computes percentiles the
//! same way for every client).

use etcd::Client;
use etcd::kv::{self, GetOptions};
use futures::future::{self, Either, Future, Loop};
use futures::sync::oneshot;
use hyper::client::connect::HttpConnector;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What each worker sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Set,
    Get,
}

/// The command line.
struct Args {
    endpoint: String,
    op: Op,
    concurrency: usize,
    key: String,
    warmup: Duration,
    duration: Duration,
}

/// What one worker saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: "http://127.0.0.1:2379".to_string(),
        op: Op::Set,
        concurrency: 1,
        key: "/bench/etcd-crate".to_string(),
        warmup: Duration::from_millis(300),
        duration: Duration::from_secs(3),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let millis = |v: &str| {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|e| format!("{flag} {v}: {e}"))
        };
        match flag.as_str() {
            "--endpoint" => args.endpoint = value,
            "--op" => {
                args.op = match value.as_str() {
                    "set" => Op::Set,
                    "get" => Op::Get,
                    other => return Err(format!("--op {other}: expected set or get")),
                }
            }
            "--concurrency" => {
                args.concurrency = value
                    .parse()
                    .map_err(|e| format!("--concurrency {value}: {e}"))?
            }
            "--key" => args.key = value,
            "--warmup-ms" => args.warmup = millis(&value)?,
            "--duration-ms" => args.duration = millis(&value)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".to_string());
    }
    Ok(args)
}

/// One worker: requests back to back until `until`, recording those started at or
/// after `measure_from`.
fn worker(
    client: Client<HttpConnector>,
    op: Op,
    key: String,
    measure_from: Instant,
    until: Instant,
) -> impl Future<Item = Tally, Error = ()> + Send {
    let value = "v".repeat(64);
    future::loop_fn(Tally::default(), move |mut tally| {
        let started = Instant::now();
        if started >= until {
            return Either::A(future::ok(Loop::Break(tally)));
        }
        let request: Box<dyn Future<Item = (), Error = String> + Send> = match op {
            Op::Set => Box::new(
                kv::set(&client, &key, &value, None)
                    .map(|_| ())
                    .map_err(|errs| format!("{errs:?}")),
            ),
            Op::Get => Box::new(
                kv::get(
                    &client,
                    &key,
                    GetOptions {
                        strong_consistency: true,
                        ..Default::default()
                    },
                )
                .map(|_| ())
                .map_err(|errs| format!("{errs:?}")),
            ),
        };
        Either::B(request.then(move |result| {
            if started >= measure_from {
                match result {
                    Ok(()) => {
                        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                        tally.latencies_us.push(us);
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            Ok(Loop::Continue(tally))
        }))
    })
}

fn run(args: &Args) -> Result<serde_json::Value, String> {
    let client = Client::new(&[args.endpoint.as_str()], None).map_err(|e| format!("{e:?}"))?;
    let mut rt = tokio::runtime::Runtime::new().map_err(|e| format!("tokio runtime: {e}"))?;
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let until = measure_from + args.duration;
    let mut done = Vec::new();
    for w in 0..args.concurrency {
        let key = match args.op {
            Op::Set => format!("{}/w{w}", args.key),
            Op::Get => args.key.clone(),
        };
        let (tx, rx) = oneshot::channel();
        rt.spawn(
            worker(client.clone(), args.op, key, measure_from, until).then(move |tally| {
                let _ = tx.send(tally);
                Ok(())
            }),
        );
        done.push(rx);
    }
    let tallies = rt
        .block_on(future::join_all(done))
        .map_err(|_| "a worker was dropped".to_string())?;
    let measured = Instant::now().saturating_duration_since(measure_from);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for t in tallies.into_iter().flatten() {
        latencies.extend(t.latencies_us);
        errors += t.errors;
        if first_error.is_none() {
            first_error = t.first_error;
        }
    }
    Ok(serde_json::json!({
        "client": "etcd-crate",
        "op": match args.op { Op::Set => "set", Op::Get => "get" },
        "concurrency": args.concurrency,
        "measured_secs": measured.as_secs_f64(),
        "errors": errors,
        "first_error": first_error,
        "latencies_us": latencies,
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("etcd-crate-load: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("etcd-crate-load: {e}");
            ExitCode::FAILURE
        }
    }
}
