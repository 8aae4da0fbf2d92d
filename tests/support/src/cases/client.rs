//! The cluster client (`HttpClient`): version, sync, endpoint validation,
//! failover past dead, paused and killed members, and at-most-once delivery.
//! Written once against [`Backend`] and run against two backends: real etcd 3.4
//! (`tests/real_client.rs`) and the simulated cluster (`sim/tests/sim_client.rs`).
//! Each case expects a fresh cluster of the size its doc names.

use crate::backend::Backend;
use crate::raw_http;
use crate::sdk::{client, pin_to};
use etcd_sdk::client::{Request, Response};
use etcd_sdk::keys::{CreateInOrderOptions, new_keys_api};
use etcd_sdk::{Error, KeysAPI};
use http::Method;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const RAW: Duration = Duration::from_secs(5);

fn set_req(key: &str, value: &str) -> Request {
    Request::new(Method::PUT, format!("/v2/keys/{key}"))
        .form(&[("value".to_string(), value.to_string())])
}

fn create_req(key: &str, value: &str) -> Request {
    set_req(key, value)
        .query("prevExist", "false")
        .at_most_once()
}

fn quorum_get_req(key: &str) -> Request {
    Request::new(Method::GET, format!("/v2/keys/{key}")).query("quorum", "true")
}

fn json(r: &Response) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {:?}", r.body))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A follower of the cluster (waits for a leader first).
async fn a_follower(c: &dyn Backend) -> (usize, usize) {
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    (leader, (leader + 1) % c.size())
}

/// Run against a fresh 1-member cluster.
pub async fn get_version_reports_etcd_3_4(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let cl = client(&c.client_urls(), Some(HEADER_TIMEOUT));
    let v = cl.get_version().await.unwrap();
    assert!(v.server.starts_with("3.4."), "server version {v:?}");
    assert_eq!(v.cluster, "3.4.0");
}

/// Run against a fresh 3-member cluster.
pub async fn sync_collects_every_members_client_urls(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let cl = client(&urls[1..2], Some(HEADER_TIMEOUT));
    assert_eq!(cl.endpoints(), vec![urls[1].clone()]);
    cl.sync().await.unwrap();
    assert_eq!(sorted(cl.endpoints()), sorted(urls.clone()));
    // The same set again: the order (and so the pin) is left alone.
    let before = cl.endpoints();
    let pinned = cl.pinned_endpoint();
    cl.sync().await.unwrap();
    assert_eq!(cl.endpoints(), before);
    assert_eq!(cl.pinned_endpoint(), pinned);
    // The synced client works.
    let r = cl.send(set_req("synced", "yes")).await.unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(json(&r)["node"]["createdIndex"], 8);
}

/// Run against a fresh 1-member cluster.
pub async fn set_endpoints_validates_and_keeps_the_old_list_on_error(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let urls = c.client_urls();
    assert!(matches!(
        etcd_sdk::HttpClient::new(etcd_sdk::Config::default()),
        Err(Error::NoEndpoints)
    ));
    let cl = client(&urls, Some(HEADER_TIMEOUT));
    assert!(matches!(cl.set_endpoints(&[]), Err(Error::NoEndpoints)));
    for bad in [
        "not a url",
        "127.0.0.1:2379",
        "ftp://127.0.0.1:1",
        "http://",
        "http://127.0.0.1:1/?a=b",
    ] {
        let err = cl
            .set_endpoints(&[urls[0].clone(), bad.to_string()])
            .unwrap_err();
        match err {
            Error::InvalidEndpoint { endpoint, .. } => assert_eq!(endpoint, bad),
            other => panic!("{bad}: expected InvalidEndpoint, got {other:?}"),
        }
    }
    assert_eq!(
        cl.endpoints(),
        urls,
        "a rejected list must not replace the old one"
    );
    assert!(cl.get_version().await.is_ok());
    // A valid list with a path prefix is accepted (and requests go under it).
    let dead = c.dead_endpoint();
    cl.set_endpoints(&[dead.clone(), urls[0].clone()]).unwrap();
    assert_eq!(sorted(cl.endpoints()), sorted(vec![dead, urls[0].clone()]));
}

