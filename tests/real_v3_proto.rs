//! The generated v3 gRPC code against a real etcd 3.4.23 (/usr/bin/etcd): KV, Txn,
//! Maintenance, Watch, Cluster, Lease, Lock and Election calls over tonic prove the
//! proto files match etcd's wire format and method paths.
#![cfg(not(madsim))]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_sdk::v3::pb::etcdserverpb::{
    Compare, DeleteRangeRequest, LeaseGrantRequest, LeaseTimeToLiveRequest, MemberListRequest,
    PutRequest, RangeRequest, RequestOp, StatusRequest, TxnRequest, WatchCreateRequest,
    WatchRequest, cluster_client::ClusterClient, compare, kv_client::KvClient,
    lease_client::LeaseClient, maintenance_client::MaintenanceClient, request_op, response_op,
    watch_client::WatchClient, watch_request,
};
use etcd_sdk::v3::pb::mvccpb::event::EventType;
use etcd_sdk::v3::pb::v3electionpb::{LeaderRequest, election_client::ElectionClient};
use etcd_sdk::v3::pb::v3lockpb::{LockRequest, UnlockRequest, lock_client::LockClient};
use tonic::transport::Channel;

use etcd_test_support::etcd_bin;

const ETCD: &str = etcd_bin::ETCD_BIN;

/// A single-member etcd on free loopback ports; killed when dropped (also on panic).
struct EtcdProcess {
    child: Child,
    client_url: String,
    /// Data dir and etcd.log; removed on drop.
    dir: tempfile::TempDir,
}

/// Two distinct free loopback ports (both listeners are held until both are picked).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

