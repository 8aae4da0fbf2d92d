//! The v3 watch log: for each watcher of a run, what it asked for and every
//! response it got, with the virtual time it got it, grouped by (re)start.
//!
//! Plain data (both builds): the sim watchers fill it, [`super::check`] judges
//! it, and it serializes to JSON for a failing seed's artifacts. Keys and
//! values are text (the workloads write ASCII; other bytes are shown lossily).

use serde::{Deserialize, Serialize};

/// What one watcher watches and how (the options of every one of its starts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatcherSpec {
    /// The key (or the range's first key).
    pub key: String,
    /// The range end: `None` for the one key, `Some("")` for every key from
    /// `key` on (etcd's `"\0"`), else the exclusive end (a prefix's end).
    pub range_end: Option<String>,
    /// The first start's revision (`0`: from the revision after the one
    /// current when it was created). Resumes record their own in
    /// [`WatchStart::start_revision`].
    pub start_revision: i64,
    /// Whether events carry the previous key-value.
    pub prev_kv: bool,
    /// Whether PUT events are filtered out (NOPUT).
    pub filter_put: bool,
    /// Whether DELETE events are filtered out (NODELETE).
    pub filter_delete: bool,
    /// Whether the server sends it periodic progress notifications.
    pub progress_notify: bool,
    /// Whether the watcher sends progress requests.
    pub progress_requests: bool,
}

impl WatcherSpec {
    /// Whether `key` is in the watched range.
    pub fn covers(&self, key: &str) -> bool {
        match &self.range_end {
            None => key == self.key,
            Some(end) if end.is_empty() => key >= self.key.as_str(),
            Some(end) => key >= self.key.as_str() && key < end.as_str(),
        }
    }

    /// Whether an event of `kind` passes the watcher's filters.
    pub fn passes(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Put => !self.filter_put,
            EventKind::Delete => !self.filter_delete,
        }
    }

    /// A short description: `key`, `[a, b)`, `[a, ∞)`, with its options.
    pub fn describe(&self) -> String {
        let range = match &self.range_end {
            None => self.key.clone(),
            Some(end) if end.is_empty() => format!("[{}, ∞)", self.key),
            Some(end) => format!("[{}, {end})", self.key),
        };
        let mut opts = Vec::new();
        if self.prev_kv {
            opts.push("prev_kv");
        }
        if self.filter_put {
            opts.push("noput");
        }
        if self.filter_delete {
            opts.push("nodelete");
        }
        if self.progress_notify {
            opts.push("progress_notify");
        }
        if self.progress_requests {
            opts.push("progress requests");
        }
        if opts.is_empty() {
            range
        } else {
            format!("{range} ({})", opts.join(", "))
        }
    }
}

/// Why a watcher (re)started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartReason {
    /// Its first watch.
    Initial,
    /// Its watch ended (or it dropped it on purpose) and it watches again from
    /// the revision after the last one it was given.
    Resume,
    /// Its watch was cancelled by a compaction and it watches again from the
    /// compaction revision: the revisions in between are legitimately lost.
    AfterCompaction,
}

/// One (re)start of a watcher: a watch call the SDK accepted. The SDK's own
/// resumes after a stream failure are inside one start (they are not visible
/// to its caller); these are the watcher's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchStart {
    /// Virtual time of the watch call, ns since the run started.
    pub at_ns: u64,
    /// The start revision asked for (`0`: from now).
    pub start_revision: i64,
    /// Why.
    pub reason: StartReason,
}

/// The kind of a watch event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A put.
    Put,
    /// A delete (a DeleteRange, or a lease revoke or expiry).
    Delete,
}

/// A key-value as a watch event carries it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRecord {
    /// The key.
    pub key: String,
    /// The value (empty on a delete event's kv).
    pub value: String,
    /// The revision that created the key in its current life (0 on a delete).
    pub create_revision: i64,
    /// The revision of the change.
    pub mod_revision: i64,
    /// Puts since creation (0 on a delete).
    pub version: i64,
    /// The attached lease (0: none).
    pub lease: i64,
}

