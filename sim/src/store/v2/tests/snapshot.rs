//! Snapshots and determinism: the same commands give the same state, and a
//! recovered store behaves exactly like the original.

use super::helpers::*;
use crate::store::v2::{SnapshotError, Store, TtlOptions};
use etcd_sdk::wire::{Action, Event};

/// A workload touching every operation, namespace, TTLs and hidden keys.
fn workload(s: &mut Store) {
    set(s, "/0/members/a/raftAttributes", "{}");
    set(s, "/1/foo", "bar");
    s.set(
        "/1/ttl",
        false,
        "t",
        TtlOptions::expires_at(at_ms(2000)),
        t0(),
    )
    .unwrap();
    s.set(
        "/1/dir",
        true,
        "",
        TtlOptions::expires_at(at_ms(4000)),
        t0(),
    )
    .unwrap();
    set(s, "/1/dir/child", "c");
    set(s, "/1/_hidden/x", "h");
    s.create("/1/queue", false, "job", true, None, t0())
        .unwrap();
    s.update("/1/foo", "baz", TtlOptions::permanent(), t0())
        .unwrap();
    s.compare_and_swap("/1/foo", "baz", 0, "qux", TtlOptions::permanent(), t0())
        .unwrap();
    s.set(
        "/1/ttl",
        false,
        "",
        TtlOptions::refresh_to(at_ms(3000)),
        t0(),
    )
    .unwrap();
    s.create("/2", true, "", false, None, t0()).unwrap();
    set(s, "/2/enabled", "false");
    set(s, "/1/gone", "x");
    s.compare_and_delete("/1/gone", "x", 0, t0()).unwrap();
    let _ = s.get("/1/nope", false, t0());
    let _ = s.compare_and_swap("/1/foo", "wrong", 0, "x", TtlOptions::permanent(), t0());
}

fn listing(s: &mut Store) -> Event {
    s.get("/", true, at_ms(1000)).unwrap().event
}

#[test]
fn same_commands_same_state() {
    let (mut a, mut b) = (Store::new(), Store::new());
    workload(&mut a);
    workload(&mut b);
    assert_eq!(a.save(), b.save());
    assert_eq!(a.delete_expired(at_ms(5000)), b.delete_expired(at_ms(5000)));
    assert_eq!(a.save(), b.save());
}

#[test]
fn recovered_store_behaves_like_the_original() {
    let mut a = Store::new();
    workload(&mut a);
    let bytes = a.save();
    let mut b = Store::new();
    b.recover(&bytes).unwrap();
    assert_eq!(b.index(), a.index());
    assert_eq!(b.history_range(), a.history_range());
    assert_eq!(b.stats(), a.stats());
    assert_eq!(b.next_expiration(), a.next_expiration());
    assert_eq!(listing(&mut b), listing(&mut a));
    assert_eq!(b.save(), a.save(), "save(recover(x)) == x");

    // Watches from the history answer the same on both.
    for since in 1..=a.index() {
        let mut wa = a.watch("/1", true, false, since).unwrap();
        let mut wb = b.watch("/1", true, false, since).unwrap();
        assert_eq!(drain(&mut wa).0, drain(&mut wb).0, "since {since}");
    }
    // TTL nodes expire identically after recovery.
    let ea = a.delete_expired(at_ms(5000));
    let eb = b.delete_expired(at_ms(5000));
    assert_eq!(ea.len(), 2);
    assert!(ea.iter().all(|e| e.action == Action::Expire));
    assert_eq!(ea, eb);
    // And later writes too.
    assert_eq!(set(&mut a, "/1/after", "x"), set(&mut b, "/1/after", "x"));
}

#[test]
fn recovery_keeps_watchers_and_rejects_garbage() {
    let mut donor = Store::new();
    workload(&mut donor);
    let mut s = Store::new();
    let mut w = s.watch("/1/foo", false, false, 0).unwrap();
    s.recover(&donor.save()).unwrap();
    assert_eq!(s.watcher_count(), 1);
    set(&mut s, "/1/foo", "new");
    assert_eq!(
        summary(&drain(&mut w).0),
        [(Action::Set, "/1/foo".to_string(), donor.index() + 1)]
    );

    let before = s.save();
    assert!(matches!(
        s.recover(b"not json"),
        Err(SnapshotError::Decode(_))
    ));
    let bad = String::from_utf8(before.clone())
        .unwrap()
        .replace("\"path\":\"/\"", "\"path\":\"/x\"");
    assert!(matches!(
        s.recover(bad.as_bytes()),
        Err(SnapshotError::Invalid(_))
    ));
    assert_eq!(s.save(), before, "a failed recovery changes nothing");
}

#[test]
fn deep_trees_round_trip() {
    let mut s = Store::new();
    let deep: String = (0..300).map(|i| format!("/d{i}")).collect();
    set(&mut s, &format!("/1{deep}/leaf"), "v");
    let mut r = Store::new();
    r.recover(&s.save()).unwrap();
    assert_eq!(value(&mut r, &format!("/1{deep}/leaf")), "v");
}
