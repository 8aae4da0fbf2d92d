//! A tour of the KeysAPI against a running etcd (v2 API enabled).
//!
//! ```text
//! cargo run --example keys -- http://127.0.0.1:2379
//! ```
//!
//! It writes under `/etcd-sdk-example/` and removes that directory at the end.

use etcd_sdk::keys::{
    CreateInOrderOptions, DeleteOptions, GetOptions, KeysAPI, SetOptions, Watcher, WatcherOptions,
    new_keys_api,
};
use etcd_sdk::{Config, HttpClient};
use futures_util::StreamExt;
use std::time::Duration;

const DIR: &str = "/etcd-sdk-example";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let endpoint = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:2379".to_string());
    let client = HttpClient::new(Config {
        endpoints: vec![endpoint.clone()],
        header_timeout_per_request: Some(Duration::from_secs(1)),
        request_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    })?;
    let version = client.get_version().await?;
    println!(
        "connected to {endpoint}: etcd {} (cluster {})",
        version.server, version.cluster
    );
    let kapi = new_keys_api(client);

    // Start from a clean directory.
    let _ = kapi
        .delete(
            DIR,
            DeleteOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await;

    let resp = kapi
        .set(&format!("{DIR}/greeting"), "hello", SetOptions::default())
        .await?;
    println!(
        "set    {} = {:?} (index {})",
        key(&resp),
        value(&resp),
        resp.index
    );

    let resp = kapi
        .get(&format!("{DIR}/greeting"), GetOptions::default())
        .await?;
    println!("get    {} = {:?}", key(&resp), value(&resp));

    // Compare-and-swap: only replaces the value if it is still "hello".
    let cas = SetOptions {
        prev_value: Some("hello".into()),
        ..Default::default()
    };
    let resp = kapi
        .set(&format!("{DIR}/greeting"), "hello, etcd", cas.clone())
        .await?;
    println!(
        "cas    {} = {:?} (action {})",
        key(&resp),
        value(&resp),
        resp.action
    );
    match kapi.set(&format!("{DIR}/greeting"), "lost race", cas).await {
        Err(e) => println!("cas    rejected as expected: {e}"),
        Ok(_) => return Err("a stale compare-and-swap succeeded".into()),
    }

    // Create fails when the key exists. With a per-call bound, a create whose
    // answer does not come in time says "outcome unknown", not "failed".
    match kapi
        .with_timeout(Duration::from_secs(2))
        .create(&format!("{DIR}/greeting"), "again")
        .await
    {
        Err(e) if e.is_outcome_unknown() => println!("create may have been applied: {e}"),
        Err(e) => println!("create rejected as expected: {e}"),
        Ok(_) => return Err("create of an existing key succeeded".into()),
    }

    // A queue of in-order keys.
    for job in ["job-a", "job-b"] {
        let resp = kapi
            .create_in_order(
                &format!("{DIR}/queue"),
                job,
                CreateInOrderOptions::default(),
            )
            .await?;
        println!("queued {} = {:?}", key(&resp), value(&resp));
    }
    let resp = kapi
        .get(
            &format!("{DIR}/queue"),
            GetOptions {
                sort: true,
                ..Default::default()
            },
        )
        .await?;
    let names: Vec<&str> = resp
        .node
        .iter()
        .flat_map(|n| n.nodes.iter())
        .map(|n| n.value_str())
        .collect();
    println!("queue  {names:?}");

    // A key with a TTL.
    let ttl = SetOptions {
        ttl: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let resp = kapi.set(&format!("{DIR}/session"), "alive", ttl).await?;
    println!(
        "ttl    {} expires in {} s",
        key(&resp),
        resp.node.as_ref().map_or(0, |n| n.ttl)
    );

    // Watch the directory (as a Stream of events), then write to it.
    let mut events = kapi
        .watcher(
            DIR,
            WatcherOptions {
                after_index: resp.index,
                recursive: true,
            },
        )
        .into_stream();
    let writer = {
        let kapi = kapi.clone();
        tokio::spawn(async move {
            kapi.set(&format!("{DIR}/watched"), "changed", SetOptions::default())
                .await
        })
    };
    let event = events.next().await.ok_or("the watch ended")??;
    println!(
        "watch  saw {} on {} = {:?}",
        event.action,
        key(&event),
        value(&event)
    );
    writer.await??;

    let resp = kapi
        .delete(
            DIR,
            DeleteOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await?;
    println!("delete {} (recursive, action {})", key(&resp), resp.action);
    Ok(())
}

fn key(resp: &etcd_sdk::keys::Response) -> &str {
    resp.node.as_ref().map_or("", |n| n.key.as_str())
}

fn value(resp: &etcd_sdk::keys::Response) -> &str {
    resp.node.as_ref().map_or("", |n| n.value_str())
}
