//! The watchable store: watch streams, their watchers, and the state machine that
//! moves events from the kv store to each stream's outbound queue.
//!
//! A watcher is in exactly one state:
//! - *synced*: it has been sent (or queued) everything up to the current revision;
//!   [`WatchableStore::notify`] hands it each new write.
//! - *unsynced*: its next revision is at or below the current revision;
//!   [`WatchableStore::sync_unsynced`] catches it up from history, one batch of at
//!   most `max_revisions_per_batch` distinct revisions per pass, and then moves it
//!   to synced.
//! - *victim*: its last response found the stream queue full. That one response is
//!   kept; [`WatchableStore::retry_victims`] queues it once there is room, and the
//!   watcher goes back to synced or unsynced from the revision after it. Nothing is
//!   dropped, reordered or sent twice.
//! - *compacted*: it was cancelled by a compaction. Like etcd, its ID stays taken on
//!   the stream until the client cancels it (which is then answered).

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use etcd_sdk::v3::pb::etcdserverpb::{ResponseHeader, WatchCreateRequest, WatchResponse};
use etcd_sdk::v3::pb::mvccpb::Event;

use super::batch::read_catch_up;
use super::config::WatchConfig;
use super::fragment::fragment;
use super::queue::{Entry, OutQueue};
use super::source::{Compacted, EventSource};
use super::spec::{
    ERR_DUPLICATE_ID, ERR_EMPTY_RANGE, KeyRange, WatchSpec, event_key, event_revision,
};

/// The watch ID of replies not tied to a watcher (create failures, progress
/// request answers): clientv3's `InvalidWatchID`.
pub const INVALID_WATCH_ID: i64 = -1;

/// Identifies one gRPC Watch stream inside the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

/// Errors of the store's stream operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// The stream was never opened or has been closed.
    #[error("watch stream {0:?} is not open")]
    UnknownStream(StreamId),
}

/// A watcher's global name: its stream and its per-stream ID.
type WatcherKey = (StreamId, i64);

#[derive(Debug)]
enum State {
    Synced,
    Unsynced,
    /// `pending` could not be queued; `min_rev` already points past it.
    Victim {
        pending: WatchResponse,
    },
    Compacted,
}

#[derive(Debug)]
struct Watcher {
    spec: WatchSpec,
    /// The next revision this watcher must see.
    min_rev: i64,
    state: State,
    /// For progress notify: no event response was sent since the last tick.
    idle: bool,
    /// The unsafe mode's victim: drop the first event it would be sent
    /// ([`WatchConfig::unsafe_skip_first_replayed_event`]).
    skip_first: bool,
}

#[derive(Debug)]
struct Stream {
    next_id: i64,
    ids: BTreeSet<i64>,
    queue: OutQueue,
}

/// Synced watchers indexed for [`WatchableStore::notify`]: single-key watchers by
/// key; range watchers grouped by their exact range (as etcd's interval tree keeps
/// one watcher set per interval) and ordered by first key, so an event visits only
/// the distinct ranges that start at or below its key.
#[derive(Debug, Default)]
struct SyncedIndex {
    by_key: BTreeMap<Vec<u8>, BTreeSet<WatcherKey>>,
    /// The watchers of exactly each range, by slot.
    ranges: BTreeMap<RangeSlot, BTreeSet<WatcherKey>>,
}

/// Removes `wk` from the set at `k`, and the set once empty.
fn remove_from<K, Q>(map: &mut BTreeMap<K, BTreeSet<WatcherKey>>, k: &Q, wk: WatcherKey)
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
{
    if let Some(set) = map.get_mut(k) {
        set.remove(&wk);
        if set.is_empty() {
            map.remove(k);
        }
    }
}

/// A range watcher's slot in [`SyncedIndex`]: (first key, end; `None` = no end).
type RangeSlot = (Vec<u8>, Option<Vec<u8>>);

/// The slot of a range watcher; `None` for a single-key watcher.
fn range_slot(range: &KeyRange) -> Option<RangeSlot> {
    match range {
        KeyRange::Key(_) => None,
        KeyRange::Range { start, end } => Some((start.clone(), Some(end.clone()))),
        KeyRange::FromKey(start) => Some((start.clone(), None)),
    }
}

impl SyncedIndex {
    fn insert(&mut self, key: WatcherKey, range: &KeyRange) {
        match range_slot(range) {
            None => {
                self.by_key
                    .entry(range.start().to_vec())
                    .or_default()
                    .insert(key);
            }
            Some(slot) => {
                self.ranges.entry(slot).or_default().insert(key);
            }
        }
    }

