//! The Cluster service over a stand-in membership and v3 member.

use super::*;
use crate::api::v2::router::fake::Fake;
use crate::server::v3_testing::{CLUSTER_ID, LocalV3, MEMBER_ID, RAFT_TERM};
use etcd_sdk::v3::tonic::Code;
use std::sync::atomic::Ordering;

fn service() -> (ClusterService, Arc<LocalV3>, Arc<Fake>) {
    let backend = Arc::new(LocalV3::new());
    let cluster = Arc::new(Fake::new());
    (
        ClusterService::new(backend.clone(), cluster.clone()),
        backend,
        cluster,
    )
}

#[track_caller]
fn assert_status<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, message: &str) {
    let s = r.unwrap_err();
    assert_eq!((s.code(), s.message()), (code, message));
}

#[tokio::test]
async fn list_add_promote_update_remove_with_revisionless_headers() {
    let (svc, _, _) = service();
    let list = svc
        .member_list(Request::new(MemberListRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        list.header,
        Some(ResponseHeader {
            cluster_id: CLUSTER_ID,
            member_id: MEMBER_ID,
            revision: 0,
            raft_term: RAFT_TERM,
        })
    );
    assert_eq!(list.members.len(), 2);
    assert_eq!(list.members[0].id, 1);
    assert!(list.members.iter().all(|m| !m.is_learner));

    let added = svc
        .member_add(Request::new(MemberAddRequest {
            peer_ur_ls: vec!["http://10.0.0.9:2380".into()],
            is_learner: true,
        }))
        .await
        .unwrap()
        .into_inner();
    let learner = added.member.unwrap();
    assert!(learner.is_learner);
    assert_eq!(added.members.len(), 3);
    assert_eq!(added.header.map(|h| h.revision), Some(0));
    assert_status(
        svc.member_add(Request::new(MemberAddRequest {
            peer_ur_ls: vec!["http://10.0.0.10:2380".into()],
            is_learner: true,
        }))
        .await,
        Code::FailedPrecondition,
        "etcdserver: too many learner members in cluster",
    );
    let promoted = svc
        .member_promote(Request::new(MemberPromoteRequest { id: learner.id }))
        .await
        .unwrap()
        .into_inner();
    assert!(promoted.members.iter().all(|m| !m.is_learner));
    assert_status(
        svc.member_promote(Request::new(MemberPromoteRequest { id: learner.id }))
            .await,
        Code::FailedPrecondition,
        "etcdserver: can only promote a learner member",
    );
    let updated = svc
        .member_update(Request::new(MemberUpdateRequest {
            id: learner.id,
            peer_ur_ls: vec!["http://10.0.0.11:2380".into()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        updated
            .members
            .iter()
            .any(|m| m.peer_ur_ls == ["http://10.0.0.11:2380"])
    );
    let removed = svc
        .member_remove(Request::new(MemberRemoveRequest { id: learner.id }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.members.len(), 2);
}

#[tokio::test]
async fn refusals_carry_etcds_codes_and_texts() {
    let (svc, _, _) = service();
    for urls in [vec![], vec!["10.0.0.9:2380".to_string()]] {
        assert_status(
            svc.member_add(Request::new(MemberAddRequest {
                peer_ur_ls: urls,
                is_learner: false,
            }))
            .await,
            Code::InvalidArgument,
            "etcdserver: given member URLs are invalid",
        );
    }
    assert_status(
        svc.member_add(Request::new(MemberAddRequest {
            peer_ur_ls: vec!["http://10.0.0.1:2380".into()],
            is_learner: false,
        }))
        .await,
        Code::FailedPrecondition,
        "etcdserver: Peer URLs already exists",
    );
    assert_status(
        svc.member_remove(Request::new(MemberRemoveRequest { id: 0x99 }))
            .await,
        Code::NotFound,
        "etcdserver: member not found",
    );
    assert_status(
        svc.member_promote(Request::new(MemberPromoteRequest { id: 0x99 }))
            .await,
        Code::NotFound,
        "etcdserver: member not found",
    );
    assert_status(
        svc.member_update(Request::new(MemberUpdateRequest {
            id: 2,
            peer_ur_ls: vec!["http://10.0.0.1:2380".into()],
        }))
        .await,
        Code::FailedPrecondition,
        "etcdserver: Peer URLs already exists",
    );
}

#[test]
fn every_membership_refusal_maps_to_etcds_error() {
    let cases = [
        (MembersError::IdExists, EtcdError::MemberExist),
        (MembersError::PeerUrlExists, EtcdError::PeerUrlExist),
        (MembersError::IdNotFound, EtcdError::MemberNotFound),
        (MembersError::IdRemoved, EtcdError::MemberNotFound),
        (MembersError::MemberNotLearner, EtcdError::MemberNotLearner),
        (MembersError::TooManyLearners, EtcdError::TooManyLearners),
        (MembersError::LearnerNotReady, EtcdError::LearnerNotReady),
        (MembersError::NotLeader, EtcdError::NotLeader),
        (
            MembersError::NotEnoughStarted,
            EtcdError::MemberNotEnoughStarted,
        ),
        (MembersError::Unhealthy, EtcdError::Unhealthy),
        (
            MembersError::Other("etcdserver: request timed out".into()),
            EtcdError::Timeout,
        ),
    ];
    for (e, want) in cases {
        let s = members_status(&e);
        assert_eq!(
            (s.code(), s.message()),
            (want.code(), want.message()),
            "{e:?}"
        );
    }
    let s = members_status(&MembersError::Other("boom".into()));
    assert_eq!((s.code(), s.message()), (Code::Unknown, "boom"));
    assert!(is_final(&etcd_status(EtcdError::LearnerNotReady)));
    assert!(!is_final(&etcd_status(EtcdError::NotLeader)));
}

#[tokio::test]
async fn a_learner_refuses_every_cluster_call() {
    let (svc, backend, _) = service();
    backend.learner.store(true, Ordering::SeqCst);
    assert_status(
        svc.member_list(Request::new(MemberListRequest {})).await,
        Code::Unavailable,
        "etcdserver: rpc not supported for learner",
    );
    assert_status(
        svc.member_promote(Request::new(MemberPromoteRequest { id: 1 }))
            .await,
        Code::Unavailable,
        "etcdserver: rpc not supported for learner",
    );
}
