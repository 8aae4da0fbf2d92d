//! Watchers: live notification rules, streams, buffers, and watches that start in
//! the history.

use super::helpers::*;
use crate::store::v2::{HISTORY_CAPACITY, Store, TtlOptions, WATCHER_BUFFER};
use etcd_sdk::wire::{Action, ErrorCode};

const P: TtlOptions = TtlOptions {
    expire_time: None,
    refresh: false,
};

type Op = Box<dyn Fn(&mut Store)>;

fn keys(events: &[etcd_sdk::wire::Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.node.as_ref().unwrap().key.clone())
        .collect()
}

#[test]
fn one_shot_watch_gets_one_event_then_closes() {
    let mut s = plain();
    let mut w = s.watch("/foo", false, false, 0).unwrap();
    assert_eq!(
        (w.start_index(), s.watcher_count(), s.stats().watchers),
        (0, 1, 1)
    );
    assert!(w.is_registered());
    assert_eq!(drain(&mut w), (vec![], false));
    s.create("/foo", false, "bar", false, None, t0()).unwrap();
    set(&mut s, "/foo", "again");
    let (events, closed) = drain(&mut w);
    assert_eq!(summary(&events), [(Action::Create, "/foo".to_string(), 1)]);
    assert!(closed, "a one-shot watcher is removed after its event");
    assert_eq!(s.watcher_count(), 0);
    assert!(!w.is_registered());
}

#[test]
fn every_action_wakes_a_watch_on_the_key() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let cases: Vec<(Action, Op)> = vec![
        (
            Action::Update,
            Box::new(|s| drop(s.update("/foo", "b2", P, t0()).unwrap())),
        ),
        (
            Action::CompareAndSwap,
            Box::new(|s| drop(s.compare_and_swap("/foo", "b2", 0, "b3", P, t0()).unwrap())),
        ),
        (
            Action::Set,
            Box::new(|s| drop(s.set("/foo", false, "b4", P, t0()).unwrap())),
        ),
        (
            Action::CompareAndDelete,
            Box::new(|s| drop(s.compare_and_delete("/foo", "b4", 0, t0()).unwrap())),
        ),
        (
            Action::Create,
            Box::new(|s| drop(s.create("/foo", false, "x", false, None, t0()).unwrap())),
        ),
        (
            Action::Delete,
            Box::new(|s| drop(s.delete("/foo", false, false, t0()).unwrap())),
        ),
        (
            Action::Set,
            Box::new(|s| {
                drop(
                    s.set("/foo", false, "t", TtlOptions::expires_at(at_ms(10)), t0())
                        .unwrap(),
                )
            }),
        ),
        (
            Action::Expire,
            Box::new(|s| assert_eq!(s.delete_expired(at_ms(10)).len(), 1)),
        ),
    ];
    for (action, op) in cases {
        let mut w = s.watch("/foo", false, false, 0).unwrap();
        op(&mut s);
        let (events, closed) = drain(&mut w);
        assert_eq!(events.len(), 1, "{action}: exactly one event");
        assert_eq!((events[0].action, closed), (action, true));
        assert_eq!(events[0].node.as_ref().unwrap().modified_index, s.index());
    }
    assert_eq!(s.watcher_count(), 0);
}

#[test]
fn recursive_watches_see_descendants_only_when_recursive() {
    let mut s = plain();
    let mut flat = s.watch("/foo", false, false, 0).unwrap();
    let mut deep = s.watch("/foo", true, false, 0).unwrap();
    set(&mut s, "/foo/bar/baz", "1");
    assert_eq!(
        drain(&mut flat),
        (vec![], false),
        "a child event does not wake a non-recursive watch"
    );
    let (events, closed) = drain(&mut deep);
    assert_eq!(
        (keys(&events), closed),
        (vec!["/foo/bar/baz".to_string()], true)
    );
    // The root watches everything below it.
    let mut all = s.watch("/", true, false, 0).unwrap();
    set(&mut s, "/x", "1");
    assert_eq!(keys(&drain(&mut all).0), ["/x"]);
    assert_eq!(s.watcher_count(), 1, "only the non-recursive watch is left");
}

