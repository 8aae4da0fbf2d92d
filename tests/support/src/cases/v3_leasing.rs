//! The leasing KV (`etcd_sdk::v3::leasing`, Go's `clientv3/leasing`): reads
//! of owned keys served with no request (counted by a client wrapper), the
//! lease key layout and values Go's package writes (`prefix + key`, empty,
//! on the session's lease; `REVOKE` put by a writer, then deleted by the
//! owner), owner writes through, another client's put, delete, range delete
//! and txn invalidating the owner, txns answered from the cache, concurrent
//! writers, session loss, close, and a lease key deleted by a plain client.
//! Ports, in our words, the main cases of Go's
//! `clientv3/integration/leasing_test.go`. Each case expects a fresh
//! single-member cluster. Run against real etcd by
//! `tests/real_v3_leasing.rs`, against etcd-sim by
//! `sim/tests/v3_packages_server.rs`.

use async_trait::async_trait;
use etcd_sdk::v3::concurrency::SessionOptions;
use etcd_sdk::v3::leasing::{self, Closer, LeasingKv, REVOKE};
use etcd_sdk::v3::{
    Client, CompactOptions, CompactResponse, Compare, CompareOp, Config, DeleteOptions, Error,
    EventType, GetOptions, KV, KeepAliveStream, KeyRange, KeyValue, Lease, LeaseGrantResponse,
    LeaseId, LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseRevokeResponse,
    LeaseTimeToLiveResponse, Op, OpResponse, PutOptions, Result, TimeToLiveOptions, WatchOptions,
    WatchStream, Watcher,
};
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

/// The prefix of the lease keys in every case.
const PFX: &str = "lkey/";

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

/// A client that counts and records the key-value calls made through it
/// (gets, puts, deletes, txns): a read served from a cache adds none.
#[derive(Clone)]
struct Counting {
    inner: Client,
    kv_calls: Arc<AtomicUsize>,
    ops: Arc<std::sync::Mutex<Vec<Op>>>,
}

impl Counting {
    fn new(inner: Client) -> Counting {
        Counting {
            inner,
            kv_calls: Arc::new(AtomicUsize::new(0)),
            ops: Default::default(),
        }
    }

    fn calls(&self) -> usize {
        self.kv_calls.load(Ordering::SeqCst)
    }

    /// The ops sent so far.
    fn ops(&self) -> Vec<Op> {
        self.ops.lock().expect("ops").clone()
    }
}

#[async_trait]
impl KV for Counting {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        self.kv_calls.fetch_add(1, Ordering::SeqCst);
        self.ops.lock().expect("ops").push(op.clone());
        self.inner.do_op(op).await
    }

    async fn compact(&self, revision: i64, opts: CompactOptions) -> Result<CompactResponse> {
        self.inner.compact(revision, opts).await
    }
}

#[async_trait]
impl Watcher for Counting {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        self.inner.watch(key, opts).await
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.request_progress().await
    }

    async fn close(&self) -> Result<()> {
        Watcher::close(&self.inner).await
    }
}

#[async_trait]
impl Lease for Counting {
    async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        self.inner.grant(ttl).await
    }

    async fn revoke(&self, id: LeaseId) -> Result<LeaseRevokeResponse> {
        self.inner.revoke(id).await
    }

    async fn time_to_live(
        &self,
        id: LeaseId,
        opts: TimeToLiveOptions,
    ) -> Result<LeaseTimeToLiveResponse> {
        self.inner.time_to_live(id, opts).await
    }

    async fn leases(&self) -> Result<LeaseLeasesResponse> {
        self.inner.leases().await
    }

    async fn keep_alive(&self, id: LeaseId) -> Result<KeepAliveStream> {
        self.inner.keep_alive(id).await
    }

    async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        self.inner.keep_alive_once(id).await
    }

    async fn close(&self) -> Result<()> {
        Lease::close(&self.inner).await
    }
}

/// A leasing KV over its own connection, counting its calls.
async fn leasing_kv(endpoints: &[String]) -> (LeasingKv<Counting>, Closer<Counting>, Counting) {
    leasing_kv_ttl(endpoints, 30).await
}