/// One event of a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Put or delete.
    pub kind: EventKind,
    /// The event's key-value (for a delete: key and mod revision only).
    pub kv: KvRecord,
    /// The previous key-value, when the event carried one.
    pub prev_kv: Option<KvRecord>,
}

/// One response a watcher received (fragments already joined by the SDK).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseRecord {
    /// Virtual time it was received, ns since the run started.
    pub received_ns: u64,
    /// The index in [`WatcherLog::starts`] of the start it belongs to.
    pub start: usize,
    /// The header's revision.
    pub header_revision: i64,
    /// The events, in the order received.
    pub events: Vec<EventRecord>,
    /// Non-zero: the watcher's next revision was compacted (the watch ends).
    pub compact_revision: i64,
    /// The server cancelled the watcher.
    pub canceled: bool,
    /// The created notification.
    pub created: bool,
    /// A progress notification (no events, not created, not cancelled).
    pub progress_notify: bool,
    /// More parts of this response follow (never set once the SDK joined them).
    pub fragment: bool,
}

/// Everything one watcher did and saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatcherLog {
    /// The watcher's number in the run.
    pub id: u64,
    /// What it watches.
    pub spec: WatcherSpec,
    /// Its (re)starts, in order.
    pub starts: Vec<WatchStart>,
    /// Every response, in the order received.
    pub responses: Vec<ResponseRecord>,
    /// How it ended (`run finished`, an error).
    pub end: String,
}

/// The watch log of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchLog {
    /// Every watcher, by id.
    pub watchers: Vec<WatcherLog>,
}

impl WatchLog {
    /// Events received, over every watcher.
    pub fn event_count(&self) -> usize {
        self.watchers
            .iter()
            .flat_map(|w| &w.responses)
            .map(|r| r.events.len())
            .sum()
    }

    /// (Re)starts after the first, over every watcher.
    pub fn restart_count(&self) -> usize {
        self.watchers
            .iter()
            .map(|w| w.starts.len().saturating_sub(1))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_filters() {
        let one = WatcherSpec {
            key: "k1".into(),
            ..Default::default()
        };
        assert!(one.covers("k1") && !one.covers("k10"));
        let prefix = WatcherSpec {
            key: "k".into(),
            range_end: Some("l".into()),
            filter_put: true,
            ..Default::default()
        };
        assert!(prefix.covers("k") && prefix.covers("kz") && !prefix.covers("l"));
        assert!(!prefix.passes(EventKind::Put) && prefix.passes(EventKind::Delete));
        let from = WatcherSpec {
            key: "b".into(),
            range_end: Some(String::new()),
            ..Default::default()
        };
        assert!(from.covers("zzz") && !from.covers("a"));
        assert_eq!(prefix.describe(), "[k, l) (noput)");
    }

    #[test]
    fn round_trips_through_json() {
        let log = WatchLog {
            watchers: vec![WatcherLog {
                id: 3,
                spec: WatcherSpec {
                    key: "a".into(),
                    ..Default::default()
                },
                starts: vec![WatchStart {
                    at_ns: 5,
                    start_revision: 2,
                    reason: StartReason::Initial,
                }],
                responses: vec![ResponseRecord {
                    events: vec![EventRecord {
                        kind: EventKind::Put,
                        kv: KvRecord {
                            key: "a".into(),
                            mod_revision: 2,
                            ..Default::default()
                        },
                        prev_kv: None,
                    }],
                    ..Default::default()
                }],
                end: "run finished".into(),
            }],
        };
        let text = serde_json::to_string(&log).unwrap();
        assert_eq!(serde_json::from_str::<WatchLog>(&text).unwrap(), log);
        assert_eq!((log.event_count(), log.restart_count()), (1, 0));
    }
}