#[test]
fn hidden_keys_wake_only_watchers_at_or_below_the_hidden_element() {
    let mut s = plain();
    // A watch on the hidden key itself is notified.
    let mut own = s.watch("/_foo", false, false, 0).unwrap();
    s.create("/_foo", false, "x", false, None, t0()).unwrap();
    assert_eq!(keys(&drain(&mut own).0), ["/_foo"]);

    // Recursive watchers above the hidden element are not.
    let mut above = s.watch("/foo", true, false, 0).unwrap();
    s.create("/foo/_bar", false, "x", false, None, t0())
        .unwrap();
    s.create("/foo/_baz/quux", false, "x", false, None, t0())
        .unwrap();
    s.update("/foo/_bar", "y", P, t0()).unwrap();
    s.delete("/foo/_bar", false, false, t0()).unwrap();
    assert_eq!(drain(&mut above), (vec![], false));
    s.create("/foo/visible", false, "x", false, None, t0())
        .unwrap();
    assert_eq!(keys(&drain(&mut above).0), ["/foo/visible"]);

    // A watch below the hidden element sees events deeper down.
    let mut below = s.watch("/_foo2/bar", true, false, 0).unwrap();
    s.create("/_foo2/bar/baz", false, "x", false, None, t0())
        .unwrap();
    assert_eq!(keys(&drain(&mut below).0), ["/_foo2/bar/baz"]);

    // Hidden expiry as well.
    let mut above = s.watch("/e", true, false, 0).unwrap();
    s.set("/e/_t", false, "x", TtlOptions::expires_at(at_ms(1)), t0())
        .unwrap();
    s.delete_expired(at_ms(1));
    assert_eq!(drain(&mut above), (vec![], false));
}

#[test]
fn parent_delete_wakes_existing_children_but_not_missing_ones() {
    let mut s = plain();
    set(&mut s, "/d/a", "1");
    set(&mut s, "/d/sub/b", "2");
    set(&mut s, "/d/_h", "3");
    let mut on_a = s.watch("/d/a", false, false, 0).unwrap();
    let mut on_b = s.watch("/d/sub/b", false, false, 0).unwrap();
    let mut on_hidden = s.watch("/d/_h", false, false, 0).unwrap();
    let mut on_missing = s.watch("/d/missing", false, false, 0).unwrap();
    let mut on_sibling = s.watch("/dd", true, false, 0).unwrap();
    let del = s.delete("/d", true, true, t0()).unwrap();
    for w in [&mut on_a, &mut on_b, &mut on_hidden] {
        let (events, closed) = drain(w);
        assert_eq!(summary(&events), [(Action::Delete, "/d".to_string(), 4)]);
        assert!(closed);
    }
    assert_eq!(
        drain(&mut on_missing),
        (vec![], false),
        "etcd does not wake a watch on a missing child"
    );
    assert_eq!(drain(&mut on_sibling), (vec![], false));
    // ... although a watch from the history would match it.
    let mut late = s.watch("/d/missing", false, false, del.etcd_index).unwrap();
    assert_eq!(
        summary(&drain(&mut late).0),
        [(Action::Delete, "/d".to_string(), 4)]
    );

    // Expiry of a directory wakes its children's watchers too.
    s.set("/t", true, "", TtlOptions::expires_at(at_ms(5)), t0())
        .unwrap();
    set(&mut s, "/t/c", "1");
    let mut on_c = s.watch("/t/c", false, false, 0).unwrap();
    s.delete_expired(at_ms(5));
    assert_eq!(
        summary(&drain(&mut on_c).0),
        [(Action::Expire, "/t".to_string(), 7)]
    );
}

