//! The v3 Cluster API (`etcd_sdk::v3::Cluster`) and the client's endpoint
//! management (`sync`, `set_endpoints`, auto-sync) against a 3-member
//! cluster: the member list, learners (an unstarted one cannot be promoted),
//! adding, updating and removing a voter, and etcd's typed refusals. Written
//! against a [`Backend`] so the simulated cluster can run the same bodies.

use crate::backend::Backend;
use etcd_sdk::v3::{Client, Cluster, Config, Error, EtcdError, Maintenance, Member};
use std::time::Duration;
use tokio::time::Instant;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

fn config(endpoints: &[String]) -> Config {
    Config {
        request_timeout: Some(CALL_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    }
}

#[track_caller]
fn assert_etcd<T: std::fmt::Debug>(r: etcd_sdk::v3::Result<T>, want: EtcdError) {
    match r {
        Err(e) => {
            assert_eq!(e.etcd(), Some(want), "{e:?}");
            assert!(
                !e.is_outcome_unknown(),
                "a refusal is not outcome-unknown: {e:?}"
            );
        }
        Ok(v) => panic!("expected {want:?}, got {v:?}"),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A peer URL no member uses (nothing listens there; the member is never
/// started).
fn spare_peer_url(c: &dyn Backend) -> String {
    c.dead_endpoint()
}

/// Waits (at most 10 s) until every member in `urls` has applied the Raft
/// index the first one reported when called.
async fn all_applied(cl: &Client, urls: &[String]) {
    let target = cl.status(&urls[0]).await.expect("status").raft_index;
    let deadline = Instant::now() + Duration::from_secs(10);
    for url in urls {
        loop {
            let applied = cl.status(url).await.expect("status").raft_applied_index;
            if applied >= target {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{url} applied only {applied} of {target} in 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn by_id(members: &[Member], id: u64) -> Option<&Member> {
    members.iter().find(|m| m.id == id)
}

/// Run against a fresh 3-member cluster. Lists the members, adds an
/// unstarted learner (promote refused: not in sync), removes it, adds a
/// voter (3 started of 4 keep quorum), updates its peer URLs, removes it,
/// and checks the refusals: unknown IDs, duplicate peer URLs, promoting a
/// voter, peer URLs refused before sending.
pub async fn membership_changes_and_refusals(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let cl = Client::new(config(&urls)).await.expect("client");

    let list = cl.member_list().await.unwrap();
    let header = list.header.as_ref().expect("member list has a header");
    assert_ne!(header.cluster_id, 0);
    assert_eq!(header.revision, 0, "membership headers carry no revision");
    assert_eq!(list.members.len(), 3);
    let mut names: Vec<String> = list.members.iter().map(|m| m.name.clone()).collect();
    names.sort();
    assert_eq!(names, (0..3).map(|i| c.name(i)).collect::<Vec<_>>());
    for (i, url) in urls.iter().enumerate() {
        let m = list
            .members
            .iter()
            .find(|m| m.name == c.name(i))
            .expect("member by name");
        assert_eq!(m.client_ur_ls, vec![url.clone()]);
        assert_eq!(m.peer_ur_ls, vec![c.peer_url(i)]);
        assert!(!m.is_learner);
    }
    let voter_id = list.members[0].id;

    // Refusals that need no settled cluster.
    assert_etcd(
        cl.member_remove(0x1234_5678).await,
        EtcdError::MemberNotFound,
    );
    assert_etcd(
        cl.member_promote(0x1234_5678).await,
        EtcdError::MemberNotFound,
    );
    assert_etcd(
        cl.member_update(0x1234_5678, vec![spare_peer_url(c)]).await,
        EtcdError::MemberNotFound,
    );
    assert_etcd(
        cl.member_promote(voter_id).await,
        EtcdError::MemberNotLearner,
    );
    assert!(matches!(
        cl.member_add(vec!["127.0.0.1:2380".into()]).await,
        Err(Error::InvalidEndpoint { .. })
    ));
    assert!(matches!(
        cl.member_add(Vec::new()).await,
        Err(Error::InvalidEndpoint { .. })
    ));

    // etcd refuses changes until its peers have been connected for 5 s.
    c.settle_for(Duration::from_secs(6)).await;
    assert_etcd(
        cl.member_add(vec![c.peer_url(1)]).await,
        EtcdError::PeerUrlExist,
    );
    // etcd refuses a duplicate peer URL when it applies the change, and its
    // Raft drops (and the caller waits out its timeout for) a change proposed
    // before the last one is applied: wait until every member applied it.
    all_applied(&cl, &urls).await;

    // A learner: listed as one, not promotable while it has not caught up.
    let learner_url = spare_peer_url(c);
    let added = cl
        .member_add_as_learner(vec![learner_url.clone()])
        .await
        .unwrap();
    let learner = added.member.clone().expect("the added member");
    assert!(learner.is_learner);
    assert_eq!(learner.peer_ur_ls, vec![learner_url]);
    assert!(learner.name.is_empty(), "an unstarted member has no name");
    assert_eq!(added.members.len(), 4);
    assert!(by_id(&added.members, learner.id).is_some_and(|m| m.is_learner));
    assert_etcd(
        cl.member_promote(learner.id).await,
        EtcdError::LearnerNotReady,
    );
    let removed = cl.member_remove(learner.id).await.unwrap();
    assert_eq!(removed.members.len(), 3);
    assert!(by_id(&removed.members, learner.id).is_none());

    // A voter that never starts: 3 started of 4 still make a quorum.
    let voter_url = spare_peer_url(c);
    let added = cl.member_add(vec![voter_url.clone()]).await.unwrap();
    let voter = added.member.clone().expect("the added member");
    assert!(!voter.is_learner);
    assert_ne!(voter.id, 0);
    assert_etcd(
        cl.member_update(voter.id, vec![c.peer_url(2)]).await,
        EtcdError::PeerUrlExist,
    );
    all_applied(&cl, &urls).await;
    let moved_url = spare_peer_url(c);
    let updated = cl
        .member_update(voter.id, vec![moved_url.clone()])
        .await
        .unwrap();
    assert_eq!(
        by_id(&updated.members, voter.id).map(|m| m.peer_ur_ls.clone()),
        Some(vec![moved_url])
    );
    let listed = cl.member_list().await.unwrap();
    assert_eq!(listed.members.len(), 4);
    // Sync keeps only started voters: the new member has no client URLs yet.
    cl.sync().await.unwrap();
    assert_eq!(sorted(cl.endpoints()), sorted(urls.clone()));
    let removed = cl.member_remove(voter.id).await.unwrap();
    assert_eq!(removed.members.len(), 3);
    assert_etcd(cl.member_remove(voter.id).await, EtcdError::MemberNotFound);
}

/// Run against a fresh 3-member cluster. A client given one endpoint learns
/// the others by `sync` (and by auto-sync), `set_endpoints` replaces them
/// (and refuses what cannot be used), and calls keep working throughout.
pub async fn endpoints_sync_and_set(c: &dyn Backend) {
    use etcd_sdk::v3::{GetOptions, KV, PutOptions};
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let cl = Client::new(config(&urls[..1])).await.expect("client");
    assert_eq!(cl.endpoints(), vec![urls[0].clone()]);
    cl.sync().await.unwrap();
    assert_eq!(sorted(cl.endpoints()), sorted(urls.clone()));
    assert_eq!(sorted(cl.usable_endpoints()), sorted(urls.clone()));
    for i in 0..6 {
        cl.put(format!("s{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }

    cl.set_endpoints([urls[2].clone()]).unwrap();
    assert_eq!(cl.endpoints(), vec![urls[2].clone()]);
    let g = cl.get("s5", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"v");
    assert!(matches!(
        cl.set_endpoints(Vec::<String>::new()),
        Err(Error::NoAvailableEndpoints)
    ));
    assert!(matches!(
        cl.set_endpoints(["not an endpoint"]),
        Err(Error::InvalidEndpoint { .. })
    ));
    assert_eq!(
        cl.endpoints(),
        vec![urls[2].clone()],
        "a refused set changes nothing"
    );

    // Auto-sync: a client given one endpoint finds the others by itself.
    let auto = Client::new(Config {
        auto_sync_interval: Some(Duration::from_millis(200)),
        ..config(&urls[1..2])
    })
    .await
    .expect("client");
    let start = Instant::now();
    while auto.endpoints().len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "auto-sync never ran: {:?}",
            auto.endpoints()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sorted(auto.endpoints()), sorted(urls.clone()));
    auto.close();

    // reject_old_cluster: 3.4 passes.
    let checked = Client::new(Config {
        reject_old_cluster: true,
        ..config(&urls)
    })
    .await
    .expect("3.4 is not old");
    checked.get("s0", GetOptions::default()).await.unwrap();
}
