//! The endpoint registry (`etcd_sdk::v3::naming`, Go 3.4's
//! `GRPCResolver`): add, list and delete at Go's keys with Go's JSON bytes,
//! values written by Go read back, a watch that sees the set and then adds,
//! deletes, a revoked lease and an expired one, and the tower `Discover`
//! changes. Each body takes the endpoints of a fresh single-member cluster;
//! run against real etcd by `tests/real_v3_packages.rs`.

use etcd_sdk::v3::naming::{Change, Operation, Resolver, Update, endpoint_key};
use etcd_sdk::v3::{Client, Config, GetOptions, KV, Lease, PutOptions};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

async fn next<S: Stream + Unpin>(s: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(STEP, s.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {STEP:?}"))
        .unwrap_or_else(|| panic!("the stream ended before {what}"))
}

/// The raw keys and values under `prefix`.
async fn raw(c: &Client, prefix: &str) -> Vec<(String, String)> {
    c.get(prefix, GetOptions::prefix())
        .await
        .unwrap()
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        })
        .collect()
}

/// Add two endpoints (one with metadata, one on a lease), list them, delete
/// one: the keys are `<target>/<addr>` and the values Go's JSON byte for
/// byte; a value written as Go writes it (and one in another casing, as
/// Go's decoder accepts) reads back; a key that is not an update is skipped.
pub async fn naming_add_list_delete(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let r = Resolver::new(c.clone());
    let lease = c.grant(60).await.unwrap().id;
    r.add_endpoint("svc/api", "10.0.0.1:8080", Value::Null, 0)
        .await
        .unwrap();
    r.add_endpoint(
        "svc/api",
        "10.0.0.2:8080",
        json!({"zone": "b<&>", "weight": 2}),
        lease,
    )
    .await
    .unwrap();
    assert_eq!(
        raw(&c, "svc/api/").await,
        vec![
            (
                "svc/api/10.0.0.1:8080".to_string(),
                r#"{"Op":0,"Addr":"10.0.0.1:8080","Metadata":null}"#.to_string()
            ),
            (
                "svc/api/10.0.0.2:8080".to_string(),
                r#"{"Op":0,"Addr":"10.0.0.2:8080","Metadata":{"weight":2,"zone":"b\u003c\u0026\u003e"}}"#
                    .to_string()
            ),
        ]
    );
    let leased = c
        .get(
            endpoint_key("svc/api", "10.0.0.2:8080"),
            GetOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(leased.kvs[0].lease, lease);
    assert_eq!(
        r.list("svc/api").await.unwrap(),
        vec![
            Update::add("10.0.0.1:8080", Value::Null),
            Update::add("10.0.0.2:8080", json!({"zone": "b<&>", "weight": 2})),
        ]
    );

    // What a Go program stores, and what Go's decoder also accepts.
    c.put(
        "svc/api/go:1",
        r#"{"Op":0,"Addr":"go:1","Metadata":{"from":"go"}}"#,
        PutOptions::default(),
    )
    .await
    .unwrap();
    c.put(
        "svc/api/lower:1",
        r#"{"op":0,"addr":"lower:1"}"#,
        PutOptions::default(),
    )
    .await
    .unwrap();
    c.put("svc/api/junk", "not an update", PutOptions::default())
        .await
        .unwrap();
    // A neighbouring target is not part of this one.
    r.add_endpoint("svc/api2", "x:1", Value::Null, 0)
        .await
        .unwrap();
    let addrs: Vec<String> = r
        .list("svc/api")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.addr)
        .collect();
    assert_eq!(addrs, ["10.0.0.1:8080", "10.0.0.2:8080", "go:1", "lower:1"]);
    let go = r.list("svc/api").await.unwrap();
    assert_eq!(go[2].metadata, json!({"from": "go"}));

    r.delete_endpoint("svc/api", "10.0.0.1:8080").await.unwrap();
    r.update("svc/api", &Update::delete("go:1"), 0)
        .await
        .unwrap();
    let left: Vec<String> = raw(&c, "svc/api/")
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        left,
        ["svc/api/10.0.0.2:8080", "svc/api/junk", "svc/api/lower:1"]
    );
}