#[test]
fn stream_watchers_get_every_event_once() {
    let mut s = plain();
    let mut w = s.watch("/sdir", true, true, 0).unwrap();
    set(&mut s, "/sdir/a", "1");
    set(&mut s, "/sdir/b", "2");
    set(&mut s, "/sdir/c", "3");
    set(&mut s, "/sdir/_h", "hidden");
    set(&mut s, "/elsewhere", "x");
    s.delete("/sdir", true, true, t0()).unwrap();
    let (events, closed) = drain(&mut w);
    assert_eq!(
        summary(&events),
        [
            (Action::Set, "/sdir/a".to_string(), 1),
            (Action::Set, "/sdir/b".to_string(), 2),
            (Action::Set, "/sdir/c".to_string(), 3),
            (Action::Delete, "/sdir".to_string(), 6),
        ],
        "no hidden event, and the recursive delete once (etcd sends it twice)"
    );
    assert!(!closed);
    assert_eq!(s.watcher_count(), 1, "a stream stays registered");

    // A stream on a file also gets its delete once.
    set(&mut s, "/f", "1");
    let mut wf = s.watch("/f", false, true, 0).unwrap();
    s.compare_and_delete("/f", "1", 0, t0()).unwrap();
    set(&mut s, "/f", "2");
    s.delete("/f", false, false, t0()).unwrap();
    let acts: Vec<Action> = drain(&mut wf).0.iter().map(|e| e.action).collect();
    assert_eq!(
        acts,
        [Action::CompareAndDelete, Action::Set, Action::Delete]
    );
    drop(wf);
    drop(w);
    assert_eq!(s.watcher_count(), 0, "dropping a watcher unregisters it");
}

#[test]
fn a_full_buffer_drops_the_watcher() {
    let mut s = plain();
    let mut w = s.watch("/foo", false, true, 0).unwrap();
    for i in 0..WATCHER_BUFFER {
        set(&mut s, "/foo", &i.to_string());
    }
    assert_eq!(s.watcher_count(), 1, "100 events fit");
    set(&mut s, "/foo", "overflow");
    assert_eq!(s.watcher_count(), 0, "the 101st drops the watcher");
    set(&mut s, "/foo", "after");
    let (events, closed) = drain(&mut w);
    assert_eq!((events.len(), closed), (WATCHER_BUFFER, true));
    assert_eq!(events[99].node.as_ref().unwrap().modified_index, 100);
}

#[test]
fn refresh_wakes_nobody() {
    let mut s = plain();
    s.set("/rk", false, "v", TtlOptions::expires_at(at_ms(1000)), t0())
        .unwrap();
    let mut w = s.watch("/rk", false, false, 0).unwrap();
    s.set(
        "/rk",
        false,
        "",
        TtlOptions::refresh_to(at_ms(50_000)),
        t0(),
    )
    .unwrap();
    s.update("/rk", "", TtlOptions::refresh_to(at_ms(60_000)), t0())
        .unwrap();
    assert_eq!(drain(&mut w), (vec![], false));
    // A watch from the refresh's index skips it in the history and waits.
    let mut from_refresh = s.watch("/rk", false, false, 2).unwrap();
    assert!(from_refresh.is_registered());
    s.delete_expired(at_ms(60_000));
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Expire, "/rk".to_string(), 4)]
    );
    assert_eq!(
        summary(&drain(&mut from_refresh).0),
        [(Action::Expire, "/rk".to_string(), 4)]
    );
}

#[test]
fn live_events_older_than_since_are_skipped() {
    let mut s = plain();
    let mut w = s.watch("/k", false, false, 3).unwrap();
    set(&mut s, "/k", "1");
    set(&mut s, "/k", "2");
    assert_eq!(drain(&mut w), (vec![], false));
    set(&mut s, "/k", "3");
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Set, "/k".to_string(), 3)]
    );
}

#[test]
fn watches_from_the_history() {
    let mut s = plain();
    set(&mut s, "/a", "1");
    set(&mut s, "/_hid/a", "2");
    set(&mut s, "/a", "3");
    // The first matching event at or after the index, at once, without registering.
    let mut w = s.watch("/a", false, false, 2).unwrap();
    assert_eq!(w.start_index(), 3);
    assert!(!w.is_registered());
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Set, "/a".to_string(), 3)]
    );
    assert_eq!(s.watcher_count(), 0);
    // The history scan does not filter hidden keys.
    let mut root = s.watch("/", true, false, 2).unwrap();
    assert_eq!(keys(&drain(&mut root).0), ["/_hid/a"]);
    // A future index registers.
    let w = s.watch("/a", false, false, 4).unwrap();
    assert!(w.is_registered());
}

