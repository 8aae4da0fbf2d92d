//! Scenario tests of the watchable store (in the manner of etcd's
//! watchable_store_test.go, watcher_test.go and the v3rpc watch tests).

use etcd_sdk::v3::pb::etcdserverpb::watch_create_request::FilterType;
use etcd_sdk::v3::pb::etcdserverpb::{WatchCreateRequest, WatchResponse};
use etcd_sdk::v3::pb::mvccpb::event::EventType;

use super::*;
use crate::store::v3::watch::testing::MemSource;

fn config(queue_capacity: usize, max_revs: usize) -> WatchConfig {
    WatchConfig {
        queue_capacity,
        max_revisions_per_batch: max_revs,
        ..WatchConfig::default()
    }
}

fn req(key: &str, end: &str, start: i64) -> WatchCreateRequest {
    WatchCreateRequest {
        key: key.into(),
        range_end: end.into(),
        start_revision: start,
        ..WatchCreateRequest::default()
    }
}

fn rev_of(resp: &WatchResponse) -> i64 {
    resp.header.as_ref().map_or(-100, |h| h.revision)
}

fn ev_revs(resp: &WatchResponse) -> Vec<i64> {
    resp.events.iter().map(event_revision).collect()
}

fn ev_keys(resp: &WatchResponse) -> Vec<String> {
    resp.events
        .iter()
        .map(|e| String::from_utf8_lossy(event_key(e)).into_owned())
        .collect()
}

/// A store with one stream, and a source.
fn setup(cfg: WatchConfig) -> (WatchableStore, StreamId, MemSource) {
    let mut ws = WatchableStore::new(cfg);
    let s = ws.open_stream();
    (ws, s, MemSource::new())
}

/// Applies a put to the source and notifies the store.
fn put(ws: &mut WatchableStore, src: &mut MemSource, key: &str, value: &str) -> i64 {
    let (rev, evs) = src.put(key.as_bytes(), value.as_bytes());
    ws.notify(rev, &evs);
    rev
}

fn delete(ws: &mut WatchableStore, src: &mut MemSource, keys: &[&str]) -> i64 {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let (rev, evs) = src.delete(&keys).expect("a live key");
    ws.notify(rev, &evs);
    rev
}

fn poll(ws: &mut WatchableStore, s: StreamId) -> Vec<WatchResponse> {
    ws.poll(s).expect("open stream")
}

fn created(id: i64, rev: i64) -> WatchResponse {
    WatchResponse {
        header: header(rev),
        watch_id: id,
        created: true,
        ..WatchResponse::default()
    }
}

#[test]
fn ids_start_at_zero_and_explicit_ids_are_honoured() {
    let (mut ws, s, src) = setup(WatchConfig::default());
    let ids: Vec<Option<i64>> = [0, 7, 0, 2, 0]
        .iter()
        .map(|id| {
            let r = WatchCreateRequest {
                watch_id: *id,
                ..req("k", "", 0)
            };
            ws.create(s, &r, &src).expect("open")
        })
        .collect();
    // Auto IDs skip the explicitly taken 2.
    assert_eq!(ids, vec![Some(0), Some(7), Some(1), Some(2), Some(3)]);
    let dup = WatchCreateRequest {
        watch_id: 7,
        ..req("k", "", 0)
    };
    assert_eq!(ws.create(s, &dup, &src), Ok(None));
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 6);
    assert_eq!(out[0], created(0, 1));
    assert_eq!(out[1], created(7, 1));
    assert_eq!(
        out[5],
        WatchResponse {
            header: header(1),
            watch_id: -1,
            created: true,
            canceled: true,
            cancel_reason: "mvcc: duplicate watch ID provided on the WatchStream".into(),
            ..WatchResponse::default()
        }
    );
}

