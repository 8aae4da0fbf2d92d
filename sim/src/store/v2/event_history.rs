//! The event history: the last 1000 events of every namespace, and the scan that
//! answers watches starting in the past (etcd's `EventHistory`).

use super::error::StoreError;
use super::node::Value;
use etcd_sdk::wire::{Action, ErrorCode, Event, Node};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many events the history keeps.
pub const HISTORY_CAPACITY: usize = 1000;

/// One recorded event, with etcd's `refresh` flag (refresh events take an index and
/// a slot but are skipped by scans and sent to no watcher).
///
/// The event is kept without its nodes' values: those are held as shared
/// [`Value`]s (the tree's own, when the store hands them over), so a large value
/// costs its bytes once, not once per event that shows it. [`HistoryEntry::event`]
/// puts them back. Serialized (in snapshots) as the whole event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredEntry", into = "StoredEntry")]
pub(crate) struct HistoryEntry {
    /// The event, with internal keys and without node values.
    event: Event,
    /// The value of `event.node`.
    node_value: Option<Value>,
    /// The value of `event.prev_node`.
    prev_value: Option<Value>,
    /// Whether the event came from a TTL refresh.
    pub(crate) refresh: bool,
}

/// A [`HistoryEntry`] as snapshots hold it: the whole event.
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    event: Event,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    refresh: bool,
}

impl From<HistoryEntry> for StoredEntry {
    fn from(e: HistoryEntry) -> Self {
        StoredEntry {
            event: e.event(),
            refresh: e.refresh,
        }
    }
}

impl From<StoredEntry> for HistoryEntry {
    fn from(mut e: StoredEntry) -> Self {
        let node_value = e.event.node.as_mut().and_then(|n| n.value.take());
        let prev_value = e.event.prev_node.as_mut().and_then(|n| n.value.take());
        HistoryEntry {
            event: e.event,
            node_value: node_value.map(Value::new),
            prev_value: prev_value.map(Value::new),
            refresh: e.refresh,
        }
    }
}

impl HistoryEntry {
    /// An entry for `event`. `node_value` and `prev_value` are the shared values of
    /// its node and previous node, when the caller holds them (they must equal the
    /// event's); a value the caller does not pass is copied from the event.
    pub(crate) fn new(
        event: &Event,
        node_value: Option<Value>,
        prev_value: Option<Value>,
        refresh: bool,
    ) -> Self {
        let (node, node_value) = split_value(event.node.as_ref(), node_value);
        let (prev_node, prev_value) = split_value(event.prev_node.as_ref(), prev_value);
        HistoryEntry {
            event: Event {
                action: event.action,
                node,
                prev_node,
            },
            node_value,
            prev_value,
            refresh,
        }
    }

    /// The event, values included.
    pub(crate) fn event(&self) -> Event {
        let with = |node: &Option<Node>, value: &Option<Value>| {
            node.as_ref().map(|n| Node {
                value: value.as_ref().map(|v| v.as_str().to_owned()),
                ..n.clone()
            })
        };
        Event {
            action: self.event.action,
            node: with(&self.event.node, &self.node_value),
            prev_node: with(&self.event.prev_node, &self.prev_value),
        }
    }

    /// The event without node values (enough to match it against a watch).
    fn bare(&self) -> &Event {
        &self.event
    }
}

