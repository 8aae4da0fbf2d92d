//! The embed API in a real build: start a member on free loopback ports in a
//! temporary data dir, wait until it is ready, use it with the SDK, close it
//! gracefully, and start it again on the same data dir and ports.

#![cfg(not(madsim))]

use etcd_sdk::keys::{GetOptions, HttpKeysAPI, KeysAPI, SetOptions, WatcherOptions, new_keys_api};
use etcd_sdk::members::{MembersAPI, new_members_api};
use etcd_sdk::{Config as ClientConfig, HttpClient};
use etcd_sim::embed::{self, Config, EmbedError};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// A single-member configuration in `dir` on the given URLs, with a 10 ms tick.
fn config(dir: &Path, client: &str, peer: &str) -> Config {
    Config {
        name: "embedded".into(),
        data_dir: Some(dir.join("embedded.etcd")),
        enable_v2: true,
        listen_client_urls: vec![client.into()],
        advertise_client_urls: vec![client.into()],
        listen_peer_urls: vec![peer.into()],
        initial_advertise_peer_urls: vec![peer.into()],
        heartbeat_ms: 10,
        election_ms: 100,
        ..Config::default()
    }
}

fn keys(endpoint: &str) -> HttpKeysAPI {
    let client = HttpClient::new(ClientConfig::new([endpoint.to_string()])).unwrap();
    new_keys_api(Arc::new(client))
}

#[tokio::test]
async fn start_ready_write_close_restart() {
    let dir = tempfile::tempdir().unwrap();
    let etcd = embed::start(config(
        dir.path(),
        "http://127.0.0.1:0",
        "http://127.0.0.1:0",
    ))
    .await
    .unwrap();
    timeout(Duration::from_secs(10), etcd.ready())
        .await
        .expect("ready in time")
        .unwrap();
    assert!(dir.path().join("embedded.etcd/member").is_dir());
    let client_url = etcd.client_urls()[0].clone();
    let peer_url = etcd.peer_url().to_string();
    assert!(!client_url.ends_with(":0") && !peer_url.ends_with(":0"));
    assert_eq!(
        etcd.advertise_client_urls(),
        std::slice::from_ref(&client_url)
    );
    assert_eq!(etcd.advertise_peer_url(), peer_url);
    assert_eq!(etcd.config().name, "embedded");

    // Ready means published (as etcd's ReadyNotify); the cluster version is decided
    // a moment later, and is one more entry before ours.
    let version_client = HttpClient::new(ClientConfig::new([client_url.clone()])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while version_client.get_version().await.map(|v| v.cluster).ok() != Some("3.4.0".to_string()) {
        assert!(Instant::now() < deadline, "cluster version not decided");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kapi = keys(&client_url);
    let set = kapi
        .set("/embed/k", "v1", SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        set.index, 4,
        "bootstrap entries, publish, cluster version, then ours"
    );
    let members = new_members_api(Arc::new(
        HttpClient::new(ClientConfig::new([client_url.clone()])).unwrap(),
    ))
    .list()
    .await
    .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_urls, vec![client_url.clone()]);
    assert_eq!(members[0].peer_urls, vec![peer_url.clone()]);

    // A watch is waiting when the server closes: close cuts it off after the grace
    // period, and the error stream ends.
    let mut watcher = kapi.watcher(
        "/embed/never",
        WatcherOptions {
            after_index: 0,
            recursive: false,
        },
    );
    let watch = tokio::spawn(async move { watcher.next().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut errors = etcd.err();
    let started = Instant::now();
    etcd.close_within(Duration::from_millis(300)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    assert_eq!(
        timeout(Duration::from_secs(1), errors.recv())
            .await
            .unwrap(),
        None
    );
    let cut = timeout(Duration::from_secs(5), watch)
        .await
        .unwrap()
        .unwrap();
    assert!(cut.is_err(), "the watch ends with an error: {cut:?}");
    assert!(kapi.get("/embed/k", GetOptions::default()).await.is_err());

    // Start again on the same data dir and ports.
    let etcd = embed::start(config(dir.path(), &client_url, &peer_url))
        .await
        .unwrap();
    timeout(Duration::from_secs(10), etcd.ready())
        .await
        .expect("ready again")
        .unwrap();
    let got = kapi.get("/embed/k", GetOptions::default()).await;
    if embed::disk::DURABLE {
        let got = got.unwrap();
        assert_eq!(got.node.unwrap().value_str(), "v1");
    } else {
        // The in-memory disk starts empty: the key is gone, the server works.
        assert!(got.is_err());
        kapi.set("/embed/k", "v2", SetOptions::default())
            .await
            .unwrap();
    }
    etcd.close().await;
}

#[tokio::test]
async fn start_refuses_what_validate_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), "http://127.0.0.1:0", "http://127.0.0.1:0");
    cfg.unsupported
        .insert("unsafe-no-fsync".into(), "true".into());
    match embed::start(cfg).await {
        Err(EmbedError::Unsupported { setting, .. }) => assert_eq!(setting, "unsafe-no-fsync"),
        other => panic!("{other:?}"),
    }
    let mut cfg = config(dir.path(), "http://127.0.0.1:0", "http://127.0.0.1:0");
    cfg.heartbeat_ms = 300;
    assert!(matches!(
        embed::start(cfg).await,
        Err(EmbedError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_taken_client_port_is_a_listen_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", taken.local_addr().unwrap());
    let cfg = config(dir.path(), &url, "http://127.0.0.1:0");
    match embed::start(cfg).await {
        Err(EmbedError::Listen { addr, .. }) => assert_eq!(format!("http://{addr}"), url),
        other => panic!("{other:?}"),
    }
}

/// Like etcd (which locks its WAL files), a second member on a data dir that is
/// in use fails at start with a clear error, instead of writing into the same log.
#[tokio::test]
async fn a_data_dir_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = embed::start(config(
        dir.path(),
        "http://127.0.0.1:0",
        "http://127.0.0.1:0",
    ))
    .await
    .unwrap();
    timeout(Duration::from_secs(10), first.ready())
        .await
        .expect("ready in time")
        .unwrap();
    let second = embed::start(config(
        dir.path(),
        "http://127.0.0.1:0",
        "http://127.0.0.1:0",
    ))
    .await;
    let err = second.expect_err("the second start is refused");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    first.close().await;
    // Closed, the data dir is free again.
    let again = embed::start(config(
        dir.path(),
        "http://127.0.0.1:0",
        "http://127.0.0.1:0",
    ))
    .await
    .unwrap();
    again.close().await;
}
