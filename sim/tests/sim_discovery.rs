//! etcd's v2 discovery protocol inside the simulation: the discovery service is a
//! one-member `SimCluster`, and three simulated nodes run the protocol at once.
//! All three get the same initial cluster (the three registrations in creation
//! order); a fourth finds the cluster full; an unreachable service is retried
//! with etcd's backoff in virtual time until the retry budget runs out.
#![cfg(madsim)]

use etcd_sdk::keys::{KeysAPI, SetOptions, new_keys_api};
use etcd_sim::cluster::{SimCluster, SimClusterConfig, member_ip};
use etcd_sim::discovery::{Discovery, DiscoveryError, RetryPolicy};
use std::time::Duration;

async fn service() -> SimCluster {
    SimCluster::start(SimClusterConfig {
        nodes: 1,
        ..SimClusterConfig::default()
    })
    .await
    .expect("discovery service starts")
}

/// Runs the protocol for member `i` (`m<i>=http://10.9.0.<i>:2380`) on a node of
/// its own; the error as text.
async fn join(svc: &SimCluster, durl: String, i: u64) -> Result<String, String> {
    svc.run_on_client_node(move || async move {
        let entry = format!("m{i}=http://10.9.0.{i}:2380");
        let d = Discovery::new(&durl, "", 0x1000 + i).map_err(|e| e.to_string())?;
        d.join_cluster(&entry).await.map_err(|e| e.to_string())
    })
    .await
}

#[madsim::test]
async fn three_members_meet_and_a_fourth_finds_it_full() {
    let svc = service().await;
    let base = svc.client_urls()[0].clone();
    svc.run_client(|c| async move {
        new_keys_api(c)
            .set("/discovery/t/_config/size", "3", SetOptions::default())
            .await
            .expect("size");
    })
    .await;
    let durl = format!("{base}/v2/keys/discovery/t");
    let (a, b, c) = tokio::join!(
        join(&svc, durl.clone(), 1),
        join(&svc, durl.clone(), 2),
        join(&svc, durl.clone(), 3)
    );
    let (a, b, c) = (a.expect("m1"), b.expect("m2"), c.expect("m3"));
    assert_eq!(a, b);
    assert_eq!(b, c);
    let mut entries: Vec<&str> = a.split(',').collect();
    entries.sort_unstable();
    assert_eq!(
        entries,
        vec![
            "m1=http://10.9.0.1:2380",
            "m2=http://10.9.0.2:2380",
            "m3=http://10.9.0.3:2380"
        ]
    );
    assert_eq!(
        join(&svc, durl.clone(), 4).await.unwrap_err(),
        DiscoveryError::FullCluster.to_string()
    );
    // A member that registered already is a duplicate.
    assert_eq!(
        join(&svc, durl, 1).await.unwrap_err(),
        DiscoveryError::DuplicateId.to_string()
    );
}

#[madsim::test]
async fn an_unreachable_service_is_retried_with_backoff() {
    let svc = service().await;
    let started = tokio::time::Instant::now();
    let got = svc
        .run_on_client_node(|| async {
            // Nothing listens on this port of the service member's address.
            let durl = format!("http://{}:1/v2/keys/discovery/t", member_ip(0));
            let d = Discovery::new(&durl, "", 7)
                .map_err(|e| e.to_string())?
                .with_retry_policy(RetryPolicy {
                    max_retries: 3,
                    max_exponent: 8,
                });
            d.join_cluster("m=http://10.9.0.7:2380")
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    assert_eq!(got.unwrap_err(), DiscoveryError::TooManyRetries.to_string());
    // 2 s + 4 s + 8 s of backoff.
    assert!(
        started.elapsed() >= Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );
}
