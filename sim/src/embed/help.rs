//! The command line's help: a usage summary (printed to stderr, also after a usage
//! error) and the list of flags (printed to stdout by `--help`), as etcd splits them.

use super::settings::{Kind, SETTINGS, Support};
use std::fmt::Write as _;

/// The usage summary.
pub fn usage_line() -> String {
    "Usage:

  etcd-sim [flags]
    Start an etcd-sim server (etcd 3.4's flags; the v2 API only).

  etcd-sim --version
    Show the version of etcd-sim (and of the etcd it mirrors).

  etcd-sim -h | --help
    Show the help information about etcd-sim.

  etcd-sim --config-file
    Path to the server configuration file (YAML). Note that if a configuration file is provided, other command line flags and environment variables will be ignored.
"
    .to_string()
}

/// Every flag with its default and what etcd-sim does with it. Each flag can also
/// be given as `ETCD_<FLAG_IN_UPPER_SNAKE_CASE>`.
pub fn flags_text() -> String {
    let mut out = String::from("\nFlags (each also as ETCD_<NAME>, e.g. ETCD_DATA_DIR):\n");
    for s in SETTINGS {
        if s.kind == Kind::Ignored || s.name == "version" || s.name == "config-file" {
            continue;
        }
        let note = match s.support {
            Support::Unsupported => " [not supported]",
            Support::NoEffect => " [no effect]",
            _ => "",
        };
        let _ = writeln!(out, "  --{} '{}'{note}\n    {}", s.name, s.default, s.help);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_the_flags_tools_use() {
        let text = flags_text();
        for flag in [
            "--name 'default'",
            "--data-dir '${name}.etcd'",
            "--listen-client-urls 'http://localhost:2379'",
            "--enable-v2 'false'",
            "--cert-file ''",
        ] {
            assert!(text.contains(flag), "{flag}");
        }
        assert!(usage_line().contains("--config-file"));
    }
}