#[test]
fn empty_range_is_refused_with_etcds_reason() {
    let (mut ws, s, src) = setup(WatchConfig::default());
    assert_eq!(ws.create(s, &req("b", "a", 0), &src), Ok(None));
    assert_eq!(ws.create(s, &req("a", "a", 0), &src), Ok(None));
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 2);
    for r in out {
        assert!(r.created && r.canceled);
        assert_eq!(r.watch_id, -1);
        assert_eq!(r.cancel_reason, "mvcc: watcher range is empty");
    }
    // A refused create takes no ID: the next one is 0.
    assert_eq!(ws.create(s, &req("a", "b", 0), &src), Ok(Some(0)));
    assert_eq!(ws.watcher_count(), 1);
}

#[test]
fn empty_key_watches_nul() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    ws.create(s, &req("", "", 0), &src).expect("open");
    put(&mut ws, &mut src, "a", "1");
    let (rev, evs) = src.put(b"\0", b"x");
    ws.notify(rev, &evs);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 2);
    assert_eq!(ev_keys(&out[1]), vec!["\0".to_owned()]);
}

#[test]
fn start_zero_sees_only_writes_after_the_create() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    put(&mut ws, &mut src, "k", "old");
    ws.create(s, &req("k", "", 0), &src).expect("open");
    assert_eq!(ws.unsynced_count(), 0);
    let rev = put(&mut ws, &mut src, "k", "new");
    let out = poll(&mut ws, s);
    assert_eq!(out[0], created(0, 2));
    assert_eq!(out.len(), 2);
    assert_eq!(ev_revs(&out[1]), vec![rev]);
    assert_eq!(rev_of(&out[1]), rev);
}

#[test]
fn past_start_replays_history_then_goes_live() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    for v in ["a", "b", "c"] {
        put(&mut ws, &mut src, "k", v); // 2, 3, 4
    }
    ws.create(s, &req("k", "", 3), &src).expect("open");
    assert_eq!(ws.unsynced_count(), 1);
    assert_eq!(ws.sync_unsynced(&src), 0);
    put(&mut ws, &mut src, "k", "d"); // 5
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 3);
    assert!(out[0].created);
    assert_eq!(ev_revs(&out[1]), vec![3, 4]);
    assert_eq!(rev_of(&out[1]), 4, "catch-up header = current revision");
    assert_eq!(ev_revs(&out[2]), vec![5]);
}

#[test]
fn future_start_waits_for_its_revision() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    ws.create(s, &req("k", "", 4), &src).expect("open");
    assert_eq!(ws.unsynced_count(), 0);
    put(&mut ws, &mut src, "k", "a"); // 2
    put(&mut ws, &mut src, "k", "b"); // 3
    put(&mut ws, &mut src, "k", "c"); // 4
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 2);
    assert_eq!(ev_revs(&out[1]), vec![4]);
}

#[test]
fn catch_up_is_batched_by_1000_revisions() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    for i in 0..2500 {
        src.put(b"k", format!("{i}").as_bytes()); // 2..=2501
    }
    ws.create(s, &req("k", "", 2), &src).expect("open");
    let mut passes = 0;
    while ws.sync_unsynced(&src) > 0 {
        passes += 1;
    }
    assert_eq!(passes, 2);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 4);
    let spans: Vec<(i64, i64, usize)> = out[1..]
        .iter()
        .map(|r| {
            let revs = ev_revs(r);
            (revs[0], revs[revs.len() - 1], revs.len())
        })
        .collect();
    assert_eq!(
        spans,
        vec![(2, 1001, 1000), (1002, 2001, 1000), (2002, 2501, 500)]
    );
    assert!(out[1..].iter().all(|r| rev_of(r) == 2501));
}

