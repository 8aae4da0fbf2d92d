//! The command line of `etcd-sim chaos`.

use etcd_sim::chaos::fault_kind::FaultSet;
use etcd_sim::member::UnsafeMode;
use std::path::PathBuf;
use std::time::Duration;

/// The usage text.
pub const USAGE: &str = "\
usage: etcd-sim chaos [options]

Randomized fault-injection runs of a simulated etcd cluster: per seed, SDK
clients run a mixed workload while a nemesis injects faults, then the cluster
is healed and every client must still complete a few operations; the history is
checked for linearizability (per key) and the watch guarantees.

options:
  --seeds N              number of seeds to run (default 1)
  --seed-start S         first seed (default 1)
  --replay SEED          run only SEED and always write its history and timeline
  --api API              v2, v3 or both: which client API the workload drives
                         (default v2; v3 writes seed-<n>-v3.jsonl for a failure)
  --nodes N              members (default 5)
  --clients N            workload clients (default 8)
  --ops N                operations per seed, over all clients (default 2000)
  --watchers N           watchers per seed (default 3)
  --faults LIST          all, none, or a comma list of: pause, kill, partition,
                         cut, isolate, latency, loss, pause-leader, kill-leader,
                         membership (default all)
  --unsafe MODE          run members in a deliberately unsafe mode, to show the
                         checker catches it: local-quorum-reads (v2),
                         local-linearizable-ranges, watch-resume-skip,
                         early-follower-lease-expiry (v3), corrupt-kv
  --out DIR              where failing seeds' seed-<n>.jsonl and seed-<n>.html go
                         (default chaos-out)
  --time-limit SECS      virtual seconds after which a run is declared stuck and
                         counted as crashed (default 3600)
  --check-determinism    run every seed twice and compare the histories
  -h, --help             this text

Exit status: 0 when every seed passed, 1 on any violation, liveness failure or
crashed run, 2 on a usage error.";

/// Which client API a run's workload drives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Api {
    /// The v2 keys API (the default).
    #[default]
    V2,
    /// The v3 gRPC API.
    V3,
    /// Both, one run each per seed.
    Both,
}

impl Api {
    /// Whether v2 runs.
    pub fn v2(self) -> bool {
        matches!(self, Api::V2 | Api::Both)
    }

    /// Whether v3 runs.
    pub fn v3(self) -> bool {
        matches!(self, Api::V3 | Api::Both)
    }
}

impl std::str::FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v2" => Ok(Api::V2),
            "v3" => Ok(Api::V3),
            "both" => Ok(Api::Both),
            other => Err(format!("{other:?} is not v2, v3 or both")),
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ChaosArgs {
    /// Seeds to run.
    pub seeds: u64,
    /// The first seed.
    pub seed_start: u64,
    /// Replay one seed (overrides `seeds`/`seed_start`).
    pub replay: Option<u64>,
    /// Members.
    pub nodes: usize,
    /// Workload clients.
    pub clients: usize,
    /// Operations per seed.
    pub ops: usize,
    /// Watchers per seed.
    pub watchers: usize,
    /// Fault kinds.
    pub faults: FaultSet,
    /// Unsafe member mode.
    pub unsafe_mode: Option<UnsafeMode>,
    /// Output directory.
    pub out: PathBuf,
    /// Run each seed twice and compare.
    pub check_determinism: bool,
    /// Virtual time after which a run is declared stuck (it panics: a crash).
    pub time_limit: Duration,
    /// Which API the workload drives.
    pub api: Api,
}

impl Default for ChaosArgs {
    fn default() -> Self {
        ChaosArgs {
            seeds: 1,
            seed_start: 1,
            replay: None,
            nodes: 5,
            clients: 8,
            ops: 2000,
            watchers: 3,
            faults: FaultSet::all(),
            unsafe_mode: None,
            out: PathBuf::from("chaos-out"),
            check_determinism: false,
            time_limit: Duration::from_secs(3600),
            api: Api::V2,
        }
    }
}

impl ChaosArgs {
    /// The seeds to run, in order.
    pub fn seed_list(&self) -> std::ops::Range<u64> {
        match self.replay {
            Some(s) => s..s.saturating_add(1),
            None => self.seed_start..self.seed_start.saturating_add(self.seeds),
        }
    }
}

/// The parsed command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Run seeds.
    Run(ChaosArgs),
}

/// A command-line mistake.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// An option nobody knows.
    #[error("unknown option {0:?}")]
    Unknown(String),
    /// An option without its value.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// A value that does not parse.
    #[error("bad value {value:?} for {flag}: {why}")]
    BadValue {
        /// The option.
        flag: String,
        /// The value given.
        value: String,
        /// Why it is wrong.
        why: String,
    },
}

