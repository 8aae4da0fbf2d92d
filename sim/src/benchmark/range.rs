//! `benchmark range <key> [end]`: reads of one key or a range, linearizable
//! (`--consistency l`) or serializable (`s`).

use super::error::BenchError;
use super::options::Pool;
use super::report::Report;
use super::runner::{self, Load};
use super::stats::Stats;
use etcd_sdk::v3::{GetOptions, KV, KeyRange};

/// The flags and arguments of `range`.
#[derive(Clone, Debug)]
pub struct RangeOptions {
    /// The key.
    pub key: Vec<u8>,
    /// The end of the range (`[key, end)`), if any.
    pub end: Option<Vec<u8>>,
    /// Serializable reads (`--consistency s`) instead of linearizable (`l`).
    pub serializable: bool,
    /// Reads (`--total`, 10000).
    pub total: u64,
    /// Reads per second (`--rate`, 0: unlimited).
    pub rate: Option<f64>,
    /// At most this many keys per read (`--limit`, 0: all).
    pub limit: i64,
}

impl Default for RangeOptions {
    fn default() -> Self {
        RangeOptions {
            key: Vec::new(),
            end: None,
            serializable: false,
            total: 10000,
            rate: None,
            limit: 0,
        }
    }
}

/// Parses `--consistency`: `l` or `s`.
pub fn parse_consistency(s: &str) -> Result<bool, BenchError> {
    match s {
        "l" => Ok(false),
        "s" => Ok(true),
        other => Err(BenchError::Usage(format!(
            "consistency must be l or s, got {other:?}"
        ))),
    }
}

/// Runs `range`; one report.
pub async fn run(pool: &Pool, o: &RangeOptions) -> Result<Vec<Report>, BenchError> {
    let opts = GetOptions {
        range: o.end.clone().map(KeyRange::End).unwrap_or_default(),
        serializable: o.serializable,
        limit: o.limit,
        ..GetOptions::default()
    };
    let (p, key) = (pool.clone(), o.key.clone());
    let load = Load {
        total: o.total,
        workers: pool.workers(),
        rate: o.rate,
    };
    let samples = runner::run("range", load, move |w, _| {
        let (client, key, opts) = (p.client(w).clone(), key.clone(), opts.clone());
        async move {
            client.get(key, opts).await.map_err(|e| e.to_string())?;
            Ok(())
        }
    })
    .await;
    Ok(vec![Report::new("range", Stats::from_samples(&samples))])
}
