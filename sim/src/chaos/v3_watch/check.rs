//! The v3 watch checker: [`check`] judges a [`WatchLog`] against the known
//! writes and returns every broken guarantee.
//!
//! 1. [`super::revisions::build`]: the revision history (known writes, plus what
//!    watchers saw elsewhere), checking that events match committed writes and
//!    that watchers agree.
//! 2. [`super::stream_check::check_watcher`], per watcher: ordered, unique,
//!    atomic, no event below the start (a watch on a future revision never
//!    receives an older one), range, filters, prev_kv, bookmarkable.
//! 3. [`super::gap_check::check_gaps`], per watcher: reliable (no gap up to the
//!    last revision it is known complete to; a compaction only excuses what
//!    came after it), resumable.

use super::gap_check::check_gaps;
use super::log::WatchLog;
use super::revisions::build;
use super::stream_check::check_watcher;
use super::violation::WatchViolation;
use super::writes::KnownWrites;

/// What the checker may assume about the server and the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Whether a progress reply to a progress *request* is a bookmark too. etcd
    /// 3.5+ answers one only once every watcher of the stream is synced; 3.4
    /// (and this server, which follows it) answers at once, so a watcher still
    /// catching up may get events below it. Progress notifications the server
    /// sends on its own (`progress_notify`) are always bookmarks.
    pub requested_progress_bookmarks: bool,
    /// The highest revision the run compacted at (0: none): prev_kv may be
    /// missing for events whose previous revision is below it.
    pub compact_revision: i64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            requested_progress_bookmarks: true,
            compact_revision: 0,
        }
    }
}

/// Every broken watch guarantee in `log`, given the committed writes `known`.
pub fn check(log: &WatchLog, known: &KnownWrites, opts: &CheckOptions) -> Vec<WatchViolation> {
    let mut out = Vec::new();
    let history = build(known, log, &mut out);
    for w in &log.watchers {
        let segments = check_watcher(w, opts, &history, &mut out);
        check_gaps(w, &segments, &history, opts.compact_revision, &mut out);
    }
    out
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
