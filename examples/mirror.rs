//! Mirrors a prefix of one etcd cluster to another and keeps the copy up to
//! date, as `etcdctl make-mirror` does (`etcd_sdk::v3::mirror::Mirror`):
//! the keys as of one revision first, then every change after it, one
//! destination transaction per source revision. It prints the number of
//! keys written every 30 s (as etcdctl does) and runs until interrupted
//! (Ctrl-C) or an error (e.g. the source compacted what it still needed).
//!
//! ```text
//! cargo run --example mirror -- [--endpoints=SRC[,SRC...]] [--prefix=P]
//!     [--dest-prefix=D | --no-dest-prefix] [--exit-after-sync] DEST[,DEST...]
//! ```
//!
//! `--endpoints` defaults to `127.0.0.1:2379`; `--prefix` to every key;
//! the keys keep their prefix in the destination unless `--dest-prefix`
//! replaces it or `--no-dest-prefix` drops it. `--exit-after-sync` stops once
//! the keys as of the start are copied (a one-off copy).

use etcd_sdk::v3::mirror::{Mirror, MirrorOptions};
use etcd_sdk::v3::{Client, Config};
use std::sync::Arc;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The command line.
#[derive(Debug, Default)]
struct Args {
    source: Vec<String>,
    dest: Vec<String>,
    prefix: String,
    dest_prefix: Option<String>,
    no_dest_prefix: bool,
    exit_after_sync: bool,
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        source: vec!["127.0.0.1:2379".to_owned()],
        ..Default::default()
    };
    let mut dest = None;
    for arg in args {
        if let Some(v) = arg.strip_prefix("--endpoints=") {
            parsed.source = split(v);
        } else if let Some(v) = arg.strip_prefix("--prefix=") {
            parsed.prefix = v.to_owned();
        } else if let Some(v) = arg.strip_prefix("--dest-prefix=") {
            parsed.dest_prefix = Some(v.to_owned());
        } else if arg == "--no-dest-prefix" {
            parsed.no_dest_prefix = true;
        } else if arg == "--exit-after-sync" {
            parsed.exit_after_sync = true;
        } else if arg.starts_with("--") {
            return Err(format!("unknown flag {arg}"));
        } else if dest.replace(arg).is_some() {
            return Err("make-mirror takes one destination argument".into());
        }
    }
    parsed.dest = split(&dest.ok_or("make-mirror takes one destination argument")?);
    if parsed.no_dest_prefix && parsed.dest_prefix.as_deref().is_some_and(|d| !d.is_empty()) {
        return Err(
            "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one"
                .into(),
        );
    }
    Ok(parsed)
}

async fn client(endpoints: Vec<String>) -> Result<Client, BoxError> {
    Ok(Client::new(Config {
        dial_timeout: Some(Duration::from_secs(2)),
        keep_alive_time: Some(Duration::from_secs(5)),
        request_timeout: Some(Duration::from_secs(30)),
        ..Config::new(endpoints)
    })
    .await?)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args(std::env::args().skip(1)).map_err(|e| {
        eprintln!("Error: {e}");
        e
    })?;
    let dest_prefix = if args.no_dest_prefix {
        Some(Vec::new())
    } else {
        args.dest_prefix.map(String::into_bytes)
    };
    let source = client(args.source).await?;
    let dest = client(args.dest).await?;
    let mirror = Arc::new(Mirror::new(
        source,
        dest,
        MirrorOptions {
            prefix: args.prefix.into_bytes(),
            dest_prefix,
            batch_limit: 0,
        },
    ));

    if args.exit_after_sync {
        mirror.copy_base().await?;
        println!("{}", mirror.total());
        return Ok(());
    }

    let progress = {
        let m = Arc::clone(&mirror);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            tick.tick().await;
            loop {
                tick.tick().await;
                println!("{}", m.total());
            }
        })
    };
    let outcome = tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => Ok(()),
        r = mirror.run() => r,
    };
    progress.abort();
    println!("{}", mirror.total());
    Ok(outcome?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_as_etcdctl_takes_them() {
        let a = parse(&["--prefix=app/", "--dest-prefix=copy/", "10.0.0.1:2379"]).unwrap();
        assert_eq!(a.source, ["127.0.0.1:2379"]);
        assert_eq!(a.dest, ["10.0.0.1:2379"]);
        assert_eq!(a.prefix, "app/");
        assert_eq!(a.dest_prefix.as_deref(), Some("copy/"));
        let a = parse(&["--endpoints=a:1,b:2", "--no-dest-prefix", "c:3,d:4"]).unwrap();
        assert_eq!(
            (a.source.len(), a.dest.len(), a.no_dest_prefix),
            (2, 2, true)
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["a:1", "b:2"]).is_err());
        assert!(parse(&["--dest-prefix=x/", "--no-dest-prefix", "a:1"]).is_err());
        assert!(parse(&["--bogus", "a:1"]).is_err());
    }
}
