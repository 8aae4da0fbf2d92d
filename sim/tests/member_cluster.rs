//! etcd members under madsim, driven with the SDK: the v2 API of a single member
//! (index arithmetic, keys operations, TTL expiry, watches, members, stats), and a
//! three-member cluster through leader kills, restarts, pauses and membership
//! changes.
//!
//! Run: `RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim --target-dir target/sim --test member_cluster`
//! (add `MADSIM_TEST_NUM=10` for more seeds, `MADSIM_TEST_CHECK_DETERMINISM=1` to
//! replay a seed twice and compare).

#![cfg(madsim)]

use etcd_sdk::keys::{
    CreateInOrderOptions, DeleteOptions, GetOptions, KeysAPI, SetOptions, WatcherOptions,
    new_keys_api,
};
use etcd_sdk::members::{MembersAPI, new_members_api};
use etcd_sdk::wire::{Action, ErrorCode};
use etcd_sdk::{Config, Error, HttpClient};
use etcd_sim::member::{CLUSTER_VERSION, member_id};
use etcd_test_support::sim::member::{
    Cluster, TOKEN, client_url, config, on_client, peer_url, raw, wait_may_add_member,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep, timeout};

fn client(endpoints: Vec<String>) -> Arc<HttpClient> {
    Arc::new(
        HttpClient::new(Config {
            endpoints,
            header_timeout_per_request: Some(Duration::from_secs(1)),
            ..Default::default()
        })
        .expect("client"),
    )
}

fn api_code(e: &Error) -> Option<ErrorCode> {
    match e {
        Error::Api(a) => Some(a.code),
        _ => None,
    }
}

