//! The numbers of one report, computed as etcd's `pkg/report` computes them:
//! total, slowest, fastest, average, population standard deviation,
//! requests per second, the 11-mark response time histogram and the
//! percentiles 10 … 99.9.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The percentiles etcd prints.
pub const PERCENTILES: [f64; 8] = [10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9];

/// How many intervals the histogram splits `[fastest, slowest]` into (it
/// prints one more mark: the slowest).
const HISTOGRAM_INTERVALS: usize = 10;

/// What a run recorded: one latency per successful request, a count per
/// error text, and the wall time of the whole run.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// Latencies of the successful requests, seconds.
    pub latencies: Vec<f64>,
    /// Failed requests by error text (ordered, so output is stable).
    pub errors: BTreeMap<String, u64>,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
}

impl Samples {
    /// Adds the samples of another worker (the elapsed time is set by the
    /// caller).
    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        for (e, n) in other.errors {
            *self.errors.entry(e).or_default() += n;
        }
    }

    /// Records one outcome.
    pub fn record(&mut self, outcome: Result<Duration, String>) {
        match outcome {
            Ok(d) => self.latencies.push(d.as_secs_f64()),
            Err(e) => *self.errors.entry(e).or_default() += 1,
        }
    }
}

/// One histogram mark: how many latencies fell at or below `mark` (and
/// above the previous mark).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bucket {
    /// The upper bound, seconds.
    pub mark: f64,
    /// Requests in this bucket.
    pub count: u64,
}

/// One percentile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Percentile {
    /// The percentile (10 … 99.9).
    pub percent: f64,
    /// Its latency, seconds (0 when too few samples reach it: not printed).
    pub seconds: f64,
}

/// The summary of one report (etcd's `report.Stats` plus the histogram and
/// percentiles it prints). Times in seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Successful requests.
    pub count: u64,
    /// Wall time of the run.
    pub total: f64,
    /// The slowest request.
    pub slowest: f64,
    /// The fastest request.
    pub fastest: f64,
    /// The mean latency.
    pub average: f64,
    /// The population standard deviation of the latencies.
    pub stddev: f64,
    /// Successful requests per second of wall time.
    pub requests_per_sec: f64,
    /// The response time histogram (11 marks).
    pub histogram: Vec<Bucket>,
    /// The latency distribution.
    pub percentiles: Vec<Percentile>,
    /// Failed requests by error text.
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    /// Computes the summary of `samples`.
    pub fn from_samples(samples: &Samples) -> Stats {
        let mut lats = samples.latencies.clone();
        lats.sort_by(f64::total_cmp);
        let n = lats.len();
        let total = samples.elapsed.as_secs_f64();
        let (average, stddev) = if n == 0 {
            (0.0, 0.0)
        } else {
            let avg = lats.iter().sum::<f64>() / n as f64;
            let var = lats.iter().map(|l| (l - avg) * (l - avg)).sum::<f64>() / n as f64;
            (avg, var.sqrt())
        };
        let fastest = lats.first().copied().unwrap_or(0.0);
        let slowest = lats.last().copied().unwrap_or(0.0);
        Stats {
            count: n as u64,
            total,
            slowest,
            fastest,
            average,
            stddev,
            requests_per_sec: if total > 0.0 { n as f64 / total } else { 0.0 },
            histogram: if n == 0 {
                Vec::new()
            } else {
                histogram(&lats, fastest, slowest)
            },
            percentiles: percentiles(&lats),
            errors: samples.errors.clone(),
        }
    }

    /// The latency at `percent` (one of [`PERCENTILES`]), seconds.
    pub fn percentile(&self, percent: f64) -> f64 {
        self.percentiles
            .iter()
            .find(|p| p.percent == percent)
            .map(|p| p.seconds)
            .unwrap_or(0.0)
    }
}

/// etcd's histogram over sorted latencies: marks at `fastest + i·width`
/// for i in 0..10 and the slowest; each latency counts in the first mark it
/// does not exceed.
fn histogram(sorted: &[f64], fastest: f64, slowest: f64) -> Vec<Bucket> {
    let width = (slowest - fastest) / HISTOGRAM_INTERVALS as f64;
    let mut buckets: Vec<Bucket> = (0..HISTOGRAM_INTERVALS)
        .map(|i| Bucket {
            mark: fastest + width * i as f64,
            count: 0,
        })
        .collect();
    buckets.push(Bucket {
        mark: slowest,
        count: 0,
    });
    let mut b = 0;
    for &lat in sorted {
        while lat > buckets[b].mark && b + 1 < buckets.len() {
            b += 1;
        }
        buckets[b].count += 1;
    }
    buckets
}

