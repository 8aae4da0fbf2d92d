//! A learner's life against a 3-process cluster (real etcd 3.4.23 and the
//! `etcd-sim` binary alike): added while its process is not started (promote
//! refused: not in sync; a second learner refused), started with
//! `--initial-cluster-state=existing`, caught up (its serializable reads see the
//! data), refusing every other call with etcd's learner error, not voting (the
//! cluster keeps its quorum without it and one voter), restarted still a
//! learner, promoted through a follower, then a voter that serves everything.

use crate::etcd::EtcdCluster;
use etcd_sdk::v3::{
    Client, Cluster, Config, EtcdError, GetOptions, KV, Lease, MemberListResponse, PutOptions,
};
use std::time::Duration;
use tokio::time::Instant;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a started learner may take to catch up.
const CATCH_UP: Duration = Duration::from_secs(30);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(CALL_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

#[track_caller]
fn assert_etcd<T: std::fmt::Debug>(r: etcd_sdk::v3::Result<T>, want: EtcdError) {
    match r {
        Err(e) => assert_eq!(e.etcd(), Some(want), "{e:?}"),
        Ok(v) => panic!("expected {want:?}, got {v:?}"),
    }
}

fn serializable() -> GetOptions {
    GetOptions {
        serializable: true,
        ..GetOptions::default()
    }
}

fn learner_flag(list: &MemberListResponse, id: u64) -> Option<bool> {
    list.members
        .iter()
        .find(|m| m.id == id)
        .map(|m| m.is_learner)
}

/// Waits until the member at `url` serves `key` = `value` from its own store.
async fn wait_local_value(url: &str, key: &str, value: &[u8]) {
    let direct = client(&[url.to_string()]).await;
    let start = Instant::now();
    loop {
        if let Ok(g) = direct.get(key, serializable()).await {
            if g.kvs.first().map(|kv| kv.value.as_slice()) == Some(value) {
                return;
            }
        }
        assert!(
            start.elapsed() < CATCH_UP,
            "{url} never served {key} = {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks that the member at `url` is a learner by what it serves.
async fn assert_serves_as_learner(url: &str) {
    let direct = client(&[url.to_string()]).await;
    assert!(direct.get("before", serializable()).await.is_ok());
    assert_etcd(
        direct.get("before", GetOptions::default()).await,
        EtcdError::NotSupportedForLearner,
    );
    assert_etcd(
        direct.put("x", "y", PutOptions::default()).await,
        EtcdError::NotSupportedForLearner,
    );
    assert_etcd(direct.grant(60).await, EtcdError::NotSupportedForLearner);
    assert_etcd(
        direct.member_list().await,
        EtcdError::NotSupportedForLearner,
    );
}

/// Run against a fresh 3-member cluster of processes (see the module docs).
pub async fn learner_joins_catches_up_and_is_promoted(c: &EtcdCluster) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let cl = client(&urls).await;
    cl.put("before", "1", PutOptions::default()).await.unwrap();
    c.settle_for(Duration::from_secs(6)).await;

    // Added, not started: listed as a learner, not promotable, the only one.
    let learner = c.joining_member("m3");
    let added = cl
        .member_add_as_learner(vec![learner.peer_url().to_string()])
        .await
        .unwrap();
    let id = added.member.as_ref().expect("the added member").id;
    assert_eq!(
        learner_flag(&cl.member_list().await.unwrap(), id),
        Some(true)
    );
    assert_etcd(cl.member_promote(id).await, EtcdError::LearnerNotReady);
    let spare = c.joining_member("m4");
    assert_etcd(
        cl.member_add_as_learner(vec![spare.peer_url().to_string()])
            .await,
        EtcdError::TooManyLearners,
    );

    // Started: it catches up, and serves only serializable reads.
    learner.start().unwrap();
    learner.wait_healthy(CATCH_UP).await;
    cl.put("during", "2", PutOptions::default()).await.unwrap();
    wait_local_value(learner.client_url(), "before", b"1").await;
    wait_local_value(learner.client_url(), "during", b"2").await;
    assert_serves_as_learner(learner.client_url()).await;

    // It does not vote: without it and one follower, two of three voters
    // still make a quorum.
    let leader = c.wait_for_leader(None, CATCH_UP).await;
    let follower = (0..3).find(|&i| i != leader).expect("a follower");
    learner.kill();
    c.member(follower).pause();
    let leader_client = client(&[urls[leader].clone()]).await;
    leader_client
        .put("without-learner", "3", PutOptions::default())
        .await
        .unwrap();
    c.member(follower).resume();

    // Restarted, it is still a learner and catches up again.
    learner.restart().await;
    wait_local_value(learner.client_url(), "without-learner", b"3").await;
    assert_serves_as_learner(learner.client_url()).await;

    // Promoted through a follower (which asks the leader), once in sync.
    let leader = c.wait_for_leader(None, CATCH_UP).await;
    let follower = (0..3).find(|&i| i != leader).expect("a follower");
    let via_follower = client(&[urls[follower].clone()]).await;
    let start = Instant::now();
    let promoted = loop {
        match via_follower.member_promote(id).await {
            Ok(r) => break r,
            Err(e) if e.etcd() == Some(EtcdError::LearnerNotReady) => {
                assert!(start.elapsed() < CATCH_UP, "the learner never caught up");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("promote: {e:?}"),
        }
    };
    assert_eq!(promoted.members.len(), 4);
    assert!(promoted.members.iter().all(|m| !m.is_learner));
    assert_etcd(cl.member_promote(id).await, EtcdError::MemberNotLearner);

    // A voter now: it serves everything.
    let direct = client(&[learner.client_url().to_string()]).await;
    let g = direct.get("before", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"1");
    direct
        .put("after", "4", PutOptions::default())
        .await
        .unwrap();
    let listed = direct.member_list().await.unwrap();
    assert_eq!(learner_flag(&listed, id), Some(false));
    assert!(
        listed
            .members
            .iter()
            .any(|m| m.id == id && m.name == "m3" && m.client_ur_ls == [learner.client_url()])
    );
}
