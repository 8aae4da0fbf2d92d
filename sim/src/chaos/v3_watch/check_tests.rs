//! Hand-made logs, good and bad, for every guarantee of the checker.

use super::*;
use crate::chaos::v3_watch::log::{
    EventKind, EventRecord, KvRecord, ResponseRecord, StartReason, WatchStart, WatcherLog,
    WatcherSpec,
};
use crate::chaos::v3_watch::violation::WatchViolationKind as K;
use crate::chaos::v3_watch::writes::WriteEvent;

/// rev 2: put a=a1; 3: put b=b1; 4: txn put a=a2, delete b; 5: put a=a3;
/// 6: delete a; 7: put b=b2 (lease 9).
fn known() -> KnownWrites {
    let mut k = KnownWrites::new();
    k.insert(2, vec![WriteEvent::put("a", "a1", Some(2), Some(1), 0)]);
    k.insert(3, vec![WriteEvent::put("b", "b1", Some(3), Some(1), 0)]);
    k.insert(
        4,
        vec![
            WriteEvent::put("a", "a2", Some(2), Some(2), 0),
            WriteEvent::delete("b"),
        ],
    );
    k.insert(5, vec![WriteEvent::put("a", "a3", None, None, 0)]);
    k.insert(6, vec![WriteEvent::delete("a")]);
    k.insert(7, vec![WriteEvent::put("b", "b2", Some(7), Some(1), 9)]);
    k
}

fn kv(key: &str, value: &str, create: i64, modr: i64, version: i64, lease: i64) -> KvRecord {
    KvRecord {
        key: key.into(),
        value: value.into(),
        create_revision: create,
        mod_revision: modr,
        version,
        lease,
    }
}

/// The event of the history at `rev` on `key`, with prev_kv when `prev`.
fn ev(rev: i64, key: &str, prev: bool) -> EventRecord {
    let put = |k: KvRecord| (EventKind::Put, k);
    let del = |key: &str| (EventKind::Delete, kv(key, "", 0, rev, 0, 0));
    let (kind, kvr) = match (rev, key) {
        (2, "a") => put(kv("a", "a1", 2, 2, 1, 0)),
        (3, "b") => put(kv("b", "b1", 3, 3, 1, 0)),
        (4, "a") => put(kv("a", "a2", 2, 4, 2, 0)),
        (4, "b") => del("b"),
        (5, "a") => put(kv("a", "a3", 2, 5, 3, 0)),
        (6, "a") => del("a"),
        (7, "b") => put(kv("b", "b2", 7, 7, 1, 9)),
        _ => panic!("no such event"),
    };
    let prev_kv = match (rev, key) {
        (4, "a") => Some(kv("a", "a1", 2, 2, 1, 0)),
        (4, "b") => Some(kv("b", "b1", 3, 3, 1, 0)),
        (5, "a") => Some(kv("a", "a2", 2, 4, 2, 0)),
        (6, "a") => Some(kv("a", "a3", 2, 5, 3, 0)),
        _ => None,
    };
    EventRecord {
        kind,
        kv: kvr,
        prev_kv: if prev { prev_kv } else { None },
    }
}

fn resp(start: usize, events: Vec<EventRecord>) -> ResponseRecord {
    ResponseRecord {
        start,
        header_revision: events.last().map_or(0, |e| e.kv.mod_revision),
        events,
        ..Default::default()
    }
}

fn created(start: usize, rev: i64) -> ResponseRecord {
    ResponseRecord {
        start,
        header_revision: rev,
        created: true,
        ..Default::default()
    }
}

fn progress(start: usize, rev: i64) -> ResponseRecord {
    ResponseRecord {
        start,
        header_revision: rev,
        progress_notify: true,
        ..Default::default()
    }
}

fn start(rev: i64, reason: StartReason) -> WatchStart {
    WatchStart {
        at_ns: 0,
        start_revision: rev,
        reason,
    }
}

fn every_key(prev_kv: bool) -> WatcherSpec {
    WatcherSpec {
        key: String::new(),
        range_end: Some(String::new()),
        start_revision: 2,
        prev_kv,
        ..Default::default()
    }
}

fn watcher(
    id: u64,
    spec: WatcherSpec,
    starts: Vec<WatchStart>,
    r: Vec<ResponseRecord>,
) -> WatcherLog {
    WatcherLog {
        id,
        spec,
        starts,
        responses: r,
        end: "run finished".into(),
    }
}

