//! Test double of the kv store: an in-memory key/value map with a full event
//! history, implementing [`EventSource`] with etcd's rules (test builds only).

use std::collections::BTreeMap;

use etcd_sdk::v3::pb::mvccpb::event::EventType;
use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue};

use super::source::{Compacted, EventSource};

/// An in-memory kv history. Each write returns `(revision, events)` as the kv
/// store's `ChangeSet` would, with `prev_kv` filled for keys that were live.
#[derive(Debug, Clone)]
pub(crate) struct MemSource {
    rev: i64,
    compact: i64,
    live: BTreeMap<Vec<u8>, KeyValue>,
    history: Vec<Event>,
}

impl MemSource {
    /// An empty store at revision 1.
    pub(crate) fn new() -> Self {
        Self {
            rev: 1,
            compact: 0,
            live: BTreeMap::new(),
            history: Vec::new(),
        }
    }

    /// Puts one key in its own revision.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) -> (i64, Vec<Event>) {
        self.txn_put(&[key], value)
    }

    /// Puts several distinct keys in one revision.
    pub(crate) fn txn_put(&mut self, keys: &[&[u8]], value: &[u8]) -> (i64, Vec<Event>) {
        self.rev += 1;
        let rev = self.rev;
        let mut events = Vec::new();
        for key in keys {
            let prev = self.live.get(*key).cloned();
            let kv = KeyValue {
                key: key.to_vec(),
                create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
                mod_revision: rev,
                version: prev.as_ref().map_or(1, |p| p.version + 1),
                value: value.to_vec(),
                lease: 0,
            };
            self.live.insert(key.to_vec(), kv.clone());
            events.push(Event {
                r#type: EventType::Put as i32,
                kv: Some(kv),
                prev_kv: prev,
            });
        }
        self.history.extend(events.iter().cloned());
        (rev, events)
    }

    /// Deletes the live keys among `keys` in one revision; no revision when none is live.
    pub(crate) fn delete(&mut self, keys: &[&[u8]]) -> Option<(i64, Vec<Event>)> {
        let live: Vec<&[u8]> = keys
            .iter()
            .copied()
            .filter(|k| self.live.contains_key(*k))
            .collect();
        if live.is_empty() {
            return None;
        }
        self.rev += 1;
        let rev = self.rev;
        let mut events = Vec::new();
        for key in live {
            let prev = self.live.remove(key);
            events.push(Event {
                r#type: EventType::Delete as i32,
                kv: Some(KeyValue {
                    key: key.to_vec(),
                    mod_revision: rev,
                    ..KeyValue::default()
                }),
                prev_kv: prev,
            });
        }
        self.history.extend(events.iter().cloned());
        Some((rev, events))
    }

    /// Compacts at `rev`: history below it is dropped.
    pub(crate) fn compact(&mut self, rev: i64) {
        self.compact = rev;
        self.history
            .retain(|ev| ev.kv.as_ref().is_some_and(|kv| kv.mod_revision >= rev));
    }

    /// Every event ever written (since the last compaction), in order.
    pub(crate) fn history(&self) -> &[Event] {
        &self.history
    }
}

/// etcd's range rule on raw request bytes.
fn in_range(k: &[u8], key: &[u8], range_end: &[u8]) -> bool {
    match range_end {
        [] => k == key,
        [0] => k >= key,
        end => k >= key && k < end,
    }
}

impl EventSource for MemSource {
    fn current_revision(&self) -> i64 {
        self.rev
    }

    fn compact_revision(&self) -> i64 {
        self.compact
    }

    fn events_between(
        &self,
        from: i64,
        to: i64,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<Event>, Compacted> {
        if from < self.compact {
            return Err(Compacted {
                compact_revision: self.compact,
            });
        }
        Ok(self
            .history
            .iter()
            .filter(|ev| {
                ev.kv.as_ref().is_some_and(|kv| {
                    kv.mod_revision >= from
                        && kv.mod_revision <= to
                        && in_range(&kv.key, key, range_end)
                })
            })
            .cloned()
            .collect())
    }
}
