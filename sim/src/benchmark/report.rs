//! A report as etcd's benchmark prints it (`pkg/report`'s text: Summary,
//! Response time histogram, Latency distribution, Error distribution) and
//! the same numbers as JSON (`--json`).

use super::format::{Precision, go_g};
use super::stats::Stats;
use serde::Serialize;
use std::fmt::Write as _;

/// etcd's histogram bar character.
const BAR: char = '∎';
/// The longest bar.
const BAR_WIDTH: u64 = 40;

/// One titled report of a run (a command prints one or more: `watch`
/// prints the watch creation and the events received).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// What it measured (`put`, `watch creation`, ...).
    pub name: String,
    /// The line printed before it (e.g. `Watch creation summary:`), if any.
    #[serde(skip)]
    pub heading: Option<String>,
    /// Its numbers.
    #[serde(flatten)]
    pub stats: Stats,
}

impl Report {
    /// A report without a heading line.
    pub fn new(name: impl Into<String>, stats: Stats) -> Report {
        Report {
            name: name.into(),
            heading: None,
            stats,
        }
    }

    /// Prints `heading` before the summary.
    pub fn with_heading(mut self, heading: impl Into<String>) -> Report {
        self.heading = Some(heading.into());
        self
    }

    /// The report as etcd prints it.
    pub fn render(&self, p: Precision) -> String {
        let mut s = String::new();
        if let Some(h) = &self.heading {
            s.push_str(h);
            s.push('\n');
        }
        s.push_str(&render_stats(&self.stats, p));
        s
    }
}

/// `pkg/report`'s `String()`: nothing but the errors when no request
/// succeeded.
pub fn render_stats(st: &Stats, p: Precision) -> String {
    let secs = |v: f64| format!("{} secs", p.fmt(v));
    let mut s = String::new();
    if st.count > 0 {
        s.push_str("\nSummary:\n");
        let _ = writeln!(s, "  Total:\t{}.", secs(st.total));
        let _ = writeln!(s, "  Slowest:\t{}.", secs(st.slowest));
        let _ = writeln!(s, "  Fastest:\t{}.", secs(st.fastest));
        let _ = writeln!(s, "  Average:\t{}.", secs(st.average));
        let _ = writeln!(s, "  Stddev:\t{}.", secs(st.stddev));
        let _ = writeln!(s, "  Requests/sec:\t{}", p.fmt(st.requests_per_sec));
        s.push_str("\nResponse time histogram:\n");
        let max = st.histogram.iter().map(|b| b.count).max().unwrap_or(0);
        for b in &st.histogram {
            let bar = (b.count * BAR_WIDTH).checked_div(max).unwrap_or(0);
            let bar: String = std::iter::repeat_n(BAR, bar as usize).collect();
            let _ = writeln!(s, "  {} [{}]\t|{bar}", p.fmt(b.mark), b.count);
        }
        s.push_str("\nLatency distribution:\n");
        for pc in &st.percentiles {
            if pc.seconds > 0.0 {
                let _ = writeln!(s, "  {}% in {}.", go_g(pc.percent), secs(pc.seconds));
            }
        }
    }
    if !st.errors.is_empty() {
        s.push_str("\nError distribution:\n");
        for (e, n) in &st.errors {
            let _ = writeln!(s, "  [{n}]\t{e}");
        }
    }
    s
}

/// The JSON of a command's reports (`--json`): `{"command": .., "reports":
/// [{"name": .., "count": .., "total": .., ...}]}`.
pub fn to_json(command: &str, reports: &[Report]) -> String {
    let v = serde_json::json!({ "command": command, "reports": reports });
    serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::benchmark::stats::Samples;
    use std::time::Duration;

    fn stats() -> Stats {
        Stats::from_samples(&Samples {
            latencies: vec![0.001, 0.002, 0.002, 0.004],
            errors: Default::default(),
            elapsed: Duration::from_millis(500),
        })
    }

    #[test]
    fn text_matches_etcds_layout() {
        let text = render_stats(&stats(), Precision::Fixed4);
        let expected_head = "\nSummary:\n  Total:\t0.5000 secs.\n  Slowest:\t0.0040 secs.\n  \
            Fastest:\t0.0010 secs.\n  Average:\t0.0023 secs.\n  Stddev:\t0.0011 secs.\n  \
            Requests/sec:\t8.0000\n\nResponse time histogram:\n  0.0010 [1]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n";
        assert!(text.starts_with(expected_head), "{text}");
        // The two 2 ms samples: marks 0.0013, 0.0016, 0.0019, 0.0022 -> the fifth.
        assert!(text.contains("  0.0022 [2]\t|∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎∎\n"));
        assert!(text.contains("  0.0040 [1]\t|"));
        assert!(text.ends_with(
            "\nLatency distribution:\n  10% in 0.0020 secs.\n  25% in 0.0020 secs.\n  \
             50% in 0.0040 secs.\n"
        ));
    }

    #[test]
    fn precise_uses_go_g() {
        let text = render_stats(&stats(), Precision::Full);
        assert!(text.contains("  Total:\t0.5 secs.\n"), "{text}");
        assert!(text.contains("  Requests/sec:\t8\n"));
    }

    #[test]
    fn errors_only_when_nothing_succeeded() {
        let mut samples = Samples::default();
        samples.record(Err("etcdserver: request timed out".into()));
        let text = render_stats(&Stats::from_samples(&samples), Precision::Fixed4);
        assert_eq!(
            text,
            "\nError distribution:\n  [1]\tetcdserver: request timed out\n"
        );
    }

    #[test]
    fn json_carries_the_same_numbers() {
        let r = Report::new("put", stats()).with_heading("Put summary:");
        assert!(
            r.render(Precision::Fixed4)
                .starts_with("Put summary:\n\nSummary:")
        );
        let v: serde_json::Value = serde_json::from_str(&to_json("put", &[r])).unwrap();
        assert_eq!(v["command"], "put");
        let rep = &v["reports"][0];
        assert_eq!(rep["name"], "put");
        assert_eq!(rep["count"], 4);
        assert_eq!(rep["histogram"].as_array().map(Vec::len), Some(11));
        assert_eq!(rep["percentiles"][2]["percent"], 50.0);
        assert_eq!(rep["requests_per_sec"], 8.0);
    }
}