/// Watches every key from 2 with prev_kv: the whole history, one response per
/// revision.
fn full(prev: bool) -> WatcherLog {
    watcher(
        0,
        every_key(prev),
        vec![start(2, StartReason::Initial)],
        vec![
            resp(0, vec![ev(2, "a", prev)]),
            resp(0, vec![ev(3, "b", prev)]),
            resp(0, vec![ev(4, "a", prev), ev(4, "b", prev)]),
            resp(
                0,
                vec![ev(5, "a", prev), ev(6, "a", prev), ev(7, "b", prev)],
            ),
        ],
    )
}

fn kinds(watchers: Vec<WatcherLog>) -> Vec<K> {
    kinds_with(watchers, &known(), &CheckOptions::default())
}

fn kinds_with(watchers: Vec<WatcherLog>, known: &KnownWrites, opts: &CheckOptions) -> Vec<K> {
    let log = WatchLog { watchers };
    let found = check(&log, known, opts);
    for v in &found {
        eprintln!("{v}");
    }
    let mut k: Vec<K> = found.into_iter().map(|v| v.kind).collect();
    k.sort();
    k.dedup();
    k
}

#[test]
fn complete_watchers_pass() {
    assert_eq!(kinds(vec![full(true)]), vec![]);
    assert_eq!(kinds(vec![full(false)]), vec![]);
    // One key, from now (created at 3), with a progress notification, and a
    // resume from the revision after its last event.
    let a = watcher(
        1,
        WatcherSpec {
            key: "a".into(),
            prev_kv: true,
            progress_requests: true,
            ..Default::default()
        },
        vec![
            start(0, StartReason::Initial),
            start(5, StartReason::Resume),
        ],
        vec![
            created(0, 3),
            resp(0, vec![ev(4, "a", true)]),
            progress(0, 4),
            resp(1, vec![ev(5, "a", true)]),
            resp(1, vec![ev(6, "a", true)]),
        ],
    );
    // Deletes only, from a future revision.
    let deletes = watcher(
        2,
        WatcherSpec {
            range_end: Some(String::new()),
            start_revision: 5,
            filter_put: true,
            ..Default::default()
        },
        vec![start(5, StartReason::Initial)],
        vec![created(0, 3), resp(0, vec![ev(6, "a", false)])],
    );
    // From the future revision 6, told progress at 3, resumed at 6.
    let future = watcher(
        3,
        WatcherSpec {
            key: "a".into(),
            start_revision: 6,
            ..Default::default()
        },
        vec![
            start(6, StartReason::Initial),
            start(6, StartReason::Resume),
        ],
        vec![
            created(0, 3),
            progress(0, 3),
            created(1, 4),
            resp(1, vec![ev(6, "a", false)]),
        ],
    );
    assert_eq!(kinds(vec![full(true), a, deletes, future]), vec![]);
}

#[test]
fn unknown_revisions_are_learned_from_watchers_that_agree() {
    // Revision 8 (a lease expiry, say) is known to no writer.
    let expiry = EventRecord {
        kind: EventKind::Delete,
        kv: kv("b", "", 0, 8, 0, 0),
        prev_kv: None,
    };
    let mut w0 = full(false);
    w0.responses.push(resp(0, vec![expiry.clone()]));
    let mut w1 = full(false);
    w1.id = 1;
    w1.responses.push(resp(0, vec![expiry.clone()]));
    assert_eq!(kinds(vec![w0.clone(), w1.clone()]), vec![]);
    // One says it was a put.
    let mut bad = w1.clone();
    bad.responses.last_mut().unwrap().events[0] = EventRecord {
        kind: EventKind::Put,
        kv: kv("b", "x", 8, 8, 1, 0),
        prev_kv: None,
    };
    assert_eq!(kinds(vec![w0.clone(), bad]), vec![K::Disagreement]);
    // One that covers 8 (its last event is past it) never got it: a gap.
    let mut late = w1;
    late.responses.pop();
    late.responses.push(resp(
        0,
        vec![EventRecord {
            kind: EventKind::Put,
            kv: kv("c", "c1", 9, 9, 1, 0),
            prev_kv: None,
        }],
    ));
    assert_eq!(kinds(vec![w0, late]), vec![K::Gap]);
}

#[test]
fn an_event_that_is_no_committed_write() {
    let mut w = full(false);
    w.responses[1].events[0].kv.value = "zz".into();
    assert_eq!(kinds(vec![w]), vec![K::Uncommitted]);
    let mut w = full(false);
    w.responses[0].events[0].kv.key = "c".into();
    assert_eq!(kinds(vec![w]), vec![K::Gap, K::Uncommitted]);
    // A lease the write did not attach.
    let mut w = full(false);
    w.responses[3].events[2].kv.lease = 0;
    assert_eq!(kinds(vec![w]), vec![K::Uncommitted]);
}

