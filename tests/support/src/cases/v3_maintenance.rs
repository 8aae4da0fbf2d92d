//! The v3 Maintenance API (`etcd_sdk::v3::Maintenance`) against a 3-member
//! cluster: status fields, equal KV hashes on every member at one revision,
//! defragment, alarms, the snapshot stream and its SHA-256 trailer (spec
//! §2.13), and leadership transfer. Written against a [`Backend`] so the
//! simulated cluster can run the same bodies.

use crate::backend::Backend;
use crate::sha256::sha256;
use etcd_sdk::v3::{
    AlarmMember, AlarmType, Client, CompactOptions, Config, EtcdError, KV, Maintenance, PutOptions,
    StatusResponse,
};
use std::time::Duration;
use tokio::time::Instant;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(CALL_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

async fn statuses(cl: &Client, urls: &[String]) -> Vec<StatusResponse> {
    let mut out = Vec::new();
    for u in urls {
        out.push(
            cl.status(u)
                .await
                .unwrap_or_else(|e| panic!("status {u}: {e:?}")),
        );
    }
    out
}

/// Run against a fresh 3-member cluster. Every member's status, the same
/// KV hash on every member at one revision, defragment of each, no alarms
/// (and a disarm-all that finds none), a status of a dead endpoint failing
/// at once, and a snapshot whose last 32 bytes are the SHA-256 of the rest.
pub async fn status_hash_defragment_alarms_snapshot(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let cl = client(&urls).await;

    let all = statuses(&cl, &urls).await;
    let leader = all[0].leader;
    assert_ne!(leader, 0);
    let mut ids = Vec::new();
    for s in &all {
        assert!(s.version.starts_with("3.4."), "{s:?}");
        assert_eq!(s.leader, leader, "every member knows the leader");
        assert!(s.db_size > 0 && s.db_size_in_use > 0 && s.db_size_in_use <= s.db_size);
        assert!(s.raft_term >= 1 && s.raft_index >= 1, "{s:?}");
        assert!(s.errors.is_empty() && !s.is_learner, "{s:?}");
        ids.push(s.member_id());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each status comes from the member asked");
    assert_eq!(all.iter().filter(|s| s.is_leader()).count(), 1);

    let mut rev = 0;
    for i in 0..10 {
        let p = cl
            .put(format!("h{i}"), format!("v{i}"), PutOptions::default())
            .await
            .unwrap();
        rev = p.header.expect("a header").revision;
    }
    let mut hashes = Vec::new();
    for u in &urls {
        let start = Instant::now();
        let h = loop {
            match cl.hash_kv(u, rev).await {
                Ok(h) => break h,
                // A follower that has not applied `rev` yet.
                Err(e) if e.etcd() == Some(EtcdError::FutureRev) => {
                    assert!(start.elapsed() < Duration::from_secs(5), "{u} stuck: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("hash_kv {u}: {e:?}"),
            }
        };
        assert_eq!(
            h.compact_revision, -1,
            "nothing compacted yet: etcd says -1"
        );
        assert!(h.header.is_some());
        hashes.push(h.hash);
    }
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
    // An earlier revision hashes differently.
    let earlier = cl.hash_kv(&urls[0], rev - 1).await.unwrap();
    assert_ne!(earlier.hash, hashes[0]);
    // After a compaction, the hash reports it.
    cl.compact(rev - 3, CompactOptions { physical: true })
        .await
        .unwrap();
    let after = cl.hash_kv(&urls[0], 0).await.unwrap();
    assert_eq!(after.compact_revision, rev - 3);

    for u in &urls {
        let d = cl.defragment(u).await.unwrap();
        assert!(d.header.is_none(), "etcd 3.4 sends no defragment header");
    }

    let alarms = cl.alarm_list().await.unwrap();
    assert!(alarms.alarms.is_empty(), "{alarms:?}");
    let disarmed = cl
        .alarm_disarm(AlarmMember {
            member_id: 0,
            alarm: AlarmType::None as i32,
        })
        .await
        .unwrap();
    assert!(disarmed.alarms.is_empty(), "{disarmed:?}");

    let t = Instant::now();
    let err = cl.status(&c.dead_endpoint()).await.unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );

    let snap = cl.snapshot().await.unwrap().read_all().await.unwrap();
    assert!(snap.len() > 32, "{} bytes", snap.len());
    let (db, digest) = snap.split_at(snap.len() - 32);
    assert_eq!(db.len() % 4096, 0, "the database is whole pages");
    assert_eq!(
        sha256(db),
        digest,
        "the trailer is the SHA-256 of the database"
    );
}

/// Run against a fresh 3-member cluster. `move_leader` (sent to the leader,
/// from whichever endpoint) hands leadership to a follower, whose status
/// then reports itself leader; an unknown target is refused with "bad
/// leader transferee".
pub async fn move_leader_to_a_follower(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let urls = c.client_urls();
    let old = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let target = (old + 1) % 3;
    // The client balances over all three: move_leader finds the leader.
    let cl = client(&urls).await;
    let target_id = cl.status(&urls[target]).await.unwrap().member_id();

    cl.move_leader(target_id).await.unwrap();
    let start = Instant::now();
    loop {
        let s = cl.status(&urls[target]).await.unwrap();
        if s.is_leader() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{target} never became leader: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in statuses(&cl, &urls).await {
        assert_eq!(s.leader, target_id);
    }

    let err = cl.move_leader(0x1234_5678).await.unwrap_err();
    assert_eq!(err.etcd(), Some(EtcdError::BadLeaderTransferee), "{err:?}");
}

/// The quota a [`nospace_alarm_until_compacted_defragmented_and_disarmed`]
/// member must be started with (`--quota-backend-bytes`).
pub const SMALL_QUOTA_BYTES: u64 = 300_000;

/// A little more than etcd's `--backend-batch-interval` (100 ms).
const BACKEND_COMMIT_INTERVAL: Duration = Duration::from_millis(150);

/// Run against a fresh 1-member cluster started with
/// `--quota-backend-bytes=`[`SMALL_QUOTA_BYTES`] (spec §2.12, §5.2 item 24).
/// 50 kB puts until one is refused with "database space exceeded"; the member
/// has raised a NOSPACE alarm (listed, in its status' errors, and `/health`
/// answers 503 `{"health":"false"}`); under it puts and lease grants are refused
/// while gets, deletes and compaction work; after compaction, defragment and
/// disarm, puts work and `/health` is healthy again.
pub async fn nospace_alarm_until_compacted_defragmented_and_disarmed(urls: Vec<String>) {
    let cl = client(&urls).await;
    let url = &urls[0];
    let me = cl.status(url).await.unwrap().member_id();
    let value = vec![b'x'; 50_000];
    let mut refused = None;
    for i in 0..40 {
        match cl
            .put(format!("q{i}"), value.clone(), PutOptions::default())
            .await
        {
            // etcd's db size follows its backend's batched commits (every
            // 100 ms): let each put reach the file before the next is checked.
            Ok(_) => tokio::time::sleep(BACKEND_COMMIT_INTERVAL).await,
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = refused.expect("the quota refuses a put within 2 MB");
    assert!(i >= 1, "the first put fits");
    assert_eq!(err.etcd(), Some(EtcdError::NoSpace), "{err:?}");

    let alarms = cl.alarm_list().await.unwrap();
    assert_eq!(
        alarms.alarms,
        vec![AlarmMember {
            member_id: me,
            alarm: AlarmType::Nospace as i32
        }]
    );
    let s = cl.status(url).await.unwrap();
    assert_eq!(s.errors, vec![format!("memberID:{me} alarm:NOSPACE ")]);
    let h = crate::raw_http::get(url, "/health", CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        (h.status, h.text().trim_end()),
        (503, r#"{"health":"false"}"#)
    );
    let h = crate::raw_http::get(url, "/health?exclude=NOSPACE", CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(h.status, 200, "{}", h.text());

    // Under the alarm: small writes and grants are refused, reads and deletes work.
    let e = cl
        .put("small", "v", PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.etcd(), Some(EtcdError::NoSpace), "{e:?}");
    let e = etcd_sdk::v3::Lease::grant(&cl, 60).await.unwrap_err();
    assert_eq!(e.etcd(), Some(EtcdError::NoSpace), "{e:?}");
    let got = cl.get("q0", Default::default()).await.unwrap();
    assert_eq!(got.kvs.len(), 1);
    let del = cl
        .delete("q", etcd_sdk::v3::DeleteOptions::prefix())
        .await
        .unwrap();
    assert_eq!(del.deleted, i as i64);
    let rev = del.header.expect("a header").revision;

    // Recovery: compact, defragment, disarm.
    cl.compact(rev, CompactOptions { physical: true })
        .await
        .unwrap();
    let before = cl.status(url).await.unwrap();
    cl.defragment(url).await.unwrap();
    let after = cl.status(url).await.unwrap();
    assert!(after.db_size < before.db_size, "{before:?} {after:?}");
    let off = cl
        .alarm_disarm(AlarmMember {
            member_id: 0,
            alarm: AlarmType::None as i32,
        })
        .await
        .unwrap();
    assert_eq!(off.alarms.len(), 1, "{off:?}");
    assert!(cl.alarm_list().await.unwrap().alarms.is_empty());
    cl.put("small", "v", PutOptions::default()).await.unwrap();
    assert!(cl.status(url).await.unwrap().errors.is_empty());
    let h = crate::raw_http::get(url, "/health", CALL_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        (h.status, h.text().trim_end()),
        (200, r#"{"health":"true"}"#)
    );
}

// ---------------------------------------------------------------------------
// Ported from etcd 3.4.23's `integration/v3_grpc_test.go` and
// `v3_alarm_test.go` (rewritten): raw requests through the generated clients.
// ---------------------------------------------------------------------------

/// Run against a fresh 1-member cluster. etcd's `TestV3HashKV` (after each of
/// 10 puts, 10 more HashKV calls at the current revision answer that
/// revision, the same hash and the same compact revision), `TestV3Hash`
/// (the whole-backend hash is not 0), `TestV3AlarmDeactivate` (a NOSPACE
/// alarm raised by hand for member 123 refuses puts with "database space
/// exceeded" while reads go on; once deactivated, puts work) and
/// `TestV3HashRestart` (the hash is the same after the member is killed and
/// restarted; etcd's test uses the embedded member's Stop/Restart).
pub async fn grpc_hashes_and_a_hand_raised_alarm(c: &dyn Backend) {
    use etcd_sdk::v3::pb::etcdserverpb as pb;
    use etcd_sdk::v3::tonic::Code;
    use etcd_sdk::v3::tonic::transport::Endpoint;
    use pb::kv_client::KvClient;
    use pb::maintenance_client::MaintenanceClient;
    assert_eq!(c.size(), 1);
    let url = c.client_urls()[0].clone();
    let connect = || async {
        Endpoint::from_shared(url.clone())
            .expect("endpoint")
            .connect_timeout(CALL_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .connect()
            .await
            .expect("connect")
    };
    let ch = connect().await;
    let mut kv = KvClient::new(ch.clone());
    let mut mt = MaintenanceClient::new(ch);
    let put = |value: String| pb::PutRequest {
        key: b"foo".to_vec(),
        value: value.into_bytes(),
        ..Default::default()
    };

    // TestV3HashKV.
    for i in 0..10 {
        let p = kv.put(put(format!("bar{i}"))).await.unwrap().into_inner();
        let rev = p.header.expect("a header").revision;
        let mut seen = None;
        for _ in 0..11 {
            let h = mt
                .hash_kv(pb::HashKvRequest { revision: 0 })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(h.header.as_ref().map(|h| h.revision), Some(rev));
            let this = (h.hash, h.compact_revision);
            assert_eq!(*seen.get_or_insert(this), this, "put #{i}: HashKV changed");
        }
    }

    // TestV3Hash.
    let before = mt.hash(pb::HashRequest {}).await.unwrap().into_inner().hash;
    assert_ne!(before, 0);

    // TestV3AlarmDeactivate.
    let alarm = |action: pb::alarm_request::AlarmAction| pb::AlarmRequest {
        action: action as i32,
        member_id: 123,
        alarm: pb::AlarmType::Nospace as i32,
    };
    let raised = mt
        .alarm(alarm(pb::alarm_request::AlarmAction::Activate))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        raised
            .alarms
            .iter()
            .map(|a| (a.member_id, a.alarm))
            .collect::<Vec<_>>(),
        vec![(123, pb::AlarmType::Nospace as i32)]
    );
    match kv.put(put("small".into())).await {
        Err(s) => assert_eq!(
            (s.code(), s.message()),
            (
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded"
            ),
            "{s:?}"
        ),
        Ok(r) => panic!("a put under NOSPACE answered {r:?}"),
    }
    let g = kv
        .range(pb::RangeRequest {
            key: b"foo".to_vec(),
            ..Default::default()
        })
        .await
        .expect("reads go on under NOSPACE")
        .into_inner();
    assert_eq!(g.kvs[0].value, b"bar9");
    mt.alarm(alarm(pb::alarm_request::AlarmAction::Deactivate))
        .await
        .unwrap();
    kv.put(put("small".into()))
        .await
        .expect("a put after the alarm");
    let after_alarm = mt.hash(pb::HashRequest {}).await.unwrap().into_inner().hash;

    // TestV3HashRestart.
    c.kill(0);
    c.restart(0).await;
    let mut mt = MaintenanceClient::new(connect().await);
    let restarted = mt.hash(pb::HashRequest {}).await.unwrap().into_inner().hash;
    assert_eq!(restarted, after_alarm, "the hash survives a restart");
}