#[test]
fn history_directory_delete_matches_by_string_prefix() {
    let mut s = plain();
    set(&mut s, "/d1/c", "x");
    set(&mut s, "/d10", "y");
    s.delete("/d1", true, true, t0()).unwrap();
    let mut w = s.watch("/d10", false, false, 3).unwrap();
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Delete, "/d1".to_string(), 3)],
        "etcd's prefix quirk"
    );
    let mut w = s.watch("/d1", true, false, 1).unwrap();
    assert_eq!(keys(&drain(&mut w).0), ["/d1/c"]);
}

#[test]
fn stream_from_history_continues_live() {
    let mut s = plain();
    set(&mut s, "/k", "1");
    set(&mut s, "/other", "x");
    set(&mut s, "/k", "2");
    let mut w = s.watch("/k", false, true, 1).unwrap();
    assert!(w.is_registered());
    set(&mut s, "/k", "3");
    let (events, closed) = drain(&mut w);
    assert_eq!(
        summary(&events),
        [
            (Action::Set, "/k".to_string(), 1),
            (Action::Set, "/k".to_string(), 3),
            (Action::Set, "/k".to_string(), 4)
        ]
    );
    assert!(!closed);
    // More history than the buffer: the stream overflows at once.
    for i in 0..WATCHER_BUFFER {
        set(&mut s, "/k", &i.to_string());
    }
    let mut w = s.watch("/k", false, true, 1).unwrap();
    let (events, closed) = drain(&mut w);
    assert_eq!((events.len(), closed), (WATCHER_BUFFER, true));
}

#[test]
fn history_window_is_1000_events() {
    let mut s = plain();
    for i in 0..1051 {
        set(&mut s, "/hist", &i.to_string());
    }
    assert_eq!(s.history_range(), (52, 1051));
    assert_eq!(HISTORY_CAPACITY, 1000);
    for old in [10, 46, 51] {
        let e = s.watch("/hist", false, false, old).unwrap_err();
        assert_eq!(e.code, ErrorCode::EVENT_INDEX_CLEARED);
        assert_eq!(
            e.cause,
            format!("the requested history has been cleared [52/{old}]")
        );
        assert_eq!(e.index, 1051);
    }
    let mut w = s.watch("/hist", false, false, 52).unwrap();
    assert_eq!(drain(&mut w).0[0].node.as_ref().unwrap().modified_index, 52);
}

#[test]
fn other_namespaces_never_match_keys_watches() {
    let mut s = Store::new();
    let mut w = s.watch("/1", true, true, 0).unwrap();
    set(&mut s, "/0/members/1/attributes", "{}");
    s.create("/2", true, "", false, None, t0()).unwrap();
    assert_eq!(drain(&mut w), (vec![], false));
    set(&mut s, "/1/k", "v");
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Set, "/1/k".to_string(), 3)]
    );
    // The history keeps them all.
    assert_eq!(s.history_range(), (1, 3));
}

#[test]
fn watchers_at_one_path_are_all_notified() {
    let mut s = plain();
    let mut ws: Vec<_> = (0..3)
        .map(|_| s.watch("/k", false, false, 0).unwrap())
        .collect();
    assert_eq!(s.stats().watchers, 3);
    set(&mut s, "/k", "v");
    for w in &mut ws {
        assert_eq!(drain(w).0.len(), 1);
    }
    assert_eq!(s.stats().watchers, 0);
}

#[test]
fn dropping_the_store_closes_watchers() {
    let mut s = plain();
    let mut w = s.watch("/k", true, true, 0).unwrap();
    set(&mut s, "/k", "v");
    drop(s);
    let (events, closed) = drain(&mut w);
    assert_eq!((events.len(), closed), (1, true));
}

#[test]
fn recv_works_without_a_runtime_and_handles_are_send() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<crate::store::v2::Watcher>();

    let mut s = plain();
    let mut w = s.watch("/k", false, false, 0).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut fut = std::pin::pin!(w.recv());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    set(&mut s, "/k", "v");
    {
        let mut fut = std::pin::pin!(w.recv());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(Some(e)) => assert_eq!(e.action, Action::Set),
            other => panic!("expected the event, got {other:?}"),
        }
    }
    let mut fut = std::pin::pin!(w.recv());
    assert_eq!(
        fut.as_mut().poll(&mut cx),
        Poll::Ready(None),
        "closed after the one event"
    );
}
