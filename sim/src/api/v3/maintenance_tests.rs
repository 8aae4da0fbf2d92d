use super::*;
use crate::api::v3::kv::KvService;
use crate::server::v3_backend::V3Limits;
use crate::server::v3_quota::PAGE_BYTES;
use crate::server::v3_snapshot_file::{blob_of, verified_image};
use crate::server::v3_testing::{CLUSTER_ID, LocalV3, MEMBER_ID};
use etcd_sdk::v3::pb::etcdserverpb::alarm_request::AlarmAction;
use etcd_sdk::v3::pb::etcdserverpb::kv_server::Kv as _;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmMember, CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest,
};
use etcd_sdk::v3::tonic::Code;
use futures_util::StreamExt as _;
use std::sync::atomic::Ordering;

fn services(b: LocalV3) -> (Arc<LocalV3>, MaintenanceService, KvService) {
    let b = Arc::new(b);
    (
        b.clone(),
        MaintenanceService::new(b.clone()),
        KvService::new(b),
    )
}

async fn put(kv: &KvService, key: &str, len: usize) -> Result<(), Status> {
    kv.put(Request::new(PutRequest {
        key: key.into(),
        value: vec![b'v'; len],
        ..Default::default()
    }))
    .await
    .map(|_| ())
}

async fn status(m: &MaintenanceService) -> StatusResponse {
    m.status(Request::new(StatusRequest {}))
        .await
        .unwrap()
        .into_inner()
}