/// `node` without its value, and the value as a shared one (`shared` when given).
fn split_value(node: Option<&Node>, shared: Option<Value>) -> (Option<Node>, Option<Value>) {
    let Some(node) = node else {
        return (None, None);
    };
    let bare = Node {
        key: node.key.clone(),
        value: None,
        dir: node.dir,
        expiration: node.expiration,
        ttl: node.ttl,
        nodes: node.nodes.clone(),
        modified_index: node.modified_index,
        created_index: node.created_index,
    };
    let value = match (&node.value, shared) {
        (None, _) => None,
        (Some(v), Some(shared)) => {
            debug_assert_eq!(v, shared.as_str(), "the shared value is the event's");
            Some(shared)
        }
        (Some(v), None) => Some(Value::new(v.clone())),
    };
    (Some(bare), value)
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

    /// Records an entry, dropping the oldest when full.
    pub(crate) fn add(&mut self, entry: HistoryEntry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.last_index = event_index(entry.bare());
        self.entries.push_back(entry);
        self.start_index = self.entries.front().map_or(0, |e| event_index(e.bare()));
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
    ) -> Result<impl Iterator<Item = &'a HistoryEntry> + 'a, StoreError> {
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
            .filter(move |e| !e.refresh && event_index(e.bare()) >= since)
            .filter(move |e| history_match(e.bare(), key, recursive, &dir_prefix)))
    }

    /// The recorded entries, oldest first (for snapshots).
    pub(crate) fn entries(&self) -> impl Iterator<Item = &HistoryEntry> {
        self.entries.iter()
    }

    /// Rebuilds a history from recorded entries (from a snapshot).
    pub(crate) fn from_entries(entries: Vec<HistoryEntry>) -> Self {
        let mut h = Self::default();
        for e in entries {
            h.add(e);
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
    use std::sync::Arc;

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
            .map(|e| event_index(e.bare()))
    }

    #[test]
    fn ring_keeps_the_last_capacity_events() {
        let mut h = EventHistory::with_capacity(5);
        assert_eq!((h.start_index(), h.last_index()), (0, 0));
        for i in 1..=12 {
            h.add(HistoryEntry::new(
                &ev(Action::Set, "/k", i),
                None,
                None,
                false,
            ));
        }
        assert_eq!((h.start_index(), h.last_index()), (8, 12));
        let idx: Vec<u64> = h.entries().map(|e| event_index(e.bare())).collect();
        assert_eq!(idx, [8, 9, 10, 11, 12]);
    }

    #[test]
    fn scan_rules() {
        let mut h = EventHistory::default();
        h.add(HistoryEntry::new(
            &ev(Action::Create, "/foo", 1),
            None,
            None,
            false,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Create, "/foo/bar", 2),
            None,
            None,
            false,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Create, "/foo/foo", 3),
            None,
            None,
            false,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Create, "/foo/bar/bar", 4),
            None,
            None,
            false,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Create, "/foo/foo/foo", 5),
            None,
            None,
            false,
        ));
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
        h.add(HistoryEntry::new(
            &ev(Action::Set, "/k", 1),
            None,
            None,
            false,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Update, "/k", 2),
            None,
            None,
            true,
        ));
        h.add(HistoryEntry::new(
            &ev(Action::Set, "/k", 3),
            None,
            None,
            false,
        ));
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
        h.add(HistoryEntry::new(&del, None, None, false));
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
        h.add(HistoryEntry::new(&file_del, None, None, false));
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
            h.add(HistoryEntry::new(
                &ev(Action::Set, "/hist", i),
                None,
                None,
                false,
            ));
        }
        assert_eq!(h.start_index(), 52);
        let err = h.scan("/hist", false, 51).err().unwrap();
        assert_eq!(err.code, ErrorCode::EVENT_INDEX_CLEARED);
        assert_eq!(err.cause, "the requested history has been cleared [52/51]");
        assert_eq!(first(&h, "/hist", false, 52), Some(52));
    }

    #[test]
    fn values_are_shared_and_put_back() {
        let value = Value::new("v".repeat(1000));
        let prev = Value::new("p".into());
        let mut event = ev(Action::Set, "/k", 7);
        event.node.as_mut().unwrap().value = Some(value.as_str().to_owned());
        event.prev_node = Some(Node {
            key: "/k".into(),
            value: Some("p".into()),
            modified_index: 6,
            created_index: 6,
            ..Default::default()
        });
        let entry = HistoryEntry::new(&event, Some(value.clone()), Some(prev.clone()), false);
        assert!(Arc::ptr_eq(entry.node_value.as_ref().unwrap(), &value));
        assert!(Arc::ptr_eq(entry.prev_value.as_ref().unwrap(), &prev));
        assert_eq!(entry.bare().node.as_ref().unwrap().value, None);
        assert_eq!(entry.event(), event);
        let mut h = EventHistory::default();
        h.add(entry.clone());
        assert_eq!(
            Arc::strong_count(&value),
            3,
            "tree, entry, history: one value"
        );
        let again: Vec<Event> = h.scan("/k", false, 7).unwrap().map(|e| e.event()).collect();
        assert_eq!(again, [event.clone()]);
        let json = serde_json::to_string(&entry).unwrap();
        assert!(
            json.contains(&"v".repeat(1000)),
            "snapshots hold whole events"
        );
        let back: HistoryEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.event(), event);
        let unshared = HistoryEntry::new(&event, None, None, true);
        assert_eq!(unshared.event(), event);
        assert!(unshared.refresh);
    }
}