#[test]
fn no_gap_and_no_duplicate_across_the_switch_to_synced() {
    let (mut ws, s, mut src) = setup(config(128, 2));
    for v in ["a", "b", "c", "d"] {
        put(&mut ws, &mut src, "k", v); // 2..=5
    }
    ws.create(s, &req("k", "", 2), &src).expect("open");
    // Writes while the watcher is unsynced: notify must not deliver them.
    put(&mut ws, &mut src, "k", "e"); // 6
    ws.sync_unsynced(&src); // 2, 3
    put(&mut ws, &mut src, "k", "f"); // 7
    ws.sync_unsynced(&src); // 4, 5
    ws.sync_unsynced(&src); // 6, 7
    assert_eq!(ws.sync_unsynced(&src), 0); // nothing left: synced
    // A late notify of an already replayed revision is ignored.
    let replay = src.history()[5].clone();
    ws.notify(7, &[replay]);
    put(&mut ws, &mut src, "k", "g"); // 8
    let out = poll(&mut ws, s);
    let all: Vec<i64> = out.iter().flat_map(ev_revs).collect();
    assert_eq!(all, vec![2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn filters_drop_events_and_an_all_filtered_response_is_not_sent() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    let no_put = WatchCreateRequest {
        filters: vec![FilterType::Noput as i32],
        ..req("k", "", 0)
    };
    let no_del = WatchCreateRequest {
        filters: vec![FilterType::Nodelete as i32],
        ..req("k", "", 0)
    };
    ws.create(s, &no_put, &src).expect("open");
    ws.create(s, &no_del, &src).expect("open");
    put(&mut ws, &mut src, "k", "1");
    delete(&mut ws, &mut src, &["k"]);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 4);
    let types: Vec<(i64, i32)> = out[2..]
        .iter()
        .map(|r| (r.watch_id, r.events[0].r#type))
        .collect();
    assert_eq!(
        types,
        vec![(1, EventType::Put as i32), (0, EventType::Delete as i32)]
    );
    // Catch-up: a batch that is all filtered sends nothing but still syncs.
    let past = WatchCreateRequest {
        filters: vec![FilterType::Noput as i32],
        ..req("k", "", 2)
    };
    ws.create(s, &past, &src).expect("open");
    put(&mut ws, &mut src, "j", "other");
    assert_eq!(ws.sync_unsynced(&src), 0);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 2);
    assert!(out[0].created);
    assert_eq!(ev_revs(&out[1]), vec![3]);
}

#[test]
fn prev_kv_is_kept_only_when_asked() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    let with = WatchCreateRequest {
        prev_kv: true,
        ..req("k", "", 0)
    };
    ws.create(s, &with, &src).expect("open");
    ws.create(s, &req("k", "", 0), &src).expect("open");
    put(&mut ws, &mut src, "k", "1"); // create: no prev_kv for anyone
    put(&mut ws, &mut src, "k", "2");
    delete(&mut ws, &mut src, &["k"]);
    let out = poll(&mut ws, s);
    let prev: Vec<(i64, bool)> = out[2..]
        .iter()
        .map(|r| (r.watch_id, r.events[0].prev_kv.is_some()))
        .collect();
    assert_eq!(
        prev,
        vec![
            (0, false),
            (1, false),
            (0, true),
            (1, false),
            (0, true),
            (1, false)
        ]
    );
    let del_prev = out[6].events[0].prev_kv.as_ref().expect("prev kv");
    assert_eq!(del_prev.value, b"2");
}

#[test]
fn range_prefix_and_from_key_watchers() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    ws.create(s, &req("a", "c", 0), &src).expect("open"); // 0: [a, c)
    ws.create(s, &req("b", "\0", 0), &src).expect("open"); // 1: >= b
    ws.create(s, &req("", "\0", 0), &src).expect("open"); // 2: all
    ws.create(s, &req("foo/", "foo0", 0), &src).expect("open"); // 3: prefix foo/
    for k in ["a", "b", "c", "foo/x", "foo0"] {
        put(&mut ws, &mut src, k, "v");
    }
    let (rev, evs) = src.txn_put(&[b"a", b"foo/y", b"z"], b"t");
    ws.notify(rev, &evs);
    let out = poll(&mut ws, s);
    let mut seen: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in &out[4..] {
        seen.entry(r.watch_id).or_default().extend(ev_keys(r));
    }
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(seen[&0], strs(&["a", "b", "a"]));
    assert_eq!(seen[&1], strs(&["b", "c", "foo/x", "foo0", "foo/y", "z"]));
    assert_eq!(
        seen[&2],
        strs(&["a", "b", "c", "foo/x", "foo0", "a", "foo/y", "z"])
    );
    assert_eq!(seen[&3], strs(&["foo/x", "foo/y"]));
    // The txn's events reach the all-keys watcher as one response.
    let last = out.iter().rfind(|r| r.watch_id == 2).expect("response");
    assert_eq!(ev_revs(last), vec![rev, rev, rev]);
}

