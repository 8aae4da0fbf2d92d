//! What a checker reports: a [`Violation`] of one [`ViolationKind`] of guarantee.
//! The checkers (`index_check`, `phantom_check`, `watch_check`, and `check` for
//! linearizability) produce them; `check` gathers them into its report.

use std::fmt;

/// What kind of guarantee a [`Violation`] breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// A key's operations admit no linearization.
    NotLinearizable,
    /// A (local) read returned a value no write of that key could have written.
    PhantomRead,
    /// Two acknowledged writes got the same `modifiedIndex`.
    DuplicateIndex,
    /// A write got an index no higher than a write that completed before it began.
    WriteIndexOrder,
    /// An answer reported a store index lower than a write completed before the
    /// request began.
    StaleIndex,
    /// A read reported another `modifiedIndex` than the write of its value got.
    IndexMismatch,
    /// A watcher received events out of index order, or one twice.
    WatchOrder,
    /// A watcher received an event below its start index.
    WatchBeforeStart,
    /// A watcher received an event for a key it does not watch.
    WatchKey,
    /// A watcher skipped an event on a key it watches, between its start index and
    /// its last event.
    WatchMissing,
    /// Two sources (watchers, acknowledged writes) disagree about the change at an
    /// index.
    WatchDisagreement,
}

impl ViolationKind {
    /// A short name, e.g. `not-linearizable`.
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::NotLinearizable => "not-linearizable",
            ViolationKind::PhantomRead => "phantom-read",
            ViolationKind::DuplicateIndex => "duplicate-index",
            ViolationKind::WriteIndexOrder => "write-index-order",
            ViolationKind::StaleIndex => "stale-index",
            ViolationKind::IndexMismatch => "index-mismatch",
            ViolationKind::WatchOrder => "watch-order",
            ViolationKind::WatchBeforeStart => "watch-before-start",
            ViolationKind::WatchKey => "watch-key",
            ViolationKind::WatchMissing => "watch-missing",
            ViolationKind::WatchDisagreement => "watch-disagreement",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What is broken.
    pub kind: ViolationKind,
    /// The key concerned, when there is one.
    pub key: Option<String>,
    /// What was seen, in words.
    pub message: String,
    /// The operations involved (history ids): for [`ViolationKind::NotLinearizable`]
    /// the minimized witness.
    pub ops: Vec<u64>,
    /// The watchers involved (history ids).
    pub watches: Vec<u64>,
    /// The operations involved, one line each (for a linearizability violation:
    /// the minimized sub-history and the writes its values came from).
    pub sub_history: String,
    /// Operations that explain the violation without being part of it (for a
    /// linearizability violation: the writes the witness's values came from).
    pub context: Vec<u64>,
}
