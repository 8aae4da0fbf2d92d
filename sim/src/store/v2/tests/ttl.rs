//! TTLs: display, expiry sweeps, refresh, and how each write treats an existing TTL.

use super::helpers::*;
use crate::store::v2::{TtlOptions, min_expire_time};
use etcd_sdk::wire::{Action, ErrorCode};
use std::time::Duration;

fn ttl(ms: u64) -> TtlOptions {
    TtlOptions::expires_at(at_ms(ms))
}

#[test]
fn ttl_is_shown_rounded_up_until_the_sweep() {
    let mut s = plain();
    let r = s.set("/foo", false, "bar", ttl(5000), t0()).unwrap();
    assert_eq!((node(&r).expiration, node(&r).ttl), (Some(at_ms(5000)), 5));
    assert_eq!(s.next_expiration(), Some(at_ms(5000)));
    assert!(s.has_ttl_keys());
    for (now_ms, want) in [
        (500, 5),
        (4200, 1),
        (4999, 1),
        (5000, 0),
        (5300, 0),
        (6500, -1),
    ] {
        let g = s.get("/foo", false, at_ms(now_ms)).unwrap();
        assert_eq!(node(&g).ttl, want, "at +{now_ms} ms");
        assert_eq!(node(&g).expiration, Some(at_ms(5000)));
    }
    // Nothing expires before the cutoff reaches the expiration.
    assert!(s.delete_expired(at_ms(4999)).is_empty());
    assert_eq!(s.index(), 1);
    let evs = s.delete_expired(at_ms(5000));
    assert_eq!(summary(&evs), [(Action::Expire, "/foo".to_string(), 2)]);
    let prev = evs[0].prev_node.as_ref().unwrap();
    assert_eq!(
        (prev.value.as_deref(), prev.expiration, prev.ttl),
        (Some("bar"), Some(at_ms(5000)), 0)
    );
    assert_eq!(evs[0].node.as_ref().unwrap().created_index, 1);
    assert_eq!(s.index(), 2);
    assert!(!s.has_ttl_keys());
    assert_err(
        s.get("/foo", false, at_ms(5000)),
        ErrorCode::KEY_NOT_FOUND,
        "/foo",
        2,
    );
    assert_eq!(s.stats().expire_count, 1);
}

#[test]
fn zero_ttl_shows_expiration_without_ttl() {
    let mut s = plain();
    let r = s
        .set("/z0", false, "v", TtlOptions::expires_at(t0()), t0())
        .unwrap();
    assert_eq!((node(&r).expiration, node(&r).ttl), (Some(t0()), 0));
    assert_eq!(s.delete_expired(at_ms(500)).len(), 1);
}

#[test]
fn each_expired_node_is_its_own_event_in_time_then_path_order() {
    let mut s = plain();
    s.set("/c", false, "3", ttl(3000), t0()).unwrap();
    s.set("/b", false, "2", ttl(1000), t0()).unwrap();
    s.set("/a", false, "1", ttl(1000), t0()).unwrap();
    s.set("/keep", false, "k", ttl(9000), t0()).unwrap();
    let evs = s.delete_expired(at_ms(3000));
    assert_eq!(
        summary(&evs),
        [
            (Action::Expire, "/a".to_string(), 5),
            (Action::Expire, "/b".to_string(), 6),
            (Action::Expire, "/c".to_string(), 7)
        ]
    );
    assert_eq!(s.index(), 7);
    assert_eq!(value(&mut s, "/keep"), "k");
}

#[test]
fn set_update_and_cas_replace_the_ttl() {
    let mut s = plain();
    s.set("/foo", false, "bar", ttl(1000), t0()).unwrap();
    // Set without a TTL makes a new, permanent node.
    let r = s
        .set("/foo", false, "bar", TtlOptions::permanent(), t0())
        .unwrap();
    assert_eq!((node(&r).expiration, node(&r).ttl), (None, 0));
    assert_eq!(
        r.event.prev_node.as_ref().unwrap().expiration,
        Some(at_ms(1000))
    );
    assert!(!s.has_ttl_keys());

    // Update without a TTL removes it; with one, moves it.
    s.update("/foo", "v1", ttl(1000), t0()).unwrap();
    let r = s.update("/foo", "v2", ttl(8000), t0()).unwrap();
    assert_eq!(node(&r).ttl, 8);
    assert!(
        s.delete_expired(at_ms(1000)).is_empty(),
        "the old expiration is gone"
    );
    let r = s
        .update("/foo", "v3", TtlOptions::permanent(), t0())
        .unwrap();
    assert_eq!(node(&r).expiration, None);
    assert!(!s.has_ttl_keys());

    // compareAndSwap likewise.
    s.compare_and_swap("/foo", "v3", 0, "v4", ttl(2000), t0())
        .unwrap();
    assert_eq!(s.next_expiration(), Some(at_ms(2000)));
    let r = s
        .compare_and_swap("/foo", "v4", 0, "v5", TtlOptions::permanent(), t0())
        .unwrap();
    assert_eq!(node(&r).expiration, None);
    assert!(s.delete_expired(at_ms(60_000)).is_empty());
    assert_eq!(value(&mut s, "/foo"), "v5");
}