    fn remove(&mut self, key: WatcherKey, range: &KeyRange) {
        match range_slot(range) {
            None => remove_from(&mut self.by_key, range.start(), key),
            Some(slot) => remove_from(&mut self.ranges, &slot, key),
        }
    }

    /// The synced watchers whose range holds `event_key`, in key order.
    fn matching(&self, event_key: &[u8]) -> BTreeSet<WatcherKey> {
        let mut out: BTreeSet<WatcherKey> = self.by_key.get(event_key).cloned().unwrap_or_default();
        for ((start, end), set) in &self.ranges {
            if start.as_slice() > event_key {
                break;
            }
            if end.as_ref().is_none_or(|e| event_key < e.as_slice()) {
                out.extend(set.iter().copied());
            }
        }
        out
    }
}

/// etcd's watchable store for every Watch stream of one member. See the module docs
/// of [`super`] for the call order the server follows.
#[derive(Debug)]
pub struct WatchableStore {
    config: WatchConfig,
    next_stream: u64,
    streams: BTreeMap<StreamId, Stream>,
    watchers: BTreeMap<WatcherKey, Watcher>,
    synced: SyncedIndex,
    unsynced: BTreeSet<WatcherKey>,
    victims: BTreeSet<WatcherKey>,
    /// Where the next sync pass starts (round robin over unsynced watchers).
    sync_cursor: Option<WatcherKey>,
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..ResponseHeader::default()
    })
}

