//! A key as deep as a user can make it (20,000 levels, as one PUT of a 40 KB URL
//! made it) must not take the store down: recursive delete, recursive get, snapshot
//! and recovery, and dropping the tree all run on a normal 2 MiB thread stack.
//! Before these walks were iterative, each of them overflowed that stack.

use super::helpers::{assert_err, plain, t0};
use crate::store::v2::{Store, TtlOptions, drop_wire_node};
use etcd_sdk::wire::{Action, ErrorCode, Node};

/// Levels below `/deep`.
const DEPTH: usize = 20_000;

/// The stack a test thread (and a tokio worker) gets by default.
const STACK: usize = 2 << 20;

/// Runs `f` on a thread with a 2 MiB stack, whatever RUST_MIN_STACK says.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn a test thread")
        .join()
        .expect("the deep walk finished on a 2 MiB stack");
}

/// `/deep/d/d/…/d`, `DEPTH` levels below `/deep`.
fn deep_key() -> String {
    let mut key = String::from("/deep");
    for _ in 0..DEPTH {
        key.push_str("/d");
    }
    key
}

/// A store holding one file at the bottom of a `DEPTH`-level chain, with a TTL
/// halfway down (so the TTL index has an entry inside the subtree).
fn deep_store() -> (Store, String) {
    let mut s = plain();
    let key = deep_key();
    s.set(&key, false, "bottom", TtlOptions::permanent(), t0())
        .expect("a deep set");
    let half = &key[..key.len() / 2];
    let at = t0() + std::time::Duration::from_secs(3600);
    s.update(half, "", TtlOptions::expires_at(at), t0())
        .expect("a TTL on a directory halfway down");
    assert!(s.has_ttl_keys());
    (s, key)
}

/// Depth of a wire node (the node itself is level 0), without recursion.
fn depth_and_deepest_key(node: &Node) -> (usize, String) {
    let (mut depth, mut cur) = (0, node);
    while let Some(child) = cur.nodes.first() {
        depth += 1;
        cur = child;
    }
    (depth, cur.key.clone())
}

#[test]
fn deep_recursive_delete() {
    on_small_stack(|| {
        let (mut s, key) = deep_store();
        let r = s
            .delete("/deep", true, true, t0())
            .expect("recursive delete");
        assert_eq!(r.event.action, Action::Delete);
        assert_eq!(s.index(), 3);
        assert!(
            !s.has_ttl_keys(),
            "the TTL inside the subtree left the index"
        );
        assert_err(
            s.get(&key, false, t0()),
            ErrorCode::KEY_NOT_FOUND,
            "/deep",
            3,
        );
        // The store drops here too, with whatever it still holds.
    });
}

#[test]
fn deep_recursive_get() {
    on_small_stack(|| {
        let (mut s, key) = deep_store();
        let r = s.get("/deep", true, t0()).expect("recursive get");
        let node = r.event.node.expect("a node");
        let (depth, deepest) = depth_and_deepest_key(&node);
        assert_eq!((depth, deepest), (DEPTH, key));
        drop_wire_node(node);
        drop(s);
    });
}

#[test]
fn deep_snapshot_and_recovery() {
    on_small_stack(|| {
        let (s, key) = deep_store();
        let bytes = s.save();
        drop(s);
        let mut back = Store::with_namespaces(&[]);
        back.recover(&bytes).expect("the snapshot decodes");
        // (assert!, not assert_eq!: a failure would print 800 MB.)
        assert!(back.save() == bytes, "saving again gives the same bytes");
        let r = back.get(&key, false, t0()).expect("the deep key is back");
        assert_eq!(
            r.event.node.and_then(|n| n.value).as_deref(),
            Some("bottom")
        );
        assert!(back.has_ttl_keys(), "the TTL index is rebuilt");
    });
}