#[test]
fn cancel_answers_known_ids_only() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    ws.create(s, &req("k", "", 0), &src).expect("open");
    put(&mut ws, &mut src, "k", "1");
    assert_eq!(ws.cancel(s, 0, &src), Ok(true));
    assert_eq!(ws.cancel(s, 99, &src), Ok(false));
    assert_eq!(ws.cancel(s, 0, &src), Ok(false));
    put(&mut ws, &mut src, "k", "2");
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 3, "created, the event queued before, cancel");
    assert_eq!(
        out[2],
        WatchResponse {
            header: header(2),
            watch_id: 0,
            canceled: true,
            ..WatchResponse::default()
        }
    );
    assert_eq!(ws.watcher_count(), 0);
    // The next auto ID does not reuse 0.
    assert_eq!(ws.create(s, &req("k", "", 0), &src), Ok(Some(1)));
}

#[test]
fn cancel_of_unsynced_and_victim_watchers() {
    let (mut ws, s, mut src) = setup(config(1, 1000));
    put(&mut ws, &mut src, "k", "1");
    ws.create(s, &req("k", "", 2), &src).expect("open"); // unsynced
    ws.create(s, &req("k", "", 0), &src).expect("open"); // synced
    put(&mut ws, &mut src, "k", "2"); // fills the single slot
    put(&mut ws, &mut src, "k", "3"); // watcher 1 parked
    assert_eq!(ws.victim_count(), 1);
    assert_eq!(ws.cancel(s, 0, &src), Ok(true));
    assert_eq!(ws.cancel(s, 1, &src), Ok(true));
    assert_eq!((ws.unsynced_count(), ws.victim_count()), (0, 0));
    assert_eq!(ws.retry_victims(&src), 0);
    assert_eq!(ws.sync_unsynced(&src), 0);
}

#[test]
fn progress_request_is_answered_at_once_with_id_minus_one() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    put(&mut ws, &mut src, "k", "1");
    ws.create(s, &req("k", "", 1), &src).expect("open"); // unsynced: no waiting in 3.4
    ws.progress_request(s, &src).expect("open");
    let out = poll(&mut ws, s);
    assert_eq!(
        out[1],
        WatchResponse {
            header: header(2),
            watch_id: -1,
            ..WatchResponse::default()
        }
    );
}

#[test]
fn progress_ticks_reach_only_idle_synced_watchers_that_asked() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    let pn = |start| WatchCreateRequest {
        progress_notify: true,
        ..req("k", "", start)
    };
    put(&mut ws, &mut src, "k", "1"); // 2
    ws.create(s, &pn(0), &src).expect("open"); // 0: synced, asked
    ws.create(s, &req("k", "", 0), &src).expect("open"); // 1: did not ask
    ws.create(s, &pn(2), &src).expect("open"); // 2: unsynced
    poll(&mut ws, s);
    ws.progress_tick(s, &src).expect("open");
    let out = poll(&mut ws, s);
    assert_eq!(
        out,
        vec![WatchResponse {
            header: header(2),
            watch_id: 0,
            ..WatchResponse::default()
        }]
    );
    // An event polled since the last tick makes the watcher not idle for one tick.
    put(&mut ws, &mut src, "k", "2"); // 3
    ws.sync_unsynced(&src); // watcher 2 catches up and is synced now
    assert_eq!(poll(&mut ws, s).len(), 3);
    ws.progress_tick(s, &src).expect("open");
    assert!(
        poll(&mut ws, s).is_empty(),
        "both had events since the last tick"
    );
    ws.progress_tick(s, &src).expect("open");
    let ids: Vec<(i64, i64)> = poll(&mut ws, s)
        .iter()
        .map(|r| (r.watch_id, rev_of(r)))
        .collect();
    assert_eq!(ids, vec![(0, 3), (2, 3)]);
}

