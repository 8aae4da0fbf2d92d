//! Property test: under random interleavings of writes, creates, cancels, polls,
//! sync passes, victim retries, progress ticks and a tiny queue, every watcher
//! receives exactly "all events in its range from its start revision, in order"
//! (filtered and shaped as it asked), after its created reply; a cancelled watcher
//! receives a prefix of that and nothing after its cancel reply.

use std::collections::BTreeMap;

use etcd_sdk::v3::pb::etcdserverpb::watch_create_request::FilterType;
use etcd_sdk::v3::pb::etcdserverpb::{WatchCreateRequest, WatchResponse};
use etcd_sdk::v3::pb::mvccpb::Event;
use etcd_sdk::v3::pb::mvccpb::event::EventType;
use proptest::prelude::*;

use super::spec::{event_key, event_revision};
use super::testing::MemSource;
use super::{EventSource, StreamId, WatchConfig, WatchableStore};
use crate::proptest_config::proptest_config;

const KEYS: [&[u8]; 4] = [b"k0", b"k1", b"k2", b"k3"];
const STREAMS: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    Put(usize),
    TxnPut(usize, usize),
    Delete(usize),
    Create {
        stream: usize,
        range: usize,
        start: i64,
        filter: usize,
        prev_kv: bool,
        fragment: bool,
    },
    Cancel(usize, i64),
    Poll(usize),
    Sync,
    Retry,
    Tick(usize),
    /// Compact at `current - n` (if above the compact revision), then tell the store.
    Compact(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..KEYS.len()).prop_map(Op::Put),
        1 => (0..KEYS.len(), 0..KEYS.len()).prop_map(|(a, b)| Op::TxnPut(a, b)),
        1 => (0..KEYS.len()).prop_map(Op::Delete),
        2 => (0..STREAMS, 0..7usize, -1..4i64, 0..3usize, any::<bool>(), any::<bool>()).prop_map(
            |(stream, range, start, filter, prev_kv, fragment)| Op::Create {
                stream, range, start, filter, prev_kv, fragment
            }
        ),
        1 => (0..STREAMS, 0..4i64).prop_map(|(s, id)| Op::Cancel(s, id)),
        2 => (0..STREAMS).prop_map(Op::Poll),
        2 => Just(Op::Sync),
        2 => Just(Op::Retry),
        1 => (0..STREAMS).prop_map(Op::Tick),
        1 => (0..4i64).prop_map(Op::Compact),
    ]
}

/// (key, range_end) of range choice `i`.
fn range_of(i: usize) -> (Vec<u8>, Vec<u8>) {
    match i {
        0..=3 => (KEYS[i].to_vec(), Vec::new()),
        4 => (b"k1".to_vec(), b"k3".to_vec()),
        5 => (b"k".to_vec(), b"l".to_vec()),
        _ => (Vec::new(), vec![0]),
    }
}

fn in_range(k: &[u8], key: &[u8], end: &[u8]) -> bool {
    let key: &[u8] = if key.is_empty() { &[0] } else { key };
    match end {
        [] => k == key,
        [0] => k >= key,
        end => k >= key && k < end,
    }
}

struct ModelWatcher {
    key: Vec<u8>,
    end: Vec<u8>,
    start: i64,
    filter: usize,
    prev_kv: bool,
    canceled: bool,
    /// The compact revision of the compaction cancel received, if any.
    compacted: Option<i64>,
    created_seen: bool,
    cancel_seen: bool,
    got: Vec<Event>,
}

impl ModelWatcher {
    fn expected(&self, history: &[Event]) -> Vec<Event> {
        history
            .iter()
            .filter(|e| event_revision(e) >= self.start)
            .filter(|e| in_range(event_key(e), &self.key, &self.end))
            .filter(|e| {
                let put = e.r#type == EventType::Put as i32;
                !(self.filter == 1 && put || self.filter == 2 && !put)
            })
            .cloned()
            .map(|mut e| {
                let create =
                    e.kv.as_ref()
                        .is_some_and(|kv| kv.create_revision == kv.mod_revision)
                        && e.r#type == EventType::Put as i32;
                if !self.prev_kv || create {
                    e.prev_kv = None;
                }
                e
            })
            .collect()
    }
}

