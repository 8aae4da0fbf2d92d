//! The servers under test: `/usr/bin/etcd` 3.4.23 and our `etcd-sim` binary,
//! started with the same etcd flags by the test harness, and their memory use.

use crate::harness::etcd::EtcdCluster;
use crate::harness::raw_http;
use crate::paths::{Storage, repo_root};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerKind {
    /// etcd 3.4.23.
    Etcd,
    /// Our `etcd-sim` binary.
    EtcdSim,
}

impl ServerKind {
    /// The name in tables.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Etcd => "etcd",
            ServerKind::EtcdSim => "etcd-sim",
        }
    }
}

/// The two server binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    etcd: PathBuf,
    ours: PathBuf,
}

impl Binaries {
    /// Checks that `etcd` exists and builds our server (release).
    pub fn prepare(etcd: PathBuf) -> Result<Binaries, String> {
        if !etcd.exists() {
            return Err(format!(
                "{} is missing: run scripts/install-deps.sh",
                etcd.display()
            ));
        }
        let root = repo_root();
        eprintln!("[build] etcd-sim (release)");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "etcd-sim",
                "--bin",
                "etcd-sim",
            ])
            .status()
            .map_err(|e| format!("cargo build etcd-sim: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build etcd-sim failed ({status})"));
        }
        Ok(Binaries {
            etcd,
            ours: root.join("target/release/etcd-sim"),
        })
    }

    /// The binary of `kind`.
    pub fn path(&self, kind: ServerKind) -> &PathBuf {
        match kind {
            ServerKind::Etcd => &self.etcd,
            ServerKind::EtcdSim => &self.ours,
        }
    }

    /// Starts an `n`-member cluster of `kind` with its data on `storage` and writes
    /// the key that quorum gets read.
    pub async fn start(
        &self,
        kind: ServerKind,
        n: usize,
        storage: Storage,
    ) -> Result<EtcdCluster, String> {
        let cluster = EtcdCluster::try_start_in(self.path(kind), n, &storage.parent()?).await?;
        let body = format!("value={}", crate::load::value());
        let r = raw_http::request(
            &cluster.client_urls()[0],
            "PUT",
            &format!("/v2/keys{}", crate::load::GET_KEY),
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
            Duration::from_secs(10),
        )
        .await?;
        if r.status >= 300 {
            return Err(format!(
                "writing {}: {} {}",
                crate::load::GET_KEY,
                r.status,
                r.text()
            ));
        }
        Ok(cluster)
    }
}

/// A process's memory, KiB, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size (`VmHWM`).
    pub hwm_kib: u64,
}

/// The memory of process `pid` (`"self"` for this one).
pub fn memory_of(pid: &str) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
    Ok(parse_status(&status))
}

/// `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status` file.
fn parse_status(status: &str) -> Memory {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_peak() {
        let m = parse_status("Name:\tetcd\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n");
        assert_eq!((m.rss_kib, m.hwm_kib), (10240, 20480));
        assert_eq!(mib(m.hwm_kib), "20.0");
        assert_eq!(parse_status("").rss_kib, 0);
    }
}
