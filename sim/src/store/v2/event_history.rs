//! The event history: the last 1000 events of every namespace, and the scan that
//! answers watches starting in the past (etcd's `EventHistory`).

use super::error::StoreError;
use etcd_sdk::wire::{Action, ErrorCode, Event};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many events the history keeps.
pub const HISTORY_CAPACITY: usize = 1000;

/// One recorded event, with etcd's `refresh` flag (refresh events take an index and
/// a slot but are skipped by scans and sent to no watcher).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HistoryEntry {
    /// The event, with internal keys.
    pub(crate) event: Event,
    /// Whether the event came from a TTL refresh.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) refresh: bool,
}

/// The index an event happened at (its node's modifiedIndex).
pub(crate) fn event_index(e: &Event) -> u64 {
    e.node.as_ref().map_or(0, |n| n.modified_index)
}

/// A ring of the most recent events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventHistory {
    entries: VecDeque<HistoryEntry>,
    capacity: usize,
    start_index: u64,
    last_index: u64,
}

impl Default for EventHistory {
    fn default() -> Self {
        Self::with_capacity(HISTORY_CAPACITY)
    }
}

impl EventHistory {
    /// An empty history keeping `capacity` events.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventHistory {
            entries: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
            start_index: 0,
            last_index: 0,
        }
    }

    /// The index of the oldest event kept (0 while empty).
    pub(crate) fn start_index(&self) -> u64 {
        self.start_index
    }

    /// The index of the newest event (0 while empty).
    pub(crate) fn last_index(&self) -> u64 {
        self.last_index
    }

    /// Records an event, dropping the oldest when full.
    pub(crate) fn add(&mut self, event: Event, refresh: bool) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.last_index = event_index(&event);
        self.entries.push_back(HistoryEntry { event, refresh });
        self.start_index = self.entries.front().map_or(0, |e| event_index(&e.event));
    }

    /// The events a watch on `key` from `since` matches, oldest first.
    ///
    /// Fails with 401 (`the requested history has been cleared [start/since]`, index
    /// 0: the caller sets the store index) when `since` is older than the history.
    /// Matching follows etcd exactly, quirks included: refresh events are skipped; an
    /// event matches when its key equals `key`, or (recursive) lies below `key`, or
    /// when it deletes or expires a directory whose path is a plain *string* prefix
    /// of `key` (so a delete of `/d1` matches a watch on `/d10`); hidden keys are not
    /// filtered.
    pub(crate) fn scan<'a>(
        &'a self,
        key: &'a str,
        recursive: bool,
        since: u64,
    ) -> Result<impl Iterator<Item = &'a Event> + 'a, StoreError> {
        if since < self.start_index {
            return Err(StoreError::new(
                ErrorCode::EVENT_INDEX_CLEARED,
                format!(
                    "the requested history has been cleared [{}/{}]",
                    self.start_index, since
                ),
                0,
            ));
        }
        let dir_prefix = if key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        };
        Ok(self
            .entries
            .iter()
            .filter(move |e| !e.refresh && event_index(&e.event) >= since)
            .map(|e| &e.event)
            .filter(move |e| history_match(e, key, recursive, &dir_prefix)))
    }

    /// The recorded entries, oldest first (for snapshots).
    pub(crate) fn entries(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.entries.iter()
    }

    /// Rebuilds a history from recorded entries (from a snapshot).
    pub(crate) fn from_entries(entries: Vec<HistoryEntry>) -> Self {
        let mut h = Self::default();
        for e in entries {
            h.add(e.event, e.refresh);
        }
        h
    }
}

