//! Throughput and latency percentiles from recorded samples.

use serde::Serialize;

/// What one load cell measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Requests that succeeded inside the measured window.
    pub ops: u64,
    /// Requests that failed inside the measured window.
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Length of the measured window in seconds.
    pub secs: f64,
    /// Successful requests per second.
    pub ops_per_sec: f64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 90th percentile latency, microseconds.
    pub p90_us: u64,
    /// 99th percentile latency, microseconds.
    pub p99_us: u64,
    /// Largest latency, microseconds.
    pub max_us: u64,
}

impl Summary {
    /// Summarises latencies (microseconds, any order) of the successful requests of
    /// a window `secs` long.
    pub fn from_samples(
        mut latencies_us: Vec<u64>,
        errors: u64,
        first_error: Option<String>,
        secs: f64,
    ) -> Summary {
        latencies_us.sort_unstable();
        let ops = latencies_us.len() as u64;
        Summary {
            ops,
            errors,
            first_error,
            secs,
            ops_per_sec: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
            p50_us: percentile(&latencies_us, 0.50),
            p90_us: percentile(&latencies_us, 0.90),
            p99_us: percentile(&latencies_us, 0.99),
            max_us: latencies_us.last().copied().unwrap_or(0),
        }
    }
}

/// The nearest-rank percentile `q` (0..=1) of sorted samples; 0 for none.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds as milliseconds with two decimals.
pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// `a / b` with two decimals, or `-` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 0.50), 50);
        assert_eq!(percentile(&samples, 0.99), 99);
        assert_eq!(percentile(&samples, 1.0), 100);
        assert_eq!(percentile(&samples, 0.0), 1);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn summary_sorts_and_counts() {
        let s = Summary::from_samples(vec![30, 10, 20, 40], 1, Some("x".into()), 2.0);
        assert_eq!((s.ops, s.errors, s.p50_us, s.max_us), (4, 1, 20, 40));
        assert_eq!(s.ops_per_sec, 2.0);
        assert_eq!(ratio(3.0, 0.0), "-");
        assert_eq!(ratio(3.0, 2.0), "1.50");
    }
}
