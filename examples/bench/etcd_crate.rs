//! The `etcd` crate 0.9 as a client under test: a standalone project
//! (`examples/etcd_crate_load`, outside our workspace) that this bench builds once
//! and runs per cell as a child process, reading its JSON result.

use crate::load::{Op, Window};
use crate::paths::repo_root;
use crate::stats::Summary;
use std::path::PathBuf;
use std::process::Command;

/// The built loader, or why there is none.
pub enum EtcdCrate {
    /// The loader binary.
    Built(PathBuf),
    /// The reason it could not be built (shown in the tables instead of numbers).
    Unavailable(String),
}

impl EtcdCrate {
    /// Builds the loader (release) under `target/etcd_crate_load`.
    pub fn build() -> EtcdCrate {
        let root = repo_root();
        let target = root.join("target/etcd_crate_load");
        eprintln!("[build] etcd crate loader (first build takes minutes)");
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(root.join("examples/etcd_crate_load/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .output();
        match out {
            Ok(o) if o.status.success() => EtcdCrate::Built(target.join("release/etcd-crate-load")),
            Ok(o) => {
                let stderr = String::from_utf8_lossy(&o.stderr);
                let reason = stderr
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("cargo build failed")
                    .to_string();
                EtcdCrate::Unavailable(format!("does not build: {reason}"))
            }
            Err(e) => EtcdCrate::Unavailable(format!("does not build: cargo: {e}")),
        }
    }

    /// Runs one cell against `endpoint`.
    pub async fn run_cell(
        &self,
        endpoint: &str,
        op: Op,
        cell: &str,
        concurrency: usize,
        window: Window,
    ) -> Result<Summary, String> {
        let bin = match self {
            EtcdCrate::Built(bin) => bin,
            EtcdCrate::Unavailable(reason) => return Err(reason.clone()),
        };
        // Sets write `<key>/w<worker>` like the other clients; gets read GET_KEY.
        let key = match op {
            Op::Set => format!("/bench/{cell}"),
            Op::Get => crate::load::GET_KEY.to_string(),
        };
        let mut cmd = Command::new(bin);
        cmd.args(["--endpoint", endpoint, "--op", op.name(), "--key", &key])
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--warmup-ms", &window.warmup.as_millis().to_string()])
            .args(["--duration-ms", &window.duration.as_millis().to_string()]);
        let shown = bin.display().to_string();
        // The runtime has no process feature: wait for the child on a blocking thread.
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .map_err(|e| format!("run {shown}: {e}"))?
            .map_err(|e| format!("run {shown}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "etcd crate loader failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        parse_result(&out.stdout)
    }
}

/// The loader's JSON line as a [`Summary`].
fn parse_result(stdout: &[u8]) -> Result<Summary, String> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|e| format!("loader output: {e}"))?;
    let latencies = v
        .get("latencies_us")
        .and_then(|l| l.as_array())
        .ok_or("loader output has no latencies_us")?
        .iter()
        .filter_map(|x| x.as_u64())
        .collect();
    let secs = v
        .get("measured_secs")
        .and_then(|s| s.as_f64())
        .ok_or("loader output has no measured_secs")?;
    let errors = v.get("errors").and_then(|e| e.as_u64()).unwrap_or(0);
    let first_error = v
        .get("first_error")
        .and_then(|e| e.as_str())
        .map(str::to_string);
    Ok(Summary::from_samples(latencies, errors, first_error, secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loader_output() {
        let out = br#"{"client":"etcd-crate","op":"set","concurrency":2,"measured_secs":2.0,"errors":1,"first_error":"boom","latencies_us":[5,1,3,2]}"#;
        let s = parse_result(out).unwrap();
        assert_eq!((s.ops, s.errors, s.p50_us, s.max_us), (4, 1, 2, 5));
        assert_eq!(s.first_error.as_deref(), Some("boom"));
        assert!(parse_result(b"{}").is_err());
    }
}
