//! Events and errors encoded as `/v2/keys` sends them, compared byte for byte with
//! responses recorded from etcd 3.4.23 (spec §9).

use super::helpers::*;
use crate::store::v2::cluster_keys::{CLUSTER_VERSION_KEY, attributes_key, raft_attributes_key};
use crate::store::v2::{
    KEYS_NAMESPACE, Reply, Store, StoreError, TtlOptions, keys_path, trim_event_prefix,
};
use etcd_sdk::wire::{to_go_json, to_go_json_line};
use std::time::{Duration, UNIX_EPOCH};

/// A fresh one-member cluster's store: index 3.
fn fresh() -> Store {
    let mut s = Store::new();
    s.create(
        &raft_attributes_key(0xf4a457008d1441f2),
        false,
        r#"{"peerURLs":["http://127.0.0.1:24801"]}"#,
        false,
        None,
        t0(),
    )
    .unwrap();
    set(
        &mut s,
        &attributes_key(0xf4a457008d1441f2),
        r#"{"name":"t1","clientURLs":["http://127.0.0.1:24791"]}"#,
    );
    set(&mut s, CLUSTER_VERSION_KEY, "3.4.0");
    assert_eq!(s.index(), 3);
    s
}

/// Fills the store with unrelated writes up to `index`.
fn advance_to(s: &mut Store, index: u64) {
    while s.index() < index {
        set(s, "/0/filler", "x");
    }
}

fn body(r: Reply) -> String {
    String::from_utf8(to_go_json(&trim_event_prefix(r.event, KEYS_NAMESPACE))).unwrap()
}

fn err_body(e: StoreError) -> String {
    String::from_utf8(to_go_json_line(
        &e.trim_cause_prefix(KEYS_NAMESPACE).to_body(),
    ))
    .unwrap()
}

#[test]
fn v1_to_v5_set_get_delete() {
    let mut s = fresh();
    let root = s.get(&keys_path("/"), false, t0()).unwrap();
    assert_eq!(
        (body(root), s.index()),
        (r#"{"action":"get","node":{"dir":true}}"#.to_string(), 3)
    );
    let r = s
        .set(
            &keys_path("/message"),
            false,
            "Hello world",
            TtlOptions::permanent(),
            t0(),
        )
        .unwrap();
    assert!(r.is_created());
    assert_eq!(
        body(r),
        r#"{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}"#
    );
    let r = s
        .set(
            &keys_path("/message"),
            false,
            "Hello etcd",
            TtlOptions::permanent(),
            t0(),
        )
        .unwrap();
    assert!(!r.is_created());
    assert_eq!(
        body(r),
        r#"{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":4,"createdIndex":4}}"#
    );
    let e = s.get(&keys_path("/nokey"), false, t0()).unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/nokey\",\"index\":5}\n"
    );
    let r = s
        .delete(&keys_path("/message"), false, false, t0())
        .unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"delete","node":{"key":"/message","modifiedIndex":6,"createdIndex":5},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":5,"createdIndex":5}}"#
    );
}

#[test]
fn v6_ttl_fields() {
    let mut s = fresh();
    let exp = UNIX_EPOCH + Duration::new(1_795_215_679, 885_059_002);
    let now = exp - Duration::from_millis(4_990);
    let r = s
        .set(
            &keys_path("/foo"),
            false,
            "bar",
            TtlOptions::expires_at(exp),
            now,
        )
        .unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"set","node":{"key":"/foo","value":"bar","expiration":"2026-11-20T23:01:19.885059002Z","ttl":5,"modifiedIndex":4,"createdIndex":4}}"#
    );
}

#[test]
fn v14_expire_event() {
    let mut s = fresh();
    advance_to(&mut s, 13);
    let exp = UNIX_EPOCH + Duration::new(1_795_215_700, 120_000_000);
    s.set(
        &keys_path("/exp1"),
        false,
        "v",
        TtlOptions::expires_at(exp),
        exp - Duration::from_secs(1),
    )
    .unwrap();
    let mut w = s.watch(&keys_path("/exp1"), false, false, 15).unwrap();
    s.delete_expired(exp + Duration::from_millis(200));
    let ev = drain(&mut w).0.remove(0);
    assert_eq!(
        String::from_utf8(to_go_json_line(&trim_event_prefix(ev, KEYS_NAMESPACE))).unwrap(),
        "{\"action\":\"expire\",\"node\":{\"key\":\"/exp1\",\"modifiedIndex\":15,\"createdIndex\":14},\
         \"prevNode\":{\"key\":\"/exp1\",\"value\":\"v\",\"expiration\":\"2026-11-20T23:01:40.12Z\",\
         \"modifiedIndex\":14,\"createdIndex\":14}}\n"
    );
}

