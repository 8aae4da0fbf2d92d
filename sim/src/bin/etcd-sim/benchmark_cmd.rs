//! `etcd-sim benchmark [global flags] <subcommand> [flags] [args]`: etcd's
//! benchmark tool over our v3 SDK (`etcd_sim::benchmark`). Flags are etcd's
//! (`--name value` or `--name=value`; global flags anywhere); `--json`
//! prints the numbers as JSON. Exit status 1 when the run could not start
//! or a request failed, 2 on bad arguments.

use etcd_sim::benchmark::{
    self, BenchError, Command, GlobalOptions, delete::DeleteOptions, lease::LeaseOptions,
    put::PutOptions, range::RangeOptions, stm::StmBenchOptions, txn_put::TxnPutOptions,
    watch::WatchBenchOptions, watch_latency::WatchLatencyOptions,
};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

/// The usage text.
const USAGE: &str = "usage: etcd-sim benchmark [--endpoints a,b] [--conns N] [--clients N] \
[--precise] [--target-leader] [--user name:password] [--dial-timeout 2s] [--cacert f] \
[--cert f --key f] [--json] <put|range KEY [END]|txn-put|delete|watch|watch-latency|\
lease-keepalive|stm> [flags]";

/// Flags that take no value.
const BOOL_FLAGS: [&str; 5] = [
    "precise",
    "target-leader",
    "json",
    "sequential-keys",
    "prevkv",
];

/// Parsed flags of one command line: name -> value, plus positionals.
#[derive(Debug, Default)]
struct Args {
    flags: BTreeMap<String, String>,
    positional: Vec<String>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Args, String> {
        let mut out = Args::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            let Some(flag) = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-').filter(|f| f.len() > 1))
            else {
                out.positional.push(arg.clone());
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None if BOOL_FLAGS.contains(&flag) => (flag.to_string(), "true".into()),
                None => {
                    let v = args
                        .get(i)
                        .cloned()
                        .ok_or_else(|| format!("flag needs an argument: --{flag}"))?;
                    i += 1;
                    (flag.to_string(), v)
                }
            };
            out.flags.insert(name, value);
        }
        Ok(out)
    }

    /// Takes flag `name` parsed as `T`, or `default`.
    fn take<T: FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.flags.remove(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("invalid argument {v:?} for --{name}")),
        }
    }

    fn take_bool(&mut self, name: &str, default: bool) -> Result<bool, String> {
        self.take(name, default)
    }

    /// A rate flag: 0 means unlimited.
    fn take_rate(&mut self, name: &str, default: f64) -> Result<Option<f64>, String> {
        let r: f64 = self.take(name, default)?;
        Ok((r > 0.0).then_some(r))
    }

    fn take_duration(&mut self, name: &str) -> Result<Option<Duration>, String> {
        match self.flags.remove(name) {
            None => Ok(None),
            Some(v) => parse_go_duration(&v)
                .map(|d| (!d.is_zero()).then_some(d))
                .ok_or_else(|| format!("invalid duration {v:?} for --{name}")),
        }
    }

    /// Fails on any flag nobody took.
    fn finish(&self) -> Result<(), String> {
        match self.flags.keys().next() {
            Some(name) => Err(format!("unknown flag: --{name}")),
            None => Ok(()),
        }
    }
}