#[test]
fn order_duplicates_and_atomicity() {
    let mut swapped = full(false);
    swapped.responses.swap(0, 1);
    assert_eq!(kinds(vec![swapped]), vec![K::Order]);
    let mut twice = full(false);
    twice.responses.insert(2, resp(0, vec![ev(3, "b", false)]));
    assert_eq!(kinds(vec![twice]), vec![K::Duplicate]);
    // Revision 4's two events in two responses.
    let mut split = full(false);
    split.responses[2] = resp(0, vec![ev(4, "a", false)]);
    split.responses.insert(3, resp(0, vec![ev(4, "b", false)]));
    assert_eq!(kinds(vec![split.clone()]), vec![K::Atomic]);
    // ... unless the first is a fragment.
    split.responses[2].fragment = true;
    assert_eq!(kinds(vec![split]), vec![]);
}

#[test]
fn a_watch_never_sees_what_is_before_its_start() {
    // From the future revision 5, it gets the event at 4.
    let future = watcher(
        0,
        WatcherSpec {
            key: "a".into(),
            start_revision: 5,
            ..Default::default()
        },
        vec![start(5, StartReason::Initial)],
        vec![
            created(0, 3),
            resp(0, vec![ev(4, "a", false)]),
            resp(0, vec![ev(5, "a", false), ev(6, "a", false)]),
        ],
    );
    assert_eq!(kinds(vec![future]), vec![K::BeforeStart]);
    // From now (created at 4): 4 is not its.
    let now = watcher(
        0,
        WatcherSpec {
            key: "a".into(),
            ..Default::default()
        },
        vec![start(0, StartReason::Initial)],
        vec![created(0, 4), resp(0, vec![ev(4, "a", false)])],
    );
    assert_eq!(kinds(vec![now]), vec![K::BeforeStart]);
}

#[test]
fn ranges_and_filters() {
    let mut only_a = full(false);
    only_a.spec = WatcherSpec {
        key: "a".into(),
        start_revision: 2,
        ..Default::default()
    };
    assert_eq!(kinds(vec![only_a]), vec![K::OutOfRange]);
    let mut no_delete = full(false);
    no_delete.spec.filter_delete = true;
    assert_eq!(kinds(vec![no_delete]), vec![K::Filter]);
    // A filtered watcher that drops what it should: fine; one that drops a put
    // it should deliver: a gap.
    let mut no_put = full(false);
    no_put.spec.filter_put = true;
    no_put.responses = vec![
        resp(0, vec![ev(4, "b", false)]),
        resp(0, vec![ev(6, "a", false)]),
    ];
    assert_eq!(kinds(vec![no_put.clone()]), vec![]);
    no_put.spec.filter_put = false;
    assert_eq!(kinds(vec![no_put]), vec![K::Gap]);
}

#[test]
fn prev_kv_is_the_previous_value() {
    let mut stale = full(true);
    stale.responses[3].events[0].prev_kv = Some(kv("a", "a1", 2, 2, 1, 0));
    assert_eq!(kinds(vec![stale]), vec![K::PrevKv]);
    let mut wrong = full(true);
    wrong.responses[3].events[1].prev_kv = Some(kv("a", "a9", 2, 5, 3, 0));
    assert_eq!(kinds(vec![wrong]), vec![K::PrevKv]);
    let mut missing = full(true);
    missing.responses[2].events[1].prev_kv = None;
    assert_eq!(kinds(vec![missing.clone()]), vec![K::PrevKv]);
    // Missing is fine when that history was compacted.
    let opts = CheckOptions {
        compact_revision: 5,
        ..Default::default()
    };
    assert_eq!(kinds_with(vec![missing], &known(), &opts), vec![]);
    let mut on_create = full(true);
    on_create.responses[0].events[0].prev_kv = Some(kv("a", "a0", 1, 1, 1, 0));
    assert_eq!(kinds(vec![on_create]), vec![K::PrevKv]);
    let mut unasked = full(false);
    unasked.responses[2].events[0].prev_kv = Some(kv("a", "a1", 2, 2, 1, 0));
    assert_eq!(kinds(vec![unasked]), vec![K::PrevKv]);
}

#[test]
fn progress_is_a_bookmark() {
    let mut w = full(false);
    w.responses.insert(2, progress(0, 5));
    assert_eq!(kinds(vec![w.clone()]), vec![K::Bookmark]);
    // A requested progress reply is not one under 3.4's rules.
    w.spec.progress_requests = true;
    let lenient = CheckOptions {
        requested_progress_bookmarks: false,
        ..Default::default()
    };
    assert_eq!(kinds_with(vec![w.clone()], &known(), &lenient), vec![]);
    assert_eq!(kinds(vec![w]), vec![K::Bookmark]);
    // A trusted progress at 7 after the event at 4 marks 5..7 as owed.
    let mut cut = full(false);
    cut.responses.truncate(3);
    cut.responses.push(progress(0, 7));
    assert_eq!(kinds(vec![cut]), vec![K::Gap]);
}