#[test]
fn directory_ttl_expires_the_subtree_in_one_event() {
    let mut s = plain();
    let r = s.set("/edir", true, "", ttl(2000), t0()).unwrap();
    assert_eq!((node(&r).dir, node(&r).ttl), (true, 2));
    s.set("/edir/child", false, "c", TtlOptions::permanent(), t0())
        .unwrap();
    s.set("/edir/later", false, "l", ttl(10_000), t0()).unwrap();
    let g = s.get("/edir", false, at_ms(1000)).unwrap();
    assert_eq!(node(&g).ttl, 1);
    let evs = s.delete_expired(at_ms(2000));
    assert_eq!(summary(&evs), [(Action::Expire, "/edir".to_string(), 4)]);
    assert!(evs[0].node.as_ref().unwrap().dir);
    assert!(evs[0].prev_node.as_ref().unwrap().dir);
    assert!(!s.has_ttl_keys(), "the child's TTL went with the directory");
    assert!(s.delete_expired(at_ms(20_000)).is_empty());
    assert_eq!(s.index(), 4);

    // A TTL set later on an existing directory through update.
    s.set("/d2", true, "", TtlOptions::permanent(), t0())
        .unwrap();
    s.update("/d2", "", ttl(100), t0()).unwrap();
    assert_eq!(s.delete_expired(at_ms(100)).len(), 1);
}

#[test]
fn a_deleted_node_leaves_the_ttl_index() {
    let mut s = plain();
    s.set("/d/a", false, "1", ttl(1000), t0()).unwrap();
    s.set("/f", false, "1", ttl(1000), t0()).unwrap();
    s.delete("/d", true, true, t0()).unwrap();
    s.compare_and_delete("/f", "1", 0, t0()).unwrap();
    assert!(!s.has_ttl_keys());
    assert!(s.delete_expired(at_ms(5000)).is_empty());
}

#[test]
fn refresh_keeps_the_value_and_moves_the_expiration() {
    let mut s = plain();
    s.set("/rk", false, "v", ttl(1000), t0()).unwrap();
    // Set path: the node is recreated (new createdIndex), value kept.
    let r = s
        .set(
            "/rk",
            false,
            "",
            TtlOptions::refresh_to(at_ms(60_000)),
            t0(),
        )
        .unwrap();
    assert_eq!(r.event.action, Action::Set);
    assert_eq!(
        (
            node(&r).value.as_deref(),
            node(&r).created_index,
            node(&r).ttl
        ),
        (Some("v"), 2, 60)
    );
    assert!(s.delete_expired(at_ms(1000)).is_empty());
    // Update path: createdIndex kept, modifiedIndex moves.
    let r = s
        .update("/rk", "", TtlOptions::refresh_to(at_ms(20_000)), t0())
        .unwrap();
    assert_eq!(
        (r.event.action, node(&r).value.as_deref()),
        (Action::Update, Some("v"))
    );
    assert_eq!(
        (
            node(&r).modified_index,
            node(&r).created_index,
            node(&r).ttl
        ),
        (3, 2, 20)
    );
    // compareAndSwap path.
    let r = s
        .compare_and_swap(
            "/rk",
            "v",
            0,
            "",
            TtlOptions::refresh_to(at_ms(30_000)),
            t0(),
        )
        .unwrap();
    assert_eq!(
        (
            node(&r).value.as_deref(),
            node(&r).modified_index,
            node(&r).ttl
        ),
        (Some("v"), 4, 30)
    );
    assert_eq!(s.index(), 4);
    assert_eq!(
        s.history_range(),
        (1, 4),
        "refreshes take an index and a history slot"
    );
    // Refresh of a missing key fails with 100.
    assert_err(
        s.set(
            "/missing",
            false,
            "",
            TtlOptions::refresh_to(at_ms(1000)),
            t0(),
        ),
        ErrorCode::KEY_NOT_FOUND,
        "/missing",
        4,
    );
    assert_err(
        s.update("/missing", "", TtlOptions::refresh_to(at_ms(1000)), t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/missing",
        4,
    );
}

#[test]
fn expirations_before_2000_mean_permanent_for_set_and_create() {
    let mut s = plain();
    let ancient = min_expire_time() - Duration::from_secs(1);
    let r = s
        .set("/a", false, "v", TtlOptions::expires_at(ancient), t0())
        .unwrap();
    assert_eq!(node(&r).expiration, None);
    let r = s
        .create("/b", false, "v", false, Some(ancient), t0())
        .unwrap();
    assert_eq!(node(&r).expiration, None);
    let r = s
        .create("/c", false, "v", false, Some(min_expire_time()), t0())
        .unwrap();
    assert_eq!(
        node(&r).expiration,
        Some(min_expire_time()),
        "2000-01-01 itself is kept"
    );
    // Update has no such guard (as in etcd): the node expires at the next sweep.
    s.update("/a", "v", TtlOptions::expires_at(ancient), t0())
        .unwrap();
    let evs = s.delete_expired(t0());
    // Earliest first: 1999-12-31T23:59:59Z, then 2000-01-01.
    assert_eq!(
        summary(&evs),
        [
            (Action::Expire, "/a".to_string(), 5),
            (Action::Expire, "/c".to_string(), 6)
        ]
    );
}