struct Harness {
    ws: WatchableStore,
    src: MemSource,
    streams: Vec<StreamId>,
    watchers: BTreeMap<(usize, i64), ModelWatcher>,
    max_revs: usize,
    /// Every event ever written (the source forgets compacted history).
    full_history: Vec<Event>,
    /// The previous response was a fragment of this (stream, watch id).
    open_fragment: [Option<(i64, i64)>; STREAMS],
}

impl Harness {
    fn write(&mut self, rev_events: Option<(i64, Vec<Event>)>) {
        if let Some((rev, evs)) = rev_events {
            self.full_history.extend(evs.iter().cloned());
            self.ws.notify(rev, &evs);
        }
    }

    fn poll(&mut self, si: usize) -> Result<usize, TestCaseError> {
        let out = self
            .ws
            .poll(self.streams[si])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let n = out.len();
        for r in out {
            self.check_response(si, r)?;
        }
        Ok(n)
    }

    fn check_response(&mut self, si: usize, r: WatchResponse) -> Result<(), TestCaseError> {
        let rev = r.header.as_ref().map_or(-1, |h| h.revision);
        if let Some((id, hrev)) = self.open_fragment[si] {
            prop_assert_eq!((r.watch_id, rev), (id, hrev), "fragments are contiguous");
        }
        self.open_fragment[si] = r.fragment.then_some((r.watch_id, rev));
        if r.watch_id == -1 {
            prop_assert!(r.events.is_empty());
            return Ok(());
        }
        let w = self.watchers.get_mut(&(si, r.watch_id));
        let w = match w {
            Some(w) => w,
            None => {
                return Err(TestCaseError::fail(format!(
                    "unknown watcher {}",
                    r.watch_id
                )));
            }
        };
        prop_assert!(!w.cancel_seen, "nothing after the cancel reply");
        if w.compacted.is_some() {
            // After a compaction cancel only the reply to an explicit cancel may come.
            prop_assert!(r.canceled && r.compact_revision == 0 && r.events.is_empty());
            w.cancel_seen = true;
            return Ok(());
        }
        if r.created {
            prop_assert!(!w.created_seen);
            w.created_seen = true;
            return Ok(());
        }
        prop_assert!(w.created_seen, "created reply first");
        if r.canceled {
            if r.compact_revision != 0 {
                prop_assert_eq!(rev, 0, "compaction cancel header revision");
                w.compacted = Some(r.compact_revision);
            } else {
                w.cancel_seen = true;
            }
            return Ok(());
        }
        let revs: Vec<i64> = r.events.iter().map(event_revision).collect();
        prop_assert!(revs.windows(2).all(|p| p[0] <= p[1]));
        let mut distinct = revs.clone();
        distinct.dedup();
        prop_assert!(distinct.len() <= self.max_revs);
        w.got.extend(r.events);
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Put(k) => {
                let w = self.src.put(KEYS[k], format!("v{k}").as_bytes());
                self.write(Some(w));
            }
            Op::TxnPut(a, b) => {
                let keys: Vec<&[u8]> = if a == b {
                    vec![KEYS[a]]
                } else {
                    vec![KEYS[a], KEYS[b]]
                };
                let w = self.src.txn_put(&keys, b"t");
                self.write(Some(w));
            }
            Op::Delete(k) => {
                let w = self.src.delete(&[KEYS[k]]);
                self.write(w);
            }
            Op::Create {
                stream,
                range,
                start,
                filter,
                prev_kv,
                fragment,
            } => {
                let (key, end) = range_of(range);
                let current = self.src.current_revision();
                let start = if start < 0 {
                    0
                } else {
                    (current - start).max(1) + 2 * (start % 2)
                };
                let filters = match filter {
                    1 => vec![FilterType::Noput as i32],
                    2 => vec![FilterType::Nodelete as i32],
                    _ => vec![],
                };
                let req = WatchCreateRequest {
                    key: key.clone(),
                    range_end: end.clone(),
                    start_revision: start,
                    filters,
                    prev_kv,
                    fragment,
                    ..WatchCreateRequest::default()
                };
                let id = self
                    .ws
                    .create(self.streams[stream], &req, &self.src)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let id = match id {
                    Some(id) => id,
                    None => return Err(TestCaseError::fail("valid create refused")),
                };
                let start = if start == 0 { current + 1 } else { start };
                self.watchers.insert(
                    (stream, id),
                    ModelWatcher {
                        key,
                        end,
                        start,
                        filter,
                        prev_kv,
                        canceled: false,
                        compacted: None,
                        created_seen: false,
                        cancel_seen: false,
                        got: Vec::new(),
                    },
                );
            }
            Op::Cancel(si, id) => {
                let known = self.watchers.get(&(si, id)).is_some_and(|w| !w.canceled);
                let answered = self
                    .ws
                    .cancel(self.streams[si], id, &self.src)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(known, answered);
                if let Some(w) = self.watchers.get_mut(&(si, id)) {
                    w.canceled = true;
                }
            }
            Op::Poll(si) => {
                self.poll(si)?;
            }
            Op::Sync => {
                self.ws.sync_unsynced(&self.src);
            }
            Op::Retry => {
                self.ws.retry_victims(&self.src);
            }
            Op::Compact(n) => {
                let at = self.src.current_revision() - n;
                if at > self.src.compact_revision() {
                    self.src.compact(at);
                    self.ws.compacted(at);
                }
            }
            Op::Tick(si) => {
                self.ws
                    .progress_tick(self.streams[si], &self.src)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..10_000 {
            let mut polled = 0;
            for si in 0..STREAMS {
                polled += self.poll(si)?;
            }
            if polled == 0 && self.ws.unsynced_count() == 0 && self.ws.victim_count() == 0 {
                return Ok(());
            }
            self.ws.retry_victims(&self.src);
            self.ws.sync_unsynced(&self.src);
        }
        Err(TestCaseError::fail("the store did not drain"))
    }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn every_watcher_gets_exactly_its_events_in_order(
        ops in proptest::collection::vec(op(), 1..80),
        queue_capacity in 1usize..4,
        max_revs in 1usize..4,
        max_watchers in 1usize..3,
        fragment_limit in 150usize..400,
    ) {
        let cfg = WatchConfig {
            queue_capacity,
            max_revisions_per_batch: max_revs,
            max_watchers_per_sync: max_watchers,
            fragment_limit,
            unsafe_skip_first_replayed_event: false,
        };
        let mut ws = WatchableStore::new(cfg);
        let streams: Vec<StreamId> = (0..STREAMS).map(|_| ws.open_stream()).collect();
        let mut h = Harness {
            ws,
            src: MemSource::new(),
            streams,
            watchers: BTreeMap::new(),
            max_revs,
            full_history: Vec::new(),
            open_fragment: [None; STREAMS],
        };
        for op in ops {
            h.apply(op)?;
        }
        h.drain()?;
        prop_assert_eq!(h.open_fragment, [None; STREAMS], "the last part ends the fragments");
        for ((si, id), w) in &h.watchers {
            let expected = w.expected(&h.full_history);
            prop_assert!(w.created_seen, "watcher {}/{} was never created", si, id);
            if let Some(compact) = w.compacted {
                prop_assert!(expected.starts_with(&w.got), "watcher {}/{}: a prefix", si, id);
                // It was cancelled because it still needed history below `compact`.
                let next = w.got.last().map_or(w.start, |e| event_revision(e) + 1);
                prop_assert!(next < compact, "watcher {}/{} cancelled needlessly", si, id);
            } else if w.canceled {
                prop_assert!(w.cancel_seen, "watcher {}/{}: cancel reply", si, id);
                prop_assert!(expected.starts_with(&w.got), "watcher {}/{}: a prefix", si, id);
            } else {
                prop_assert_eq!(&w.got, &expected, "watcher {}/{}", si, id);
            }
        }
    }
}
