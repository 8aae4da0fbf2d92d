//! Operation rules: get, set, create, update, compareAndSwap, delete,
//! compareAndDelete; every error code and cause; the global index.

use super::helpers::*;
use crate::store::v2::{KEYS_NAMESPACE, Store, TtlOptions, keys_path, trim_event_prefix};
use etcd_sdk::wire::{Action, ErrorCode, to_go_json};

const P: TtlOptions = TtlOptions {
    expire_time: None,
    refresh: false,
};

#[test]
fn new_store_has_read_only_namespaces() {
    let mut s = Store::new();
    assert_eq!(s.index(), 0);
    let root = s.get("/1", false, t0()).unwrap();
    assert_eq!(
        to_go_json(&trim_event_prefix(root.event, KEYS_NAMESPACE)),
        br#"{"action":"get","node":{"dir":true}}"#
    );
    assert!(s.get("/0", false, t0()).is_ok());
    assert_err(s.get("/2", false, t0()), ErrorCode::KEY_NOT_FOUND, "/2", 0);
    for ns in ["/", "/0", "/1", "/1/", "//1"] {
        assert_err(
            s.set(ns, false, "x", P, t0()),
            ErrorCode::ROOT_R_ONLY,
            "/",
            0,
        );
        assert_err(s.set(ns, true, "", P, t0()), ErrorCode::ROOT_R_ONLY, "/", 0);
        assert_err(
            s.create(ns, false, "x", false, None, t0()),
            ErrorCode::ROOT_R_ONLY,
            "/",
            0,
        );
        assert_err(s.update(ns, "x", P, t0()), ErrorCode::ROOT_R_ONLY, "/", 0);
        assert_err(
            s.compare_and_swap(ns, "x", 0, "y", P, t0()),
            ErrorCode::ROOT_R_ONLY,
            "/",
            0,
        );
        assert_err(
            s.delete(ns, true, true, t0()),
            ErrorCode::ROOT_R_ONLY,
            "/",
            0,
        );
    }
    // compareAndDelete skips the read-only check: the namespace is just a directory.
    let e = s.compare_and_delete("/1", "x", 0, t0()).unwrap_err();
    assert_eq!((e.code, e.cause.as_str()), (ErrorCode::NOT_FILE, "/1"));
    let e = e.trim_cause_prefix(KEYS_NAMESPACE);
    assert_eq!(
        to_go_json(&e.to_body()),
        br#"{"errorCode":102,"message":"Not a file","index":0}"#
    );
    assert_eq!(s.index(), 0, "no failure moves the index");
    // POST to the keys root is fine, and /2 is an ordinary directory.
    let r = s.create("/1", false, "rootq", true, None, t0()).unwrap();
    assert_eq!(node(&r).key, "/1/00000000000000000001");
    s.create("/2", true, "", false, None, t0()).unwrap();
    s.create("/2/users/", true, "", false, None, t0()).unwrap();
    s.delete("/2", true, true, t0()).unwrap();
    assert_eq!(s.index(), 4);
}