#[test]
fn gaps_and_resumes() {
    let mut gap = full(false);
    gap.responses.remove(1);
    assert_eq!(kinds(vec![gap]), vec![K::Gap]);
    // Part of revision 4 missing.
    let mut partial = full(false);
    partial.responses[2].events.pop();
    assert_eq!(kinds(vec![partial]), vec![K::Gap]);
    // A resume from 5 whose first event (5) was skipped.
    let resumed = |events: Vec<ResponseRecord>, from: i64| {
        let mut r = vec![
            resp(0, vec![ev(2, "a", false)]),
            resp(0, vec![ev(3, "b", false)]),
            resp(0, vec![ev(4, "a", false), ev(4, "b", false)]),
        ];
        r.extend(events);
        watcher(
            0,
            every_key(false),
            vec![
                start(2, StartReason::Initial),
                start(from, StartReason::Resume),
            ],
            r,
        )
    };
    let good = resumed(
        vec![resp(
            1,
            vec![ev(5, "a", false), ev(6, "a", false), ev(7, "b", false)],
        )],
        5,
    );
    assert_eq!(kinds(vec![good]), vec![]);
    let skipped = resumed(vec![resp(1, vec![ev(6, "a", false), ev(7, "b", false)])], 5);
    assert_eq!(kinds(vec![skipped]), vec![K::ResumeGap]);
    // The watcher itself resumed too far.
    let too_far = resumed(vec![resp(1, vec![ev(6, "a", false), ev(7, "b", false)])], 6);
    assert_eq!(kinds(vec![too_far]), vec![K::ResumePoint]);
    // Resumed too early: the server repeats an event.
    let early = resumed(vec![resp(1, vec![ev(4, "a", false), ev(4, "b", false)])], 4);
    assert_eq!(kinds(vec![early]), vec![K::Duplicate]);
}

#[test]
fn a_compaction_excuses_only_what_it_removed() {
    // Cancelled at compaction 6 after revision 3; restarted at 6.
    let w = watcher(
        0,
        every_key(false),
        vec![
            start(2, StartReason::Initial),
            start(6, StartReason::AfterCompaction),
        ],
        vec![
            resp(0, vec![ev(2, "a", false)]),
            resp(0, vec![ev(3, "b", false)]),
            ResponseRecord {
                start: 0,
                compact_revision: 6,
                canceled: true,
                ..Default::default()
            },
            resp(1, vec![ev(6, "a", false), ev(7, "b", false)]),
        ],
    );
    assert_eq!(kinds(vec![w.clone()]), vec![]);
    // Before the compaction, its own events must still be complete.
    let mut holed = w;
    holed.responses.remove(0);
    holed.responses.insert(
        0,
        resp(
            0,
            vec![EventRecord {
                kind: EventKind::Put,
                kv: kv("c", "c1", 1, 1, 1, 0),
                prev_kv: None,
            }],
        ),
    );
    let mut k = known();
    k.insert(1, vec![WriteEvent::put("c", "c1", Some(1), Some(1), 0)]);
    let opts = CheckOptions::default();
    let mut holed_spec = holed.clone();
    holed_spec.spec.start_revision = 1;
    holed_spec.starts[0].start_revision = 1;
    assert_eq!(kinds_with(vec![holed_spec], &k, &opts), vec![K::Gap]);
}

#[test]
fn a_delete_at_the_compaction_revision_is_not_owed_to_a_start_there() {
    // Revision 6 deletes a; compacted at 6, the tombstone is gone: a watcher
    // restarted at 6 sees 7 only. Owed while no compaction reached 6.
    let w = watcher(
        0,
        every_key(false),
        vec![
            start(2, StartReason::Initial),
            start(6, StartReason::AfterCompaction),
        ],
        vec![
            resp(0, vec![ev(2, "a", false)]),
            resp(0, vec![ev(3, "b", false)]),
            resp(0, vec![ev(4, "a", false), ev(4, "b", false)]),
            resp(0, vec![ev(5, "a", false)]),
            ResponseRecord {
                start: 0,
                compact_revision: 6,
                canceled: true,
                ..Default::default()
            },
            resp(1, vec![ev(7, "b", false)]),
        ],
    );
    let compacted = CheckOptions {
        compact_revision: 6,
        ..CheckOptions::default()
    };
    assert_eq!(kinds_with(vec![w.clone()], &known(), &compacted), vec![]);
    let earlier = CheckOptions {
        compact_revision: 5,
        ..CheckOptions::default()
    };
    assert_eq!(kinds_with(vec![w], &known(), &earlier), vec![K::ResumeGap]);
}
