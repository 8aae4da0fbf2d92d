//! etcd's automatic compaction (`--auto-compaction-mode`,
//! `--auto-compaction-retention`), as pure schedules the member drives: given
//! the time, the store's revision and whether this member leads (only the
//! leader compacts; a follower's schedule is paused but keeps recording), they
//! say which revision to compact now.
//!
//! - **periodic** (retention a duration, or a whole number of hours): the
//!   revision is sampled every tenth of the period (of an hour at most); once a
//!   whole period has passed since the start or the last success, and then
//!   every period (every hour at most), the revision sampled a period ago is
//!   compacted. A failure is retried at the next sample.
//! - **revision** (retention a number of revisions): every 5 minutes, the
//!   current revision minus the retention, unless it is not positive or was
//!   compacted last time.

use std::time::{Duration, Instant};

/// How often the revision mode looks (etcd: 5 minutes).
pub const REVISION_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The periodic mode samples every period / this (etcd's retry divisor).
const RETRY_DIVISOR: u32 = 10;
/// The longest interval between periodic compactions (and sample base).
const MAX_COMPACT_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// An auto-compaction setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoCompaction {
    /// Keep history for this long.
    Periodic(Duration),
    /// Keep this many revisions.
    Revision(i64),
}

impl AutoCompaction {
    /// etcd's reading of `--auto-compaction-mode` and `--auto-compaction-retention`:
    /// a whole number is hours (periodic) or revisions (revision), anything else a
    /// Go duration; a zero retention turns compaction off (`None`).
    ///
    /// # Errors
    ///
    /// etcd's text for a retention that is neither (`error parsing
    /// CompactionRetention: ...`), or an unknown mode.
    pub fn parse(
        mode: &str,
        retention: &str,
        parse_duration: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<Option<AutoCompaction>, String> {
        let whole = retention.parse::<i64>().ok().filter(|h| *h >= 0);
        let setting = match (mode, whole) {
            ("revision", Some(n)) => AutoCompaction::Revision(n),
            ("periodic" | "", Some(h)) => {
                AutoCompaction::Periodic(Duration::from_secs(3600).saturating_mul(h as u32))
            }
            ("periodic" | "" | "revision", None) => {
                let d = parse_duration(retention).map_err(|e| {
                    format!("error parsing CompactionRetention: time: invalid duration {retention:?} ({e})")
                })?;
                if mode == "revision" {
                    // etcd reads the duration's nanoseconds as revisions.
                    AutoCompaction::Revision(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                } else {
                    AutoCompaction::Periodic(d)
                }
            }
            (other, _) => return Err(format!("unsupported compaction mode {other}")),
        };
        Ok(match setting {
            AutoCompaction::Periodic(d) if d.is_zero() => None,
            AutoCompaction::Revision(0) => None,
            s => Some(s),
        })
    }
}

/// The schedule of one member's automatic compaction.
#[derive(Debug)]
pub struct Compactor {
    setting: AutoCompaction,
    /// Periodic: revisions sampled, oldest first (the first is a period old).
    revs: Vec<i64>,
    last_success: Instant,
    /// Periodic: the wait before the next compaction (the period, then the
    /// compaction interval).
    base: Duration,
    /// Revision: the revision compacted last.
    prev: i64,
}

impl Compactor {
    /// A schedule started at `now` with the store at `revision`.
    pub fn new(setting: AutoCompaction, now: Instant, revision: i64) -> Compactor {
        let base = match setting {
            AutoCompaction::Periodic(p) => p,
            AutoCompaction::Revision(_) => REVISION_INTERVAL,
        };
        Compactor {
            setting,
            revs: vec![revision],
            last_success: now,
            base,
            prev: 0,
        }
    }

    /// How often [`Compactor::tick`] is to be called.
    pub fn interval(&self) -> Duration {
        match self.setting {
            AutoCompaction::Periodic(p) => {
                (p.min(MAX_COMPACT_INTERVAL) / RETRY_DIVISOR).max(Duration::from_millis(1))
            }
            AutoCompaction::Revision(_) => REVISION_INTERVAL,
        }
    }

    /// One step at `now`, with the store at `revision`: the revision to compact,
    /// if it is time (never while `leads` is false). Report the outcome with
    /// [`Compactor::done`].
    pub fn tick(&mut self, now: Instant, revision: i64, leads: bool) -> Option<i64> {
        match self.setting {
            AutoCompaction::Periodic(period) => {
                let due = leads && now.duration_since(self.last_success) >= self.base;
                let pick = due.then(|| self.revs[0]);
                if due {
                    self.base = period.min(MAX_COMPACT_INTERVAL);
                }
                self.revs.push(revision);
                let keep = self.retentions();
                if self.revs.len() > keep {
                    let extra = self.revs.len() - keep;
                    self.revs.drain(..extra);
                }
                pick
            }
            AutoCompaction::Revision(retention) => {
                let rev = revision - retention;
                (leads && rev > 0 && rev != self.prev).then_some(rev)
            }
        }
    }

    /// The outcome of compacting `revision` (as picked by the last tick): `ok`
    /// when it succeeded or the revision was already compacted.
    pub fn done(&mut self, now: Instant, revision: i64, ok: bool) {
        if !ok {
            return;
        }
        match self.setting {
            AutoCompaction::Periodic(_) => self.last_success = now,
            AutoCompaction::Revision(_) => self.prev = revision,
        }
    }

    /// Periodic: how many samples span a period.
    fn retentions(&self) -> usize {
        match self.setting {
            AutoCompaction::Periodic(p) => {
                let step = self.interval();
                (p.as_nanos() / step.as_nanos().max(1)) as usize + 1
            }
            AutoCompaction::Revision(_) => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dur(s: &str) -> Result<Duration, String> {
        match s {
            "30m" => Ok(Duration::from_secs(1800)),
            "5s" => Ok(Duration::from_secs(5)),
            _ => Err("parse error".into()),
        }
    }

    #[test]
    fn retentions_parse_as_etcd_reads_them() {
        let p = |m, r| AutoCompaction::parse(m, r, dur);
        assert_eq!(p("periodic", "0"), Ok(None));
        assert_eq!(
            p("periodic", "2"),
            Ok(Some(AutoCompaction::Periodic(Duration::from_secs(7200))))
        );
        assert_eq!(
            p("periodic", "30m"),
            Ok(Some(AutoCompaction::Periodic(Duration::from_secs(1800))))
        );
        assert_eq!(
            p("revision", "1000"),
            Ok(Some(AutoCompaction::Revision(1000)))
        );
        assert_eq!(p("revision", "0"), Ok(None));
        assert_eq!(
            p("revision", "5s"),
            Ok(Some(AutoCompaction::Revision(5_000_000_000)))
        );
        assert!(
            p("periodic", "x")
                .unwrap_err()
                .starts_with("error parsing CompactionRetention")
        );
        assert!(p("hourly", "1").is_err());
    }

    #[test]
    fn periodic_waits_a_period_then_compacts_what_it_saw_a_period_ago() {
        let t0 = Instant::now();
        let period = Duration::from_secs(10);
        let mut c = Compactor::new(AutoCompaction::Periodic(period), t0, 1);
        assert_eq!(c.interval(), Duration::from_secs(1));
        let mut picked = Vec::new();
        // One revision a second: at second s the store is at revision s + 1.
        for s in 1..=25u64 {
            let now = t0 + Duration::from_secs(s);
            if let Some(rev) = c.tick(now, s as i64 + 1, true) {
                picked.push((s, rev));
                c.done(now, rev, true);
            }
        }
        // First at 10 s (the revision sampled at 0 s), then every period, each
        // time the oldest of the period's samples (etcd keeps period / interval
        // + 1 of them: at 20 s, those of 9 s to 19 s).
        assert_eq!(picked, vec![(10, 1), (20, 10)]);
    }

    #[test]
    fn periodic_retries_a_failure_at_the_next_sample_and_followers_never_compact() {
        let t0 = Instant::now();
        let mut c = Compactor::new(AutoCompaction::Periodic(Duration::from_secs(10)), t0, 1);
        for s in 1..10u64 {
            assert_eq!(
                c.tick(t0 + Duration::from_secs(s), s as i64 + 1, true),
                None
            );
        }
        let first = c.tick(t0 + Duration::from_secs(10), 11, true).unwrap();
        c.done(t0 + Duration::from_secs(10), first, false);
        let again = c.tick(t0 + Duration::from_secs(11), 12, true);
        assert!(again.is_some(), "retried a sample later");

        let mut f = Compactor::new(AutoCompaction::Periodic(Duration::from_secs(10)), t0, 1);
        for s in 1..40u64 {
            assert_eq!(f.tick(t0 + Duration::from_secs(s), s as i64, false), None);
        }
        // Once it leads, it compacts what it recorded a period ago.
        assert_eq!(f.tick(t0 + Duration::from_secs(40), 40, true), Some(29));
    }

    #[test]
    fn revision_mode_keeps_the_retention_and_skips_repeats() {
        let t0 = Instant::now();
        let mut c = Compactor::new(AutoCompaction::Revision(100), t0, 1);
        assert_eq!(c.interval(), REVISION_INTERVAL);
        assert_eq!(c.tick(t0, 50, true), None, "nothing to keep out yet");
        assert_eq!(c.tick(t0, 150, true), Some(50));
        c.done(t0, 50, true);
        assert_eq!(c.tick(t0, 150, true), None, "already compacted there");
        assert_eq!(c.tick(t0, 400, false), None, "followers wait");
        assert_eq!(c.tick(t0, 400, true), Some(300));
    }
}
