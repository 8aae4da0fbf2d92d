//! etcd's v3 Lock and Election gRPC services (`v3lockpb.Lock`,
//! `v3electionpb.Election`, served by the member over clientv3's concurrency
//! package) through the generated clients: exclusion between two lockers (the
//! second waits until the first unlocks or its lease is revoked), a lock that
//! neither keeps its lease alive nor revokes it, the refusals and their texts,
//! an election's campaign / proclaim / leader / observe / resign sequence with
//! a second campaigner taking over on resign, and a lock held through the
//! service excluding the SDK's `concurrency::Mutex` and `etcdctl lock` on the
//! same name, and, with auth enabled, the services acting as their caller
//! (its token's permissions). Single-member bodies that take the endpoints; each expects a
//! fresh cluster. Run against real etcd by `tests/real_v3_lock_election.rs`
//! and against `etcd-sim` by `sim/tests/v3_lock_election_server.rs`.

use etcd_sdk::v3::concurrency::{self, Context, Mutex, Session, SessionOptions};
use etcd_sdk::v3::pb::v3electionpb::election_client::ElectionClient;
use etcd_sdk::v3::pb::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ResignRequest,
};
use etcd_sdk::v3::pb::v3lockpb::lock_client::LockClient;
use etcd_sdk::v3::pb::v3lockpb::{LockRequest, UnlockRequest};
use etcd_sdk::v3::tonic;
use etcd_sdk::v3::tonic::transport::{Channel, Endpoint};
use etcd_sdk::v3::tonic::{Code, Status, Streaming};
use etcd_sdk::v3::{
    Auth, Client, Config, GetOptions, KV, Lease, Permission, PermissionType, UserAddOptions,
};
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);
/// How long a waiter is watched to make sure it still waits.
const STILL_WAITING: Duration = Duration::from_millis(700);

async fn channel(endpoints: &[String]) -> Channel {
    Endpoint::from_shared(endpoints[0].clone())
        .expect("endpoint")
        .connect_timeout(STEP)
        .connect()
        .await
        .expect("connect")
}

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        dial_timeout: Some(Duration::from_secs(1)),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

/// Asserts that `task` has not finished after a while (it waits).
async fn still_waiting<T>(what: &str, task: &JoinHandle<T>) {
    tokio::time::sleep(STILL_WAITING).await;
    assert!(!task.is_finished(), "{what} should still wait");
}

#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, message: &str) {
    match r {
        Err(s) => {
            assert_eq!(s.message(), message, "{s:?}");
            assert_eq!(s.code(), code, "{s:?}");
        }
        Ok(v) => panic!("expected {message:?}, got {v:?}"),
    }
}

fn lease_key(name: &str, lease: i64) -> Vec<u8> {
    format!("{name}/{lease:x}").into_bytes()
}

async fn lock(lc: &LockClient<Channel>, name: &str, lease: i64) -> Result<Vec<u8>, Status> {
    let resp = lc
        .clone()
        .lock(LockRequest {
            name: name.as_bytes().to_vec(),
            lease,
        })
        .await?
        .into_inner();
    let header = resp.header.expect("a header");
    assert!(header.revision > 0 && header.member_id != 0);
    Ok(resp.key)
}

async fn unlock(lc: &LockClient<Channel>, key: &[u8]) {
    let resp = within(
        "unlock",
        lc.clone().unlock(UnlockRequest { key: key.to_vec() }),
    )
    .await
    .expect("unlock")
    .into_inner();
    assert!(resp.header.is_some());
}

fn spawn_lock(lc: &LockClient<Channel>, name: &str, lease: i64) -> JoinHandle<Vec<u8>> {
    let (lc, name) = (lc.clone(), name.to_string());
    tokio::spawn(async move { lock(&lc, &name, lease).await.expect("lock") })
}

async fn joined<T>(what: &str, task: JoinHandle<T>) -> T {
    within(what, task).await.expect("task")
}

