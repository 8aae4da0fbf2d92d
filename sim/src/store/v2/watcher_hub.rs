//! Watchers: registration, live notification and delivery through bounded channels
//! (etcd's `watcherHub` and `watcher`).
//!
//! The registry is shared between the store and the [`Watcher`] handles (an
//! `Arc<Mutex<..>>`; the handles hold a `Weak`), so dropping a handle unregisters it
//! at once and `watchers` in the stats stays exact. Watchers registered at one path
//! are kept in registration order and notified in that order.

use super::event_history::event_index;
use super::path::{is_hidden_below, prefixes};
use etcd_sdk::wire::Event;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

/// Events a watcher can have waiting before it is dropped (etcd's 100).
pub const WATCHER_BUFFER: usize = 100;

/// One registered watcher.
struct Entry {
    recursive: bool,
    stream: bool,
    /// The first index this watcher wants.
    since: u64,
    /// The index of the last event sent (streams skip anything not newer).
    last_sent: u64,
    tx: mpsc::Sender<Event>,
}

/// Watchers by the path they watch, then by registration id.
#[derive(Default)]
struct Registry {
    by_path: BTreeMap<String, BTreeMap<u64, Entry>>,
    count: usize,
    next_id: u64,
}

impl Registry {
    fn remove(&mut self, path: &str, id: u64) {
        if let Some(list) = self.by_path.get_mut(path) {
            if list.remove(&id).is_some() {
                self.count -= 1;
            }
            if list.is_empty() {
                self.by_path.remove(path);
            }
        }
    }

    /// etcd's `notifyWatchers`: offers `event` to the watchers registered exactly at
    /// `path`. `deleted` marks the callback for a node removed by a delete or expiry.
    fn notify_at(&mut self, event: &Event, key: &str, path: &str, deleted: bool) {
        let Some(list) = self.by_path.get_mut(path) else {
            return;
        };
        let index = event_index(event);
        let original = key == path;
        if !original && is_hidden_below(path, key) {
            return;
        }
        let mut removed = Vec::new();
        for (id, w) in list.iter_mut() {
            if !(w.recursive || original || deleted) || index < w.since {
                continue;
            }
            if w.stream && index <= w.last_sent {
                // Already sent through the other notification path (see the module docs
                // of `store::v2`: etcd sends a stream the same delete twice).
                continue;
            }
            match w.tx.try_send(event.clone()) {
                Ok(()) => {
                    w.last_sent = index;
                    if !w.stream {
                        removed.push(*id);
                    }
                }
                // A full buffer drops the watcher, which closes its channel; a closed
                // receiver means nobody is listening any more.
                Err(TrySendError::Full(_)) => {
                    tracing::debug!(path, index, "v2 watcher dropped: its event buffer is full");
                    removed.push(*id);
                }
                Err(TrySendError::Closed(_)) => removed.push(*id),
            }
        }
        for id in removed {
            list.remove(&id);
            self.count -= 1;
        }
        if list.is_empty() {
            self.by_path.remove(path);
        }
    }
}

/// The set of live watchers of one store.
#[derive(Clone, Default)]
pub(crate) struct WatcherHub {
    registry: Arc<Mutex<Registry>>,
}

impl fmt::Debug for WatcherHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatcherHub")
            .field("watchers", &self.count())
            .finish()
    }
}

fn lock(m: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // The registry holds no invariant a panicking holder could break halfway that
    // matters more than availability; keep going with its content.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WatcherHub {
    /// Registered watchers.
    pub(crate) fn count(&self) -> usize {
        lock(&self.registry).count
    }

    /// Registers a watcher at `path` that sends through `tx`.
    pub(crate) fn register(
        &self,
        path: &str,
        recursive: bool,
        stream: bool,
        since: u64,
        last_sent: u64,
        tx: mpsc::Sender<Event>,
    ) -> Registration {
        let mut reg = lock(&self.registry);
        let id = reg.next_id;
        reg.next_id += 1;
        reg.by_path.entry(path.to_string()).or_default().insert(
            id,
            Entry {
                recursive,
                stream,
                since,
                last_sent,
                tx,
            },
        );
        reg.count += 1;
        Registration {
            registry: Arc::downgrade(&self.registry),
            path: path.to_string(),
            id,
        }
    }

    /// Delete callbacks: offers `event` (a delete, compareAndDelete or expire) to the
    /// watchers registered exactly at each removed path, children first.
    pub(crate) fn notify_removed(&self, event: &Event, removed_paths: &[String]) {
        let Some(key) = event.node.as_ref().map(|n| n.key.as_str()) else {
            return;
        };
        let mut reg = lock(&self.registry);
        if reg.count == 0 {
            return;
        }
        for p in removed_paths {
            reg.notify_at(event, key, p, true);
        }
    }

    /// etcd's `notify`: offers `event` to the watchers at every prefix of its key,
    /// root first.
    pub(crate) fn notify(&self, event: &Event) {
        let Some(key) = event.node.as_ref().map(|n| n.key.as_str()) else {
            return;
        };
        let mut reg = lock(&self.registry);
        if reg.count == 0 {
            return;
        }
        for p in prefixes(key) {
            reg.notify_at(event, key, &p, false);
        }
    }
}

/// Where a watcher sits in the registry; removes it when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    registry: Weak<Mutex<Registry>>,
    path: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            lock(&registry).remove(&self.path, self.id);
        }
    }
}

/// A watch on the store: receives the matching events (with internal keys) through
/// a channel holding up to [`WATCHER_BUFFER`] events.
///
/// The channel closes (`recv` gives `None`) when nothing more will come: after the
/// one event of a non-stream watch, when a watcher overflows its buffer, or when
/// the store is dropped. Dropping the `Watcher` unregisters it.
#[derive(Debug)]
pub struct Watcher {
    rx: mpsc::Receiver<Event>,
    start_index: u64,
    registration: Option<Registration>,
}

impl Watcher {
    pub(crate) fn new(
        rx: mpsc::Receiver<Event>,
        start_index: u64,
        registration: Option<Registration>,
    ) -> Self {
        Watcher {
            rx,
            start_index,
            registration,
        }
    }

    /// The store index when the watch was created (the `X-Etcd-Index` of a watch
    /// response).
    pub fn start_index(&self) -> u64 {
        self.start_index
    }

    /// Whether the watcher is registered for live events (false when it was answered
    /// from the history, and after it was removed for overflow or after its event).
    pub fn is_registered(&self) -> bool {
        self.registration.is_some() && !self.rx.is_closed()
    }

    /// The next event; `None` once the channel is closed and drained.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Result<Event, TryRecvError> {
        self.rx.try_recv()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // Unregister before the receiver goes, so no send sees a closed channel.
        self.registration.take();
    }
}