/// Run against a fresh 1-member cluster.
pub async fn a_dead_endpoint_first_does_not_stop_calls(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let live = c.client_urls()[0].clone();
    let dead = c.dead_endpoint();
    let eps = vec![dead.clone(), live.clone()];
    let cl = client(&eps, Some(HEADER_TIMEOUT));

    pin_to(&cl, &eps, &dead);
    let v = cl.get_version().await.unwrap();
    assert!(v.server.starts_with("3.4."));
    assert_eq!(
        cl.pinned_endpoint().as_deref(),
        Some(live.as_str()),
        "the pin moves to the endpoint that answered"
    );

    // An at-most-once write may fail over too when the connection was refused:
    // the request certainly never reached the dead endpoint.
    pin_to(&cl, &eps, &dead);
    let r = cl.send(create_req("first", "v")).await.unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.endpoint, live);
    let body = json(&r);
    assert_eq!(body["action"], "create");
    assert_eq!(
        body["node"]["createdIndex"], 4,
        "the first write of a fresh 1-member cluster is index 4"
    );

    // Only the dead endpoint: a cluster error that names it.
    cl.set_endpoints(std::slice::from_ref(&dead)).unwrap();
    match cl.send(quorum_get_req("first")).await {
        Err(Error::Cluster(ce)) => {
            assert_eq!(ce.errors.len(), 1);
            assert!(
                ce.errors[0]
                    .to_string()
                    .contains(dead.trim_start_matches("http://")),
                "{}",
                ce.errors[0]
            );
        }
        other => panic!("expected a cluster error, got {other:?}"),
    }
}

