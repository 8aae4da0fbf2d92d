//! etcd's command line: Go `flag` package syntax (`-flag`, `--flag`, `=value` or a
//! separate value, booleans only with `=`), then the `ETCD_*` environment variables
//! for flags not given, or a YAML file (`--config-file` / `ETCD_CONFIG_FILE`), which
//! makes etcd ignore every other flag and variable.
//!
//! Facts checked against etcd 3.4.23: an undefined flag prints `flag provided but
//! not defined: -foo` and the usage, exit 2; a bad value prints `invalid value "x"
//! for flag -name: reason`, exit 2; a leftover argument is `'x' is not a valid
//! flag` (exit 1); a variable shadowed by a flag is fatal (`conflicting environment
//! variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset
//! environment variable or disable flag)`); an unknown `ETCD_*` variable only warns.

use super::config::Config;
use super::error::EmbedError;
use super::settings::{Applied, Kind, SETTINGS, Setting, Value, apply, find};
use super::yaml::config_from_file;
use std::collections::BTreeSet;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run a server with this configuration (not yet validated). `notices` are
    /// log lines for after logging is set up (variables used, flags ignored).
    Run {
        /// The configuration.
        config: Box<Config>,
        /// Informational lines, in order.
        notices: Vec<String>,
        /// Warnings (unknown variables, settings without effect), in order.
        warnings: Vec<String>,
    },
    /// `--version`.
    Version,
    /// `-h` / `--help`.
    Help,
}

/// The environment variable for a flag: `ETCD_` + upper snake case.
pub fn env_name(flag: &str) -> String {
    format!("ETCD_{}", flag.to_ascii_uppercase().replace('-', "_"))
}

/// One flag given on the command line.
struct Given {
    setting: &'static Setting,
    raw: String,
    value: Value,
}

/// Parses etcd's command line (`args` without the program name) and environment.
///
/// # Errors
///
/// [`EmbedError::Usage`] for syntax errors, undefined flags and bad values;
/// [`EmbedError::Flags`] for leftover arguments, shadowed or bad `ETCD_*`
/// variables; [`EmbedError::ConfigFile`] for a configuration file that cannot be
/// used.
pub fn parse_command_line(
    args: &[String],
    env: &[(String, String)],
) -> Result<Command, EmbedError> {
    let (given, rest) = match parse_flags(args)? {
        Parsed::Help => return Ok(Command::Help),
        Parsed::Flags(given, rest) => (given, rest),
    };
    if let Some(arg) = rest.first() {
        return Err(EmbedError::Flags(format!("'{arg}' is not a valid flag")));
    }
    if given
        .iter()
        .any(|g| g.setting.name == "version" && g.value == Value::Bool(true))
    {
        return Ok(Command::Version);
    }
    let env_value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let config_file = given
        .iter()
        .rev()
        .find(|g| g.setting.name == "config-file")
        .map(|g| g.raw.clone())
        .or_else(|| env_value("ETCD_CONFIG_FILE"))
        .filter(|p| !p.is_empty());
    if let Some(path) = config_file {
        let (config, warnings) = config_from_file(std::path::Path::new(&path))?;
        let notices = vec![format!(
            "Loading server configuration from {path:?}. Other configuration command line flags and environment variables will be ignored if provided."
        )];
        return Ok(Command::Run {
            config: Box::new(config),
            notices,
            warnings,
        });
    }

    let mut cfg = Config::default();
    let mut notices = Vec::new();
    let mut warnings = Vec::new();
    let mut set: BTreeSet<&'static str> = BTreeSet::new();
    for g in given {
        set.insert(g.setting.name);
        let applied = apply(&mut cfg, g.setting, &g.raw, g.value).map_err(|e| {
            EmbedError::Usage(format!(
                "invalid value {:?} for flag -{}: {e}",
                g.raw, g.setting.name
            ))
        })?;
        if let Applied::Notice(n) = applied {
            warnings.push(n);
        }
    }
    let mut from_env: BTreeSet<&'static str> = BTreeSet::new();
    let mut sorted: Vec<&'static Setting> = SETTINGS.iter().collect();
    sorted.sort_by_key(|s| s.name);
    for setting in sorted {
        let key = env_name(setting.name);
        let Some(raw) = env_value(&key) else { continue };
        if set.contains(setting.name) {
            return Err(EmbedError::Flags(format!(
                "conflicting environment variable {key:?} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"
            )));
        }
        let bad = |e: String| EmbedError::Flags(format!("invalid value {raw:?} for {key}: {e}"));
        let value = setting.parse(&raw).map_err(bad)?;
        if let Applied::Notice(n) = apply(&mut cfg, setting, &raw, value).map_err(bad)? {
            warnings.push(n);
        }
        from_env.insert(setting.name);
        notices.push(format!(
            "recognized and used environment variable {key}={raw}"
        ));
    }
    for (k, v) in env {
        if k.starts_with("ETCD_") && !SETTINGS.iter().any(|s| env_name(s.name) == *k) {
            warnings.push(format!("unrecognized environment variable {k}={v}"));
        }
    }
    let is_set = |name: &str| set.contains(name) || from_env.contains(name);
    // etcd: listen-client-urls given explicitly voids the default advertise URLs.
    if is_set("listen-client-urls") && !is_set("advertise-client-urls") {
        cfg.advertise_client_urls.clear();
    }
    Ok(Command::Run {
        config: Box::new(cfg),
        notices,
        warnings,
    })
}