#[test]
fn watch_below_the_compact_revision_is_cancelled_with_revision_zero() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    for v in ["1", "2", "3", "4"] {
        put(&mut ws, &mut src, "k", v); // 2..=5
    }
    src.compact(4);
    ws.create(s, &req("k", "", 3), &src).expect("open"); // 0: below
    ws.create(s, &req("k", "", 4), &src).expect("open"); // 1: at the compact revision
    ws.sync_unsynced(&src);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 4);
    assert_eq!(
        out[2],
        WatchResponse {
            header: header(0),
            watch_id: 0,
            canceled: true,
            compact_revision: 4,
            ..WatchResponse::default()
        }
    );
    assert_eq!(out[3].watch_id, 1);
    assert_eq!(ev_revs(&out[3]), vec![4, 5]);
    // The compacted watcher gets nothing more; its ID stays taken until cancelled.
    put(&mut ws, &mut src, "k", "5");
    let out = poll(&mut ws, s);
    assert_eq!(out.iter().map(|r| r.watch_id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(ws.create(s, &req("k", "", 0), &src), Ok(Some(2)));
    assert_eq!(ws.cancel(s, 0, &src), Ok(true));
}

#[test]
fn compacted_cancels_unsynced_watchers_at_once() {
    let (mut ws, s, mut src) = setup(WatchConfig::default());
    for v in ["1", "2", "3"] {
        put(&mut ws, &mut src, "k", v); // 2..=4
    }
    ws.create(s, &req("k", "", 2), &src).expect("open");
    ws.create(s, &req("k", "", 4), &src).expect("open");
    src.compact(3);
    ws.compacted(3);
    assert_eq!(ws.unsynced_count(), 1);
    let out = poll(&mut ws, s);
    assert_eq!(out[2].compact_revision, 3);
    assert_eq!(out[2].watch_id, 0);
}

#[test]
fn compaction_cancel_waits_for_room_in_the_queue() {
    let (mut ws, s, mut src) = setup(config(1, 1000));
    for v in ["1", "2"] {
        put(&mut ws, &mut src, "k", v); // 2, 3
    }
    ws.create(s, &req("k", "", 0), &src).expect("open"); // 0: synced
    ws.create(s, &req("k", "", 2), &src).expect("open"); // 1: unsynced
    put(&mut ws, &mut src, "k", "3"); // 4: fills the slot
    src.compact(3);
    ws.sync_unsynced(&src);
    assert_eq!(ws.unsynced_count(), 1, "no room: still unsynced");
    assert_eq!(poll(&mut ws, s).len(), 3);
    ws.sync_unsynced(&src);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].watch_id, out[0].compact_revision), (1, 3));
}

#[test]
fn fragments_split_large_responses_of_watchers_that_asked() {
    let cfg = WatchConfig {
        fragment_limit: 300,
        ..WatchConfig::default()
    };
    let (mut ws, s, mut src) = setup(cfg);
    let frag = WatchCreateRequest {
        fragment: true,
        ..req("k", "l", 0)
    };
    ws.create(s, &frag, &src).expect("open"); // 0
    ws.create(s, &req("k", "l", 0), &src).expect("open"); // 1
    let big = "x".repeat(120);
    let (rev, evs) = src.txn_put(&[b"k1", b"k2", b"k3"], big.as_bytes());
    ws.notify(rev, &evs);
    let (rev2, evs2) = src.put(b"k4", &[b'y'; 1000]);
    ws.notify(rev2, &evs2);
    let out = poll(&mut ws, s);
    let shape: Vec<(i64, usize, bool)> = out[2..]
        .iter()
        .map(|r| (r.watch_id, r.events.len(), r.fragment))
        .collect();
    assert_eq!(
        shape,
        vec![
            (0, 2, true),
            (0, 1, false),
            (1, 3, false),
            (0, 1, false), // a single huge event is never split
            (1, 1, false),
        ]
    );
    assert!(out[2..4].iter().all(|r| rev_of(r) == rev));
}