#[test]
fn v15_to_v17_in_order_keys() {
    let mut s = fresh();
    advance_to(&mut s, 16);
    let r = s
        .create(&keys_path("/queue"), false, "Job1", true, None, t0())
        .unwrap();
    assert!(r.is_created());
    assert_eq!(
        body(r),
        r#"{"action":"create","node":{"key":"/queue/00000000000000000017","value":"Job1","modifiedIndex":17,"createdIndex":17}}"#
    );
    advance_to(&mut s, 19);
    let r = s
        .create(&keys_path("/queue"), true, "", true, None, t0())
        .unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"create","node":{"key":"/queue/00000000000000000020","dir":true,"modifiedIndex":20,"createdIndex":20}}"#
    );
    let e = s
        .create(
            &keys_path("/queue/00000000000000000017"),
            false,
            "x",
            true,
            None,
            t0(),
        )
        .unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":104,\"message\":\"Not a directory\",\"cause\":\"/queue/00000000000000000017\",\"index\":20}\n"
    );
    let r = s
        .create(&keys_path("/"), false, "rootq", true, None, t0())
        .unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"create","node":{"key":"/00000000000000000021","value":"rootq","modifiedIndex":21,"createdIndex":21}}"#
    );
    let g = s.get(&keys_path("/queue"), true, t0()).unwrap();
    assert_eq!(
        body(g),
        r#"{"action":"get","node":{"key":"/queue","dir":true,"nodes":[{"key":"/queue/00000000000000000017","value":"Job1","modifiedIndex":17,"createdIndex":17},{"key":"/queue/00000000000000000020","dir":true,"modifiedIndex":20,"createdIndex":20}],"modifiedIndex":17,"createdIndex":17}}"#
    );
}

#[test]
fn v18_to_v20_directories() {
    let mut s = fresh();
    advance_to(&mut s, 21);
    let r = s
        .set(&keys_path("/dir1"), true, "", TtlOptions::permanent(), t0())
        .unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"set","node":{"key":"/dir1","dir":true,"modifiedIndex":22,"createdIndex":22}}"#
    );
    let e = s
        .set(&keys_path("/dir1"), true, "", TtlOptions::permanent(), t0())
        .unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":102,\"message\":\"Not a file\",\"cause\":\"/dir1\",\"index\":22}\n"
    );
    set(&mut s, &keys_path("/dir1/a"), "1");
    set(&mut s, &keys_path("/dir1/_hidden"), "h");
    let g = s.get(&keys_path("/dir1"), false, t0()).unwrap();
    assert_eq!(
        body(g),
        r#"{"action":"get","node":{"key":"/dir1","dir":true,"nodes":[{"key":"/dir1/a","value":"1","modifiedIndex":23,"createdIndex":23}],"modifiedIndex":22,"createdIndex":22}}"#
    );
    let e = s
        .delete(&keys_path("/dir1"), true, false, t0())
        .unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":108,\"message\":\"Directory not empty\",\"cause\":\"/dir1\",\"index\":24}\n"
    );
    let r = s.delete(&keys_path("/dir1"), false, true, t0()).unwrap();
    assert_eq!(
        body(r),
        r#"{"action":"delete","node":{"key":"/dir1","dir":true,"modifiedIndex":25,"createdIndex":22},"prevNode":{"key":"/dir1","dir":true,"modifiedIndex":22,"createdIndex":22}}"#
    );
}

#[test]
fn errors_and_escaping() {
    let mut s = fresh();
    set(&mut s, &keys_path("/foo"), "bar");
    let e = s
        .create(&keys_path("/foo"), false, "x", false, None, t0())
        .unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":105,\"message\":\"Key already exists\",\"cause\":\"/foo\",\"index\":4}\n"
    );
    let e = s.delete(&keys_path("/"), true, true, t0()).unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":107,\"message\":\"Root is read only\",\"cause\":\"/\",\"index\":4}\n"
    );
    let e = s
        .compare_and_swap(
            &keys_path("/foo"),
            "zz",
            1,
            "x",
            TtlOptions::permanent(),
            t0(),
        )
        .unwrap_err();
    assert_eq!(
        err_body(e),
        "{\"errorCode\":101,\"message\":\"Compare failed\",\"cause\":\"[zz != bar] [1 != 4]\",\"index\":4}\n"
    );
    let r = set(&mut s, &keys_path("/h"), "<a&b>");
    assert_eq!(
        body(r),
        r#"{"action":"set","node":{"key":"/h","value":"\u003ca\u0026b\u003e","modifiedIndex":5,"createdIndex":5}}"#
    );
}