/// Watch a target: the first batch is the set; then an add, a delete, a
/// re-registration with new metadata, a revoked lease and an expired lease
/// (a 2 s lease with no keepalive) each arrive as their own batch, in
/// order, with the address and metadata the endpoint had.
pub async fn naming_watch_sees_add_delete_and_lease_expiry(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let r = Resolver::new(c.clone());
    r.add_endpoint("w", "a:1", json!("first"), 0).await.unwrap();
    let mut w = r.watch("w").await.unwrap();
    assert_eq!(
        next(&mut w, "the set").await.unwrap(),
        vec![Update::add("a:1", json!("first"))]
    );

    r.add_endpoint("w", "b:2", Value::Null, 0).await.unwrap();
    assert_eq!(
        next(&mut w, "an add").await.unwrap(),
        vec![Update::add("b:2", Value::Null)]
    );
    r.delete_endpoint("w", "a:1").await.unwrap();
    let gone = next(&mut w, "a delete").await.unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].op, Operation::Delete);
    assert_eq!(
        (gone[0].addr.as_str(), &gone[0].metadata),
        ("a:1", &json!("first"))
    );
    r.add_endpoint("w", "b:2", json!({"v": 2}), 0)
        .await
        .unwrap();
    assert_eq!(
        next(&mut w, "a re-registration").await.unwrap(),
        vec![Update::add("b:2", json!({"v": 2}))]
    );

    let revoked = c.grant(60).await.unwrap().id;
    r.add_endpoint("w", "c:3", Value::Null, revoked)
        .await
        .unwrap();
    assert_eq!(next(&mut w, "a leased add").await.unwrap()[0].addr, "c:3");
    c.revoke(revoked).await.unwrap();
    let gone = next(&mut w, "the revoked lease's delete").await.unwrap();
    assert_eq!(
        (gone[0].op, gone[0].addr.as_str()),
        (Operation::Delete, "c:3")
    );

    let expiring = c.grant(2).await.unwrap().id;
    r.add_endpoint("w", "d:4", Value::Null, expiring)
        .await
        .unwrap();
    let added = Instant::now();
    assert_eq!(next(&mut w, "a leased add").await.unwrap()[0].addr, "d:4");
    let gone = next(&mut w, "the expired lease's delete").await.unwrap();
    assert_eq!(
        (gone[0].op, gone[0].addr.as_str()),
        (Operation::Delete, "d:4")
    );
    assert!(
        added.elapsed() >= Duration::from_millis(1500),
        "the lease ended after {:?}",
        added.elapsed()
    );
    let left: Vec<String> = w.endpoints().into_iter().map(|u| u.addr).collect();
    assert_eq!(left, ["b:2"]);
    assert_eq!(r.list("w").await.unwrap(), w.endpoints());
}

/// The tower `Discover` stream: the set as inserts keyed by address, a new
/// endpoint inserted, and a registration whose lease is revoked removed.
pub async fn naming_discovery_follows_the_set(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let r = Resolver::new(c.clone());
    r.add_endpoint("d", "a:1", Value::Null, 0).await.unwrap();
    let mut d = r
        .discover("d", |u: &Update| format!("client of {}", u.addr))
        .await
        .unwrap();
    match next(&mut d, "the first insert").await.unwrap() {
        Change::Insert(addr, svc) => {
            assert_eq!(addr, "a:1");
            assert_eq!(svc, "client of a:1");
        }
        Change::Remove(addr) => panic!("removed {addr}"),
    }
    let lease = c.grant(60).await.unwrap().id;
    r.add_endpoint("d", "b:2", Value::Null, lease)
        .await
        .unwrap();
    match next(&mut d, "an insert").await.unwrap() {
        Change::Insert(addr, _) => assert_eq!(addr, "b:2"),
        Change::Remove(addr) => panic!("removed {addr}"),
    }
    c.revoke(lease).await.unwrap();
    match next(&mut d, "a remove").await.unwrap() {
        Change::Remove(addr) => assert_eq!(addr, "b:2"),
        Change::Insert(addr, _) => panic!("inserted {addr}"),
    }
    assert_eq!(d.addresses().collect::<Vec<_>>(), ["a:1"]);
}
