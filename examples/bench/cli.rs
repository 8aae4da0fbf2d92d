//! The command line.

use crate::load::Window;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which part to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// SDK vs raw hyper vs the etcd crate, against etcd.
    Sdk,
    /// Our server vs etcd under the SDK.
    Server,
    /// Our server vs etcd under the v3 load tool (`etcd-sim benchmark`).
    #[serde(rename = "server-v3")]
    ServerV3,
    /// Leader SIGSTOP to first acknowledged write.
    Failover,
    /// v3: SIGSTOP of the member serving the watch to the first put and
    /// watch event, our SDK next to etcdctl (not part of `all`).
    FailoverV3,
    /// Server RSS with many keys; SDK RSS with many watches.
    Memory,
    /// All of the above.
    All,
    /// Internal: `--requests` sequential requests of one client kind
    /// (`--client raw|sdk|sdk-hyper`, `--op get|set`) against `--endpoint`, for
    /// instruction counts under `valgrind --tool=callgrind`.
    Cost,
    /// Internal: this process holds `--watches` SDK watches on `--endpoint` and
    /// prints its memory as JSON (the memory section runs it as a child).
    WatchRss,
}

/// Parsed options.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// The section.
    pub section: Section,
    /// Unrecorded start of each load cell, seconds.
    pub warmup_secs: f64,
    /// Recorded length of each load cell, seconds.
    pub duration_secs: f64,
    /// Concurrency levels of the load cells.
    pub concurrency: Vec<usize>,
    /// Failover trials per server.
    pub trials: usize,
    /// Keys written before reading the servers' peak RSS.
    pub keys: usize,
    /// Concurrent SDK watches for the SDK's RSS.
    pub watches: usize,
    /// The etcd binary.
    pub etcd: PathBuf,
    /// The endpoint of `watch-rss` and `cost`.
    pub endpoint: String,
    /// Rounds per cell of `server-v3` (the servers alternate each round).
    pub rounds: usize,
    /// Watcher counts of `server-v3`'s watch fan-out cells.
    pub v3_watchers: Vec<usize>,
    /// `cost`: the client kind (`raw`, `sdk`, `sdk-hyper`).
    pub client: String,
    /// `cost`: the operation (`get`, `set`).
    pub op: String,
    /// `cost`: how many requests.
    pub requests: usize,
}

