//! The v3 KV client against a running etcd: put, get a prefix, a txn.
//!
//! ```text
//! cargo run --example v3_kv -- http://127.0.0.1:2379
//! ```
//!
//! It writes under `etcd-sdk-example/` and deletes that prefix at the end.

use etcd_sdk::v3::{
    Client, Compare, CompareOp, Config, DeleteOptions, GetOptions, KV, Op, OpResponse, PutOptions,
};
use std::time::Duration;

const PREFIX: &str = "etcd-sdk-example/";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let endpoint = std::env::args()
        .nth(1)
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

    let deleted = client.delete(PREFIX, DeleteOptions::prefix()).await?;
    println!("deleted {} keys", deleted.deleted);
    Ok(())
}
