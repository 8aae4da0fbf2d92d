//! The registry over the in-memory double: keys and values, the watch's
//! batches, and the tower changes.

use super::*;
use crate::v3::concurrency::fake::Fake;
use crate::v3::kv::KV;
use crate::v3::lease::Lease;
use crate::v3::op::PutOptions;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tower::discover::Change;

async fn next<S: futures_util::Stream + Unpin>(s: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("nothing came")
        .expect("the stream ended")
}

#[tokio::test]
async fn add_list_delete_at_go_s_keys() {
    let fake = Fake::default();
    let r = Resolver::new(fake.clone());
    r.add_endpoint("svc", "10.0.0.2:80", Value::Null, 0)
        .await
        .unwrap();
    r.add_endpoint("svc", "10.0.0.1:80", json!({"w": 2}), 0)
        .await
        .unwrap();
    // Another target sharing the name's start is not listed.
    r.add_endpoint("svc2", "x:1", Value::Null, 0).await.unwrap();
    let kv = fake.kv("svc/10.0.0.2:80").unwrap();
    assert_eq!(
        kv.value,
        br#"{"Op":0,"Addr":"10.0.0.2:80","Metadata":null}"#
    );
    assert_eq!(kv.lease, 0);
    assert_eq!(
        fake.kv("svc/10.0.0.1:80").unwrap().value,
        br#"{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"w":2}}"#
    );
    assert_eq!(
        r.list("svc").await.unwrap(),
        vec![
            Update::add("10.0.0.1:80", json!({"w": 2})),
            Update::add("10.0.0.2:80", Value::Null)
        ]
    );
    r.delete_endpoint("svc", "10.0.0.2:80").await.unwrap();
    assert!(fake.kv("svc/10.0.0.2:80").is_none());
    assert_eq!(r.list("svc").await.unwrap().len(), 1);
    // A value that is not an update is skipped.
    fake.put("svc/junk", "not json", PutOptions::default())
        .await
        .unwrap();
    assert_eq!(r.list("svc").await.unwrap().len(), 1);
}

#[tokio::test]
async fn watch_gives_the_set_then_adds_deletes_and_lease_ends() {
    let fake = Fake::default();
    let r = Resolver::new(fake.clone());
    r.add_endpoint("svc", "a:1", Value::Null, 0).await.unwrap();
    let mut w = r.watch("svc").await.unwrap();
    assert_eq!(
        next(&mut w).await.unwrap(),
        vec![Update::add("a:1", Value::Null)]
    );

    let lease = fake.grant(10).await.unwrap().id;
    r.add_endpoint("svc", "b:2", json!("meta"), lease)
        .await
        .unwrap();
    assert_eq!(fake.kv("svc/b:2").unwrap().lease, lease);
    assert_eq!(
        next(&mut w).await.unwrap(),
        vec![Update::add("b:2", json!("meta"))]
    );
    r.delete_endpoint("svc", "a:1").await.unwrap();
    assert_eq!(next(&mut w).await.unwrap(), vec![Update::delete("a:1")]);
    // A junk key and its deletion yield nothing; the lease's end does.
    fake.put("svc/junk", "[]", PutOptions::default())
        .await
        .unwrap();
    fake.delete("svc/junk", Default::default()).await.unwrap();
    fake.expire(lease);
    let gone = next(&mut w).await.unwrap();
    assert_eq!(
        gone,
        vec![Update {
            op: Operation::Delete,
            addr: "b:2".into(),
            metadata: json!("meta"),
        }]
    );
    assert!(w.endpoints().is_empty());
}

#[tokio::test]
async fn an_empty_target_starts_with_an_empty_batch() {
    let fake = Fake::default();
    let r = Resolver::new(fake.clone());
    let mut w = r.watch("none").await.unwrap();
    assert_eq!(next(&mut w).await.unwrap(), vec![]);
    r.add_endpoint("none", "n:1", Value::Null, 0).await.unwrap();
    assert_eq!(next(&mut w).await.unwrap()[0].addr, "n:1");
}

#[tokio::test]
async fn discovery_inserts_and_removes_by_address() {
    let fake = Fake::default();
    let r = Resolver::new(fake.clone());
    r.add_endpoint("svc", "a:1", json!(1), 0).await.unwrap();
    let mut d = r
        .discover("svc", |u: &Update| format!("svc@{}#{}", u.addr, u.metadata))
        .await
        .unwrap();
    let Change::Insert(k, s) = next(&mut d).await.unwrap() else {
        panic!("not an insert")
    };
    assert_eq!((k.as_str(), s.as_str()), ("a:1", "svc@a:1#1"));
    r.add_endpoint("svc", "b:2", json!(2), 0).await.unwrap();
    r.add_endpoint("svc", "a:1", json!(3), 0).await.unwrap();
    let Change::Insert(k, _) = next(&mut d).await.unwrap() else {
        panic!("not an insert")
    };
    assert_eq!(k, "b:2");
    // Re-registered: inserted again (a replacement).
    let Change::Insert(k, s) = next(&mut d).await.unwrap() else {
        panic!("not an insert")
    };
    assert_eq!((k.as_str(), s.as_str()), ("a:1", "svc@a:1#3"));
    r.delete_endpoint("svc", "a:1").await.unwrap();
    let Change::Remove(k) = next(&mut d).await.unwrap() else {
        panic!("not a remove")
    };
    assert_eq!(k, "a:1");
    assert_eq!(d.addresses().collect::<Vec<_>>(), ["b:2"]);
}

/// The adapter is a `Discover` (the balancer's bound), not only a stream.
#[test]
fn discovery_is_a_tower_discover() {
    fn is_discover<D: tower::discover::Discover<Key = String>>(_: &D) {}
    fn check(d: Discovery<(), fn(&Update)>) {
        is_discover(&d);
    }
    let _ = check;
}
