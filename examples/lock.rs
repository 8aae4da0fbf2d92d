//! A distributed lock, compatible with `etcdctl lock` and Go's
//! `concurrency.Mutex`. Run it twice at once: the second waits until the
//! first unlocks.
//!
//! ```text
//! cargo run --example lock -- --endpoints http://127.0.0.1:2379 mylock
//! cargo run --example lock -- --endpoints http://127.0.0.1:2379 --hold 10 mylock
//! ```
//!
//! While it holds the lock it increments `<name>-counter` once a second,
//! each write fenced by the lock: the txn compares `Mutex::is_owner` (this
//! session's key still has the create revision it locked with), so a
//! holder whose session expired (a long pause, a partition) cannot write.

use etcd_sdk::v3::concurrency::{Context, Mutex, Session, SessionOptions};
use etcd_sdk::v3::{Client, Config, GetOptions, KV, Op, PutOptions};
use std::time::Duration;

struct Args {
    endpoints: Vec<String>,
    name: String,
    hold: u64,
    ttl: i64,
}

fn parse_args() -> Result<Args, String> {
    let mut endpoints = vec!["http://127.0.0.1:2379".to_string()];
    let mut name = None;
    let mut hold = 5;
    let mut ttl = 10;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--endpoints" => {
                endpoints = value("--endpoints")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--hold" => {
                hold = value("--hold")?
                    .parse()
                    .map_err(|e| format!("--hold: {e}"))?
            }
            "--ttl" => ttl = value("--ttl")?.parse().map_err(|e| format!("--ttl: {e}"))?,
            _ if a.starts_with("--") => return Err(format!("unknown flag {a}")),
            _ => name = Some(a),
        }
    }
    let name = name.ok_or("usage: lock [--endpoints URLS] [--hold SECS] [--ttl SECS] NAME")?;
    Ok(Args {
        endpoints,
        name,
        hold,
        ttl,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = parse_args()?;
    let client = Client::new(Config {
        dial_timeout: Some(Duration::from_secs(2)),
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(args.endpoints.clone())
    })
    .await?;
    let session =
        Session::with_options(client.clone(), SessionOptions::new().with_ttl(args.ttl)).await?;
    let mut mutex = Mutex::new(&session, args.name.clone());
    println!("waiting for {} (lease {:x})", args.name, session.lease());
    mutex.lock(&Context::background()).await?;
    println!("locked: {}", mutex.key());

    let counter = format!("{}-counter", args.name);
    for _ in 0..args.hold {
        let current = client.get(counter.clone(), GetOptions::default()).await?;
        let n: u64 = current
            .kvs
            .first()
            .and_then(|kv| std::str::from_utf8(&kv.value).ok()?.parse().ok())
            .unwrap_or(0);
        let written = client
            .txn()
            .when([mutex.is_owner()])
            .and_then([Op::put(
                counter.clone(),
                (n + 1).to_string(),
                PutOptions::default(),
            )])
            .commit()
            .await?;
        if !written.succeeded {
            println!("lost the lock (session expired): the write was fenced off");
            return Ok(());
        }
        println!("{counter} = {}", n + 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    mutex.unlock(&Context::background()).await?;
    println!("unlocked");
    session.close().await?;
    Ok(())
}