async fn alarm(m: &MaintenanceService, action: AlarmAction, member_id: u64) -> AlarmResponse {
    m.alarm(Request::new(AlarmRequest {
        action: action as i32,
        member_id,
        alarm: AlarmType::Nospace as i32,
    }))
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn status_reports_version_sizes_leader_and_alarms() {
    let (b, m, kv) = services(LocalV3::new());
    let s = status(&m).await;
    assert_eq!(s.version, "3.4.23");
    assert_eq!(
        (s.db_size, s.db_size_in_use),
        (20480, 16384),
        "etcd's fresh member"
    );
    assert_eq!(s.leader, MEMBER_ID);
    assert!(s.errors.is_empty() && !s.is_learner);
    let h = s.header.unwrap();
    assert_eq!(
        (h.cluster_id, h.member_id, h.revision),
        (CLUSTER_ID, MEMBER_ID, 1)
    );
    put(&kv, "k", 100_000).await.unwrap();
    let grown = status(&m).await;
    assert!(grown.db_size > 100_000 && grown.db_size_in_use > 100_000);
    assert_eq!(grown.db_size_in_use as u64 % PAGE_BYTES, 0);
    alarm(&m, AlarmAction::Activate, 42).await;
    b.no_leader.store(true, Ordering::SeqCst);
    let s = status(&m).await;
    assert_eq!(
        s.errors,
        vec![
            "etcdserver: no leader".to_string(),
            "memberID:42 alarm:NOSPACE ".to_string()
        ]
    );
    assert_eq!(s.leader, 0);
}

#[tokio::test]
async fn nospace_refuses_puts_until_compacted_defragmented_and_disarmed() {
    let (_b, m, kv) = services(LocalV3::with_limits(V3Limits {
        quota_backend_bytes: Some(300_000),
        ..V3Limits::default()
    }));
    let mut refused = None;
    for i in 0..20 {
        if let Err(e) = put(&kv, &format!("k{i}"), 50_000).await {
            refused = Some((i, e));
            break;
        }
    }
    let (i, e) = refused.expect("the quota is reached");
    assert!(i > 2, "{i}");
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(e.message(), "etcdserver: mvcc: database space exceeded");
    let listed = alarm(&m, AlarmAction::Get, 0).await;
    assert_eq!(
        listed.alarms,
        vec![AlarmMember {
            member_id: MEMBER_ID,
            alarm: AlarmType::Nospace as i32
        }]
    );
    // Under the alarm: even a small put is refused; reads and deletes work.
    let e = put(&kv, "small", 1).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    kv.range(Request::new(RangeRequest {
        key: b"k0".to_vec(),
        ..Default::default()
    }))
    .await
    .unwrap();
    kv.delete_range(Request::new(DeleteRangeRequest {
        key: b"k".to_vec(),
        range_end: b"l".to_vec(),
        ..Default::default()
    }))
    .await
    .unwrap();
    // Compaction, defragment, disarm: writes work again.
    let rev = status(&m).await.header.unwrap().revision;
    kv.compact(Request::new(CompactionRequest {
        revision: rev,
        physical: true,
    }))
    .await
    .unwrap();
    let before = status(&m).await;
    m.defragment(Request::new(DefragmentRequest {}))
        .await
        .unwrap();
    let after = status(&m).await;
    assert!(after.db_size < before.db_size, "{before:?} {after:?}");
    assert_eq!(after.db_size, after.db_size_in_use);
    let off = alarm(&m, AlarmAction::Deactivate, MEMBER_ID).await;
    assert_eq!(off.alarms.len(), 1);
    assert!(off.header.is_none(), "etcd sends no alarm header");
    put(&kv, "again", 10).await.unwrap();
}

#[tokio::test]
async fn hashes_and_hash_kv_follow_the_state() {
    let (_b, m, kv) = services(LocalV3::new());
    let hash = |m: MaintenanceService| async move {
        m.hash(Request::new(HashRequest {}))
            .await
            .unwrap()
            .into_inner()
    };
    let h0 = hash(m.clone()).await;
    put(&kv, "a", 1).await.unwrap();
    let h1 = hash(m.clone()).await;
    assert_ne!(h0.hash, h1.hash);
    assert_eq!(h1.header.unwrap().revision, 2);
    let kvh = m
        .hash_kv(Request::new(HashKvRequest { revision: 0 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kvh.compact_revision, -1);
    assert_eq!(kvh.header.unwrap().revision, 2);
    let e = m
        .hash_kv(Request::new(HashKvRequest { revision: 9 }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange);
}

#[tokio::test]
async fn the_snapshot_stream_is_etcds_layout() {
    let (_b, m, kv) = services(LocalV3::new());
    for i in 0..5 {
        put(&kv, &format!("k{i}"), 20_000).await.unwrap();
    }
    let mut stream = m
        .snapshot(Request::new(SnapshotRequest {}))
        .await
        .unwrap()
        .into_inner();
    let mut all = Vec::new();
    let mut parts = Vec::new();
    while let Some(r) = stream.next().await {
        let r = r.unwrap();
        parts.push((r.blob.len(), r.remaining_bytes));
        all.extend_from_slice(&r.blob);
    }
    assert!(parts.len() >= 4, "{parts:?}");
    assert!(
        parts[..parts.len() - 1]
            .iter()
            .all(|(n, _)| *n <= SNAPSHOT_CHUNK)
    );
    assert_eq!(parts[0].0, SNAPSHOT_CHUNK);
    assert_eq!(parts.last(), Some(&(32, 0)), "the digest trailer");
    let image_len = all.len() - 32;
    assert_eq!(parts[0].1 as usize, image_len - SNAPSHOT_CHUNK);
    assert_eq!(parts[parts.len() - 2].1, 0);
    let image = verified_image(&all).unwrap();
    let mut restored = V3Stores::new(
        crate::store::v3::lease::LessorConfig::default(),
        crate::store::v3::watch::WatchConfig::new(1 << 20),
    );
    restored.restore(blob_of(image).unwrap()).unwrap();
    assert_eq!(restored.kv.current_revision(), 6);
}

#[tokio::test]
async fn move_leader_is_for_the_leader_and_a_voter() {
    let (b, m, _kv) = services(LocalV3::new());
    let e = m
        .move_leader(Request::new(MoveLeaderRequest { target_id: 0x1234 }))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Code::FailedPrecondition,
            "etcdserver: bad leader transferee"
        )
    );
    m.move_leader(Request::new(MoveLeaderRequest {
        target_id: MEMBER_ID,
    }))
    .await
    .unwrap();
    b.no_leader.store(true, Ordering::SeqCst);
    let e = m
        .move_leader(Request::new(MoveLeaderRequest {
            target_id: MEMBER_ID,
        }))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::FailedPrecondition, "etcdserver: not leader")
    );
}