/// etcd's history matching rules for one event (see [`EventHistory::scan`]).
fn history_match(e: &Event, key: &str, recursive: bool, dir_prefix: &str) -> bool {
    let Some(node) = &e.node else { return false };
    if node.key == key || (recursive && node.key.starts_with(dir_prefix)) {
        return true;
    }
    matches!(e.action, Action::Delete | Action::Expire)
        && e.prev_node
            .as_ref()
            .is_some_and(|p| p.dir && key.starts_with(p.key.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::wire::Node;

    fn ev(action: Action, key: &str, index: u64) -> Event {
        Event {
            action,
            node: Some(Node {
                key: key.into(),
                modified_index: index,
                created_index: index,
                ..Default::default()
            }),
            prev_node: None,
        }
    }

    fn first(h: &EventHistory, key: &str, recursive: bool, since: u64) -> Option<u64> {
        h.scan(key, recursive, since)
            .unwrap()
            .next()
            .map(event_index)
    }

    #[test]
    fn ring_keeps_the_last_capacity_events() {
        let mut h = EventHistory::with_capacity(5);
        assert_eq!((h.start_index(), h.last_index()), (0, 0));
        for i in 1..=12 {
            h.add(ev(Action::Set, "/k", i), false);
        }
        assert_eq!((h.start_index(), h.last_index()), (8, 12));
        let idx: Vec<u64> = h.entries().map(|e| event_index(&e.event)).collect();
        assert_eq!(idx, [8, 9, 10, 11, 12]);
    }

    #[test]
    fn scan_rules() {
        let mut h = EventHistory::default();
        h.add(ev(Action::Create, "/foo", 1), false);
        h.add(ev(Action::Create, "/foo/bar", 2), false);
        h.add(ev(Action::Create, "/foo/foo", 3), false);
        h.add(ev(Action::Create, "/foo/bar/bar", 4), false);
        h.add(ev(Action::Create, "/foo/foo/foo", 5), false);
        assert_eq!(first(&h, "/foo", false, 1), Some(1));
        assert_eq!(first(&h, "/foo/bar", false, 1), Some(2));
        assert_eq!(first(&h, "/foo/bar", true, 3), Some(4));
        assert_eq!(first(&h, "/foo", true, 4), Some(4));
        assert_eq!(first(&h, "/foo/foo/foo", false, 1), Some(5));
        assert_eq!(first(&h, "/foo/foo/foo", false, 6), None, "future index");
        assert_eq!(
            first(&h, "/", true, 1),
            Some(1),
            "the root matches everything"
        );
        assert_eq!(
            first(&h, "/fo", true, 1),
            None,
            "recursive needs a path boundary"
        );
    }

    #[test]
    fn refresh_events_are_skipped() {
        let mut h = EventHistory::default();
        h.add(ev(Action::Set, "/k", 1), false);
        h.add(ev(Action::Update, "/k", 2), true);
        h.add(ev(Action::Set, "/k", 3), false);
        assert_eq!(first(&h, "/k", false, 2), Some(3));
    }

    #[test]
    fn dir_delete_matches_by_string_prefix() {
        let mut h = EventHistory::default();
        let mut del = ev(Action::Delete, "/d1", 1);
        del.prev_node = Some(Node {
            key: "/d1".into(),
            dir: true,
            ..Default::default()
        });
        h.add(del, false);
        assert_eq!(first(&h, "/d1/c", false, 1), Some(1));
        assert_eq!(
            first(&h, "/d10", false, 1),
            Some(1),
            "etcd's raw prefix quirk"
        );
        assert_eq!(first(&h, "/d", false, 1), None);
        let mut file_del = ev(Action::Delete, "/f", 2);
        file_del.prev_node = Some(Node {
            key: "/f".into(),
            ..Default::default()
        });
        h.add(file_del, false);
        assert_eq!(
            first(&h, "/f/x", false, 2),
            None,
            "only directory deletes match descendants"
        );
    }

    #[test]
    fn cleared_history_is_error_401() {
        let mut h = EventHistory::default();
        for i in 1..=1051 {
            h.add(ev(Action::Set, "/hist", i), false);
        }
        assert_eq!(h.start_index(), 52);
        let err = h.scan("/hist", false, 51).err().unwrap();
        assert_eq!(err.code, ErrorCode::EVENT_INDEX_CLEARED);
        assert_eq!(err.cause, "the requested history has been cleared [52/51]");
        assert_eq!(first(&h, "/hist", false, 52), Some(52));
    }
}
