//! `MembersAPI`: list, leader, add and remove, update, and the errors etcd 3.4
//! answers. Written once against [`Backend`] and run against two backends: real
//! etcd (`tests/real_members.rs`) and the simulated cluster
//! (`sim/tests/sim_members.rs`). Each case expects a fresh cluster of the size its
//! doc names.

use crate::backend::Backend;
use crate::raw_http;
use crate::sdk;
use etcd_sdk::members::new_members_api;
use etcd_sdk::{Client, Error, MembersAPI, MembersErrorKind};
use std::sync::Arc;
use std::time::Duration;

fn members_api(c: &dyn Backend) -> impl MembersAPI + use<> {
    let client: Arc<dyn Client> =
        Arc::new(sdk::client(&c.client_urls(), Some(Duration::from_secs(5))));
    new_members_api(client)
}

/// The member id etcd reports for member `i` (`/v2/stats/self`).
async fn member_id(c: &dyn Backend, i: usize) -> String {
    let r = raw_http::get(
        &c.client_urls()[i],
        "/v2/stats/self",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    r.json()["id"].as_str().unwrap().to_string()
}

/// Run against a fresh 1-member cluster.
pub async fn list_and_leader_of_one_member(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let api = members_api(c);
    let list = api.list().await.unwrap();
    assert_eq!(list.len(), 1);
    let m = &list[0];
    assert_eq!(m.id, member_id(c, 0).await);
    assert_eq!(m.name, "m0");
    assert_eq!(m.peer_urls, vec![c.peer_url(0)]);
    assert_eq!(m.client_urls, c.client_urls());
    assert_eq!(&api.leader().await.unwrap(), m);
}

/// Run against a fresh 3-member cluster.
pub async fn list_leader_add_update_remove_on_three_members(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let api = members_api(c);

    let list = api.list().await.unwrap();
    assert_eq!(list.len(), 3);
    for i in 0..3 {
        let id = member_id(c, i).await;
        let m = list
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("member {i} ({id}) not listed in {list:?}"));
        assert_eq!(m.name, c.name(i));
        assert_eq!(m.peer_urls, vec![c.peer_url(i)]);
        assert_eq!(m.client_urls, vec![c.client_urls()[i].clone()]);
    }

    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let m = api.leader().await.unwrap();
    assert_eq!(m.id, member_id(c, leader).await);
    assert_eq!(m.name, c.name(leader));

    // Update a member's peer URLs to the same list: accepted (204).
    let id0 = member_id(c, 0).await;
    api.update(&id0, &[c.peer_url(0)]).await.unwrap();
    // Unknown ids.
    match api.update("1234", &[c.dead_endpoint()]).await {
        Err(Error::Members(e)) => {
            assert_eq!(e.message, "No such member: 1234");
            assert_eq!(e.kind(), MembersErrorKind::MemberNotFound);
        }
        other => panic!("expected 'No such member', got {other:?}"),
    }
    match api.remove("1234").await {
        Err(Error::UnexpectedStatus(404)) => {}
        other => panic!("expected unexpected status 404, got {other:?}"),
    }

    // Add a 4th member that never starts: 3 of 4 are up, quorum holds. etcd
    // only allows it once its peers have been connected for 5 s.
    c.settle_for(Duration::from_secs(6)).await;
    // An existing member's peer URL conflicts.
    match api.add(&c.peer_url(1)).await {
        Err(Error::Members(e)) => {
            assert_eq!(e.message, "membership: peerURL exists");
            assert_eq!(e.kind(), MembersErrorKind::PeerUrlExists);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let new_peer = c.dead_endpoint();
    let added = api.add(&new_peer).await.unwrap();
    assert!(!added.id.is_empty());
    assert_eq!(added.name, "");
    assert_eq!(added.peer_urls, vec![new_peer.clone()]);
    assert!(added.client_urls.is_empty());
    let list = api.list().await.unwrap();
    assert_eq!(list.len(), 4);
    let listed = list.iter().find(|m| m.id == added.id).unwrap();
    assert_eq!(
        (listed.name.as_str(), listed.peer_urls.clone()),
        ("", vec![new_peer.clone()])
    );

    // With the 4th member down, etcd's strict reconfiguration check refuses any
    // further add (HTTP 500, "unhealthy cluster"): the client cannot know that
    // a write answered with a 500 was not applied, so the add's outcome is unknown.
    let fifth = c.dead_endpoint();
    match api.add(&fifth).await {
        Err(Error::OutcomeUnknown { cause, .. }) => {
            assert!(matches!(*cause, Error::NoLeader { .. }), "{cause:?}")
        }
        other => panic!("expected the strict reconfig check to refuse, got {other:?}"),
    }
    assert_eq!(
        api.list().await.unwrap().len(),
        4,
        "the refused add was not applied"
    );
    // A bad peer URL is refused before anything is sent.
    assert!(matches!(
        api.add("notaurl").await,
        Err(Error::InvalidPeerUrl(_))
    ));

    // Remove it; removing it again is a success (410).
    api.remove(&added.id).await.unwrap();
    let list = api.list().await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|m| m.id != added.id));
    api.remove(&added.id).await.unwrap();

    // The cluster still takes writes.
    let r = raw_http::request(
        &c.client_urls()[0],
        "PUT",
        "/v2/keys/after-membership-changes",
        Some(("application/x-www-form-urlencoded", b"value=ok")),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());
}
