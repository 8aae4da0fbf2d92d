//! The run's revision history as far as anyone knows it: the known writes,
//! completed by what watchers saw at the other revisions.
//!
//! Building it checks two guarantees on the way: every event at a known
//! write's revision is one of that write's changes ([`WatchViolationKind::Uncommitted`]),
//! and at any other revision watchers that saw the same key agree exactly
//! ([`WatchViolationKind::Disagreement`]).

use super::log::{EventKind, EventRecord, WatchLog};
use super::violation::{WatchViolation, WatchViolationKind};
use super::writes::{KnownWrites, WriteEvent};
use std::collections::BTreeMap;

/// Every change known, by revision, then key.
#[derive(Clone, Debug, Default)]
pub struct Revisions {
    by_rev: BTreeMap<i64, BTreeMap<String, WriteEvent>>,
}

impl Revisions {
    /// The changes at `revision` (empty when unknown).
    pub fn at(&self, revision: i64) -> impl Iterator<Item = &WriteEvent> {
        self.by_rev
            .get(&revision)
            .into_iter()
            .flat_map(|m| m.values())
    }

    /// The changes at revisions in `from..=to`, in order.
    pub fn between(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, &WriteEvent)> {
        (from <= to)
            .then(|| self.by_rev.range(from..=to))
            .into_iter()
            .flatten()
            .flat_map(|(&r, m)| m.values().map(move |w| (r, w)))
    }

    /// The last change of `key` before `revision`, with its revision.
    pub fn last_before(&self, key: &str, revision: i64) -> Option<(i64, &WriteEvent)> {
        self.by_rev
            .range(..revision)
            .rev()
            .find_map(|(&r, m)| m.get(key).map(|w| (r, w)))
    }

    /// Whether a change of `key` at `revision` is known.
    pub fn get(&self, key: &str, revision: i64) -> Option<&WriteEvent> {
        self.by_rev.get(&revision).and_then(|m| m.get(key))
    }
}

fn observed(e: &EventRecord) -> WriteEvent {
    match e.kind {
        EventKind::Put => WriteEvent::put(
            e.kv.key.clone(),
            e.kv.value.clone(),
            Some(e.kv.create_revision),
            Some(e.kv.version),
            e.kv.lease,
        ),
        EventKind::Delete => WriteEvent::delete(e.kv.key.clone()),
    }
}

fn show(w: &WriteEvent) -> String {
    match &w.value {
        None => format!("delete {}", w.key),
        Some(v) => format!(
            "put {}={v:?} (create {:?}, version {:?}, lease {})",
            w.key, w.create_revision, w.version, w.lease
        ),
    }
}

/// Builds the history from `known` and every event in `log`, reporting events
/// that contradict a known write or another watcher.
pub fn build(known: &KnownWrites, log: &WatchLog, out: &mut Vec<WatchViolation>) -> Revisions {
    let mut by_rev: BTreeMap<i64, BTreeMap<String, WriteEvent>> = known
        .iter()
        .map(|(&r, ws)| (r, ws.iter().map(|w| (w.key.clone(), w.clone())).collect()))
        .collect();
    // Who first reported a change at an unknown revision (for disagreements).
    let mut first_seen: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for w in &log.watchers {
        for e in w.responses.iter().flat_map(|r| &r.events) {
            let rev = e.kv.mod_revision;
            if let Some(writes) = known.get(&rev) {
                match writes.iter().find(|k| k.key == e.kv.key) {
                    Some(k) if k.matches(rev, e.kind, &e.kv) => {
                        // Complete what the writer did not know.
                        if let Some(slot) = by_rev.get_mut(&rev).and_then(|m| m.get_mut(&k.key))
                            && e.kind == EventKind::Put
                        {
                            slot.create_revision = Some(e.kv.create_revision);
                            slot.version = Some(e.kv.version);
                        }
                    }
                    other => out.push(WatchViolation {
                        kind: WatchViolationKind::Uncommitted,
                        watcher: w.id,
                        other: None,
                        revision: rev,
                        message: format!(
                            "received {} but the write at that revision {}",
                            show(&observed(e)),
                            match other {
                                Some(k) => format!("was {}", show(k)),
                                None => format!(
                                    "changed only {:?}",
                                    writes.iter().map(|k| k.key.as_str()).collect::<Vec<_>>()
                                ),
                            }
                        ),
                    }),
                }
                continue;
            }
            let seen = observed(e);
            let slot = by_rev.entry(rev).or_default();
            match slot.get(&seen.key) {
                None => {
                    first_seen.insert((rev, seen.key.clone()), w.id);
                    slot.insert(seen.key.clone(), seen);
                }
                Some(first) if *first == seen => {}
                Some(first) => {
                    let other = first_seen.get(&(rev, seen.key.clone())).copied();
                    out.push(WatchViolation {
                        kind: WatchViolationKind::Disagreement,
                        watcher: w.id,
                        other,
                        revision: rev,
                        message: format!(
                            "received {} where watcher {} received {}",
                            show(&seen),
                            other.map_or("?".to_string(), |o| o.to_string()),
                            show(first)
                        ),
                    });
                }
            }
        }
    }
    Revisions { by_rev }
}
