//! etcd's automatic compaction on a simulated 3-member cluster (virtual time):
//! the revision mode keeps the last N revisions (checked every 5 minutes), the
//! periodic mode compacts what it saw a period ago, and only the leader
//! proposes, so every member compacts at the same revision.
#![cfg(madsim)]

use etcd_sdk::v3::{Client, GetOptions, KV, PutOptions};
use etcd_sim::server::v3_compactor::AutoCompaction;
use etcd_test_support::sim::member::{Cluster, on_client};
use std::time::Duration;

/// The compact revision a member reports: a read at revision 1 fails as
/// compacted until compaction happens; then reads below it do.
async fn compacted_below(client: &Client, rev: i64) -> bool {
    let opts = GetOptions {
        revision: rev,
        ..GetOptions::default()
    };
    matches!(
        client.get("k", opts).await,
        Err(e) if e.is_compacted()
    )
}

#[madsim::test]
async fn revision_mode_keeps_the_last_revisions_on_every_member() {
    let c = Cluster::start_with(3, |cfg| {
        cfg.auto_compaction = Some(AutoCompaction::Revision(10))
    })
    .await;
    let endpoints = c.endpoints();
    on_client(move || async move {
        let all = Client::connect(endpoints.clone()).await.unwrap();
        for i in 0..30 {
            all.put("k", format!("v{i}"), PutOptions::default())
                .await
                .unwrap();
        }
        // The store is at revision 31; the next check (every 5 minutes) keeps
        // the last 10 revisions: compacted at 21.
        tokio::time::sleep(Duration::from_secs(6 * 60)).await;
        for ep in &endpoints {
            let one = Client::connect([ep.clone()]).await.unwrap();
            assert!(compacted_below(&one, 20).await, "{ep}: not compacted at 21");
            assert!(!compacted_below(&one, 21).await, "{ep}: compacted past 21");
        }
    })
    .await;
}

#[madsim::test]
async fn periodic_mode_compacts_what_it_saw_a_period_ago() {
    let c = Cluster::start_with(3, |cfg| {
        cfg.auto_compaction = Some(AutoCompaction::Periodic(Duration::from_secs(60)))
    })
    .await;
    let endpoints = c.endpoints();
    on_client(move || async move {
        let all = Client::connect(endpoints.clone()).await.unwrap();
        all.put("k", "first", PutOptions::default()).await.unwrap();
        // Nothing is compacted within the first period.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!compacted_below(&all, 1).await);
        for i in 0..5 {
            all.put("k", format!("v{i}"), PutOptions::default())
                .await
                .unwrap();
        }
        // After two periods the revisions of the first period are gone.
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(compacted_below(&all, 2).await, "history a period old kept");
        let now = all.get("k", GetOptions::default()).await.unwrap();
        assert_eq!(now.kvs[0].value, b"v4");
    })
    .await;
}