#[test]
fn get_files_and_listings() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let r = s.get("/foo", false, t0()).unwrap();
    assert_eq!(r.event.action, Action::Get);
    assert_eq!(
        (node(&r).key.as_str(), node(&r).value.as_deref()),
        ("/foo", Some("bar"))
    );
    assert_eq!(
        (
            node(&r).modified_index,
            node(&r).created_index,
            r.etcd_index
        ),
        (1, 1, 1)
    );
    assert!(r.event.prev_node.is_none());

    mkdir(&mut s, "/dir");
    set(&mut s, "/dir/y", "1");
    set(&mut s, "/dir/x", "2");
    set(&mut s, "/dir/_hidden", "h");
    set(&mut s, "/dir/sub/z", "3");
    set(&mut s, "/dir/sub/_h", "4");
    let r = s.get("/dir", false, t0()).unwrap();
    let keys: Vec<_> = node(&r).nodes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        keys,
        ["/dir/sub", "/dir/x", "/dir/y"],
        "sorted, without hidden"
    );
    assert!(
        node(&r).nodes[0].dir && node(&r).nodes[0].nodes.is_empty(),
        "children shallow without recursive"
    );
    let r = s.get("/dir", true, t0()).unwrap();
    let sub = &node(&r).nodes[0];
    assert_eq!(
        sub.nodes.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(),
        ["/dir/sub/z"]
    );
    assert_eq!(
        value(&mut s, "/dir/_hidden"),
        "h",
        "a hidden key can be read directly"
    );
    assert_eq!(r.etcd_index, s.index());

    assert_err(
        s.get("/nope/x", false, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/nope",
        7,
    );
    assert_err(
        s.get("/dir/nope", false, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/dir/nope",
        7,
    );
    assert_err(s.get("/foo/x", false, t0()), ErrorCode::NOT_DIR, "/foo", 7);
    assert_err(
        s.get("/foo/x/y", false, t0()),
        ErrorCode::NOT_DIR,
        "/foo",
        7,
    );
}

#[test]
fn set_creates_and_replaces() {
    let mut s = plain();
    let r = s.set("/foo", false, "", P, t0()).unwrap();
    assert_eq!(r.event.action, Action::Set);
    assert_eq!(
        (
            node(&r).value.as_deref(),
            node(&r).modified_index,
            node(&r).created_index
        ),
        (Some(""), 1, 1)
    );
    assert!(r.event.prev_node.is_none() && r.is_created());

    let r = set(&mut s, "/foo", "bar");
    assert_eq!(
        (
            node(&r).modified_index,
            node(&r).created_index,
            r.etcd_index
        ),
        (2, 2, 2),
        "a set makes a new node"
    );
    assert_eq!(
        (prev(&r).value.as_deref(), prev(&r).modified_index),
        (Some(""), 1)
    );
    assert!(!r.is_created());

    // A file becomes an empty directory with dir=true; then set on it fails with 102.
    let r = mkdir(&mut s, "/foo");
    assert!(node(&r).dir && node(&r).value.is_none());
    assert_eq!(prev(&r).value.as_deref(), Some("bar"));
    assert_err(
        s.set("/foo", false, "x", P, t0()),
        ErrorCode::NOT_FILE,
        "/foo",
        3,
    );
    assert_err(
        s.set("/foo", true, "", P, t0()),
        ErrorCode::NOT_FILE,
        "/foo",
        3,
    );

    // Parents are created with the index of the write.
    let r = set(&mut s, "/a/b/c", "v");
    assert_eq!(node(&r).modified_index, 4);
    let a = s.get("/a", false, t0()).unwrap();
    assert_eq!((node(&a).modified_index, node(&a).created_index), (4, 4));
    assert_err(
        s.set("/a/b/c/d", false, "v", P, t0()),
        ErrorCode::NOT_DIR,
        "/a/b/c",
        4,
    );
    assert_err(
        s.set("/a/b/c/d/e", true, "", P, t0()),
        ErrorCode::NOT_DIR,
        "/a/b/c",
        4,
    );
    assert_eq!(s.index(), 4);
}

#[test]
fn create_rules() {
    let mut s = plain();
    let r = s.create("/foo", false, "bar", false, None, t0()).unwrap();
    assert_eq!(
        (
            r.event.action,
            node(&r).value.as_deref(),
            node(&r).created_index
        ),
        (Action::Create, Some("bar"), 1)
    );
    assert!(r.event.prev_node.is_none() && r.is_created());
    let r = s.create("/empty", false, "", false, None, t0()).unwrap();
    assert_eq!(node(&r).value.as_deref(), Some(""));
    let r = s
        .create("/dir", true, "ignored", false, None, t0())
        .unwrap();
    assert!(node(&r).dir && node(&r).value.is_none());

    assert_err(
        s.create("/foo", false, "x", false, None, t0()),
        ErrorCode::NODE_EXIST,
        "/foo",
        3,
    );
    assert_err(
        s.create("/dir", true, "", false, None, t0()),
        ErrorCode::NODE_EXIST,
        "/dir",
        3,
    );
    assert_err(
        s.create("/foo/x", false, "x", false, None, t0()),
        ErrorCode::NOT_DIR,
        "/foo",
        3,
    );

    // In-order keys: the next index, 20 digits, under an auto-created directory.
    let r = s.create("/queue", false, "Job1", true, None, t0()).unwrap();
    assert_eq!(
        (node(&r).key.as_str(), node(&r).created_index),
        ("/queue/00000000000000000004", 4)
    );
    let q = s.get("/queue", false, t0()).unwrap();
    assert_eq!(node(&q).created_index, 4);
    let r = s.create("/queue", true, "", true, None, t0()).unwrap();
    assert_eq!(
        (node(&r).key.as_str(), node(&r).dir),
        ("/queue/00000000000000000005", true)
    );
    assert_err(
        s.create("/queue/00000000000000000004", false, "x", true, None, t0()),
        ErrorCode::NOT_DIR,
        "/queue/00000000000000000004",
        5,
    );
    assert_eq!(s.index(), 5);
}

#[test]
fn update_rules() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let r = s.update("/foo", "baz", P, t0()).unwrap();
    assert_eq!(r.event.action, Action::Update);
    assert_eq!(
        (
            node(&r).value.as_deref(),
            node(&r).modified_index,
            node(&r).created_index
        ),
        (Some("baz"), 2, 1)
    );
    assert_eq!(
        (prev(&r).value.as_deref(), prev(&r).modified_index),
        (Some("bar"), 1)
    );
    assert_eq!(value(&mut s, "/foo"), "baz");
    let r = s.update("/foo", "", P, t0()).unwrap();
    assert_eq!(
        (node(&r).value.as_deref(), node(&r).modified_index),
        (Some(""), 3)
    );

    assert_err(
        s.update("/missing", "x", P, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/missing",
        3,
    );
    assert_err(
        s.update("/foo/x", "x", P, t0()),
        ErrorCode::NOT_DIR,
        "/foo",
        3,
    );
    mkdir(&mut s, "/dir");
    assert_err(
        s.update("/dir", "x", P, t0()),
        ErrorCode::NOT_FILE,
        "/dir",
        4,
    );

    // A directory with an empty value: a TTL-only update. The event shows the new
    // index but the directory keeps its modifiedIndex.
    let r = s
        .update("/dir", "", TtlOptions::expires_at(at_ms(100_000)), t0())
        .unwrap();
    assert!(node(&r).dir && node(&r).value.is_none());
    assert_eq!(
        (
            node(&r).modified_index,
            node(&r).created_index,
            node(&r).ttl
        ),
        (5, 4, 100)
    );
    let d = s.get("/dir", false, t0()).unwrap();
    assert_eq!((node(&d).modified_index, node(&d).ttl), (4, 100));
    let del = s.delete("/dir", true, false, t0()).unwrap();
    assert_eq!(prev(&del).modified_index, 4);
}

#[test]
fn compare_and_swap_rules() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let r = s
        .compare_and_swap("/foo", "bar", 0, "baz", P, t0())
        .unwrap();
    assert_eq!(r.event.action, Action::CompareAndSwap);
    assert_eq!(
        (
            node(&r).value.as_deref(),
            node(&r).modified_index,
            node(&r).created_index
        ),
        (Some("baz"), 2, 1)
    );
    assert_eq!(
        (prev(&r).value.as_deref(), prev(&r).modified_index),
        (Some("bar"), 1)
    );
    let r = s.compare_and_swap("/foo", "", 2, "qux", P, t0()).unwrap();
    assert_eq!(
        (node(&r).value.as_deref(), node(&r).modified_index),
        (Some("qux"), 3)
    );
    let r = s.compare_and_swap("/foo", "qux", 3, "z", P, t0()).unwrap();
    assert_eq!(node(&r).modified_index, 4);

    assert_err(
        s.compare_and_swap("/foo", "two", 0, "x", P, t0()),
        ErrorCode::TEST_FAILED,
        "[two != z]",
        4,
    );
    assert_err(
        s.compare_and_swap("/foo", "", 1, "x", P, t0()),
        ErrorCode::TEST_FAILED,
        "[1 != 4]",
        4,
    );
    assert_err(
        s.compare_and_swap("/foo", "zz", 1, "x", P, t0()),
        ErrorCode::TEST_FAILED,
        "[zz != z] [1 != 4]",
        4,
    );
    assert_err(
        s.compare_and_swap("/foo", "z", 1, "x", P, t0()),
        ErrorCode::TEST_FAILED,
        "[1 != 4]",
        4,
    );
    assert_err(
        s.compare_and_swap("/foo", "no", 4, "x", P, t0()),
        ErrorCode::TEST_FAILED,
        "[no != z]",
        4,
    );
    assert_err(
        s.compare_and_swap("/nope", "a", 0, "x", P, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/nope",
        4,
    );
    assert_err(
        s.compare_and_swap("/foo/a", "a", 0, "x", P, t0()),
        ErrorCode::NOT_DIR,
        "/foo",
        4,
    );
    mkdir(&mut s, "/dir");
    assert_err(
        s.compare_and_swap("/dir", "a", 0, "x", P, t0()),
        ErrorCode::NOT_FILE,
        "/dir",
        5,
    );
    assert_err(
        s.compare_and_swap("/dir", "", 5, "x", P, t0()),
        ErrorCode::NOT_FILE,
        "/dir",
        5,
    );
    assert_eq!(value(&mut s, "/foo"), "z");
}

#[test]
fn delete_rules() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let r = s.delete("/foo", false, false, t0()).unwrap();
    assert_eq!(r.event.action, Action::Delete);
    let n = node(&r);
    assert_eq!(
        (n.value.as_ref(), n.dir, n.modified_index, n.created_index),
        (None, false, 2, 1)
    );
    assert_eq!(prev(&r).value.as_deref(), Some("bar"));
    assert_err(
        s.get("/foo", false, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/foo",
        2,
    );

    mkdir(&mut s, "/dir");
    assert_err(
        s.delete("/dir", false, false, t0()),
        ErrorCode::NOT_FILE,
        "/dir",
        3,
    );
    let r = s.delete("/dir", true, false, t0()).unwrap();
    assert!(node(&r).dir && prev(&r).dir);

    set(&mut s, "/d/a", "1");
    set(&mut s, "/d/sub/b", "2");
    assert_err(
        s.delete("/d", false, false, t0()),
        ErrorCode::NOT_FILE,
        "/d",
        6,
    );
    assert_err(
        s.delete("/d", true, false, t0()),
        ErrorCode::DIR_NOT_EMPTY,
        "/d",
        6,
    );
    let r = s.delete("/d", false, true, t0()).unwrap();
    assert_eq!(
        (
            node(&r).dir,
            node(&r).modified_index,
            node(&r).created_index
        ),
        (true, 7, 5)
    );
    assert!(prev(&r).nodes.is_empty(), "prevNode is shallow");
    assert_err(
        s.get("/d/sub/b", false, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/d",
        7,
    );

    // A directory holding only a hidden key is not empty.
    set(&mut s, "/h/_x", "1");
    assert_err(
        s.delete("/h", true, false, t0()),
        ErrorCode::DIR_NOT_EMPTY,
        "/h",
        8,
    );

    assert_err(
        s.delete("/missing", false, false, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/missing",
        8,
    );
    set(&mut s, "/file", "v");
    assert_err(
        s.delete("/file/x", false, false, t0()),
        ErrorCode::NOT_DIR,
        "/file",
        9,
    );
    assert_err(
        s.delete("/", true, true, t0()),
        ErrorCode::ROOT_R_ONLY,
        "/",
        9,
    );
    // Deleting a file with dir or recursive set is fine.
    s.delete("/file", true, true, t0()).unwrap();
    assert_eq!(s.index(), 10);
}

#[test]
fn compare_and_delete_rules() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    let r = s.compare_and_delete("/foo", "bar", 0, t0()).unwrap();
    assert_eq!(r.event.action, Action::CompareAndDelete);
    assert_eq!(
        (
            node(&r).value.as_ref(),
            node(&r).modified_index,
            node(&r).created_index
        ),
        (None, 2, 1)
    );
    assert_eq!(prev(&r).value.as_deref(), Some("bar"));

    set(&mut s, "/foo", "four");
    assert_err(
        s.compare_and_delete("/foo", "nope", 0, t0()),
        ErrorCode::TEST_FAILED,
        "[nope != four]",
        3,
    );
    assert_err(
        s.compare_and_delete("/foo", "", 1, t0()),
        ErrorCode::TEST_FAILED,
        "[1 != 3]",
        3,
    );
    assert_err(
        s.compare_and_delete("/foo", "x", 1, t0()),
        ErrorCode::TEST_FAILED,
        "[x != four] [1 != 3]",
        3,
    );
    let r = s.compare_and_delete("/foo", "", 3, t0()).unwrap();
    assert_eq!(node(&r).modified_index, 4);

    mkdir(&mut s, "/dir");
    assert_err(
        s.compare_and_delete("/dir", "x", 0, t0()),
        ErrorCode::NOT_FILE,
        "/dir",
        5,
    );
    assert_err(
        s.compare_and_delete("/missing", "x", 0, t0()),
        ErrorCode::KEY_NOT_FOUND,
        "/missing",
        5,
    );
    assert_err(
        s.compare_and_delete("/", "x", 0, t0()),
        ErrorCode::NOT_FILE,
        "/",
        5,
    );
}

#[test]
fn index_moves_only_on_success() {
    let mut s = Store::new();
    let k = |p: &str| keys_path(p);
    set(&mut s, &k("/f"), "v");
    mkdir(&mut s, &k("/d"));
    set(&mut s, &k("/d/x"), "1");
    let before = s.index();
    assert_eq!(before, 3);
    let failures = [
        s.get(&k("/nope"), false, t0()).err(),
        s.set(&k("/d"), false, "x", P, t0()).err(),
        s.set(&k("/f/x"), false, "x", P, t0()).err(),
        s.set(
            &k("/nope"),
            false,
            "",
            TtlOptions::refresh_to(at_ms(1000)),
            t0(),
        )
        .err(),
        s.create(&k("/f"), false, "x", false, None, t0()).err(),
        s.create(&k("/f"), false, "x", true, None, t0()).err(),
        s.update(&k("/nope"), "x", P, t0()).err(),
        s.update(&k("/d"), "x", P, t0()).err(),
        s.compare_and_swap(&k("/f"), "no", 0, "x", P, t0()).err(),
        s.compare_and_swap(&k("/d"), "no", 0, "x", P, t0()).err(),
        s.delete(&k("/d"), false, false, t0()).err(),
        s.delete(&k("/d"), true, false, t0()).err(),
        s.delete(&k("/nope"), false, false, t0()).err(),
        s.compare_and_delete(&k("/f"), "no", 0, t0()).err(),
        s.delete("/1", true, true, t0()).err(),
    ];
    for (i, f) in failures.iter().enumerate() {
        let e = f
            .as_ref()
            .unwrap_or_else(|| panic!("operation {i} should fail"));
        assert_eq!(e.index, before, "error {i} reports the current index");
    }
    assert_eq!(s.index(), before);
    assert_eq!(s.history_range(), (1, 3), "failures record nothing");

    let mut expect = before;
    let mut step = |r: Result<crate::store::v2::Reply, crate::store::v2::StoreError>, s: &Store| {
        expect += 1;
        let r = r.unwrap();
        assert_eq!((r.etcd_index, s.index()), (expect, expect));
    };
    let r = s.update(&k("/f"), "w", P, t0());
    step(r, &s);
    let r = s.compare_and_swap(&k("/f"), "w", 0, "x", P, t0());
    step(r, &s);
    let r = s.create(&k("/q"), false, "j", true, None, t0());
    step(r, &s);
    let r = s.set(
        &k("/f"),
        false,
        "",
        TtlOptions::refresh_to(at_ms(5000)),
        t0(),
    );
    step(r, &s);
    let r = s.compare_and_delete(&k("/f"), "x", 0, t0());
    step(r, &s);
    let r = s.delete(&k("/d"), true, true, t0());
    step(r, &s);
}

#[test]
fn bootstrap_writes_put_a_fresh_cluster_at_3_or_7() {
    use crate::store::v2::cluster_keys::*;
    for (members, expect) in [(1u64, 3u64), (3, 7)] {
        let mut s = Store::new();
        let ids: Vec<u64> = (1..=members).map(|i| 0x1000 + i).collect();
        for id in &ids {
            s.create(
                &raft_attributes_key(*id),
                false,
                r#"{"peerURLs":["http://p"]}"#,
                false,
                None,
                t0(),
            )
            .unwrap();
        }
        for id in &ids {
            set(
                &mut s,
                &attributes_key(*id),
                r#"{"name":"n","clientURLs":["http://c"]}"#,
            );
        }
        set(&mut s, CLUSTER_VERSION_KEY, "3.4.0");
        assert_eq!(s.index(), expect);
        let r = set(&mut s, &keys_path("/message"), "Hello world");
        assert_eq!(node(&r).modified_index, expect + 1);
        // The member records stay out of the keys namespace.
        let root = s.get(&keys_path("/"), true, t0()).unwrap();
        assert_eq!(node(&root).nodes.len(), 1);
    }
}
