//! The v3 client against a running etcd: put, get a prefix, a txn, a watch
//! of the prefix, and a lease kept alive, then revoked.
//!
//! ```text
//! cargo run --example v3_kv -- http://127.0.0.1:2379
//! ETCD_ENDPOINT=http://127.0.0.1:2379 cargo run --example v3_kv
//! ```
//!
//! It writes under `etcd-sdk-example/` and deletes that prefix at the end.

use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, DeleteOptions, GetOptions, KV, Lease, Op, OpResponse,
    PutOptions, WatchOptions, Watcher,
};
use futures_util::StreamExt;
use std::time::Duration;

const PREFIX: &str = "etcd-sdk-example/";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let endpoint = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("ETCD_ENDPOINT").ok())
        .unwrap_or_else(|| "http://127.0.0.1:2379".to_string());
    let client = Client::new(Config {
        dial_timeout: Some(Duration::from_secs(2)),
        keep_alive_time: Some(Duration::from_secs(5)),
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new([endpoint.clone()])
    })
    .await?;

    for (name, color) in [("apple", "red"), ("banana", "yellow"), ("cherry", "red")] {
        let r = client
            .put(format!("{PREFIX}{name}"), color, PutOptions::default())
            .await?;
        let rev = r.header.map(|h| h.revision).unwrap_or_default();
        println!("put {PREFIX}{name} = {color} at revision {rev}");
    }

    let all = client.get(PREFIX, GetOptions::prefix()).await?;
    println!("{} keys under {PREFIX}:", all.count);
    for kv in &all.kvs {
        println!(
            "  {} = {} (created at {}, modified at {})",
            String::from_utf8_lossy(&kv.key),
            String::from_utf8_lossy(&kv.value),
            kv.create_revision,
            kv.mod_revision
        );
    }

    // Paint the apple green only if it is still red; otherwise read it.
    let apple = format!("{PREFIX}apple");
    let txn = client
        .txn()
        .when([Compare::value(apple.clone(), CompareOp::Equal, "red")])
        .and_then([Op::put(apple.clone(), "green", PutOptions::default())])
        .or_else([Op::get(apple.clone(), GetOptions::default())])
        .commit()
        .await?;
    println!("txn: apple was red: {}", txn.succeeded);
    if let Some(OpResponse::Get(g)) = txn.responses.first() {
        println!(
            "  apple is {:?}",
            g.kvs.first().map(|kv| String::from_utf8_lossy(&kv.value))
        );
    }

    // Watch the prefix from here on; the watch is created when this returns.
    let mut events = client.watch(PREFIX, WatchOptions::prefix()).await?;

    // A lease of 5 s, kept alive while we look at it, holding one key.
    let lease = client.grant(5).await?;
    println!("lease {:x} granted for {} s", lease.id, lease.ttl);
    let session = format!("{PREFIX}session");
    client
        .put(
            session.clone(),
            "alive",
            PutOptions {
                lease: lease.id,
                ..Default::default()
            },
        )
        .await?;
    let mut renewals = client.keep_alive(lease.id).await?;
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), renewals.next()).await {
            Ok(Some(answer)) => println!("  renewed for {} s", answer?.ttl),
            _ => break,
        }
    }
    drop(renewals);
    client.revoke(lease.id).await?;
    println!("lease revoked: {session} is gone");

    // The watch saw the session key come and go.
    let mut seen = 0;
    while seen < 2 {
        let Ok(Some(resp)) = tokio::time::timeout(Duration::from_secs(10), events.next()).await
        else {
            break;
        };
        for ev in resp?.events {
            seen += 1;
            println!(
                "  watch: {:?} {} at revision {}",
                ev.kind,
                String::from_utf8_lossy(&ev.kv.key),
                ev.kv.mod_revision
            );
        }
    }

    let deleted = client.delete(PREFIX, DeleteOptions::prefix()).await?;
    println!("deleted {} keys", deleted.deleted);
    Ok(())
}