/// [`leasing_kv`] with a session TTL of `ttl` seconds.
async fn leasing_kv_ttl(
    endpoints: &[String],
    ttl: i64,
) -> (LeasingKv<Counting>, Closer<Counting>, Counting) {
    let c = Counting::new(client(endpoints).await);
    let (kv, closer) = leasing::new_kv(c.clone(), PFX, SessionOptions::new().with_ttl(ttl))
        .await
        .expect("leasing kv");
    (kv, closer, c)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rev(h: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    h.as_ref().map(|h| h.revision).expect("a header")
}

async fn get(kv: &impl KV, key: &str) -> Vec<KeyValue> {
    tokio::time::timeout(STEP, kv.get(key, GetOptions::default()))
        .await
        .expect("get in time")
        .expect("get")
        .kvs
}

async fn value(kv: &impl KV, key: &str) -> Option<String> {
    get(kv, key).await.first().map(|kv| text(&kv.value))
}

async fn put(kv: &impl KV, key: &str, value: &str) -> i64 {
    let r = tokio::time::timeout(STEP, kv.put(key, value, PutOptions::default()))
        .await
        .expect("put in time")
        .expect("put");
    rev(&r.header)
}

/// The lease key of `key`, as the cluster holds it.
async fn lease_key(c: &Client, key: &str) -> Option<KeyValue> {
    get(c, &format!("{PFX}{key}")).await.into_iter().next()
}

/// Waits (bounded by [`STEP`]) until `$cond` (which may `.await`) holds.
/// (A macro, not an async closure: the bodies' futures must be `Send` to
/// run on a simulated node.)
macro_rules! eventually {
    ($what:expr, $cond:expr) => {{
        let deadline = Instant::now() + STEP;
        while !$cond {
            assert!(Instant::now() < deadline, "{}: not within {STEP:?}", $what);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }};
}

/// The next watch events, within [`STEP`].
async fn next_events(w: &mut WatchStream) -> Vec<(EventType, String, String, i64, i64)> {
    loop {
        let r = match tokio::time::timeout(STEP, w.next()).await {
            Ok(Some(Ok(r))) => r,
            other => panic!("expected a watch response, got {other:?}"),
        };
        if !r.events.is_empty() {
            return r
                .events
                .iter()
                .map(|e| {
                    (
                        e.kind,
                        text(&e.kv.key),
                        text(&e.kv.value),
                        e.kv.lease,
                        e.kv.mod_revision,
                    )
                })
                .collect();
        }
    }
}

/// A get acquires the key: one txn, leaving the lease key Go's package
/// writes (`prefix + key`, empty value, the session's lease, created at the
/// get's revision). Later gets of the key (plain, serializable, keys-only,
/// count-only, with revision bounds) make no call; a range get, a get at a
/// past revision and a serializable get of a key not owned go to the
/// server, and a range get does not acquire.
pub async fn get_caches_with_gos_lease_key(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    let first = put(&plain, "k", "abc").await;
    put(&plain, "k", "def").await;
    for k in ["abc/a", "abc/b", "abc/a/a"] {
        put(&plain, k, "v").await;
    }
    let (lkv, closer, counter) = leasing_kv(&endpoints).await;
    let lease = lkv.session_lease().expect("a session");

    let before = counter.calls();
    let got = lkv.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(counter.calls() - before, 1, "one acquire txn");
    // Go's acquire txn, exactly.
    let lkey = format!("{PFX}k");
    let acquire = Op::txn(
        [
            Compare::create_revision(lkey.clone(), CompareOp::Equal, 0),
            Compare::lease("k", CompareOp::Equal, 0),
        ],
        [
            Op::get("k", GetOptions::default()),
            Op::put(
                lkey.clone(),
                "",
                PutOptions {
                    lease,
                    ..Default::default()
                },
            ),
        ],
        [
            Op::get("k", GetOptions::default()),
            Op::get(lkey.clone(), GetOptions::default()),
        ],
    );
    assert_eq!(counter.ops().last(), Some(&acquire));
    assert_eq!(text(&got.kvs[0].value), "def");
    assert!(lkv.is_cached("k"));
    let lk = lease_key(&plain, "k").await.expect("the lease key");
    assert_eq!(
        (
            text(&lk.key),
            lk.value.as_slice(),
            lk.lease,
            lk.create_revision
        ),
        (format!("{PFX}k"), &b""[..], lease, rev(&got.header))
    );

    let before = counter.calls();
    let again = lkv.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(again.kvs, got.kvs);
    assert_eq!(again.kvs, get(&plain, "k").await);
    let ser = lkv
        .get(
            "k",
            GetOptions {
                serializable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ser.kvs, got.kvs);
    let keys = lkv
        .get(
            "k",
            GetOptions {
                keys_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (text(&keys.kvs[0].key), keys.kvs[0].value.len()),
        ("k".into(), 0)
    );
    let count = lkv
        .get(
            "k",
            GetOptions {
                count_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((count.kvs.len(), count.count), (0, 1));
    let newer = lkv
        .get(
            "k",
            GetOptions {
                min_mod_revision: got.kvs[0].mod_revision + 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(newer.kvs.is_empty());
    assert_eq!(counter.calls(), before, "owned: served from the cache");

    // A past revision: the server.
    let old = lkv
        .get(
            "k",
            GetOptions {
                revision: first,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(text(&old.kvs[0].value), "abc");
    assert_eq!(counter.calls(), before + 1);
    // A range: the server, even when its key is owned; nothing acquired.
    let range = lkv.get("abc/", GetOptions::prefix()).await.unwrap();
    assert_eq!(range.kvs.len(), 3);
    lkv.get("abc/a", GetOptions::default()).await.unwrap();
    let range = lkv.get("abc/a", GetOptions::prefix()).await.unwrap();
    assert_eq!(range.kvs.len(), 2);
    assert!(lease_key(&plain, "abc/").await.is_none());
    // Serializable, not owned: read, not acquired.
    let s = lkv
        .get(
            "uncached",
            GetOptions {
                serializable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(s.kvs.is_empty());
    assert!(!lkv.is_cached("uncached") && lease_key(&plain, "uncached").await.is_none());
    // A key attached to a lease is never owned (it may vanish unseen).
    let l = plain.grant(60).await.unwrap().id;
    plain
        .put(
            "leased",
            "v",
            PutOptions {
                lease: l,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(value(&lkv, "leased").await.as_deref(), Some("v"));
    assert!(!lkv.is_cached("leased") && lease_key(&plain, "leased").await.is_none());
    closer.close().await.unwrap();
}

/// The owner's puts and deletes are written through (one guarded txn
/// each) and its cache follows: values, mod revisions and versions equal
/// the server's, a put's previous value is returned, a new key is cached
/// once written, and a deleted key reads as absent (deleting it again is
/// fine). Sixteen concurrent puts leave the latest revision and version 16.
pub async fn owner_writes_through(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    put(&plain, "k", "abc").await;
    let (lkv, closer, counter) = leasing_kv(&endpoints).await;
    get(&lkv, "k").await;

    let before = counter.calls();
    let r = lkv
        .put(
            "k",
            "def",
            PutOptions {
                prev_kv: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(counter.calls() - before, 1, "one guarded txn");
    // Go's owner write: guarded by the lease key's create revision.
    let acquired = lease_key(&plain, "k")
        .await
        .expect("lease key")
        .create_revision;
    let guarded = Op::txn(
        [Compare::create_revision(
            format!("{PFX}k"),
            CompareOp::Less,
            acquired + 1,
        )],
        [Op::put(
            "k",
            "def",
            PutOptions {
                prev_kv: true,
                ..Default::default()
            },
        )],
        [],
    );
    assert_eq!(counter.ops().last(), Some(&guarded));
    assert_eq!(text(&r.prev_kv.expect("prev kv").value), "abc");
    let cached = get(&lkv, "k").await;
    assert_eq!(
        counter.calls() - before,
        1,
        "the get after it is served locally"
    );
    assert_eq!(cached, get(&plain, "k").await);
    assert_eq!(
        (cached[0].mod_revision, cached[0].version),
        (rev(&r.header), 2)
    );

    // A key that did not exist: owned as absent, then written.
    assert!(get(&lkv, "new").await.is_empty());
    put(&lkv, "new", "v").await;
    let before = counter.calls();
    let cached = lkv.get("new", GetOptions::default()).await.unwrap();
    assert_eq!(counter.calls(), before);
    let server = plain.get("new", GetOptions::default()).await.unwrap();
    assert_eq!(cached.kvs, server.kvs);
    assert_eq!(rev(&cached.header), rev(&server.header));

    // Deletes.
    let d = lkv.delete("k", DeleteOptions::default()).await.unwrap();
    assert_eq!(d.deleted, 1);
    assert!(get(&lkv, "k").await.is_empty());
    assert!(get(&plain, "k").await.is_empty());
    let again = lkv.delete("k", DeleteOptions::default()).await.unwrap();
    assert_eq!(again.deleted, 0);

    // Concurrent puts by the owner.
    get(&lkv, "c").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let lkv = lkv.clone();
        tasks.push(tokio::spawn(async move { put(&lkv, "c", "abc").await }));
    }
    let mut max = 0;
    for t in tasks {
        max = max.max(t.await.expect("put task"));
    }
    let c = get(&lkv, "c").await;
    assert_eq!((c[0].mod_revision, c[0].version), (max, 16));
    assert_eq!(c, get(&plain, "c").await);

    // Concurrent puts and deletes by the owner: whatever order the answers
    // come in, the cache ends equal to the server.
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..12 {
            let lkv = lkv.clone();
            tasks.push(tokio::spawn(async move {
                if i % 4 == 3 {
                    let d = tokio::time::timeout(STEP, lkv.delete("c", DeleteOptions::default()));
                    d.await.expect("delete in time").expect("delete");
                } else {
                    put(&lkv, "c", &format!("{round}-{i}")).await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("write task");
        }
        assert!(lkv.is_cached("c"));
        assert_eq!(
            get(&lkv, "c").await,
            get(&plain, "c").await,
            "round {round}"
        );
    }
    closer.close().await.unwrap();
}

/// Another leasing client's put of an owned key: it puts `REVOKE` on the
/// owner's lease key (keeping the owner's lease), the owner deletes its
/// lease key, then the put goes through; the owner reads the new value.
/// The same for a delete by a non-owner.
pub async fn non_owner_write_revokes_the_owner(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    put(&plain, "k", "abc").await;
    let (owner, close_owner, owner_calls) = leasing_kv(&endpoints).await;
    let (writer, close_writer, writer_calls) = leasing_kv(&endpoints).await;
    let owner_lease = owner.session_lease().expect("a session");
    let acquired = owner.get("k", GetOptions::default()).await.unwrap();
    let mut lease_events = plain
        .watch(
            format!("{PFX}k"),
            WatchOptions {
                revision: rev(&acquired.header) + 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let put_rev = put(&writer, "k", "ghi").await;
    let revoke = next_events(&mut lease_events).await;
    let (kind, key, val, lease, revoke_rev) = revoke[0].clone();
    assert_eq!(
        (kind, key.as_str(), val.as_bytes(), lease),
        (
            EventType::Put,
            format!("{PFX}k").as_str(),
            REVOKE,
            owner_lease
        )
    );
    let mut deleted = revoke[1..].to_vec();
    if deleted.is_empty() {
        deleted = next_events(&mut lease_events).await;
    }
    assert_eq!(deleted[0].0, EventType::Delete);
    assert!(revoke_rev < deleted[0].4 && deleted[0].4 < put_rev);
    // Go's revoke txn (the writer) and rescind txn (the owner), exactly.
    let lkey = format!("{PFX}k");
    let revoke_txn = Op::txn(
        [Compare::create_revision(lkey.clone(), CompareOp::Less, 1)],
        [Op::put("k", "ghi", PutOptions::default())],
        [Op::put(
            lkey.clone(),
            REVOKE,
            PutOptions {
                ignore_lease: true,
                ..Default::default()
            },
        )],
    );
    let sent = writer_calls.ops();
    assert_eq!(
        sent.iter().filter(|op| **op == revoke_txn).count(),
        2,
        "{sent:?}"
    );
    let rescind_txn = Op::txn(
        [Compare::create_revision(
            lkey.clone(),
            CompareOp::Less,
            revoke_rev,
        )],
        [Op::delete(lkey.clone(), DeleteOptions::default())],
        [],
    );
    assert!(
        owner_calls.ops().contains(&rescind_txn),
        "{:?}",
        owner_calls.ops()
    );
    assert_eq!(value(&owner, "k").await.as_deref(), Some("ghi"));
    assert!(!owner.is_cached("k"));

    // A third leasing client owns it now; the first writes it back.
    let (third, close_third, _) = leasing_kv(&endpoints).await;
    assert_eq!(value(&third, "k").await.as_deref(), Some("ghi"));
    assert!(third.is_cached("k"));
    put(&writer, "k", "jkl").await;
    assert_eq!(value(&third, "k").await.as_deref(), Some("jkl"));

    // A delete by a non-owner.
    put(&plain, "d", "x").await;
    assert_eq!(value(&third, "d").await.as_deref(), Some("x"));
    writer.delete("d", DeleteOptions::default()).await.unwrap();
    assert!(get(&third, "d").await.is_empty());
    assert!(lease_key(&plain, "d").await.is_none());
    for c in [close_owner, close_writer, close_third] {
        c.close().await.unwrap();
    }
}

/// Range deletes: keys outside the range keep their owner's lease keys
/// and stay cached; inside it, every other owner is revoked and the keys go
/// in one revision (one delete event each at that revision); the owner of
/// keys in the range reads them as absent. The same with a from-key range.
pub async fn range_delete_revokes_owners_in_range(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    let (getter, close_getter, getter_calls) = leasing_kv(&endpoints).await;
    let (deleter, close_deleter, _) = leasing_kv(&endpoints).await;
    for k in ["j", "m"] {
        put(&plain, k, "123").await;
        get(&getter, k).await;
    }
    deleter.delete("k", DeleteOptions::prefix()).await.unwrap();
    for k in ["j", "m"] {
        assert!(
            lease_key(&plain, k).await.is_some(),
            "{k} keeps its lease key"
        );
        assert!(getter.is_cached(k));
    }

    for i in 0..8 {
        put(&plain, &format!("key/{i}"), "123").await;
    }
    for i in [1, 3] {
        get(&getter, &format!("key/{i}")).await;
    }
    get(&deleter, "key/5").await;

    let d = deleter
        .delete("key/", DeleteOptions::prefix())
        .await
        .unwrap();
    assert_eq!(d.deleted, 8);
    let mut w = plain
        .watch(
            "key/",
            WatchOptions {
                revision: rev(&d.header),
                ..WatchOptions::prefix()
            },
        )
        .await
        .unwrap();
    let evs = next_events(&mut w).await;
    assert_eq!(evs.len(), 8, "{evs:?}");
    assert!(
        evs.iter()
            .all(|e| e.0 == EventType::Delete && e.4 == rev(&d.header))
    );
    for i in 0..8 {
        assert!(get(&getter, &format!("key/{i}")).await.is_empty());
        assert!(get(&deleter, &format!("key/{i}")).await.is_empty());
    }
    let before = getter_calls.calls();
    get(&getter, "j").await;
    assert_eq!(getter_calls.calls(), before, "j is still served locally");

    // From-key: the lease keys of the range up to the prefix's end.
    put(&plain, "x1", "v").await;
    get(&getter, "x1").await;
    let d = deleter
        .delete(
            "x",
            DeleteOptions {
                range: KeyRange::FromKey,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(d.deleted, 1);
    assert!(get(&getter, "x1").await.is_empty());
    assert!(getter.is_cached("j"));
    close_getter.close().await.unwrap();
    close_deleter.close().await.unwrap();
}

/// Transactions: compares on owned keys with a branch of gets of owned
/// keys are answered with no call (Go's table of compares); a compare over
/// a range goes to the server; a txn of another leasing client writing
/// owned keys (one of them in a nested txn) revokes their owner and writes
/// all its keys in one revision; an owner's txn of puts in nested branches
/// keeps its cache equal to the server.
pub async fn txn_through_the_cache_and_the_guards(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    let created = put(&plain, "k", "abc").await;
    put(&plain, "k2", "a").await;
    put(&plain, "k2", "a").await;
    let (lkv, closer, counter) = leasing_kv(&endpoints).await;
    get(&lkv, "k").await;

    let c = |cmp: Compare| vec![cmp];
    let table = [
        (c(Compare::value("k", CompareOp::Equal, "abc")), true),
        (
            c(Compare::create_revision("k", CompareOp::Equal, created)),
            true,
        ),
        (
            c(Compare::mod_revision("k", CompareOp::Equal, created)),
            true,
        ),
        (c(Compare::version("k", CompareOp::Equal, 1)), true),
        (c(Compare::value("k", CompareOp::Greater, "abc")), false),
        (
            c(Compare::create_revision("k", CompareOp::Greater, created)),
            false,
        ),
        (c(Compare::version("k", CompareOp::Greater, 1)), false),
        (c(Compare::value("k", CompareOp::Less, "abc")), false),
        (
            c(Compare::create_revision("k", CompareOp::Less, created)),
            false,
        ),
        (
            c(Compare::mod_revision("k", CompareOp::Less, created)),
            false,
        ),
        (c(Compare::version("k", CompareOp::Less, 1)), false),
        (
            vec![
                Compare::version("k", CompareOp::Equal, 1),
                Compare::version("k", CompareOp::Less, 1),
            ],
            false,
        ),
    ];
    let before = counter.calls();
    for (i, (cmps, want)) in table.into_iter().enumerate() {
        let r = lkv
            .txn()
            .when(cmps)
            .and_then([Op::get("k", GetOptions::default())])
            .commit()
            .await
            .unwrap();
        assert_eq!(r.succeeded, want, "#{i}");
        assert_eq!(r.responses.len(), usize::from(want), "#{i}");
        if let Some(OpResponse::Get(g)) = r.responses.first() {
            assert_eq!(text(&g.kvs[0].value), "abc");
        }
    }
    assert_eq!(counter.calls(), before, "answered from the cache");

    // Over a range: the server (k2 has version 2).
    let r = lkv
        .txn()
        .when([Compare::version("k", CompareOp::Equal, 1).with_prefix()])
        .commit()
        .await
        .unwrap();
    assert!(!r.succeeded);
    assert!(counter.calls() > before);

    // Another leasing client's txn over owned keys.
    get(&lkv, "k2").await;
    let (other, close_other, _) = leasing_kv(&endpoints).await;
    let r = other
        .txn()
        .and_then([
            Op::txn([], [Op::put("k2", "456", PutOptions::default())], []),
            Op::put("k", "def", PutOptions::default()),
            Op::put("k3", "999", PutOptions::default()),
        ])
        .commit()
        .await
        .unwrap();
    assert!(r.succeeded);
    assert_eq!(r.responses.len(), 3);
    assert_eq!(value(&lkv, "k").await.as_deref(), Some("def"));
    assert_eq!(value(&lkv, "k2").await.as_deref(), Some("456"));
    for k in ["k", "k2", "k3"] {
        assert_eq!(get(&plain, k).await[0].mod_revision, rev(&r.header), "{k}");
    }

    // The owner's nested puts, then reads from the cache.
    for i in 0..4 {
        put(&plain, &format!("tree/{i}"), "a").await;
        get(&other, &format!("tree/{i}")).await;
    }
    let tree = Op::txn(
        [Compare::version("nokey", CompareOp::Equal, 0)],
        [
            Op::txn(
                [Compare::version("nokey", CompareOp::Greater, 0)],
                [Op::put("tree/0", "then", PutOptions::default())],
                [Op::put("tree/1", "else", PutOptions::default())],
            ),
            Op::put("tree/2", "then", PutOptions::default()),
        ],
        [Op::put("tree/3", "else", PutOptions::default())],
    );
    other.do_op(tree).await.unwrap();
    for i in 0..4 {
        let k = format!("tree/{i}");
        assert!(other.is_cached(&k), "{k}");
        assert_eq!(get(&other, &k).await, get(&plain, &k).await, "{k}");
    }
    // A txn deleting a prefix the owner holds keys of.
    let r = lkv
        .txn()
        .and_then([Op::delete("tree/", DeleteOptions::prefix())])
        .commit()
        .await
        .unwrap();
    assert!(r.succeeded);
    for i in 0..4 {
        assert!(get(&other, &format!("tree/{i}")).await.is_empty());
    }
    closer.close().await.unwrap();
    close_other.close().await.unwrap();
}

/// Two leasing clients put, read and delete one key concurrently; at the
/// end each reads what the server holds.
pub async fn concurrent_writers_on_one_key(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    let (a, close_a, _) = leasing_kv(&endpoints).await;
    let (b, close_b, _) = leasing_kv(&endpoints).await;
    let mut tasks = Vec::new();
    for (n, kv) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for i in 0..8 {
                let v = format!("{n}-{i}");
                put(&kv, "k", &v).await;
                get(&kv, "k").await;
                if i % 3 == 2 {
                    tokio::time::timeout(STEP, kv.delete("k", DeleteOptions::default()))
                        .await
                        .expect("delete in time")
                        .expect("delete");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let server = get(&plain, "k").await;
    assert_eq!(get(&a, "k").await, server);
    assert_eq!(get(&b, "k").await, server);
    put(&a, "k", "last").await;
    assert_eq!(value(&b, "k").await.as_deref(), Some("last"));
    assert_eq!(value(&a, "k").await.as_deref(), Some("last"));
    close_a.close().await.unwrap();
    close_b.close().await.unwrap();
}

/// The session's lease revoked by someone else: its lease keys vanish, the
/// cache is dropped, a new session (a new lease) is made and used for the
/// next acquire; reads see writes made meanwhile.
pub async fn session_loss_drops_the_cache(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    put(&plain, "k", "v1").await;
    // A short TTL: the keepalive (every third of it) soon learns of the revoke.
    let (lkv, closer, _) = leasing_kv_ttl(&endpoints, 3).await;
    let old = lkv.session_lease().expect("a session");
    assert_eq!(value(&lkv, "k").await.as_deref(), Some("v1"));
    assert!(lkv.is_cached("k"));

    plain.revoke(old).await.unwrap();
    assert!(lease_key(&plain, "k").await.is_none());
    eventually!(
        "a new session",
        lkv.session_lease().is_some_and(|l| l != old)
    );
    assert!(!lkv.is_cached("k"));
    put(&plain, "k", "v2").await;
    assert_eq!(value(&lkv, "k").await.as_deref(), Some("v2"));
    let new = lkv.session_lease().expect("a session");
    get(&lkv, "fresh").await;
    assert_eq!(
        lease_key(&plain, "fresh").await.map(|kv| kv.lease),
        Some(new)
    );
    closer.close().await.unwrap();
}

/// Close revokes the session: every lease key of the client is deleted at
/// once (a writer does not wait for it), and later calls fail with
/// `Closed`.
pub async fn close_releases_the_lease_keys(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    let (lkv, closer, _) = leasing_kv(&endpoints).await;
    let (writer, close_writer, _) = leasing_kv(&endpoints).await;
    for k in ["a", "b"] {
        put(&plain, k, "v").await;
        get(&lkv, k).await;
    }
    let held = plain.get(PFX, GetOptions::prefix()).await.unwrap();
    assert_eq!(held.kvs.len(), 2);
    closer.close().await.unwrap();
    let held = plain.get(PFX, GetOptions::prefix()).await.unwrap();
    assert!(held.kvs.is_empty(), "{:?}", held.kvs);
    let start = Instant::now();
    put(&writer, "a", "w").await;
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        lkv.get("a", GetOptions::default()).await,
        Err(Error::Closed)
    ));
    assert!(matches!(
        lkv.put("a", "x", PutOptions::default()).await,
        Err(Error::Closed)
    ));
    lkv.close().await.unwrap();
    close_writer.close().await.unwrap();
}

/// A lease key deleted by a plain client: the owner stops serving the key
/// from its cache, so a write that then goes through unguarded is seen.
pub async fn deleted_lease_key_invalidates(endpoints: Vec<String>) {
    let plain = client(&endpoints).await;
    put(&plain, "k", "v1").await;
    let (lkv, closer, _) = leasing_kv(&endpoints).await;
    let (writer, close_writer, _) = leasing_kv(&endpoints).await;
    get(&lkv, "k").await;
    assert!(lkv.is_cached("k"));
    plain
        .delete(format!("{PFX}k"), DeleteOptions::default())
        .await
        .unwrap();
    eventually!("the owner drops the key", !lkv.is_cached("k"));
    put(&writer, "k", "v2").await;
    assert_eq!(value(&lkv, "k").await.as_deref(), Some("v2"));
    closer.close().await.unwrap();
    close_writer.close().await.unwrap();
}
