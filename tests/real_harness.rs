//! The harness itself against real etcd: clusters come up on free ports at the
//! documented start index, and pause, resume, kill and restart do what they say.
#![cfg(not(madsim))]

use etcd_test_support::EtcdCluster;
use etcd_test_support::raw_http;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

/// Without etcd the harness stops with one line naming the install script (the
/// check runs on paths of our choosing; /usr/bin/etcd stays installed).
#[test]
fn a_missing_etcd_is_one_line_naming_install_deps() {
    use etcd_test_support::etcd_bin::check_binary;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("etcd");
    let line = check_binary(&missing).unwrap_err();
    assert_eq!(
        line,
        format!(
            "{} is missing: run scripts/install-deps.sh (installs etcd 3.4.23) before cargo test",
            missing.display()
        )
    );
    assert!(!line.contains('\n'));
    assert!(
        check_binary(dir.path())
            .unwrap_err()
            .contains("is not a file: run scripts/install-deps.sh")
    );
    std::fs::write(&missing, "#!/bin/sh\n").unwrap();
    assert!(
        check_binary(&missing)
            .unwrap_err()
            .contains("is not executable: run scripts/install-deps.sh")
    );
    std::fs::set_permissions(&missing, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(check_binary(&missing), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_cluster_starts_fresh_at_index_3() {
    let c = EtcdCluster::start(1).await;
    let url = &c.client_urls()[0];
    assert!(!url.ends_with(":2379"));
    let r = raw_http::get(url, "/v2/keys/", T).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.etcd_index(), Some(3), "{r:?}");
    assert_eq!(r.text(), "{\"action\":\"get\",\"node\":{\"dir\":true}}\n");
    let r = raw_http::request(
        url,
        "PUT",
        "/v2/keys/message",
        Some(("application/x-www-form-urlencoded", b"value=Hello")),
        T,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        r.text(),
        "{\"action\":\"set\",\"node\":{\"key\":\"/message\",\"value\":\"Hello\",\"modifiedIndex\":4,\"createdIndex\":4}}\n"
    );
    assert_eq!(c.leader_index().await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_member_cluster_pause_kill_restart() {
    let c = EtcdCluster::start(3).await;
    let urls = c.client_urls();
    assert_eq!(urls.len(), 3);
    // Every member serves /v2/members with all three published.
    for u in &urls {
        let r = raw_http::get(u, "/v2/members", T).await.unwrap();
        let members = r.json()["members"].as_array().unwrap().clone();
        assert_eq!(members.len(), 3);
        let mut client_urls: Vec<String> = members
            .iter()
            .map(|m| m["clientURLs"][0].as_str().unwrap().to_string())
            .collect();
        client_urls.sort();
        let mut want = urls.clone();
        want.sort();
        assert_eq!(client_urls, want);
    }
    let r = raw_http::request(
        &urls[0],
        "PUT",
        "/v2/keys/k",
        Some(("application/x-www-form-urlencoded", b"value=1")),
        T,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        r.json()["node"]["createdIndex"],
        8,
        "a fresh 3-member cluster's first write is index 8"
    );

    let leader = c.wait_for_leader(None, Duration::from_secs(10)).await;
    let follower = (leader + 1) % 3;

    // A paused member accepts connections but does not answer.
    c.member(follower).pause();
    assert!(c.member(follower).is_paused());
    let err = raw_http::get(&urls[follower], "/health", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(err.contains("no complete answer"), "{err}");
    c.member(follower).resume();
    c.member(follower)
        .wait_healthy(Duration::from_secs(20))
        .await;

    // A killed member refuses connections; restarted on its data dir it catches up.
    c.member(follower).kill();
    assert!(!c.member(follower).is_running());
    let err = raw_http::get(&urls[follower], "/health", T)
        .await
        .unwrap_err();
    assert!(err.contains("connect"), "{err}");
    let r = raw_http::request(
        &urls[leader],
        "PUT",
        "/v2/keys/k",
        Some(("application/x-www-form-urlencoded", b"value=while-dead")),
        T,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200);
    c.member(follower).restart().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = raw_http::get(&urls[follower], "/v2/keys/k", T)
            .await
            .unwrap();
        if r.status == 200 && r.json()["node"]["value"] == "while-dead" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "restarted member never caught up: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Pausing the leader makes the others elect a new one.
    c.member(leader).pause();
    let new_leader = c
        .wait_for_leader(Some(leader), Duration::from_secs(20))
        .await;
    assert_ne!(new_leader, leader);
    c.member(leader).resume();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_kills_every_member_even_paused_ones() {
    let c = EtcdCluster::start(1).await;
    c.member(0).pause();
    let pid = c.member(0).pid().unwrap();
    let dir = c.dir().to_path_buf();
    drop(c);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "etcd {pid} survived the drop"
    );
    assert!(!dir.exists(), "the temporary directory was not removed");
}