/// Go's `time.ParseDuration` for what a flag needs: `1h2m3.5s`, `500ms`,
/// `10us`, `0`.
fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// Parses the whole command line (after `benchmark`).
fn parse(args: &[String]) -> Result<(GlobalOptions, Command), String> {
    let mut a = Args::parse(args)?;
    let d = GlobalOptions::default();
    let endpoints: String = a.take("endpoints", d.endpoints.join(","))?;
    let path = |a: &mut Args, n: &str| a.flags.remove(n).map(std::path::PathBuf::from);
    let global = GlobalOptions {
        endpoints: endpoints
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(String::from)
            .collect(),
        conns: a.take("conns", d.conns)?,
        clients: a.take("clients", d.clients)?,
        precise: a.take_bool("precise", false)?,
        target_leader: a.take_bool("target-leader", false)?,
        user: a.flags.remove("user"),
        dial_timeout: a.take_duration("dial-timeout")?,
        cacert: path(&mut a, "cacert"),
        cert: path(&mut a, "cert"),
        key: path(&mut a, "key"),
        json: a.take_bool("json", false)?,
    };
    let Some((sub, rest)) = a.positional.split_first() else {
        return Err("a subcommand is required".into());
    };
    let rest = rest.to_vec();
    let no_args = |what: &str| {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(format!("{what} takes no arguments, got {rest:?}"))
        }
    };
    let cmd = match sub.as_str() {
        "put" => {
            no_args("put")?;
            let d = PutOptions::default();
            Command::Put(PutOptions {
                key_size: a.take("key-size", d.key_size)?,
                val_size: a.take("val-size", d.val_size)?,
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
                key_space_size: a.take("key-space-size", d.key_space_size)?,
                sequential_keys: a.take_bool("sequential-keys", false)?,
                compact_interval: a.take_duration("compact-interval")?,
                compact_index_delta: a.take("compact-index-delta", d.compact_index_delta)?,
            })
        }
        "range" => {
            let (key, end) = match rest.as_slice() {
                [k] => (k.clone(), None),
                [k, e] => (k.clone(), Some(e.clone())),
                _ => return Err("range takes KEY [END]".into()),
            };
            let d = RangeOptions::default();
            let consistency: String = a.take("consistency", "l".to_string())?;
            Command::Range(RangeOptions {
                key: key.into_bytes(),
                end: end.map(String::into_bytes),
                serializable: benchmark::range::parse_consistency(&consistency)
                    .map_err(|e| e.to_string())?,
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
                limit: a.take("limit", d.limit)?,
            })
        }
        "txn-put" => {
            no_args("txn-put")?;
            let d = TxnPutOptions::default();
            Command::TxnPut(TxnPutOptions {
                key_size: a.take("key-size", d.key_size)?,
                val_size: a.take("val-size", d.val_size)?,
                txn_ops: a.take("txn-ops", d.txn_ops)?,
                key_space_size: a.take("key-space-size", d.key_space_size)?,
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
            })
        }
        "delete" => {
            no_args("delete")?;
            let d = DeleteOptions::default();
            Command::Delete(DeleteOptions {
                key_size: a.take("key-size", d.key_size)?,
                key_space_size: a.take("key-space-size", d.key_space_size)?,
                sequential_keys: a.take_bool("sequential-keys", d.sequential_keys)?,
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
            })
        }
        "watch" => {
            no_args("watch")?;
            let d = WatchBenchOptions::default();
            Command::Watch(WatchBenchOptions {
                streams: a.take("streams", d.streams)?,
                watch_per_stream: a.take("watch-per-stream", d.watch_per_stream)?,
                put_total: a.take("put-total", d.put_total)?,
                put_rate: a.take_rate("put-rate", 0.0)?,
                key_size: a.take("key-size", d.key_size)?,
                key_space_size: a.take("key-space-size", d.key_space_size)?,
                sequential_keys: a.take_bool("sequential-keys", false)?,
            })
        }
        "watch-latency" => {
            no_args("watch-latency")?;
            let d = WatchLatencyOptions::default();
            Command::WatchLatency(WatchLatencyOptions {
                put_total: a.take("put-total", d.put_total)?,
                put_rate: a.take_rate("put-rate", 100.0)?,
                streams: a.take("streams", d.streams)?,
                watchers_per_stream: a.take("watchers-per-stream", d.watchers_per_stream)?,
                prev_kv: a.take_bool("prevkv", false)?,
                key_size: a.take("key-size", d.key_size)?,
                val_size: a.take("val-size", d.val_size)?,
            })
        }
        "lease-keepalive" => {
            no_args("lease-keepalive")?;
            let d = LeaseOptions::default();
            Command::LeaseKeepalive(LeaseOptions {
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
            })
        }
        "stm" => {
            no_args("stm")?;
            let d = StmBenchOptions::default();
            let isolation: String = a.take("isolation", "r".to_string())?;
            let locker: String = a.take("stm-locker", "stm".to_string())?;
            if locker != "stm" {
                return Err(format!(
                    "--stm-locker {locker:?}: only \"stm\" is implemented"
                ));
            }
            Command::Stm(StmBenchOptions {
                keys: a.take("keys", d.keys)?,
                keys_per_txn: a.take("keys-per-txn", d.keys_per_txn)?,
                isolation: benchmark::stm::parse_isolation(&isolation)
                    .map_err(|e| e.to_string())?,
                val_size: a.take("val-size", d.val_size)?,
                total: a.take("total", d.total)?,
                rate: a.take_rate("rate", 0.0)?,
            })
        }
        other => {
            return Err(format!(
                "unknown command {other:?} for \"etcd-sim benchmark\""
            ));
        }
    };
    a.finish()?;
    Ok((global, cmd))
}

/// Runs `etcd-sim benchmark ...` (`args` after `benchmark`).
pub fn main(args: &[String]) -> ExitCode {
    let (global, cmd) = match parse(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("etcd-sim benchmark: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(benchmark::run(&global, &cmd));
    drop(runtime);
    match outcome {
        Ok(reports) => {
            print!("{}", benchmark::render(&global, &cmd, &reports));
            let failed = reports.iter().any(|r| !r.stats.errors.is_empty());
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(BenchError::Usage(e)) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("etcd-sim benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn globals_anywhere_and_subcommand_flags() {
        let (g, c) = parse(&args(
            "--endpoints=a:1,b:2 put --clients 8 --total=50 --sequential-keys --key-space-size 10 --conns 2",
        ))
        .unwrap();
        assert_eq!(g.endpoints, vec!["a:1", "b:2"]);
        assert_eq!((g.conns, g.clients), (2, 8));
        let Command::Put(p) = c else { panic!("{c:?}") };
        assert_eq!(
            (p.total, p.key_space_size, p.sequential_keys),
            (50, 10, true)
        );
        assert_eq!(p.rate, None);
    }

    #[test]
    fn range_takes_key_end_and_consistency() {
        let (_, c) = parse(&args("range foo fop --consistency s --limit 3")).unwrap();
        let Command::Range(r) = c else {
            panic!("{c:?}")
        };
        assert_eq!(
            (r.key.as_slice(), r.end.as_deref()),
            (&b"foo"[..], Some(&b"fop"[..]))
        );
        assert!(r.serializable);
        assert_eq!(r.limit, 3);
        assert!(parse(&args("range foo --consistency x")).is_err());
        assert!(parse(&args("range")).is_err());
    }

    #[test]
    fn unknown_flags_and_commands_are_refused() {
        assert!(parse(&args("put --nope 1")).unwrap_err().contains("--nope"));
        assert!(parse(&args("frobnicate")).is_err());
        assert!(parse(&args("--conns")).is_err());
        assert!(parse(&args("stm --stm-locker lock-rpc")).is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration("2x"), None);
    }
}
