//! Leader election, compatible with `etcdctl elect` and Go's
//! `concurrency.Election`. Run it twice at once: the second becomes leader
//! when the first resigns. With `--observe` it prints each leader instead.
//!
//! ```text
//! cargo run --example election -- --endpoints http://127.0.0.1:2379 myelection alice
//! cargo run --example election -- --endpoints http://127.0.0.1:2379 myelection bob
//! cargo run --example election -- --endpoints http://127.0.0.1:2379 --observe myelection
//! etcdctl elect -l myelection      # sees the same leaders
//! ```

use etcd_sdk::v3::concurrency::{Context, Election, Session};
use etcd_sdk::v3::{Client, Config};
use futures_util::StreamExt;
use std::time::Duration;

struct Args {
    endpoints: Vec<String>,
    name: String,
    value: Option<String>,
    hold: u64,
    observe: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut endpoints = vec!["http://127.0.0.1:2379".to_string()];
    let mut positional = Vec::new();
    let mut hold = 5;
    let mut observe = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--endpoints" => {
                endpoints = args
                    .next()
                    .ok_or("--endpoints needs a value")?
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            "--hold" => {
                hold = args
                    .next()
                    .ok_or("--hold needs a value")?
                    .parse()
                    .map_err(|e| format!("--hold: {e}"))?
            }
            "--observe" => observe = true,
            _ if a.starts_with("--") => return Err(format!("unknown flag {a}")),
            _ => positional.push(a),
        }
    }
    let usage = "usage: election [--endpoints URLS] [--hold SECS] NAME VALUE | --observe NAME";
    let mut positional = positional.into_iter();
    let name = positional.next().ok_or(usage)?;
    let value = positional.next();
    if value.is_none() && !observe {
        return Err(usage.into());
    }
    Ok(Args {
        endpoints,
        name,
        value,
        hold,
        observe,
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
    let session = Session::new(client).await?;
    let mut election = Election::new(&session, args.name.clone());
    let bg = Context::background();

    if args.observe {
        let mut leaders = Box::pin(election.observe(&bg));
        while let Some(leader) = leaders.next().await {
            let leader = leader?;
            if let Some(kv) = leader.kvs.first() {
                println!(
                    "{} = {}",
                    String::from_utf8_lossy(&kv.key),
                    String::from_utf8_lossy(&kv.value)
                );
            }
        }
        return Ok(());
    }

    let value = args.value.unwrap_or_default();
    println!("campaigning in {} with {value:?}", args.name);
    election.campaign(&bg, value.clone()).await?;
    println!("leader: {} = {value}", election.key());
    for i in 1..=args.hold {
        tokio::time::sleep(Duration::from_secs(1)).await;
        election.proclaim(&bg, format!("{value} ({i} s)")).await?;
    }
    election.resign(&bg).await?;
    println!("resigned");
    session.close().await?;
    Ok(())
}