#[madsim::test]
async fn one_member_serves_the_v2_api() {
    let c = Cluster::start(1).await;
    let id = c.member(1).id();
    assert_eq!(id, member_id(&peer_url(1), TOKEN));
    on_client(move || async move {
        let cl = client(vec![client_url(1)]);
        let keys = new_keys_api(cl.clone());

        // Index arithmetic: raftAttributes, attributes, cluster version.
        let root = raw(1, "GET", "/v2/keys", None, "").await;
        assert_eq!(root.status, 200);
        assert_eq!(root.header("X-Etcd-Index"), Some("3"));
        assert_eq!(root.body, "{\"action\":\"get\",\"node\":{\"dir\":true}}\n");
        let set = keys
            .set("/message", "Hello world", SetOptions::default())
            .await
            .expect("set");
        assert_eq!(set.index, 4);
        assert_eq!(set.node.as_ref().unwrap().modified_index, 4);
        assert_eq!(
            set.cluster_id,
            format!("{:x}", etcd_sim::member::cluster_id(&[id]))
        );

        // Keys operations.
        let got = keys.get("/message", GetOptions::default()).await.unwrap();
        assert_eq!(got.node.unwrap().value.as_deref(), Some("Hello world"));
        let e = keys.create("/message", "again").await.unwrap_err();
        assert_eq!(api_code(&e), Some(ErrorCode::NODE_EXIST));
        let cas = keys
            .set(
                "/message",
                "swapped",
                SetOptions {
                    prev_value: Some("Hello world".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cas.action, Action::CompareAndSwap);
        let e = keys
            .set(
                "/message",
                "x",
                SetOptions {
                    prev_index: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(api_code(&e), Some(ErrorCode::TEST_FAILED));
        let cad = keys
            .delete(
                "/message",
                DeleteOptions {
                    prev_value: Some("swapped".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(cad.action, Action::CompareAndDelete);
        keys.set(
            "/dir",
            "",
            SetOptions {
                dir: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let q1 = keys
            .create_in_order("/dir", "job1", CreateInOrderOptions::default())
            .await
            .unwrap();
        let q2 = keys
            .create_in_order("/dir", "job2", CreateInOrderOptions::default())
            .await
            .unwrap();
        assert!(q1.node.unwrap().key < q2.node.unwrap().key);
        let e = keys
            .delete("/dir", DeleteOptions::default())
            .await
            .unwrap_err();
        assert_eq!(api_code(&e), Some(ErrorCode::NOT_FILE));
        let del = keys
            .delete(
                "/dir",
                DeleteOptions {
                    recursive: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(del.action, Action::Delete);
        let upd = keys.update("/nokey", "v").await.unwrap_err();
        assert_eq!(api_code(&upd), Some(ErrorCode::KEY_NOT_FOUND));

        // A quorum get goes through the log and still reads the data.
        let w = keys
            .set("/q", "quorum", SetOptions::default())
            .await
            .unwrap();
        let q = keys
            .get(
                "/q",
                GetOptions {
                    quorum: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(q.node.unwrap().value.as_deref(), Some("quorum"));
        assert!(
            q.raft_index.unwrap() > w.raft_index.unwrap(),
            "the read is a log entry"
        );

        // Watch from history.
        let mut hist = keys.watcher(
            "/q",
            WatcherOptions {
                after_index: w.index - 1,
                recursive: false,
            },
        );
        let ev = hist.next().await.unwrap();
        assert_eq!(ev.node.unwrap().modified_index, w.index);

        // TTL: a 1 s key expires (the leader sweeps every 500 ms) and a watcher sees it.
        let t = keys
            .set(
                "/ttl",
                "v",
                SetOptions {
                    ttl: Some(Duration::from_secs(1)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(t.node.as_ref().unwrap().ttl, 1);
        let mut watcher = keys.watcher(
            "/ttl",
            WatcherOptions {
                after_index: t.index,
                recursive: false,
            },
        );
        let start = Instant::now();
        let ev = timeout(Duration::from_secs(5), watcher.next())
            .await
            .expect("expire in time")
            .unwrap();
        assert_eq!(ev.action, Action::Expire);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took <= Duration::from_millis(2_000),
            "expired after {took:?}"
        );
        let e = keys.get("/ttl", GetOptions::default()).await.unwrap_err();
        assert_eq!(api_code(&e), Some(ErrorCode::KEY_NOT_FOUND));

        // Version, health, machines, members, stats.
        let v = cl.get_version().await.unwrap();
        assert_eq!(
            (v.server.as_str(), v.cluster.as_str()),
            ("3.4.23", CLUSTER_VERSION)
        );
        let h = raw(1, "GET", "/health", None, "").await;
        assert_eq!((h.status, h.body.as_str()), (200, r#"{"health":"true"}"#));
        let m = raw(1, "GET", "/v2/machines", None, "").await;
        assert_eq!(m.body, client_url(1));
        let members = new_members_api(cl.clone());
        let list = members.list().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, format!("{id:x}"));
        assert_eq!(list[0].name, "m1");
        assert_eq!(list[0].client_urls, vec![client_url(1)]);
        assert_eq!(list[0].peer_urls, vec![peer_url(1)]);
        assert_eq!(members.leader().await.unwrap(), list[0]);
        let me = raw(1, "GET", "/v2/stats/self", None, "").await;
        let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
        assert_eq!(me["name"], "m1");
        assert_eq!(me["state"], "StateLeader");
        assert_eq!(me["leaderInfo"]["leader"], format!("{id:x}"));
        let leader = raw(1, "GET", "/v2/stats/leader", None, "").await;
        assert_eq!(
            leader.body,
            format!(r#"{{"leader":"{id:x}","followers":{{}}}}"#)
        );
        let store = raw(1, "GET", "/v2/stats/store", None, "").await;
        let store: serde_json::Value = serde_json::from_str(&store.body).unwrap();
        assert_eq!(store["expireCount"], 1);
        // etcd counts a failed comparison as a success too.
        assert_eq!(store["compareAndSwapSuccess"], 2);
    })
    .await;
}

/// Sets `key` through `keys`, retrying a few times: a write caught by a leader
/// change may time out once.
async fn set_eventually(keys: &dyn KeysAPI, key: &str, value: &str) -> u64 {
    let start = Instant::now();
    loop {
        match keys.set(key, value, SetOptions::default()).await {
            Ok(r) => return r.index,
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "write of {key} kept failing: {e}"
                );
                tracing::info!(error = %e, key, "write failed; retrying");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[madsim::test]
async fn three_members_survive_a_leader_kill_and_restart() {
    // Snapshots every 20 entries: the restarted member recovers from its own.
    let c = Arc::new(Cluster::start_with(3, |cfg| cfg.snapshot_count = 20).await);
    let cc = c.clone();
    on_client(move || async move {
        let c = cc;
        // Writes through every member (followers forward through Raft, no
        // redirects): the first gets 8.
        for (n, index) in (1..=3u8).zip(8..) {
            let path = format!("/v2/keys/via/{n}");
            let form = Some("application/x-www-form-urlencoded");
            let r = raw(n, "PUT", &path, form, "value=v").await;
            assert_eq!(r.status, 201, "write via member {n}: {r:?}");
            assert_eq!(r.header("X-Etcd-Index"), Some(index.to_string().as_str()));
        }
        let via2 = new_keys_api(client(vec![client_url(2)]));
        let r = via2
            .set("/via/sdk", "v", SetOptions::default())
            .await
            .unwrap();
        assert_eq!(r.index, 11);
        let root = raw(2, "GET", "/v2/keys/via?recursive=true", None, "").await;
        assert_eq!(root.status, 200);
        let machines = raw(3, "GET", "/v2/machines", None, "").await;
        assert_eq!(
            machines.body,
            "http://10.0.1.1:2379, http://10.0.1.2:2379, http://10.0.1.3:2379"
        );

        // Stats: followers say who leads; only the leader has leader stats.
        let leader = c.wait_leader(Duration::from_secs(5)).await;
        let leader_id = format!("{:x}", c.member(leader).id());
        for n in 1..=3u8 {
            let me = raw(n, "GET", "/v2/stats/self", None, "").await;
            let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
            let state = if n == leader {
                "StateLeader"
            } else {
                "StateFollower"
            };
            assert_eq!(me["state"], state, "member {n}");
            assert_eq!(me["leaderInfo"]["leader"], leader_id.as_str());
            let ls = raw(n, "GET", "/v2/stats/leader", None, "").await;
            if n == leader {
                let ls: serde_json::Value = serde_json::from_str(&ls.body).unwrap();
                let followers = ls["followers"].as_object().unwrap();
                assert_eq!(followers.len(), 2);
                assert!(
                    followers
                        .values()
                        .all(|f| f["counts"]["success"].as_u64() > Some(0))
                );
            } else {
                assert_eq!(
                    (ls.status, ls.body.as_str()),
                    (403, r#"{"message":"not current leader"}"#)
                );
            }
        }

        let all = client(c.endpoints());
        let keys = new_keys_api(all.clone());
        for i in 0..30 {
            keys.set(&format!("/before/{i}"), "v", SetOptions::default())
                .await
                .unwrap();
        }
        let old = c.wait_leader(Duration::from_secs(5)).await;
        assert!(
            c.member(old).status().snapshot_index > 0,
            "a snapshot was taken"
        );
        c.kill(old);
        let start = Instant::now();
        let mut last = 0;
        for i in 0..10 {
            last = set_eventually(&keys, &format!("/after-kill/{i}"), "v").await;
        }
        tracing::info!(took = ?start.elapsed(), "ten writes after the leader kill");
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "writes after the kill took {:?}",
            start.elapsed()
        );
        let new = c.wait_leader(Duration::from_secs(5)).await;
        assert_ne!(new, old);

        // The killed member restarts on its disk, catches up and serves the data.
        c.restart(old);
        c.wait_ready(old, Duration::from_secs(15)).await;
        let local = new_keys_api(client(vec![client_url(old)]));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match local.get("/after-kill/9", GetOptions::default()).await {
                Ok(r) if r.index >= last => break,
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "restarted member lags: {other:?}"
                    );
                    sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let a = raw(
            old,
            "GET",
            "/v2/keys/after-kill?recursive=true&sorted=true",
            None,
            "",
        )
        .await;
        let b = raw(
            new,
            "GET",
            "/v2/keys/after-kill?recursive=true&sorted=true",
            None,
            "",
        )
        .await;
        assert_eq!(a.body, b.body);
        assert_eq!(a.status, 200);
        // A restarted member publishes itself again (+1, as etcd does).
        let r = keys
            .set("/final", "v", SetOptions::default())
            .await
            .unwrap();
        assert!(r.index >= last + 2);
    })
    .await;
}

#[madsim::test]
async fn a_paused_member_is_left_behind() {
    let c = Arc::new(Cluster::start(3).await);
    let cc = c.clone();
    on_client(move || async move {
        let c = cc;
        let cl = client(c.endpoints());
        let keys = new_keys_api(cl.clone());
        set_eventually(&keys, "/before", "v").await;
        // Pause the pinned member (the leader or not).
        let pinned = cl.pinned_endpoint().expect("pinned");
        let n = (1..=3u8)
            .find(|n| client_url(*n) == pinned)
            .expect("a member");
        c.pause(n);
        let start = Instant::now();
        for i in 0..5 {
            set_eventually(&keys, &format!("/paused/{i}"), "v").await;
        }
        tracing::info!(took = ?start.elapsed(), "five writes after the pause");
        assert!(
            start.elapsed() < Duration::from_secs(8),
            "{:?}",
            start.elapsed()
        );
        assert_ne!(cl.pinned_endpoint(), Some(pinned));
        let got = keys.get("/paused/4", GetOptions::default()).await.unwrap();
        assert_eq!(got.node.unwrap().value.as_deref(), Some("v"));
        c.resume(n);
        let local = new_keys_api(client(vec![client_url(n)]));
        let deadline = Instant::now() + Duration::from_secs(10);
        while local.get("/paused/4", GetOptions::default()).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "resumed member does not catch up"
            );
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[madsim::test]
async fn a_member_is_added_joins_and_is_removed() {
    let c = Arc::new(std::sync::Mutex::new(Cluster::start(3).await));
    let running: Vec<_> = {
        let c = c.lock().unwrap();
        c.running().iter().map(|n| c.member(*n)).collect()
    };
    wait_may_add_member(&running, Duration::from_secs(20)).await;
    let cc = c.clone();
    let endpoints = c.lock().unwrap().endpoints();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    // The client adds the member, the test body starts it, the client checks it.
    let client_task = madsim::runtime::Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.1.100".parse().unwrap())
        .build()
        .spawn(async move {
            let cl = client(endpoints);
            let members = new_members_api(cl.clone());
            let added = members.add(&peer_url(4)).await.expect("add");
            assert_eq!(added.id, format!("{:x}", member_id(&peer_url(4), TOKEN)));
            assert_eq!(added.name, "");
            assert!(added.client_urls.is_empty());
            // While the added member has not started, the strict reconfiguration
            // check refuses any other add, duplicates included, with a 500 (as
            // etcd does). A member that has not applied the first add yet lets
            // the duplicate through to Raft, where it is refused at apply time
            // on every member: 409, as etcd's apply-time validation answers.
            let again = raw(
                1,
                "POST",
                "/v2/members",
                Some("application/json"),
                &format!(r#"{{"peerURLs":["{}"]}}"#, peer_url(4)),
            )
            .await;
            let answer = (again.status, again.body.as_str());
            assert!(
                answer == (500, r#"{"message":"Internal Server Error"}"#)
                    || answer == (409, r#"{"message":"membership: peerURL exists"}"#)
                    // Our add ids come from the peer URL when free (etcd salts them
                    // with the time), so the duplicate's id is the same one.
                    || answer == (409, r#"{"message":"membership: ID exists"}"#),
                "{answer:?}"
            );
            let list = members.list().await.unwrap();
            assert_eq!(list.len(), 4, "{list:?}");
            tx.send(added.id.clone()).unwrap();
            go_rx.await.unwrap();

            // The new member serves, and writes through it replicate.
            let via4 = new_keys_api(client(vec![client_url(4)]));
            let r = set_eventually(&via4, "/via/4", "joined").await;
            let got = new_keys_api(client(vec![client_url(1)]))
                .get(
                    "/via/4",
                    GetOptions {
                        quorum: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(got.node.unwrap().modified_index, r);
            let list = members.list().await.unwrap();
            let m4 = list.iter().find(|m| m.id == added.id).expect("listed");
            assert_eq!(m4.name, "m4");
            assert_eq!(m4.client_urls, vec![client_url(4)]);

            // Update: the same URL is fine, another member's is a conflict.
            members
                .update(&added.id, &[peer_url(4)])
                .await
                .expect("update");
            let e = members.update(&added.id, &[peer_url(1)]).await.unwrap_err();
            assert!(e.to_string().contains("membership: peerURL exists"), "{e}");

            // Removal: 204, then 410 (which the SDK also takes as success).
            members.remove(&added.id).await.expect("remove");
            members
                .remove(&added.id)
                .await
                .expect("second remove is 410");
            let again = raw(1, "DELETE", &format!("/v2/members/{}", added.id), None, "").await;
            assert_eq!(again.status, 410);
            assert_eq!(
                again.body,
                format!(
                    r#"{{"message":"Member permanently removed: {}"}}"#,
                    added.id
                )
            );
            let none = raw(1, "DELETE", "/v2/members/1234", None, "").await;
            assert_eq!(
                (none.status, none.body.as_str()),
                (404, r#"{"message":"No such member: 1234"}"#)
            );
            assert_eq!(members.list().await.unwrap().len(), 3);
            set_eventually(&new_keys_api(cl.clone()), "/after-remove", "v").await;
        });
    let id = rx.await.unwrap();
    {
        let mut c = cc.lock().unwrap();
        c.add_node(config(4, &[1, 2, 3, 4], true));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = cc
            .lock()
            .unwrap()
            .try_member(4)
            .is_some_and(|m| m.is_ready());
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "member 4 did not join");
        sleep(Duration::from_millis(20)).await;
    }
    // Its handle, kept: once removed it stops and leaves the cluster's slot.
    let removed = cc.lock().unwrap().member(4);
    assert_eq!(format!("{:x}", removed.id()), id);
    go_tx.send(()).unwrap();
    client_task.await.expect("client task");
    // The others no longer count it.
    {
        let c = cc.lock().unwrap();
        let leader = (1..=3u8)
            .map(|n| c.member(n).status())
            .find(|s| s.is_leader())
            .expect("a leader among 1..=3");
        let voters = leader.voters;
        assert_eq!(voters.len(), 3);
        assert!(!voters.contains(&removed.id()));
    }
    // The removed member learns of its own removal and stops.
    let deadline = Instant::now() + Duration::from_secs(10);
    while removed.status().stopped.is_none() {
        assert!(
            Instant::now() < deadline,
            "the removed member kept running: {:?}",
            removed.status()
        );
        sleep(Duration::from_millis(50)).await;
    }
    assert!(removed.status().removed);
}

#[madsim::test]
async fn without_quorum_writes_time_out_with_error_300() {
    let c = Arc::new(Cluster::start(3).await);
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let others: Vec<u8> = (1..=3).filter(|n| *n != leader).collect();
    c.kill(others[0]);
    c.kill(others[1]);
    on_client(move || async move {
        let start = Instant::now();
        let put = raw(leader, "PUT", "/v2/keys/x", Some("application/x-www-form-urlencoded"), "value=1").await;
        let took = start.elapsed();
        assert_eq!(put.status, 500);
        assert_eq!(
            put.body,
            "{\"errorCode\":300,\"message\":\"Raft Internal Error\",\"cause\":\"etcdserver: request timed out\",\"index\":0}\n"
        );
        assert!(
            took >= Duration::from_secs(7) && took < Duration::from_millis(7_500),
            "timed out after {took:?}"
        );
        let h = raw(leader, "GET", "/health", None, "").await;
        assert_eq!((h.status, h.body.as_str()), (503, "{\"health\":\"false\"}\n"));
        let l = raw(leader, "GET", "/v2/members/leader", None, "").await;
        assert_eq!((l.status, l.body.as_str()), (503, r#"{"message":"During election"}"#));
        let s = raw(leader, "GET", "/v2/stats/leader", None, "").await;
        assert_eq!(s.status, 403);
        // Local reads still work.
        let g = raw(leader, "GET", "/v2/keys/", None, "").await;
        assert_eq!(g.status, 200);
    })
    .await;
}

/// A member removed while it was down never sees the commit that removed it; when it
/// comes back, its peers answer its messages with a removal notice (etcd answers 410
/// Gone) and it stops, instead of running on forever outside the cluster.
#[madsim::test]
async fn a_member_removed_while_down_is_told_and_stops_when_it_returns() {
    let c = Arc::new(Cluster::start(3).await);
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let gone = (1..=3u8).find(|n| *n != leader).expect("a follower");
    let gone_id = format!("{:x}", c.member(gone).id());
    // Connected for etcd's 5 s health interval first, or the strict
    // reconfiguration check refuses the removal.
    sleep(Duration::from_secs(6)).await;
    c.kill(gone);
    let live: Vec<String> = (1..=3u8).filter(|n| *n != gone).map(client_url).collect();
    let (removed_tx, removed_rx) = tokio::sync::oneshot::channel::<()>();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let client = madsim::runtime::Handle::current()
        .create_node()
        .name("client")
        .ip("10.0.1.100".parse().unwrap())
        .build()
        .spawn(async move {
            let members = new_members_api(client(live.clone()));
            members
                .remove(&gone_id)
                .await
                .expect("remove the dead member");
            assert_eq!(members.list().await.unwrap().len(), 2);
            // Past the two election timeouts the others keep its address for.
            sleep(Duration::from_secs(3)).await;
            removed_tx.send(()).unwrap();
            stopped_rx.await.unwrap();
            // The two that remain still serve writes.
            set_eventually(&new_keys_api(client(live)), "/after", "v").await;
        });
    removed_rx.await.unwrap();
    c.restart(gone);
    let deadline = Instant::now() + Duration::from_secs(10);
    let back = loop {
        if let Some(m) = c.try_member(gone) {
            break m;
        }
        assert!(Instant::now() < deadline, "the member did not restart");
        sleep(Duration::from_millis(5)).await;
    };
    loop {
        let status = back.status();
        if status.stopped.is_some() {
            assert!(status.removed, "stopped for another reason: {status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the removed member kept running after it came back: {status:?}"
        );
        sleep(Duration::from_millis(50)).await;
    }
    stopped_tx.send(()).unwrap();
    client.await.expect("client task");
}

/// etcd's strict reconfiguration check on removal: with one member down, removing
/// a live one would leave no quorum, so it is refused (500); the member that is
/// down can be removed.
#[madsim::test]
async fn removing_a_live_member_while_another_is_down_is_refused() {
    let c = Arc::new(Cluster::start(3).await);
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let others: Vec<u8> = (1..=3).filter(|n| *n != leader).collect();
    let (live, down) = (others[0], others[1]);
    let live_id = format!("{:x}", c.member(live).id());
    let down_id = format!("{:x}", c.member(down).id());
    // Connected for etcd's 5 s health interval, then one member goes down for
    // longer than it takes to count as disconnected.
    sleep(Duration::from_secs(6)).await;
    c.kill(down);
    sleep(Duration::from_secs(5)).await;
    on_client(move || async move {
        let path = format!("/v2/members/{live_id}");
        let refused = raw(leader, "DELETE", &path, None, "").await;
        assert_eq!(
            (refused.status, refused.body.as_str()),
            (500, r#"{"message":"Internal Server Error"}"#)
        );
        let removed = raw(
            leader,
            "DELETE",
            &format!("/v2/members/{down_id}"),
            None,
            "",
        )
        .await;
        assert_eq!(removed.status, 204, "{}", removed.body);
    })
    .await;
}