#[test]
fn a_full_queue_parks_the_watcher_and_nothing_is_lost_or_reordered() {
    let (mut ws, s, mut src) = setup(config(2, 1000));
    ws.create(s, &req("k", "", 0), &src).expect("open");
    for i in 0..6 {
        put(&mut ws, &mut src, "k", &i.to_string()); // 2..=7
    }
    assert_eq!(ws.victim_count(), 1);
    let mut got: Vec<i64> = Vec::new();
    let mut rounds = 0;
    loop {
        let out = poll(&mut ws, s);
        got.extend(out.iter().flat_map(ev_revs));
        if ws.victim_count() == 0 && ws.unsynced_count() == 0 && out.is_empty() {
            break;
        }
        ws.retry_victims(&src);
        ws.sync_unsynced(&src);
        // A write between rounds: live or caught up, never lost.
        if rounds == 0 {
            put(&mut ws, &mut src, "k", "late"); // 8
        }
        rounds += 1;
        assert!(rounds < 20, "must drain");
    }
    assert_eq!(got, vec![2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn a_victim_whose_history_was_compacted_is_cancelled_after_its_pending_response() {
    let (mut ws, s, mut src) = setup(config(1, 1000));
    ws.create(s, &req("k", "", 0), &src).expect("open");
    put(&mut ws, &mut src, "k", "a"); // 2 queued
    put(&mut ws, &mut src, "k", "b"); // 3 parked
    put(&mut ws, &mut src, "k", "c"); // 4 not delivered: victim
    put(&mut ws, &mut src, "k", "d"); // 5
    src.compact(5);
    assert_eq!(poll(&mut ws, s).len(), 2);
    assert_eq!(ws.retry_victims(&src), 1);
    ws.sync_unsynced(&src);
    assert_eq!(poll(&mut ws, s).len(), 1);
    ws.sync_unsynced(&src);
    let out = poll(&mut ws, s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].compact_revision, 5);
}

#[test]
fn streams_are_independent() {
    let mut ws = WatchableStore::new(WatchConfig::default());
    let mut src = MemSource::new();
    let a = ws.open_stream();
    let b = ws.open_stream();
    assert_ne!(a, b);
    assert_eq!(ws.create(a, &req("k", "", 0), &src), Ok(Some(0)));
    assert_eq!(ws.create(b, &req("k", "", 0), &src), Ok(Some(0)));
    assert_eq!(ws.create(b, &req("j", "", 0), &src), Ok(Some(1)));
    put(&mut ws, &mut src, "k", "1");
    put(&mut ws, &mut src, "j", "1");
    assert_eq!(poll(&mut ws, a).len(), 2);
    let out_b = poll(&mut ws, b);
    assert_eq!(out_b.len(), 4);
    assert_eq!((out_b[2].watch_id, out_b[3].watch_id), (0, 1));
    assert!(ws.close_stream(a));
    assert!(!ws.close_stream(a));
    assert_eq!(ws.watcher_count(), 2);
    assert_eq!(ws.poll(a), Err(WatchError::UnknownStream(a)));
    assert_eq!(
        ws.create(a, &req("k", "", 0), &src),
        Err(WatchError::UnknownStream(a))
    );
    put(&mut ws, &mut src, "k", "2");
    assert_eq!(poll(&mut ws, b).len(), 1);
}

#[test]
fn rejected_creates_queue_in_order_with_other_replies() {
    let (mut ws, s, src) = setup(WatchConfig::default());
    ws.create(s, &req("k", "", 0), &src).expect("open");
    let reason = "rpc error: code = InvalidArgument desc = etcdserver: user name is empty";
    ws.reject_create(s, reason.to_owned(), &src).expect("open");
    ws.progress_request(s, &src).expect("open");
    assert_eq!(ws.control_backlog(s), 3);
    let out = poll(&mut ws, s);
    assert_eq!(out[1].cancel_reason, reason);
    assert!(out[1].created && out[1].canceled && out[1].watch_id == -1);
    assert_eq!(out[2].watch_id, -1);
}

#[test]
fn sync_passes_take_a_bounded_number_of_watchers_round_robin() {
    let cfg = WatchConfig {
        max_watchers_per_sync: 2,
        ..WatchConfig::default()
    };
    let (mut ws, s, mut src) = setup(cfg);
    put(&mut ws, &mut src, "k", "1");
    for _ in 0..5 {
        ws.create(s, &req("k", "", 2), &src).expect("open");
    }
    assert_eq!(ws.sync_unsynced(&src), 3);
    assert_eq!(ws.sync_unsynced(&src), 1);
    assert_eq!(ws.sync_unsynced(&src), 0);
    let out = poll(&mut ws, s);
    let mut ids: Vec<i64> = out[5..].iter().map(|r| r.watch_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
}

#[test]
fn synced_index_groups_equal_ranges_and_cleans_up() {
    let mut idx = SyncedIndex::default();
    let s = StreamId(0);
    let one = KeyRange::Key(b"b".to_vec());
    let ab = KeyRange::from_request(b"a", b"c").expect("range");
    let from = KeyRange::FromKey(b"b".to_vec());
    idx.insert((s, 0), &one);
    idx.insert((s, 1), &ab);
    idx.insert((s, 2), &ab);
    idx.insert((s, 3), &from);
    assert_eq!(idx.ranges.len(), 2, "equal ranges share one slot");
    let ids = |set: BTreeSet<WatcherKey>| set.into_iter().map(|k| k.1).collect::<Vec<_>>();
    assert_eq!(ids(idx.matching(b"a")), vec![1, 2]);
    assert_eq!(ids(idx.matching(b"b")), vec![0, 1, 2, 3]);
    assert_eq!(ids(idx.matching(b"c")), vec![3]);
    assert!(idx.matching(b"").is_empty());
    for (id, r) in [(0, &one), (1, &ab), (2, &ab), (3, &from)] {
        idx.remove((s, id), r);
    }
    assert!(idx.by_key.is_empty() && idx.ranges.is_empty());
}

/// `--unsafe watch-resume-skip`: a watcher replaying history loses its first
/// event; a watcher from now, and every watcher without the mode, does not.
#[test]
fn the_unsafe_resume_skip_drops_only_a_replaying_watchers_first_event() {
    let run = |unsafe_skip: bool| {
        let (mut ws, s, mut src) = setup(WatchConfig {
            unsafe_skip_first_replayed_event: unsafe_skip,
            ..WatchConfig::default()
        });
        put(&mut ws, &mut src, "a", "1");
        put(&mut ws, &mut src, "a", "2");
        let replay = ws.create(s, &req("a", "", 2), &src).unwrap().unwrap();
        let live = ws.create(s, &req("a", "", 0), &src).unwrap().unwrap();
        ws.sync_unsynced(&src);
        put(&mut ws, &mut src, "a", "3");
        let mut revs: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        for r in poll(&mut ws, s) {
            revs.entry(r.watch_id).or_default().extend(ev_revs(&r));
        }
        (
            revs.get(&replay).cloned().unwrap_or_default(),
            revs.get(&live).cloned().unwrap_or_default(),
        )
    };
    assert_eq!(run(false), (vec![2, 3, 4], vec![4]));
    assert_eq!(run(true), (vec![3, 4], vec![4]));
}