/// Run against a fresh 3-member cluster.
pub async fn header_timeout_moves_past_a_paused_member(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let (_, f) = a_follower(c).await;
    let cl = client(&urls, Some(HEADER_TIMEOUT));
    pin_to(&cl, &urls, &urls[f]);
    c.pause(f);

    let start = Instant::now();
    let r = cl.send(quorum_get_req("hk")).await.unwrap();
    let took = start.elapsed();
    assert_eq!(r.status, 404, "the key does not exist yet");
    assert_eq!(json(&r)["errorCode"], 100);
    assert_ne!(r.endpoint, urls[f]);
    assert!(
        took >= HEADER_TIMEOUT,
        "the paused member should have cost one header timeout, took {took:?}"
    );
    assert!(took < Duration::from_secs(5), "failover took {took:?}");
    assert_ne!(
        cl.pinned_endpoint().as_deref(),
        Some(urls[f].as_str()),
        "the pin left the paused member"
    );

    // A plain set is retried on the others too (pin it on the paused member again).
    pin_to(&cl, &urls, &urls[f]);
    let start = Instant::now();
    let r = cl.send(set_req("hk", "while-paused")).await.unwrap();
    assert_eq!(r.status, 201);
    assert_ne!(r.endpoint, urls[f]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "set took {:?}",
        start.elapsed()
    );

    // Resumed, the member answers again and has caught up (a quorum read).
    c.resume(f);
    let only_f = client(&urls[f..=f], Some(Duration::from_secs(5)));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match only_f.send(quorum_get_req("hk")).await {
            Ok(r) if r.status == 200 => {
                assert_eq!(json(&r)["node"]["value"], "while-paused");
                break;
            }
            other => assert!(
                Instant::now() < deadline,
                "resumed member does not answer: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Run against a fresh 3-member cluster.
pub async fn a_paused_leader_is_bypassed_once_the_others_elect(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let cl = client(&urls, Some(HEADER_TIMEOUT));
    pin_to(&cl, &urls, &urls[leader]);
    c.pause(leader);

    // Until the others elect a leader (about one election timeout), writes may
    // time out everywhere; then they succeed without the paused member.
    let start = Instant::now();
    let mut attempts = 0;
    let r = loop {
        attempts += 1;
        match cl.send(set_req("lk", "v")).await {
            Ok(r) => break r,
            Err(e) => {
                assert!(matches!(e, Error::Cluster(_)), "unexpected error {e:?}");
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "no success after {attempts} attempts: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(r.status == 200 || r.status == 201, "{r:?}");
    assert_ne!(r.endpoint, urls[leader]);
    let new_leader = c
        .wait_for_leader(Some(leader), Duration::from_secs(20))
        .await;
    assert_ne!(new_leader, leader);
    let r = cl.send(quorum_get_req("lk")).await.unwrap();
    assert_eq!(json(&r)["node"]["value"], "v");
    c.resume(leader);
}

/// Run against a fresh 3-member cluster.
pub async fn calls_keep_working_when_members_are_killed(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let (leader, f) = a_follower(c).await;
    let cl = client(&urls, Some(HEADER_TIMEOUT));
    pin_to(&cl, &urls, &urls[f]);
    c.kill(f);

    // A refused connection fails over at once: every call succeeds quickly.
    for i in 0..10 {
        let start = Instant::now();
        let r = cl.send(set_req("kk", &i.to_string())).await.unwrap();
        assert!(r.status == 200 || r.status == 201);
        assert_ne!(r.endpoint, urls[f]);
        let r = cl.send(quorum_get_req("kk")).await.unwrap();
        assert_eq!(json(&r)["node"]["value"], i.to_string());
        // No header timeout is involved: a killed member refuses the connection.
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "call {i} took {:?}",
            start.elapsed()
        );
    }

    // Restarted, the member catches up.
    c.restart(f).await;
    let only_f = client(&urls[f..=f], Some(Duration::from_secs(5)));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = only_f.send(quorum_get_req("kk")).await
            && r.status == 200
            && json(&r)["node"]["value"] == "9"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "restarted member did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Killing the leader: once the others elect a new one, calls succeed.
    c.kill(leader);
    let start = Instant::now();
    loop {
        match cl.send(set_req("kk", "after-leader-kill")).await {
            Ok(r) => {
                assert_ne!(r.endpoint, urls[leader]);
                break;
            }
            Err(e) => {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "writes never recovered: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let new_leader = c
        .wait_for_leader(Some(leader), Duration::from_secs(20))
        .await;
    assert_ne!(new_leader, leader);
    let r = cl.send(quorum_get_req("kk")).await.unwrap();
    assert_eq!(json(&r)["node"]["value"], "after-leader-kill");
}

/// Run against a fresh 3-member cluster.
pub async fn at_most_once_writes_to_a_paused_member_are_not_resent(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let (leader, f) = a_follower(c).await;
    let cl = client(&urls, Some(HEADER_TIMEOUT));
    c.pause(f);

    // A create: sent to the paused member, it times out and is not re-sent.
    pin_to(&cl, &urls, &urls[f]);
    let start = Instant::now();
    match cl.send(create_req("amo", "once")).await {
        Err(Error::OutcomeUnknown { endpoint, cause }) => {
            assert_eq!(endpoint, urls[f]);
            assert!(
                matches!(*cause, Error::HeaderTimeout { .. }),
                "cause {cause:?}"
            );
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_ne!(
        cl.pinned_endpoint().as_deref(),
        Some(urls[f].as_str()),
        "the pin moves on after a one-shot failure"
    );

    // After that timeout the client doubts the leader: the next leader-bound
    // request is held (nothing sent) until a member names itself leader, and
    // goes there. So each of the writes below either reaches the leader once
    // (Ok) or, sent to the paused member, is outcome-unknown; never re-sent.
    // An in-order create (POST) would make a second queue item if it were re-sent.
    let mut acked = Vec::new();
    pin_to(&cl, &urls, &urls[f]);
    let post = Request::new(Method::POST, "/v2/keys/amoq")
        .form(&[("value".to_string(), "job".to_string())])
        .at_most_once();
    match cl.send(post).await {
        Ok(r) => {
            assert_eq!(r.status, 201, "{:?}", json(&r));
            acked.push("amoq");
        }
        Err(err) => assert!(err.is_outcome_unknown(), "{err:?}"),
    }

    // The same through the keys API: create and create_in_order are at-most-once.
    let keys = new_keys_api(Arc::new(cl.clone()));
    pin_to(&cl, &urls, &urls[f]);
    match keys.create("/amo2", "once").await {
        Ok(_) => acked.push("amo2"),
        Err(err) => assert!(err.is_outcome_unknown(), "{err:?}"),
    }
    pin_to(&cl, &urls, &urls[f]);
    match keys
        .create_in_order("/amoq2", "job", CreateInOrderOptions::default())
        .await
    {
        Ok(_) => acked.push("amoq2"),
        Err(err) => assert!(err.is_outcome_unknown(), "{err:?}"),
    }

    // What was not acknowledged reached no other member: the live majority has
    // none of those keys (an acknowledged one is checked below: exactly once).
    let creates = ["amo", "amo2"];
    let queues = ["amoq", "amoq2"];
    for key in creates.iter().chain(&queues).filter(|k| !acked.contains(k)) {
        let r = raw_http::get(&urls[leader], &format!("/v2/keys/{key}?quorum=true"), RAW)
            .await
            .unwrap();
        assert_eq!(r.status, 404, "{key} was applied elsewhere: {}", r.text());
    }

    // Once resumed, the paused member may or may not apply what it had received,
    // but never more than once.
    c.resume(f);
    c.wait_healthy(f, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    for key in creates {
        let r = raw_http::get(&urls[leader], &format!("/v2/keys/{key}?quorum=true"), RAW)
            .await
            .unwrap();
        assert!(
            r.status == 200 || !acked.contains(&key),
            "{key} was acknowledged but is missing: {}",
            r.text()
        );
        if r.status == 200 {
            let n = &r.json()["node"];
            assert_eq!(n["value"], "once");
            assert_eq!(n["createdIndex"], n["modifiedIndex"], "{key} written once");
        } else {
            assert_eq!(r.status, 404, "{key}: {}", r.text());
        }
    }
    for key in queues {
        let r = raw_http::get(&urls[leader], &format!("/v2/keys/{key}?quorum=true"), RAW)
            .await
            .unwrap();
        assert!(
            r.status == 200 || !acked.contains(&key),
            "{key} was acknowledged but is missing: {}",
            r.text()
        );
        if r.status == 200 {
            let items = r.json()["node"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(
                items.len() <= 1,
                "the in-order create {key} was applied {} times",
                items.len()
            );
        } else {
            assert_eq!(r.status, 404, "{key}: {}", r.text());
        }
    }

    // A retryable read after all that still works through the same client.
    let r = cl.send(quorum_get_req("amo")).await.unwrap();
    assert!(r.status == 200 || r.status == 404);
}