/// Lock, then a second locker waits until the first unlocks; a third waits
/// until the second's lease is revoked; the lock's key is `<name>/<lease hex>`
/// and goes when its lease expires (the service does not keep the lease
/// alive), and a lease survives its lock's unlock (nor does it revoke it).
pub async fn lock_excludes_until_unlock_or_revoke(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let lc = LockClient::new(channel(&endpoints).await);
    let a = c.grant(60).await.expect("grant").id;
    let b = c.grant(60).await.expect("grant").id;
    let d = c.grant(60).await.expect("grant").id;

    let ka = within("lock a", lock(&lc, "lk", a)).await.expect("lock a");
    assert_eq!(ka, lease_key("lk", a));
    let second = spawn_lock(&lc, "lk", b);
    still_waiting("the second locker", &second).await;
    unlock(&lc, &ka).await;
    let kb = joined("the second locker", second).await;
    assert_eq!(kb, lease_key("lk", b));

    let third = spawn_lock(&lc, "lk", d);
    still_waiting("the third locker", &third).await;
    c.revoke(b).await.expect("revoke b");
    let kd = joined("the third locker", third).await;
    assert_eq!(kd, lease_key("lk", d));
    unlock(&lc, &kd).await;
    let gone = c.get("lk/", GetOptions::prefix()).await.expect("get");
    assert_eq!(gone.count, 0, "every lock key is gone");

    // Neither revoked by the service nor by the unlock.
    let ttl = c
        .time_to_live(a, Default::default())
        .await
        .expect("time to live");
    assert!(ttl.ttl > 0, "lease a still exists: {ttl:?}");

    // A short lease is not kept alive: its lock key goes with it.
    let short = c.grant(2).await.expect("grant").id;
    let ks = within("lock short", lock(&lc, "short", short))
        .await
        .expect("lock short");
    within("the short lease's expiry", async {
        loop {
            let got = c.get(ks.clone(), GetOptions::default()).await.expect("get");
            if got.count == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
}

/// Lock over a lease that does not exist, Unlock of no key, and Lock without
/// a lease (a new lease for the key, as etcd's session grants one).
pub async fn lock_refusals(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let lc = LockClient::new(channel(&endpoints).await);
    assert_refused(
        within("lock", lock(&lc, "nolease", 0x1234)).await,
        Code::Unknown,
        "etcdserver: requested lease not found",
    );
    let left = c.get("nolease/", GetOptions::prefix()).await.expect("get");
    assert_eq!(left.count, 0, "a refused lock leaves no key");
    assert_refused(
        within("unlock", lc.clone().unlock(UnlockRequest::default())).await,
        Code::Unknown,
        "etcdserver: key is not provided",
    );
    // Unlocking a key nobody holds is answered.
    unlock(&lc, b"nobody/1").await;
    // No lease: the key carries a fresh one.
    let k = within("lock", lock(&lc, "fresh", 0)).await.expect("lock");
    let got = c.get(k.clone(), GetOptions::default()).await.expect("get");
    assert_eq!(got.count, 1);
    let lease = got.kvs[0].lease;
    assert!(lease != 0);
    assert_eq!(k, lease_key("fresh", lease));
    unlock(&lc, &k).await;
}

async fn campaign(
    ec: &ElectionClient<Channel>,
    name: &str,
    lease: i64,
    value: &str,
) -> Result<CampaignResponse, Status> {
    Ok(ec
        .clone()
        .campaign(CampaignRequest {
            name: name.as_bytes().to_vec(),
            lease,
            value: value.as_bytes().to_vec(),
        })
        .await?
        .into_inner())
}

async fn leader(ec: &ElectionClient<Channel>, name: &str) -> Result<LeaderResponse, Status> {
    Ok(within(
        "leader",
        ec.clone().leader(LeaderRequest {
            name: name.as_bytes().to_vec(),
        }),
    )
    .await?
    .into_inner())
}

async fn proclaim(
    ec: &ElectionClient<Channel>,
    key: &LeaderKey,
    value: &str,
) -> Result<(), Status> {
    let resp = within(
        "proclaim",
        ec.clone().proclaim(ProclaimRequest {
            leader: Some(key.clone()),
            value: value.as_bytes().to_vec(),
        }),
    )
    .await?;
    assert!(resp.into_inner().header.is_some());
    Ok(())
}

async fn resign(ec: &ElectionClient<Channel>, key: Option<LeaderKey>) -> Result<(), Status> {
    let resp = within("resign", ec.clone().resign(ResignRequest { leader: key })).await?;
    assert!(resp.into_inner().header.is_some());
    Ok(())
}

async fn observed(stream: &mut Streaming<LeaderResponse>) -> (Vec<u8>, Vec<u8>) {
    let resp = within("an observation", stream.next())
        .await
        .expect("the stream goes on")
        .expect("an observation");
    assert!(resp.header.is_some());
    let kv = resp.kv.expect("a kv");
    (kv.key, kv.value)
}

fn value_of(resp: &LeaderResponse) -> &[u8] {
    &resp.kv.as_ref().expect("a kv").value
}

/// No leader; a campaign wins at once and its key says so; Leader and
/// Observe follow the proclamations; a stale key cannot proclaim and resigns
/// harmlessly; a second campaigner waits and takes over on resign; after the
/// last resign there is no leader again.
pub async fn election_sequence_and_takeover(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let ec = ElectionClient::new(channel(&endpoints).await);
    let a = c.grant(60).await.expect("grant").id;
    let b = c.grant(60).await.expect("grant").id;

    assert_refused(
        leader(&ec, "el").await,
        Code::Unknown,
        "election: no leader",
    );
    let won = within("campaign a", campaign(&ec, "el", a, "v1"))
        .await
        .expect("campaign a");
    let key_a = won.leader.expect("a leader key");
    assert_eq!(key_a.name, b"el");
    assert_eq!(key_a.key, lease_key("el", a));
    assert_eq!(key_a.lease, a);
    assert_eq!(key_a.rev, won.header.expect("a header").revision);
    assert_eq!(value_of(&leader(&ec, "el").await.expect("leader")), b"v1");

    let mut observe = within(
        "observe",
        ec.clone().observe(LeaderRequest {
            name: b"el".to_vec(),
        }),
    )
    .await
    .expect("observe")
    .into_inner();
    assert_eq!(
        observed(&mut observe).await,
        (key_a.key.clone(), b"v1".to_vec())
    );

    proclaim(&ec, &key_a, "v2").await.expect("proclaim");
    assert_eq!(
        observed(&mut observe).await,
        (key_a.key.clone(), b"v2".to_vec())
    );
    assert_eq!(value_of(&leader(&ec, "el").await.expect("leader")), b"v2");

    let stale = LeaderKey {
        rev: key_a.rev + 100,
        ..key_a.clone()
    };
    assert_refused(
        proclaim(&ec, &stale, "v3").await,
        Code::Unknown,
        "election: not leader",
    );
    resign(&ec, Some(stale))
        .await
        .expect("a stale resign is answered");
    assert_refused(
        resign(&ec, None).await,
        Code::Unknown,
        "\"leader\" field must be provided",
    );
    assert_refused(
        within("proclaim", ec.clone().proclaim(ProclaimRequest::default())).await,
        Code::Unknown,
        "\"leader\" field must be provided",
    );
    assert_eq!(value_of(&leader(&ec, "el").await.expect("leader")), b"v2");

    let second = {
        let ec = ec.clone();
        tokio::spawn(async move { campaign(&ec, "el", b, "w1").await.expect("campaign b") })
    };
    still_waiting("the second campaigner", &second).await;
    resign(&ec, Some(key_a)).await.expect("resign a");
    let took = joined("the second campaigner", second).await;
    let key_b = took.leader.expect("a leader key");
    assert_eq!(key_b.key, lease_key("el", b));
    assert_eq!(
        observed(&mut observe).await,
        (key_b.key.clone(), b"w1".to_vec())
    );
    let now = leader(&ec, "el").await.expect("leader");
    assert_eq!(now.kv.as_ref().expect("a kv").key, key_b.key);
    assert_eq!(value_of(&now), b"w1");

    resign(&ec, Some(key_b)).await.expect("resign b");
    assert_refused(
        leader(&ec, "el").await,
        Code::Unknown,
        "election: no leader",
    );
    // The leases were neither revoked nor consumed.
    for id in [a, b] {
        let ttl = c.time_to_live(id, Default::default()).await.expect("ttl");
        assert!(ttl.ttl > 0, "lease {id:x} still exists");
    }
}

/// A lock held through the Lock service excludes the SDK's
/// `concurrency::Mutex` on the same name (its try-lock is refused and its
/// lock waits until the service's unlock), and a mutex held through the SDK
/// makes the service's Lock wait until it unlocks.
pub async fn lock_service_and_sdk_mutex_exclude_each_other(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let lc = LockClient::new(channel(&endpoints).await);
    let a = c.grant(60).await.expect("grant").id;
    let held = within("lock", lock(&lc, "mix", a)).await.expect("lock");

    let session = within(
        "session",
        Session::with_options(c.clone(), SessionOptions::new().with_ttl(30)),
    )
    .await
    .expect("session");
    let mut probe = Mutex::new(&session, "mix");
    match within("try lock", probe.try_lock(&Context::background())).await {
        Err(concurrency::Error::Locked) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    let waiter = {
        let session = session.clone();
        tokio::spawn(async move {
            let mut m = Mutex::new(&session, "mix");
            m.lock(&Context::background()).await.expect("sdk lock");
            m
        })
    };
    still_waiting("the SDK mutex", &waiter).await;
    unlock(&lc, &held).await;
    let mut m = joined("the SDK mutex", waiter).await;
    assert_eq!(m.key().as_bytes(), lease_key("mix", session.lease()));

    let b = c.grant(60).await.expect("grant").id;
    let service = spawn_lock(&lc, "mix", b);
    still_waiting("the service's lock", &service).await;
    within("sdk unlock", m.unlock(&Context::background()))
        .await
        .expect("sdk unlock");
    let kb = joined("the service's lock", service).await;
    assert_eq!(kb, lease_key("mix", b));
    unlock(&lc, &kb).await;
    within("close", session.close()).await.expect("close");
}

/// A lock held through the Lock service makes `etcdctl lock` on the same
/// name wait; it takes the lock (and runs its command) once the service's
/// lock is unlocked. Real builds (it runs `etcdctl`).
#[cfg(not(madsim))]
pub async fn lock_service_excludes_etcdctl_lock(endpoints: Vec<String>) {
    use std::process::{Command, Stdio};
    let c = client(&endpoints).await;
    let lc = LockClient::new(channel(&endpoints).await);
    let a = c.grant(60).await.expect("grant").id;
    let held = within("lock", lock(&lc, "ctl", a)).await.expect("lock");
    let mut ctl = Command::new("/usr/bin/etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            &endpoints[0],
            "lock",
            "ctl",
            "--",
            "echo",
            "got-it",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdctl runs");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let early = ctl.try_wait().expect("etcdctl status");
    if early.is_some() {
        let out = ctl.wait_with_output().expect("etcdctl output");
        panic!("etcdctl lock should wait, it ended: {out:?}");
    }
    // Its candidacy is queued behind ours.
    let queued = c.get("ctl/", GetOptions::prefix()).await.expect("get");
    assert_eq!(queued.count, 2, "etcdctl's key waits behind the service's");
    unlock(&lc, &held).await;
    let status = within("etcdctl lock", async {
        loop {
            if let Some(s) = ctl.try_wait().expect("etcdctl status") {
                break s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let out = ctl.wait_with_output().expect("etcdctl output");
    assert!(status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-it\n");
}

/// `msg` as a request carrying `token` as its `token` metadata (none: an
/// anonymous caller).
fn as_caller<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(t) = token {
        req.metadata_mut()
            .insert("token", t.parse().expect("a token is metadata"));
    }
    req
}

/// With auth enabled (root, and a user `u` with READWRITE on the prefix `lk/`
/// only), the services act as their caller: `u` locks `lk/a` and unlocks it,
/// campaigns on `lk/e` and resigns; `u` locking or campaigning on `other` is
/// refused "permission denied", an anonymous caller "user name is empty"
/// (both code Unknown, as every failure of these services).
pub async fn lock_and_campaign_as_the_caller(endpoints: Vec<String>) {
    let admin = client(&endpoints).await;
    admin
        .user_add("root", "rootpw", UserAddOptions::default())
        .await
        .expect("add root");
    admin.role_add("root").await.expect("add role root");
    admin
        .user_grant_role("root", "root")
        .await
        .expect("grant root");
    admin
        .user_add("u", "upw", UserAddOptions::default())
        .await
        .expect("add u");
    admin.role_add("r").await.expect("add role r");
    admin
        .role_grant_permission("r", Permission::prefix(PermissionType::Readwrite, "lk/"))
        .await
        .expect("grant lk/");
    admin.user_grant_role("u", "r").await.expect("grant r");
    admin.auth_enable().await.expect("auth enable");

    let u = Client::new(Config {
        username: Some("u".into()),
        password: Some("upw".into()),
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client as u");
    let token = u.authenticate("u", "upw").await.expect("token").token;
    let token = Some(token.as_str());
    let lease = u.grant(60).await.expect("grant as u").id;
    let lc = LockClient::new(channel(&endpoints).await);
    let ec = ElectionClient::new(channel(&endpoints).await);
    const DENIED: &str = "etcdserver: permission denied";
    const ANONYMOUS: &str = "etcdserver: user name is empty";

    // Lock.
    let lock_as = |name: &str, token: Option<&str>| {
        let mut lc = lc.clone();
        let req = as_caller(
            LockRequest {
                name: name.as_bytes().to_vec(),
                lease,
            },
            token,
        );
        async move { within("lock", lc.lock(req)).await.map(|r| r.into_inner()) }
    };
    let held = lock_as("lk/a", token).await.expect("u locks lk/a");
    assert_eq!(held.key, lease_key("lk/a", lease));
    let resp = within(
        "unlock",
        lc.clone().unlock(as_caller(
            UnlockRequest {
                key: held.key.clone(),
            },
            token,
        )),
    )
    .await
    .expect("u unlocks lk/a");
    assert!(resp.into_inner().header.is_some());
    let left = u.get("lk/a/", GetOptions::prefix()).await;
    assert_eq!(
        left.expect("get as u").count,
        0,
        "the unlock deleted the key"
    );
    assert_refused(lock_as("other", token).await, Code::Unknown, DENIED);
    assert_refused(lock_as("lk/a", None).await, Code::Unknown, ANONYMOUS);
    assert_refused(
        within(
            "anonymous unlock",
            lc.clone()
                .unlock(as_caller(UnlockRequest { key: held.key }, None)),
        )
        .await,
        Code::Unknown,
        ANONYMOUS,
    );

    // Campaign.
    let campaign_as = |name: &str, token: Option<&str>| {
        let mut ec = ec.clone();
        let req = as_caller(
            CampaignRequest {
                name: name.as_bytes().to_vec(),
                lease,
                value: b"v".to_vec(),
            },
            token,
        );
        async move {
            within("campaign", ec.campaign(req))
                .await
                .map(|r| r.into_inner())
        }
    };
    let won = campaign_as("lk/e", token)
        .await
        .expect("u campaigns on lk/e");
    let leader = won.leader.expect("a leader key");
    assert_eq!(leader.key, lease_key("lk/e", lease));
    within(
        "resign",
        ec.clone().resign(as_caller(
            ResignRequest {
                leader: Some(leader),
            },
            token,
        )),
    )
    .await
    .expect("u resigns");
    assert_refused(campaign_as("other", token).await, Code::Unknown, DENIED);
    assert_refused(campaign_as("lk/e", None).await, Code::Unknown, ANONYMOUS);
}
