//! A member in a real build: one member on loopback (real sockets and time, a fast
//! 10 ms tick) serves the v2 API to the SDK over reqwest.

#![cfg(not(madsim))]

use etcd_test_support::ports;

use etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, new_keys_api};
use etcd_sdk::members::{MembersAPI, new_members_api};
use etcd_sdk::{Config, HttpClient};
use etcd_sim::member::{Member, MemberConfig};
use etcd_sim::raft::MemDisk;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, timeout};

/// A loopback port free for both UDP and TCP (the peer transport uses both).
fn free_port() -> u16 {
    ports::free_ports(1)[0]
}

#[tokio::test]
async fn a_real_member_serves_the_sdk() {
    let client_url = format!("http://127.0.0.1:{}", free_port());
    let cfg = MemberConfig {
        name: "real".into(),
        client_url: client_url.clone(),
        peer_url: format!("http://127.0.0.1:{}", free_port()),
        tick: Duration::from_millis(10),
        ..MemberConfig::default()
    };
    let member = Member::start(cfg, MemDisk::new()).await.unwrap();
    timeout(Duration::from_secs(10), async {
        while member.cluster_version().is_none() {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("ready and versioned");
    assert!(member.is_ready());

    let client = Arc::new(HttpClient::new(Config::new([client_url.clone()])).unwrap());
    let keys = new_keys_api(client.clone());
    let set = keys.set("/real", "v", SetOptions::default()).await.unwrap();
    assert_eq!(set.index, 4);
    let got = keys.get("/real", GetOptions::default()).await.unwrap();
    assert_eq!(got.node.unwrap().value.as_deref(), Some("v"));
    let v = client.get_version().await.unwrap();
    assert_eq!((v.server.as_str(), v.cluster.as_str()), ("3.4.23", "3.4.0"));
    let list = new_members_api(client.clone()).list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "real");
    assert_eq!(list[0].client_urls, vec![client_url]);
    member.stop().await;
    assert!(keys.get("/real", GetOptions::default()).await.is_err());
}
