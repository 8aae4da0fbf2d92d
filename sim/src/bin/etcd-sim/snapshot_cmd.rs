//! `etcd-sim snapshot restore <file> [flags]`: etcdctl's offline restore, for
//! the snapshot files `etcdctl snapshot save` writes from etcd-sim
//! (`etcd_sim::embed::restore`). Errors print as etcdctl prints them
//! (`Error: ...`, exit status 1; bad arguments: exit status 128).

use etcd_sim::embed::restore::{RestoreOptions, restore};
use std::path::PathBuf;
use std::process::ExitCode;

/// etcdctl's `ExitBadArgs`.
const EXIT_BAD_ARGS: u8 = 128;

/// Parses `restore <file> [--flag[=value] ...]`.
fn parse(args: &[String]) -> Result<RestoreOptions, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("snapshot: a subcommand is required (restore)".into());
    };
    if sub != "restore" {
        return Err(format!("unknown command {sub:?} for \"etcd-sim snapshot\""));
    }
    let mut opts = RestoreOptions::default();
    let mut files = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i];
        i += 1;
        let Some(flag) = arg.strip_prefix("--") else {
            files.push(arg.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        if name == "skip-hash-check" {
            opts.skip_hash_check = inline.as_deref().is_none_or(|v| v == "true");
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = rest
                    .get(i)
                    .cloned()
                    .ok_or_else(|| format!("flag needs an argument: --{name}"))?;
                i += 1;
                v
            }
        };
        match name {
            "name" => opts.name = value,
            "initial-cluster" => opts.initial_cluster = value,
            "initial-cluster-token" => opts.initial_cluster_token = value,
            "initial-advertise-peer-urls" => opts.initial_advertise_peer_urls = value,
            "data-dir" => opts.data_dir = Some(PathBuf::from(value)),
            other => return Err(format!("unknown flag: --{other}")),
        }
    }
    let [file] = files.as_slice() else {
        return Err("snapshot restore requires exactly one argument".into());
    };
    opts.file = PathBuf::from(file);
    Ok(opts)
}

/// Runs `etcd-sim snapshot ...` (`args` after `snapshot`).
pub fn main(args: &[String]) -> ExitCode {
    let opts = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::from(EXIT_BAD_ARGS);
        }
    };
    match restore(&opts) {
        Ok(dir) => {
            eprintln!(
                "restored snapshot {} into data dir {} (member {}, cluster token {})",
                opts.file.display(),
                dir.display(),
                opts.name,
                opts.initial_cluster_token
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn etcdctls_flags_in_both_spellings() {
        let o = parse(&args(&[
            "restore",
            "s.db",
            "--name",
            "m1",
            "--initial-cluster=m1=http://a:1",
            "--initial-advertise-peer-urls",
            "http://a:1",
            "--data-dir=/tmp/x",
            "--skip-hash-check",
        ]))
        .unwrap();
        assert_eq!(o.file, PathBuf::from("s.db"));
        assert_eq!(
            (o.name.as_str(), o.initial_cluster.as_str()),
            ("m1", "m1=http://a:1")
        );
        assert_eq!(o.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(o.skip_hash_check);
        assert!(parse(&args(&["restore"])).is_err());
        assert!(parse(&args(&["restore", "a", "b"])).is_err());
        assert!(parse(&args(&["status", "a"])).is_err());
        assert!(parse(&args(&["restore", "a", "--name"])).is_err());
    }
}
