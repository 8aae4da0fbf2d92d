//! Shared test helpers.

use crate::store::v2::{Reply, Store, StoreError, TtlOptions, Watcher};
use etcd_sdk::wire::{Action, ErrorCode, Event, Node};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::error::TryRecvError;

/// A fixed "now" for tests (2026-11-20T23:00:00Z).
pub(super) fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_215_600)
}

/// `t0` plus some milliseconds.
pub(super) fn at_ms(ms: u64) -> SystemTime {
    t0() + Duration::from_millis(ms)
}

/// A store without namespaces, like etcd's unit tests use (paths like `/foo`).
pub(super) fn plain() -> Store {
    Store::with_namespaces(&[])
}

/// The event's node.
pub(super) fn node(r: &Reply) -> &Node {
    r.event.node.as_ref().unwrap()
}

/// The event's prevNode.
pub(super) fn prev(r: &Reply) -> &Node {
    r.event.prev_node.as_ref().unwrap()
}

/// Asserts an error's code, cause and index.
pub(super) fn assert_err(r: Result<Reply, StoreError>, code: ErrorCode, cause: &str, index: u64) {
    let e = r.expect_err("expected an error");
    assert_eq!(
        (e.code, e.cause.as_str(), e.index),
        (code, cause, index),
        "{e}"
    );
}

/// A permanent file write with `set`.
pub(super) fn set(s: &mut Store, path: &str, value: &str) -> Reply {
    s.set(path, false, value, TtlOptions::permanent(), t0())
        .unwrap()
}

/// A directory created with `set`.
pub(super) fn mkdir(s: &mut Store, path: &str) -> Reply {
    s.set(path, true, "", TtlOptions::permanent(), t0())
        .unwrap()
}

/// The value at a path (panics if missing or a directory).
pub(super) fn value(s: &mut Store, path: &str) -> String {
    node(&s.get(path, false, t0()).unwrap())
        .value
        .clone()
        .unwrap()
}

/// Every event waiting in a watcher, and whether its channel is closed.
pub(super) fn drain(w: &mut Watcher) -> (Vec<Event>, bool) {
    let mut out = Vec::new();
    loop {
        match w.try_recv() {
            Ok(e) => out.push(e),
            Err(TryRecvError::Empty) => return (out, false),
            Err(TryRecvError::Disconnected) => return (out, true),
        }
    }
}

/// (action, key, modifiedIndex) of events, for compact assertions.
pub(super) fn summary(events: &[Event]) -> Vec<(Action, String, u64)> {
    events
        .iter()
        .map(|e| {
            let n = e.node.as_ref().unwrap();
            (e.action, n.key.clone(), n.modified_index)
        })
        .collect()
}
