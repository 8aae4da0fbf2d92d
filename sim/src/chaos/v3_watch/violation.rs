//! What the v3 watch checker reports.

use std::fmt;

/// Which guarantee a [`WatchViolation`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WatchViolationKind {
    /// An event's revision is below one delivered before it (ordered).
    Order,
    /// An event delivered twice (unique), within a start or across a resume.
    Duplicate,
    /// The events of one revision split across responses that are not
    /// fragments (atomic).
    Atomic,
    /// An event below the watcher's start revision: a watch on a future
    /// revision (or from now) received an older event.
    BeforeStart,
    /// An event on a key outside the watched range.
    OutOfRange,
    /// An event the watcher's filters drop (NOPUT, NODELETE).
    Filter,
    /// A previous key-value that is not the key's previous value, or one
    /// missing (or present without prev_kv asked for).
    PrevKv,
    /// An event after a progress notification at or above its revision
    /// (bookmarkable).
    Bookmark,
    /// An event the watcher should have received and did not (reliable).
    Gap,
    /// The same, at the start of a resumed watch: the resume did not see
    /// exactly the rest (resumable).
    ResumeGap,
    /// The watcher resumed past the revision after the last one it was given
    /// (a harness fault: it skipped revisions itself).
    ResumePoint,
    /// An event at a revision of a known write that is not that write's
    /// change (every event matches a committed write).
    Uncommitted,
    /// Two watchers disagree about a revision no write is known for.
    Disagreement,
}

impl WatchViolationKind {
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            WatchViolationKind::Order => "order",
            WatchViolationKind::Duplicate => "duplicate",
            WatchViolationKind::Atomic => "atomic",
            WatchViolationKind::BeforeStart => "before-start",
            WatchViolationKind::OutOfRange => "out-of-range",
            WatchViolationKind::Filter => "filter",
            WatchViolationKind::PrevKv => "prev-kv",
            WatchViolationKind::Bookmark => "bookmark",
            WatchViolationKind::Gap => "gap",
            WatchViolationKind::ResumeGap => "resume-gap",
            WatchViolationKind::ResumePoint => "resume-point",
            WatchViolationKind::Uncommitted => "uncommitted",
            WatchViolationKind::Disagreement => "disagreement",
        }
    }
}

impl fmt::Display for WatchViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken watch guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchViolation {
    /// Which guarantee.
    pub kind: WatchViolationKind,
    /// The watcher (or the first of two that disagree).
    pub watcher: u64,
    /// The other watcher of a disagreement.
    pub other: Option<u64>,
    /// The revision concerned.
    pub revision: i64,
    /// What happened, in words.
    pub message: String,
}

impl fmt::Display for WatchViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] watcher {} at revision {}: {}",
            self.kind, self.watcher, self.revision, self.message
        )
    }
}