impl WatchableStore {
    /// An empty store.
    pub fn new(config: WatchConfig) -> Self {
        Self {
            config,
            next_stream: 0,
            streams: BTreeMap::new(),
            watchers: BTreeMap::new(),
            synced: SyncedIndex::default(),
            unsynced: BTreeSet::new(),
            victims: BTreeSet::new(),
            sync_cursor: None,
        }
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &WatchConfig {
        &self.config
    }

    /// Opens a stream (one gRPC Watch call); its watch IDs start at 0.
    pub fn open_stream(&mut self) -> StreamId {
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.streams.insert(
            id,
            Stream {
                next_id: 0,
                ids: BTreeSet::new(),
                queue: OutQueue::new(self.config.queue_capacity),
            },
        );
        id
    }

    /// Closes a stream: its watchers and queued responses are dropped. Returns
    /// whether it was open.
    pub fn close_stream(&mut self, stream: StreamId) -> bool {
        let Some(s) = self.streams.remove(&stream) else {
            return false;
        };
        for id in s.ids {
            self.remove_watcher((stream, id));
        }
        true
    }

    fn stream_mut(&mut self, stream: StreamId) -> Result<&mut Stream, WatchError> {
        self.streams
            .get_mut(&stream)
            .ok_or(WatchError::UnknownStream(stream))
    }

    /// Handles a `create_request`: queues the created reply (or the created+canceled
    /// rejection) and returns the new watch ID, `None` when rejected.
    ///
    /// A start revision of 0 means current+1; a future one waits; one at or below
    /// the current revision makes the watcher unsynced (it is caught up by
    /// [`Self::sync_unsynced`], which also cancels it if it is below the compact
    /// revision). The created reply is queued before any response of the watcher.
    pub fn create(
        &mut self,
        stream: StreamId,
        req: &WatchCreateRequest,
        source: &impl EventSource,
    ) -> Result<Option<i64>, WatchError> {
        let current = source.current_revision();
        let spec = WatchSpec::from_request(req);
        let s = self.stream_mut(stream)?;
        let Some(spec) = spec else {
            s.queue
                .push_control(rejection(current, ERR_EMPTY_RANGE.to_owned()));
            return Ok(None);
        };
        let id = if req.watch_id == 0 {
            while s.ids.contains(&s.next_id) {
                s.next_id += 1;
            }
            let id = s.next_id;
            s.next_id += 1;
            id
        } else if s.ids.contains(&req.watch_id) {
            s.queue
                .push_control(rejection(current, ERR_DUPLICATE_ID.to_owned()));
            return Ok(None);
        } else {
            req.watch_id
        };
        s.ids.insert(id);
        s.queue.push_control(WatchResponse {
            header: header(current),
            watch_id: id,
            created: true,
            ..WatchResponse::default()
        });
        let start = if req.start_revision == 0 {
            current + 1
        } else {
            req.start_revision
        };
        let key = (stream, id);
        let synced = start > current;
        let skip_first = self.config.unsafe_skip_first_replayed_event && !synced;
        let watcher = Watcher {
            skip_first,
            min_rev: start,
            state: if synced {
                State::Synced
            } else {
                State::Unsynced
            },
            idle: true,
            spec,
        };
        if synced {
            self.synced.insert(key, &watcher.spec.range);
        } else {
            self.unsynced.insert(key);
        }
        self.watchers.insert(key, watcher);
        Ok(Some(id))
    }

    /// Queues a create rejection decided by the server (e.g. a failed permission
    /// check): `created, canceled, watch_id = -1, cancel_reason`, in order with the
    /// stream's other replies. `cancel_reason` is the full gRPC error text.
    pub fn reject_create(
        &mut self,
        stream: StreamId,
        cancel_reason: String,
        source: &impl EventSource,
    ) -> Result<(), WatchError> {
        let current = source.current_revision();
        self.stream_mut(stream)?
            .queue
            .push_control(rejection(current, cancel_reason));
        Ok(())
    }

    /// Handles a `cancel_request`: an existing watcher is removed and answered with
    /// `{canceled, watch_id}`; an unknown ID gets no reply. Returns whether it existed.
    /// Responses the watcher queued earlier stay ahead of the cancel reply.
    pub fn cancel(
        &mut self,
        stream: StreamId,
        watch_id: i64,
        source: &impl EventSource,
    ) -> Result<bool, WatchError> {
        let current = source.current_revision();
        let s = self.stream_mut(stream)?;
        if !s.ids.remove(&watch_id) {
            return Ok(false);
        }
        s.queue.push_control(WatchResponse {
            header: header(current),
            watch_id,
            canceled: true,
            ..WatchResponse::default()
        });
        self.remove_watcher((stream, watch_id));
        Ok(true)
    }

    /// Handles a `progress_request` (3.4 semantics): `{watch_id: -1}` with the
    /// current revision, queued at once whatever the watchers' states.
    pub fn progress_request(
        &mut self,
        stream: StreamId,
        source: &impl EventSource,
    ) -> Result<(), WatchError> {
        let current = source.current_revision();
        self.stream_mut(stream)?.queue.push_control(WatchResponse {
            header: header(current),
            watch_id: INVALID_WATCH_ID,
            ..WatchResponse::default()
        });
        Ok(())
    }

    /// One progress-notify tick of `stream` (the server's per-stream ticker, see
    /// [`super::config::progress_notify_interval`]): every watcher that asked for
    /// progress notifications, is synced and had no event response polled since the
    /// previous tick is sent `{watch_id, no events}` with the current revision. A
    /// notification that finds the queue full is dropped, as in etcd.
    pub fn progress_tick(
        &mut self,
        stream: StreamId,
        source: &impl EventSource,
    ) -> Result<(), WatchError> {
        let current = source.current_revision();
        let Self {
            streams, watchers, ..
        } = self;
        let s = streams
            .get_mut(&stream)
            .ok_or(WatchError::UnknownStream(stream))?;
        for id in &s.ids {
            let Some(w) = watchers.get_mut(&(stream, *id)) else {
                continue;
            };
            if !w.spec.progress_notify {
                continue;
            }
            if w.idle && matches!(w.state, State::Synced) {
                let resp = WatchResponse {
                    header: header(current),
                    watch_id: *id,
                    ..WatchResponse::default()
                };
                // Dropped when full: the next tick tries again.
                let _ = s.queue.try_push_watcher(*id, resp, false);
            }
            w.idle = true;
        }
        Ok(())
    }

    /// Feeds one committed write (all events of `revision`, prev_kv filled) to the
    /// synced watchers whose range holds the keys. Call it after the kv store
    /// reflects the write, once per write, in revision order.
    pub fn notify(&mut self, revision: i64, events: &[Event]) {
        let mut per_watcher: BTreeMap<WatcherKey, Vec<Event>> = BTreeMap::new();
        for ev in events {
            for wk in self.synced.matching(event_key(ev)) {
                let wants = self
                    .watchers
                    .get(&wk)
                    .is_some_and(|w| event_revision(ev) >= w.min_rev);
                if wants {
                    per_watcher.entry(wk).or_default().push(ev.clone());
                }
            }
        }
        for (wk, evs) in per_watcher {
            self.deliver(wk, evs, revision, None);
        }
    }

    /// Shapes `events` for watcher `wk` and queues the response (header revision
    /// `header_rev`). `next_rev` is the watcher's next revision afterwards (`None`:
    /// the revision after `header_rev`). On a full queue the watcher becomes a victim.
    /// Returns whether the watcher was parked.
    fn deliver(
        &mut self,
        wk: WatcherKey,
        events: Vec<Event>,
        header_rev: i64,
        next_rev: Option<i64>,
    ) -> bool {
        let Some(w) = self.watchers.get_mut(&wk) else {
            return false;
        };
        let mut events = w.spec.shape(events);
        if w.skip_first && !events.is_empty() {
            // Unsafe, for testing the chaos checker only.
            w.skip_first = false;
            events.remove(0);
        }
        let next = next_rev.unwrap_or(header_rev + 1);
        if events.is_empty() {
            // Everything filtered out: nothing is sent, the watcher moves on.
            w.min_rev = w.min_rev.max(next);
            return false;
        }
        let Some(s) = self.streams.get_mut(&wk.0) else {
            return false;
        };
        let resp = WatchResponse {
            header: header(header_rev),
            watch_id: wk.1,
            events,
            ..WatchResponse::default()
        };
        w.min_rev = w.min_rev.max(next);
        match s.queue.try_push_watcher(wk.1, resp, w.spec.fragment) {
            Ok(()) => false,
            Err(pending) => {
                tracing::debug!(
                    stream = wk.0.0,
                    watch_id = wk.1,
                    "watch queue full, watcher parked"
                );
                if matches!(w.state, State::Synced) {
                    self.synced.remove(wk, &w.spec.range);
                }
                self.unsynced.remove(&wk);
                w.state = State::Victim { pending };
                self.victims.insert(wk);
                true
            }
        }
    }

    /// One sync pass: catches up to `max_watchers_per_sync` unsynced watchers (round
    /// robin), each by one response of at most `max_revisions_per_batch` distinct
    /// revisions (header revision = current revision). A watcher whose next revision
    /// is below the compact revision gets the compaction cancel instead. Returns how
    /// many watchers are still unsynced (the server syncs again after
    /// [`super::config::SYNC_INTERVAL`], or at once while that number shrinks).
    pub fn sync_unsynced(&mut self, source: &impl EventSource) -> usize {
        let current = source.current_revision();
        let compact = source.compact_revision();
        let chosen = self.choose_unsynced();
        for wk in chosen {
            let Some(w) = self.watchers.get(&wk) else {
                self.unsynced.remove(&wk);
                continue;
            };
            let min_rev = w.min_rev;
            if min_rev < compact {
                self.cancel_compacted(wk, compact);
                continue;
            }
            if min_rev > current {
                self.make_synced(wk);
                continue;
            }
            let batch = read_catch_up(
                source,
                &w.spec.range,
                min_rev.max(1),
                current,
                self.config.max_revisions_per_batch,
            );
            match batch {
                Err(Compacted { compact_revision }) => {
                    self.cancel_compacted(wk, compact_revision);
                }
                Ok(batch) => {
                    let parked = self.deliver(wk, batch.events, current, batch.more_rev);
                    if !parked && batch.more_rev.is_none() {
                        self.make_synced(wk);
                    }
                }
            }
        }
        self.unsynced.len()
    }

    /// Up to `max_watchers_per_sync` unsynced watchers, starting after the cursor.
    fn choose_unsynced(&mut self) -> Vec<WatcherKey> {
        let max = self.config.max_watchers_per_sync.max(1);
        let after = match self.sync_cursor {
            Some(c) => Bound::Excluded(c),
            None => Bound::Unbounded,
        };
        let mut chosen: Vec<WatcherKey> = self
            .unsynced
            .range((after, Bound::Unbounded))
            .take(max)
            .copied()
            .collect();
        if chosen.len() < max {
            for wk in &self.unsynced {
                if chosen.len() >= max || chosen.contains(wk) {
                    break;
                }
                chosen.push(*wk);
            }
        }
        self.sync_cursor = chosen.last().copied();
        chosen
    }

    fn make_synced(&mut self, wk: WatcherKey) {
        self.unsynced.remove(&wk);
        self.victims.remove(&wk);
        if let Some(w) = self.watchers.get_mut(&wk) {
            if !matches!(w.state, State::Synced) {
                self.synced.insert(wk, &w.spec.range);
            }
            w.state = State::Synced;
        }
    }

    /// Queues the compaction cancel of an unsynced watcher; when the queue is full
    /// it stays unsynced and the next pass tries again (as etcd does).
    fn cancel_compacted(&mut self, wk: WatcherKey, compact_revision: i64) {
        let Some(s) = self.streams.get_mut(&wk.0) else {
            return;
        };
        let resp = WatchResponse {
            // The server fills cluster/member/term; the revision stays 0 (§2.7).
            header: header(0),
            watch_id: wk.1,
            canceled: true,
            compact_revision,
            ..WatchResponse::default()
        };
        if s.queue.try_push_watcher(wk.1, resp, false).is_ok() {
            self.unsynced.remove(&wk);
            if let Some(w) = self.watchers.get_mut(&wk) {
                w.state = State::Compacted;
            }
        }
    }

    /// Cancels, right away, every unsynced watcher whose next revision is below
    /// `compact_revision` (call after a compaction applies; sync passes do the
    /// same check lazily). Victims are checked once they are unsynced again.
    pub fn compacted(&mut self, compact_revision: i64) {
        let below: Vec<WatcherKey> = self
            .unsynced
            .iter()
            .filter(|wk| {
                self.watchers
                    .get(wk)
                    .is_some_and(|w| w.min_rev < compact_revision)
            })
            .copied()
            .collect();
        for wk in below {
            self.cancel_compacted(wk, compact_revision);
        }
    }

    /// Retries every victim's pending response; a watcher whose response is queued
    /// goes back to synced (next revision above the current one) or unsynced. Call
    /// after polling a stream. Returns how many victims were moved.
    pub fn retry_victims(&mut self, source: &impl EventSource) -> usize {
        let current = source.current_revision();
        let mut moved = 0;
        for wk in self.victims.clone() {
            let Some(s) = self.streams.get_mut(&wk.0) else {
                continue;
            };
            if s.queue.is_full() {
                continue;
            }
            let Some(w) = self.watchers.get_mut(&wk) else {
                continue;
            };
            let State::Victim { pending } = std::mem::replace(&mut w.state, State::Unsynced) else {
                continue;
            };
            if let Err(pending) = s.queue.try_push_watcher(wk.1, pending, w.spec.fragment) {
                w.state = State::Victim { pending };
                continue;
            }
            moved += 1;
            self.victims.remove(&wk);
            if w.min_rev <= current {
                self.unsynced.insert(wk);
            } else {
                w.state = State::Synced;
                self.synced.insert(wk, &w.spec.range);
            }
        }
        moved
    }

    /// Takes every queued response of `stream`, in order, with fragmentation
    /// applied for watchers that asked for it. The server sends them in this order.
    pub fn poll(&mut self, stream: StreamId) -> Result<Vec<WatchResponse>, WatchError> {
        let limit = self.config.fragment_limit;
        let entries = self.stream_mut(stream)?.queue.drain();
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            match entry {
                Entry::Control(resp) => out.push(resp),
                Entry::Watcher {
                    watch_id,
                    resp,
                    fragment: split,
                } => {
                    if !resp.events.is_empty()
                        && let Some(w) = self.watchers.get_mut(&(stream, watch_id))
                    {
                        w.idle = false;
                    }
                    if split {
                        out.extend(fragment(resp, limit));
                    } else {
                        out.push(resp);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Responses (of both kinds) waiting in `stream`'s queue.
    pub fn queued(&self, stream: StreamId) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.queue.len())
    }

    /// Control replies waiting in `stream`'s queue; the server stops reading
    /// requests while this is at [`super::config::CTRL_STREAM_BUF_LEN`].
    pub fn control_backlog(&self, stream: StreamId) -> usize {
        self.streams
            .get(&stream)
            .map_or(0, |s| s.queue.control_len())
    }

    /// Watchers waiting for a sync pass.
    pub fn unsynced_count(&self) -> usize {
        self.unsynced.len()
    }

    /// Watchers parked with a pending response.
    pub fn victim_count(&self) -> usize {
        self.victims.len()
    }

    /// Open streams.
    pub fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Watchers on all streams (compacted ones included until cancelled).
    pub fn watcher_count(&self) -> usize {
        self.watchers.len()
    }

    fn remove_watcher(&mut self, wk: WatcherKey) {
        if let Some(w) = self.watchers.remove(&wk) {
            if matches!(w.state, State::Synced) {
                self.synced.remove(wk, &w.spec.range);
            }
            self.unsynced.remove(&wk);
            self.victims.remove(&wk);
        }
    }
}

fn rejection(current: i64, cancel_reason: String) -> WatchResponse {
    WatchResponse {
        header: header(current),
        watch_id: INVALID_WATCH_ID,
        created: true,
        canceled: true,
        cancel_reason,
        ..WatchResponse::default()
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