/// etcd's percentiles over sorted latencies: the first sample whose rank
/// (`i·100/n`) reaches each percentile; one sample serves at most one.
fn percentiles(sorted: &[f64]) -> Vec<Percentile> {
    let mut out: Vec<Percentile> = PERCENTILES
        .iter()
        .map(|&percent| Percentile {
            percent,
            seconds: 0.0,
        })
        .collect();
    let n = sorted.len();
    let mut j = 0;
    for (i, &lat) in sorted.iter().enumerate() {
        if j >= out.len() {
            break;
        }
        let rank = i as f64 * 100.0 / n as f64;
        if rank >= out[j].percent {
            out[j].seconds = lat;
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(lats: &[f64], secs: f64) -> Samples {
        Samples {
            latencies: lats.to_vec(),
            errors: BTreeMap::new(),
            elapsed: Duration::from_secs_f64(secs),
        }
    }

    #[test]
    fn summary_numbers() {
        let s = Stats::from_samples(&samples(&[0.4, 0.1, 0.2, 0.3], 2.0));
        assert_eq!(s.count, 4);
        assert_eq!((s.fastest, s.slowest), (0.1, 0.4));
        assert!((s.average - 0.25).abs() < 1e-12);
        // Population stddev of 0.1..0.4: sqrt(0.0125).
        assert!((s.stddev - 0.0125f64.sqrt()).abs() < 1e-12);
        assert!((s.requests_per_sec - 2.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_marks_and_counts() {
        let lats: Vec<f64> = (1..=100).map(|i| i as f64 / 100.0).collect();
        let s = Stats::from_samples(&samples(&lats, 1.0));
        assert_eq!(s.histogram.len(), 11);
        assert!((s.histogram[0].mark - 0.01).abs() < 1e-12);
        assert!((s.histogram[10].mark - 1.0).abs() < 1e-12);
        let total: u64 = s.histogram.iter().map(|b| b.count).sum();
        assert_eq!(total, 100);
        // The fastest alone sits in the first mark.
        assert_eq!(s.histogram[0].count, 1);
        // Width 0.099: (0.01, 0.109] holds 0.02..=0.10.
        assert_eq!(s.histogram[1].count, 9);
    }

    #[test]
    fn histogram_of_equal_latencies_puts_all_in_the_first_mark() {
        let s = Stats::from_samples(&samples(&[0.5; 7], 1.0));
        assert_eq!(s.histogram[0].count, 7);
        assert_eq!(s.histogram.iter().map(|b| b.count).sum::<u64>(), 7);
    }

    #[test]
    fn percentiles_as_etcd_picks_them() {
        let lats: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
        let s = Stats::from_samples(&samples(&lats, 1.0));
        // Rank i*100/n >= p first at i = 10n/100 (0-based) -> value i+1.
        assert_eq!(s.percentile(10.0), 101.0);
        assert_eq!(s.percentile(50.0), 501.0);
        assert_eq!(s.percentile(99.0), 991.0);
        assert_eq!(s.percentile(99.9), 1000.0);
    }

    #[test]
    fn few_samples_leave_high_percentiles_unset() {
        let s = Stats::from_samples(&samples(&[1.0, 2.0], 1.0));
        // Ranks 0 and 50: only the second reaches 10%, and it serves no other.
        assert_eq!(s.percentile(10.0), 2.0);
        assert_eq!(s.percentile(25.0), 0.0);
    }

    #[test]
    fn errors_are_counted_apart() {
        let mut a = Samples::default();
        a.record(Ok(Duration::from_millis(2)));
        a.record(Err("boom".into()));
        let mut b = Samples::default();
        b.record(Err("boom".into()));
        a.merge(b);
        let s = Stats::from_samples(&a);
        assert_eq!(s.count, 1);
        assert_eq!(s.errors.get("boom"), Some(&2));
    }

    #[test]
    fn empty_run_is_all_zero() {
        let s = Stats::from_samples(&Samples::default());
        assert_eq!((s.count, s.average, s.requests_per_sec), (0, 0.0, 0.0));
        assert!(s.histogram.is_empty());
    }
}