fn number<T>(flag: &str, value: &str, min: T) -> Result<T, ArgsError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let bad = |why: String| ArgsError::BadValue {
        flag: flag.to_string(),
        value: value.to_string(),
        why,
    };
    let n: T = value.parse().map_err(|e: T::Err| bad(e.to_string()))?;
    if n < min {
        return Err(bad(format!("must be at least {min}")));
    }
    Ok(n)
}

/// Parses the arguments after `chaos` (`--flag value` or `--flag=value`).
///
/// # Errors
///
/// [`ArgsError`] for an unknown option, a missing or malformed value.
pub fn parse(args: &[String]) -> Result<Command, ArgsError> {
    let mut a = ChaosArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--check-determinism" => {
                a.check_determinism = true;
                continue;
            }
            _ => {}
        }
        let known = [
            "--seeds",
            "--seed-start",
            "--replay",
            "--nodes",
            "--clients",
            "--ops",
            "--watchers",
            "--faults",
            "--unsafe",
            "--out",
            "--time-limit",
            "--api",
        ];
        if !known.contains(&flag) {
            return Err(ArgsError::Unknown(arg.clone()));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| ArgsError::MissingValue(flag.to_string()))?,
        };
        let bad = |why: String| ArgsError::BadValue {
            flag: flag.to_string(),
            value: value.clone(),
            why,
        };
        match flag {
            "--seeds" => a.seeds = number(flag, &value, 1)?,
            "--seed-start" => a.seed_start = number(flag, &value, 0)?,
            "--replay" => a.replay = Some(number(flag, &value, 0)?),
            "--nodes" => a.nodes = number(flag, &value, 1)?,
            "--clients" => a.clients = number(flag, &value, 1)?,
            "--ops" => a.ops = number(flag, &value, 1)?,
            "--watchers" => a.watchers = number(flag, &value, 0)?,
            "--faults" => a.faults = value.parse().map_err(|e| bad(format!("{e}")))?,
            "--unsafe" => a.unsafe_mode = Some(value.parse().map_err(|e| bad(format!("{e}")))?),
            "--out" => a.out = PathBuf::from(&value),
            "--time-limit" => a.time_limit = Duration::from_secs(number(flag, &value, 1)?),
            "--api" => a.api = value.parse().map_err(bad)?,
            _ => return Err(ArgsError::Unknown(arg.clone())),
        }
    }
    Ok(Command::Run(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sim::chaos::fault_kind::FaultKind;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn defaults_and_every_flag() {
        assert_eq!(parse(&[]), Ok(Command::Run(ChaosArgs::default())));
        let Ok(Command::Run(a)) = parse(&args(
            "--seeds 1000 --seed-start=7 --nodes 3 --ops 500 --clients 4 --watchers=0 \
             --faults kill,pause --unsafe local-quorum-reads --out /tmp/x --check-determinism \
             --time-limit 60",
        )) else {
            panic!("parses");
        };
        assert_eq!((a.seeds, a.seed_start, a.nodes, a.ops), (1000, 7, 3, 500));
        assert_eq!((a.clients, a.watchers), (4, 0));
        assert_eq!(a.faults.kinds(), [FaultKind::Pause, FaultKind::Kill]);
        assert_eq!(a.unsafe_mode, Some(UnsafeMode::LocalQuorumReads));
        assert_eq!(a.out, PathBuf::from("/tmp/x"));
        assert!(a.check_determinism);
        assert_eq!(a.time_limit, Duration::from_secs(60));
        assert_eq!(a.seed_list(), 7..1007);
        let Ok(Command::Run(r)) = parse(&args("--seeds 5 --replay 42")) else {
            panic!("parses");
        };
        assert_eq!(r.seed_list(), 42..43);
        assert_eq!(r.api, Api::V2);
        let Ok(Command::Run(v3)) = parse(&args("--api v3")) else {
            panic!("parses");
        };
        assert!(v3.api.v3() && !v3.api.v2());
        let Ok(Command::Run(both)) = parse(&args("--api=both")) else {
            panic!("parses");
        };
        assert!(both.api.v3() && both.api.v2());
        assert_eq!(parse(&args("--ops 3 -h")), Ok(Command::Help));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            parse(&args("--sedes 3")),
            Err(ArgsError::Unknown("--sedes".into()))
        );
        assert_eq!(
            parse(&args("--seeds")),
            Err(ArgsError::MissingValue("--seeds".into()))
        );
        assert!(matches!(
            parse(&args("--nodes zero")),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&args("--nodes 0")),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&args("--faults kill,nap")),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&args("--time-limit 0")),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&args("--api v4")),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse(&args("--unsafe yolo")),
            Err(ArgsError::BadValue { .. })
        ));
    }
}
