//! The global flags (etcd's `benchmark` persistent flags) and the
//! connections they describe: `--conns` SDK clients, shared round-robin by
//! `--clients` workers.

use super::error::BenchError;
use super::format::Precision;
use etcd_sdk::tls::TlsConfig;
use etcd_sdk::v3::{Client, Config, Maintenance};
use std::path::PathBuf;
use std::time::Duration;

/// The flags every subcommand takes.
#[derive(Clone, Debug)]
pub struct GlobalOptions {
    /// gRPC endpoints (`--endpoints`, default `127.0.0.1:2379`).
    pub endpoints: Vec<String>,
    /// SDK clients, each with its own connections (`--conns`, default 1).
    pub conns: usize,
    /// Concurrent workers sharing them (`--clients`, default 1).
    pub clients: usize,
    /// Full float precision in the text output (`--precise`).
    pub precise: bool,
    /// Connect only to the leader (`--target-leader`).
    pub target_leader: bool,
    /// `name:password` (`--user`; the password is required, no prompt).
    pub user: Option<String>,
    /// Bounds each connection attempt (`--dial-timeout`).
    pub dial_timeout: Option<Duration>,
    /// CA bundle of the servers (`--cacert`).
    pub cacert: Option<PathBuf>,
    /// Client certificate (`--cert`).
    pub cert: Option<PathBuf>,
    /// Its key (`--key`).
    pub key: Option<PathBuf>,
    /// Print JSON instead of text (`--json`).
    pub json: bool,
}

impl Default for GlobalOptions {
    fn default() -> Self {
        GlobalOptions {
            endpoints: vec!["127.0.0.1:2379".into()],
            conns: 1,
            clients: 1,
            precise: false,
            target_leader: false,
            user: None,
            dial_timeout: None,
            cacert: None,
            cert: None,
            key: None,
            json: false,
        }
    }
}

impl GlobalOptions {
    /// The precision of the text output.
    pub fn precision(&self) -> Precision {
        if self.precise {
            Precision::Full
        } else {
            Precision::Fixed4
        }
    }

    /// The SDK configuration for `endpoints`.
    pub fn config(&self, endpoints: &[String]) -> Result<Config, BenchError> {
        let mut cfg = Config::new(endpoints.iter().cloned());
        cfg.dial_timeout = self.dial_timeout;
        if self.cacert.is_some() || self.cert.is_some() || self.key.is_some() {
            let mut tls = TlsConfig::new();
            if let Some(ca) = &self.cacert {
                tls = tls.ca_file(ca);
            }
            match (&self.cert, &self.key) {
                (Some(c), Some(k)) => tls = tls.client_cert_files(c, k),
                (None, None) => {}
                _ => return Err(BenchError::Usage("--cert and --key go together".into())),
            }
            cfg.tls = Some(tls);
        }
        if let Some(user) = &self.user {
            let Some((name, password)) = user.split_once(':') else {
                return Err(BenchError::Usage(
                    "--user needs name:password (no password prompt)".into(),
                ));
            };
            cfg.username = Some(name.to_string());
            cfg.password = Some(password.to_string());
        }
        Ok(cfg)
    }

    /// One new SDK client over `endpoints`.
    pub async fn client(&self, endpoints: &[String]) -> Result<Client, BenchError> {
        Client::new(self.config(endpoints)?)
            .await
            .map_err(BenchError::Dial)
    }

    /// The endpoints to use: all, or the leader's with `--target-leader`.
    pub async fn endpoints(&self) -> Result<Vec<String>, BenchError> {
        if !self.target_leader {
            return Ok(self.endpoints.clone());
        }
        let probe = self.client(&self.endpoints).await?;
        let mut found = None;
        for ep in &self.endpoints {
            match probe.status(ep).await {
                Ok(s) if s.header.as_ref().map(|h| h.member_id) == Some(s.leader) => {
                    found = Some(ep.clone());
                    break;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(endpoint = %ep, error = %e, "benchmark: status failed"),
            }
        }
        probe.close();
        found.map(|ep| vec![ep]).ok_or(BenchError::NoLeader)
    }

    /// Connects `--conns` clients.
    pub async fn connect(&self) -> Result<Pool, BenchError> {
        if self.conns == 0 || self.clients == 0 {
            return Err(BenchError::Usage(
                "--conns and --clients must be at least 1".into(),
            ));
        }
        let endpoints = self.endpoints().await?;
        let mut conns = Vec::with_capacity(self.conns);
        for _ in 0..self.conns {
            conns.push(self.client(&endpoints).await?);
        }
        Ok(Pool {
            conns,
            workers: self.clients,
            endpoints,
            options: self.clone(),
        })
    }
}

/// The connected clients of a run.
#[derive(Clone, Debug)]
pub struct Pool {
    conns: Vec<Client>,
    workers: usize,
    endpoints: Vec<String>,
    options: GlobalOptions,
}

impl Pool {
    /// The client worker `worker` uses (round-robin over the connections).
    pub fn client(&self, worker: usize) -> &Client {
        &self.conns[worker % self.conns.len()]
    }

    /// How many workers run requests (`--clients`).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// A client of its own (watch streams: one gRPC stream per client).
    pub async fn extra_client(&self) -> Result<Client, BenchError> {
        self.options.client(&self.endpoints).await
    }

    /// Closes every connection.
    pub fn close(&self) {
        for c in &self.conns {
            c.close();
        }
    }
}