enum Parsed {
    Help,
    Flags(Vec<Given>, Vec<String>),
}

/// Go's `FlagSet.Parse`: flags until the first non-flag argument or `--`.
fn parse_flags(args: &[String]) -> Result<Parsed, EmbedError> {
    let mut given = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        if arg == "--" {
            i += 1;
            break;
        }
        let body = arg.strip_prefix("--").unwrap_or_else(|| &arg[1..]);
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(EmbedError::Usage(format!("bad flag syntax: {arg}")));
        }
        i += 1;
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(setting) = find(name) else {
            if name == "help" || name == "h" {
                return Ok(Parsed::Help);
            }
            return Err(EmbedError::Usage(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        let is_bool = matches!(setting.kind, Kind::Bool | Kind::Ignored);
        let raw = match inline {
            Some(v) => v,
            None if is_bool => "true".to_string(),
            None => {
                let Some(v) = args.get(i) else {
                    return Err(EmbedError::Usage(format!(
                        "flag needs an argument: -{name}"
                    )));
                };
                i += 1;
                v.clone()
            }
        };
        let value = setting.parse(&raw).map_err(|e| {
            EmbedError::Usage(if is_bool {
                format!("invalid boolean value {raw:?} for -{name}: {e}")
            } else {
                format!("invalid value {raw:?} for flag -{name}: {e}")
            })
        })?;
        given.push(Given {
            setting,
            raw,
            value,
        });
    }
    Ok(Parsed::Flags(given, args[i..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::config::ClusterState;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    fn run(
        a: &[&str],
        env: &[(&str, &str)],
    ) -> Result<(Config, Vec<String>, Vec<String>), EmbedError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse_command_line(&args(a), &env)? {
            Command::Run {
                config,
                notices,
                warnings,
            } => Ok((*config, notices, warnings)),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn every_flag_form() {
        let (c, _, _) = run(
            &[
                "--name=a",
                "-data-dir",
                "/tmp/d",
                "--snapshot-count",
                "5",
                "-heartbeat-interval=50",
                "--enable-v2",
                "-pre-vote=true",
                "--strict-reconfig-check=false",
                "--initial-cluster-state",
                "existing",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.name, "a");
        assert_eq!(c.data_dir.as_deref(), Some(std::path::Path::new("/tmp/d")));
        assert_eq!((c.snapshot_count, c.heartbeat_ms), (5, 50));
        assert!(c.enable_v2 && c.pre_vote && !c.strict_reconfig_check);
        assert_eq!(c.initial_cluster_state, ClusterState::Existing);
    }

    #[test]
    fn a_separate_value_may_start_with_a_dash() {
        let (c, _, _) = run(&["--name", "-x"], &[]).unwrap();
        assert_eq!(c.name, "-x");
    }

    #[test]
    fn the_last_occurrence_wins() {
        let (c, _, _) = run(&["--name=a", "--name=b"], &[]).unwrap();
        assert_eq!(c.name, "b");
    }

    #[test]
    fn usage_errors_have_go_texts() {
        let usage = |a: &[&str]| match run(a, &[]) {
            Err(EmbedError::Usage(m)) => m,
            other => panic!("{a:?}: {other:?}"),
        };
        assert_eq!(usage(&["--foo"]), "flag provided but not defined: -foo");
        assert_eq!(usage(&["-foo=1"]), "flag provided but not defined: -foo");
        assert_eq!(usage(&["---name=a"]), "bad flag syntax: ---name=a");
        assert_eq!(usage(&["--name"]), "flag needs an argument: -name");
        assert_eq!(
            usage(&["--snapshot-count=abc"]),
            "invalid value \"abc\" for flag -snapshot-count: parse error"
        );
        assert_eq!(
            usage(&["--enable-v2=maybe"]),
            "invalid boolean value \"maybe\" for -enable-v2: parse error"
        );
        assert_eq!(
            usage(&["--initial-cluster-state", "foo"]),
            "invalid value \"foo\" for flag -initial-cluster-state: invalid value"
        );
        assert_eq!(
            usage(&["--listen-peer-urls", "http://127.0.0.1"]),
            "invalid value \"http://127.0.0.1\" for flag -listen-peer-urls: URL address does not have the form \"host:port\": http://127.0.0.1"
        );
    }

    #[test]
    fn leftovers_help_and_version() {
        // A bool flag takes no separate value: `false` is left over.
        assert_eq!(
            run(&["--enable-v2", "false"], &[]).unwrap_err(),
            EmbedError::Flags("'false' is not a valid flag".into())
        );
        let cmd = |a: &[&str]| parse_command_line(&args(a), &[]).unwrap();
        assert_eq!(cmd(&["-h"]), Command::Help);
        assert_eq!(cmd(&["--help", "--foo"]), Command::Help);
        assert_eq!(cmd(&["--version"]), Command::Version);
        assert_eq!(
            parse_command_line(&args(&["--", "--version"]), &[]).unwrap_err(),
            EmbedError::Flags("'--version' is not a valid flag".into())
        );
    }

    #[test]
    fn environment_variables() {
        let (c, notices, warnings) = run(
            &["--name", "a"],
            &[
                ("ETCD_ENABLE_V2", "true"),
                ("ETCD_SNAPSHOT_COUNT", "7"),
                ("ETCD_FOO", "1"),
                ("ETCDCTL_API", "2"),
            ],
        )
        .unwrap();
        assert!(c.enable_v2);
        assert_eq!(c.snapshot_count, 7);
        assert_eq!(
            notices,
            vec![
                "recognized and used environment variable ETCD_ENABLE_V2=true",
                "recognized and used environment variable ETCD_SNAPSHOT_COUNT=7"
            ]
        );
        assert_eq!(
            warnings,
            vec!["unrecognized environment variable ETCD_FOO=1"]
        );
        assert_eq!(
            run(&["--name", "a"], &[("ETCD_NAME", "b")]).unwrap_err(),
            EmbedError::Flags("conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)".into())
        );
        assert_eq!(
            run(&[], &[("ETCD_SNAPSHOT_COUNT", "abc")]).unwrap_err(),
            EmbedError::Flags("invalid value \"abc\" for ETCD_SNAPSHOT_COUNT: parse error".into())
        );
    }

    #[test]
    fn listen_client_urls_without_advertise_clears_the_default() {
        let (c, _, _) = run(&["--listen-client-urls", "http://127.0.0.1:1"], &[]).unwrap();
        assert!(c.advertise_client_urls.is_empty());
        let (c, _, _) = run(&[], &[("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:1")]).unwrap();
        assert!(c.advertise_client_urls.is_empty());
        let (c, _, _) = run(&[], &[]).unwrap();
        assert_eq!(c.advertise_client_urls, vec!["http://localhost:2379"]);
    }

    #[test]
    fn ignored_and_no_effect_flags_warn() {
        let (_, _, warnings) = run(&["-v", "--proxy-read-timeout=5"], &[]).unwrap();
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0], "flag --v is ignored");
    }
}