/// The usage text.
pub const USAGE: &str = "\
usage: cargo run --release --example bench -- <sdk|server|server-v3|failover|failover-v3|memory|all> [flags]
  (failover-v3, not in all: v3 SDK vs etcdctl, SIGSTOP of the watch's member)
  --duration <secs>     recorded seconds per load cell (default 3)
  --warmup <secs>       unrecorded seconds before each cell (default 0.5)
  --concurrency <list>  comma-separated concurrency levels (default 1,16,256)
  --trials <n>          failover trials per server (default 50)
  --keys <n>            keys written before reading server RSS (default 100000; 0 skips)
  --watches <n>         concurrent SDK watches (default 1000; 0 skips)
  --etcd <path>         the etcd binary (default /usr/bin/etcd)
  --rounds <n>          server-v3: rounds per cell, servers alternating (default 3)
  --v3-watchers <list>  server-v3: watchers of the watch fan-out cells (default 1000,10000)
  --long                30 s cells, 2 s warm-up, 200 failover trials
  cost --endpoint <url> --client raw|sdk|sdk-hyper --op get|set --requests <n>
                        sequential requests of one client (run it under callgrind)";

impl Options {
    /// Parses `args` (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut opts = Options {
            section: Section::All,
            warmup_secs: 0.5,
            duration_secs: 3.0,
            concurrency: vec![1, 16, 256],
            trials: 50,
            keys: 100_000,
            watches: 1000,
            etcd: PathBuf::from("/usr/bin/etcd"),
            endpoint: String::new(),
            rounds: 3,
            v3_watchers: vec![1000, 10000],
            client: "sdk".into(),
            op: "get".into(),
            requests: 1000,
        };
        let mut it = args.into_iter();
        let section = it.next().ok_or("missing section")?;
        opts.section = match section.as_str() {
            "sdk" => Section::Sdk,
            "server" => Section::Server,
            "server-v3" => Section::ServerV3,
            "failover" => Section::Failover,
            "failover-v3" => Section::FailoverV3,
            "memory" => Section::Memory,
            "all" => Section::All,
            "watch-rss" => Section::WatchRss,
            "cost" => Section::Cost,
            other => return Err(format!("unknown section {other:?}")),
        };
        while let Some(flag) = it.next() {
            if flag == "--long" {
                opts.duration_secs = 30.0;
                opts.warmup_secs = 2.0;
                opts.trials = 200;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
            match flag.as_str() {
                "--duration" => opts.duration_secs = value.parse().map_err(|e| bad(&e))?,
                "--warmup" => opts.warmup_secs = value.parse().map_err(|e| bad(&e))?,
                "--concurrency" => {
                    opts.concurrency = value
                        .split(',')
                        .map(|c| c.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(&e))?
                }
                "--trials" => opts.trials = value.parse().map_err(|e| bad(&e))?,
                "--rounds" => opts.rounds = value.parse().map_err(|e| bad(&e))?,
                "--v3-watchers" => {
                    opts.v3_watchers = value
                        .split(',')
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| c.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .map_err(|e| bad(&e))?
                }
                "--keys" => opts.keys = value.parse().map_err(|e| bad(&e))?,
                "--watches" => opts.watches = value.parse().map_err(|e| bad(&e))?,
                "--etcd" => opts.etcd = PathBuf::from(value),
                "--endpoint" => opts.endpoint = value,
                "--client" => opts.client = value,
                "--op" => opts.op = value,
                "--requests" => opts.requests = value.parse().map_err(|e| bad(&e))?,
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        let finite = |x: f64| x.is_finite() && x >= 0.0;
        if !finite(opts.duration_secs) || opts.duration_secs == 0.0 || !finite(opts.warmup_secs) {
            return Err("--duration must be > 0 and --warmup >= 0".into());
        }
        if opts.rounds == 0 || opts.v3_watchers.contains(&0) {
            return Err("--rounds and --v3-watchers must be at least 1".into());
        }
        if opts.concurrency.contains(&0) {
            return Err("--concurrency levels must be at least 1".into());
        }
        Ok(opts)
    }

    /// The window of one load cell.
    pub fn window(&self) -> Window {
        Window {
            warmup: Duration::from_secs_f64(self.warmup_secs),
            duration: Duration::from_secs_f64(self.duration_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Options, String> {
        Options::parse(s.split_whitespace().map(str::to_string))
    }

    #[test]
    fn defaults_and_flags() {
        let o = parse("sdk").unwrap();
        assert_eq!(
            (o.section, o.duration_secs, o.trials),
            (Section::Sdk, 3.0, 50)
        );
        assert_eq!(o.concurrency, vec![1, 16, 256]);
        let o = parse("failover --trials 5 --concurrency 2,4 --long").unwrap();
        assert_eq!((o.trials, o.duration_secs), (200, 30.0));
        assert_eq!(o.concurrency, vec![2, 4]);
        let o = parse("all --long --trials 7").unwrap();
        assert_eq!(o.trials, 7);
        let o = parse("server-v3 --rounds 5 --v3-watchers 10,20").unwrap();
        assert_eq!((o.section, o.rounds), (Section::ServerV3, 5));
        assert_eq!(o.v3_watchers, vec![10, 20]);
        let o = parse("failover-v3 --trials 3").unwrap();
        assert_eq!((o.section, o.trials), (Section::FailoverV3, 3));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse("").is_err());
        assert!(parse("nope").is_err());
        assert!(parse("sdk --duration").is_err());
        assert!(parse("sdk --duration 0").is_err());
        assert!(parse("sdk --concurrency 1,0").is_err());
        assert!(parse("sdk --bogus 1").is_err());
        assert!(parse("server-v3 --rounds 0").is_err());
    }
}