impl EtcdProcess {
    fn start() -> Self {
        etcd_bin::require_binary(std::path::Path::new(ETCD));
        let dir = tempfile::tempdir().unwrap();
        let (client_port, peer_port) = free_ports();
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(ETCD)
            .arg("--name=v3proto")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=v3proto={peer_url}"))
            .arg("--initial-cluster-state=new")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        EtcdProcess {
            child,
            client_url,
            dir,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// Connects a channel once etcd answers Status with a leader (up to 30 s).
    async fn ready_channel(&mut self) -> Channel {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                panic!("etcd exited early ({status}); its log:\n{log}");
            }
            if let Ok(channel) = Channel::from_shared(self.client_url.clone())
                .unwrap()
                .connect()
                .await
                && let Ok(status) = MaintenanceClient::new(channel.clone())
                    .status(StatusRequest {})
                    .await
                && status.get_ref().leader != 0
            {
                return channel;
            }
            assert!(Instant::now() < deadline, "etcd did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn put(key: &str, value: &str) -> PutRequest {
    PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}

fn get(key: &str) -> RangeRequest {
    RangeRequest {
        key: key.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn generated_clients_talk_to_real_etcd() {
    let mut etcd = EtcdProcess::start();
    let channel = tokio::time::timeout(Duration::from_secs(40), etcd.ready_channel())
        .await
        .expect("etcd ready");
    tokio::time::timeout(Duration::from_secs(30), exercise(channel))
        .await
        .expect("calls finish in time");
}

#[tokio::test]
async fn lease_lock_election_and_cluster_paths_match_real_etcd() {
    let mut etcd = EtcdProcess::start();
    let channel = tokio::time::timeout(Duration::from_secs(40), etcd.ready_channel())
        .await
        .expect("etcd ready");
    tokio::time::timeout(Duration::from_secs(30), other_services(channel))
        .await
        .expect("calls finish in time");
}

async fn other_services(channel: Channel) {
    // Cluster/MemberList: the one member, with its client URL.
    let members = ClusterClient::new(channel.clone())
        .member_list(MemberListRequest {})
        .await
        .unwrap()
        .into_inner();
    let [member] = &members.members[..] else {
        panic!("one member expected, got {:?}", members.members);
    };
    assert_eq!(member.name, "v3proto");
    assert_eq!(member.client_ur_ls.len(), 1);
    assert_eq!(member.peer_ur_ls.len(), 1);

    // Lease/LeaseGrant with a chosen ID, then TimeToLive reports it.
    let mut leases = LeaseClient::new(channel.clone());
    let grant = leases
        .lease_grant(LeaseGrantRequest { ttl: 60, id: 4242 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((grant.id, grant.ttl), (4242, 60));
    let ttl = leases
        .lease_time_to_live(LeaseTimeToLiveRequest {
            id: 4242,
            keys: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ttl.granted_ttl, 60);
    assert!(ttl.ttl > 0 && ttl.ttl <= 60, "remaining TTL {}", ttl.ttl);

    // v3lockpb.Lock: the owner key is `<name>/<lease id in hex>`.
    let mut locks = LockClient::new(channel.clone());
    let held = locks
        .lock(LockRequest {
            name: "mylock".into(),
            lease: 4242,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(held.key, format!("mylock/{:x}", 4242).into_bytes());
    assert!(held.header.unwrap().revision > 1);
    locks.unlock(UnlockRequest { key: held.key }).await.unwrap();

    // v3electionpb.Election: an election nobody campaigned in has no leader.
    let err = ElectionClient::new(channel)
        .leader(LeaderRequest {
            name: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.message(), "election: no leader");
}

async fn exercise(channel: Channel) {
    let mut kv = KvClient::new(channel.clone());

    // Maintenance/Status reports the server version.
    let status = MaintenanceClient::new(channel.clone())
        .status(StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.version, "3.4.23");
    assert_ne!(status.leader, 0);

    // Put, then Range: the value, revisions and a full header come back.
    let first = kv.put(put("foo", "bar")).await.unwrap().into_inner();
    let rev1 = first.header.as_ref().unwrap().revision;
    assert!(rev1 >= 2, "a fresh store is at revision 1; got {rev1}");

    let range = kv.range(get("foo")).await.unwrap().into_inner();
    let header = range.header.unwrap();
    assert_ne!(header.cluster_id, 0);
    assert_ne!(header.member_id, 0);
    assert_eq!(header.revision, rev1);
    assert_eq!(range.count, 1);
    assert!(!range.more);
    assert_eq!(range.kvs.len(), 1);
    let kv1 = &range.kvs[0];
    assert_eq!(kv1.key, b"foo");
    assert_eq!(kv1.value, b"bar");
    assert_eq!(
        (kv1.create_revision, kv1.mod_revision, kv1.version),
        (rev1, rev1, 1)
    );

    // A second put bumps the revision by one and returns the previous pair.
    let second = kv
        .put(PutRequest {
            prev_kv: true,
            ..put("foo", "baz")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.header.unwrap().revision, rev1 + 1);
    assert_eq!(second.prev_kv.unwrap().value, b"bar");

    // A prefix range with a limit reports `more` and the full count.
    kv.put(put("foo2", "x")).await.unwrap();
    let limited = kv
        .range(RangeRequest {
            key: "foo".into(),
            range_end: "fop".into(),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (limited.kvs.len(), limited.more, limited.count),
        (1, true, 2)
    );

    // DeleteRange removes the key at a new revision.
    let deleted = kv
        .delete_range(DeleteRangeRequest {
            key: "foo2".into(),
            prev_kv: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.deleted, 1);
    assert_eq!(deleted.header.unwrap().revision, rev1 + 3);
    assert_eq!(deleted.prev_kvs[0].value, b"x");
    let gone = kv.range(get("foo2")).await.unwrap().into_inner();
    assert!(gone.kvs.is_empty());
    assert_eq!(gone.count, 0);

    // Txn: value("foo") == "baz" holds, so the success branch runs.
    let txn = |expected: &str| TxnRequest {
        compare: vec![Compare {
            result: compare::CompareResult::Equal as i32,
            target: compare::CompareTarget::Value as i32,
            key: "foo".into(),
            target_union: Some(compare::TargetUnion::Value(expected.into())),
            ..Default::default()
        }],
        success: vec![RequestOp {
            request: Some(request_op::Request::RequestPut(put("txn", "yes"))),
        }],
        failure: vec![RequestOp {
            request: Some(request_op::Request::RequestRange(get("foo"))),
        }],
    };
    let ok = kv.txn(txn("baz")).await.unwrap().into_inner();
    assert!(ok.succeeded);
    assert_eq!(ok.header.unwrap().revision, rev1 + 4);
    match &ok.responses[..] {
        [op] => assert!(matches!(
            op.response,
            Some(response_op::Response::ResponsePut(_))
        )),
        other => panic!("one put response expected, got {other:?}"),
    }
    let txn_key = kv.range(get("txn")).await.unwrap().into_inner();
    assert_eq!(txn_key.kvs[0].value, b"yes");

    // The compare fails now, so the failure branch (a read) runs and nothing is written.
    let failed = kv.txn(txn("nope")).await.unwrap().into_inner();
    assert!(!failed.succeeded);
    assert_eq!(failed.header.unwrap().revision, rev1 + 4);
    match &failed.responses[..] {
        [op] => match &op.response {
            Some(response_op::Response::ResponseRange(r)) => assert_eq!(r.kvs[0].value, b"baz"),
            other => panic!("range response expected, got {other:?}"),
        },
        other => panic!("one response expected, got {other:?}"),
    }

    watch_sees_put(channel, &mut kv, rev1 + 5).await;
}

/// A bidi Watch on prefix `w/` receives the created reply, then a PUT event.
async fn watch_sees_put(channel: Channel, kv: &mut KvClient<Channel>, expected_rev: i64) {
    let (tx, rx) = tokio::sync::mpsc::channel::<WatchRequest>(4);
    let requests =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|req| (req, rx)) },
        );
    tx.send(WatchRequest {
        request_union: Some(watch_request::RequestUnion::CreateRequest(
            WatchCreateRequest {
                key: "w/".into(),
                range_end: "w0".into(),
                ..Default::default()
            },
        )),
    })
    .await
    .unwrap();
    let mut responses = WatchClient::new(channel)
        .watch(requests)
        .await
        .unwrap()
        .into_inner();

    let created = responses.message().await.unwrap().expect("created reply");
    assert!(created.created);
    assert!(!created.canceled);
    assert_eq!(created.watch_id, 0);

    kv.put(put("w/a", "1")).await.unwrap();
    let update = responses.message().await.unwrap().expect("event reply");
    assert_eq!(update.watch_id, 0);
    assert_eq!(update.header.unwrap().revision, expected_rev);
    let [event] = &update.events[..] else {
        panic!("one event expected, got {:?}", update.events);
    };
    assert_eq!(event.r#type(), EventType::Put);
    let kv = event.kv.as_ref().unwrap();
    assert_eq!((&kv.key[..], &kv.value[..]), (&b"w/a"[..], &b"1"[..]));
    assert_eq!(kv.mod_revision, expected_rev);
    drop(tx);
}
