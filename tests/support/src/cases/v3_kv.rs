//! The v3 KV client (`etcd_sdk::v3`): every get/put/delete option, ranges,
//! sort/limit/count, txn branches with each compare target, compaction, and
//! calls continuing while a member is stopped — with the exact revisions
//! etcd 3.4 answers. Written once (endpoints in, or a [`Backend`] for the
//! fault case) so the simulated cluster can run the same bodies once it
//! serves v3; today they run against real etcd (`tests/real_v3_kv.rs`).
//! Each case expects a fresh cluster (revision 1) of the size its doc names.

use crate::backend::Backend;
use etcd_sdk::v3::{
    Client, CompactOptions, Compare, CompareOp, Config, DeleteOptions, EtcdError, GetOptions,
    GetResponse, KV, KeyRange, KeyValue, Op, OpResponse, PutOptions, SortOrder, SortTarget,
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

fn rev(r: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    r.as_ref().map(|h| h.revision).expect("a header")
}

fn keys(r: &GetResponse) -> Vec<String> {
    r.kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

fn kv(key: &str, value: &str, create: i64, modr: i64, version: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value.into(),
        create_revision: create,
        mod_revision: modr,
        version,
        lease: 0,
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

/// Run against a fresh 1-member cluster.
pub async fn put_get_with_every_option(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    let none = PutOptions::default();

    let p = c.put("foo", "bar", none.clone()).await.unwrap();
    assert_eq!((rev(&p.header), p.prev_kv), (2, None));
    let p = c
        .put(
            "foo",
            "baz",
            PutOptions {
                prev_kv: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rev(&p.header), 3);
    assert_eq!(p.prev_kv, Some(kv("foo", "bar", 2, 2, 1)));

    let g = c.get("foo", GetOptions::default()).await.unwrap();
    assert_eq!((rev(&g.header), g.count, g.more), (3, 1, false));
    assert_eq!(g.kvs, vec![kv("foo", "baz", 2, 3, 2)]);
    let g = c
        .get(
            "foo",
            GetOptions {
                revision: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(g.kvs, vec![kv("foo", "bar", 2, 2, 1)]);
    assert_eq!(rev(&g.header), 3, "the header has the current revision");
    let g = c
        .get(
            "foo",
            GetOptions {
                serializable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(g.kvs, vec![kv("foo", "baz", 2, 3, 2)]);
    let g = c
        .get(
            "foo",
            GetOptions {
                keys_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(g.kvs, vec![kv("foo", "", 2, 3, 2)]);
    let g = c
        .get(
            "foo",
            GetOptions {
                count_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((g.count, g.kvs.len()), (1, 0));
    let g = c.get("nope", GetOptions::default()).await.unwrap();
    assert_eq!((g.count, g.kvs.len(), rev(&g.header)), (0, 0, 3));

    // ignore_value keeps the value and bumps the revision and version.
    let p = c
        .put(
            "foo",
            "",
            PutOptions {
                ignore_value: true,
                prev_kv: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rev(&p.header), 4);
    let g = c.get("foo", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs, vec![kv("foo", "baz", 2, 4, 3)]);
    // ignore_lease on a key without a lease keeps "no lease".
    let p = c
        .put(
            "foo",
            "qux",
            PutOptions {
                ignore_lease: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rev(&p.header), 5);

    // The server's refusals, each typed; none uses a revision.
    assert_etcd(
        c.get(
            "foo",
            GetOptions {
                revision: 6,
                ..Default::default()
            },
        )
        .await,
        EtcdError::FutureRev,
    );
    assert_etcd(c.put("", "v", none.clone()).await, EtcdError::EmptyKey);
    assert_etcd(c.get("", GetOptions::default()).await, EtcdError::EmptyKey);
    assert_etcd(
        c.put(
            "missing",
            "",
            PutOptions {
                ignore_value: true,
                ..Default::default()
            },
        )
        .await,
        EtcdError::KeyNotFound,
    );
    assert_etcd(
        c.put(
            "foo",
            "v",
            PutOptions {
                ignore_value: true,
                ..Default::default()
            },
        )
        .await,
        EtcdError::ValueProvided,
    );
    assert_etcd(
        c.put(
            "foo",
            "v",
            PutOptions {
                ignore_lease: true,
                lease: 7,
                ..Default::default()
            },
        )
        .await,
        EtcdError::LeaseProvided,
    );
    assert_etcd(
        c.put(
            "foo",
            "v",
            PutOptions {
                lease: 12345,
                ..Default::default()
            },
        )
        .await,
        EtcdError::LeaseNotFound,
    );
    let g = c.get("foo", GetOptions::default()).await.unwrap();
    assert_eq!(rev(&g.header), 5);
    assert_eq!(g.kvs, vec![kv("foo", "qux", 2, 5, 4)]);

    // do_op runs the same ops.
    match c
        .do_op(Op::get("foo", GetOptions::default()))
        .await
        .unwrap()
    {
        OpResponse::Get(g) => assert_eq!(g.kvs[0].value, b"qux"),
        other => panic!("{other:?}"),
    }
}

/// Run against a fresh 1-member cluster.
pub async fn ranges_sort_limit_count_and_deletes(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    for (k, v) in [("a/1", "x"), ("a/2", "z"), ("a/3", "y"), ("b", "w")] {
        c.put(k, v, PutOptions::default()).await.unwrap();
    }
    let get = |key: &'static str, o: GetOptions| {
        let c = c.clone();
        async move { c.get(key, o).await.unwrap() }
    };

    let g = get("a/", GetOptions::prefix()).await;
    assert_eq!(
        (keys(&g), g.count, rev(&g.header)),
        (vec!["a/1".into(), "a/2".into(), "a/3".into()], 3, 5)
    );
    assert_eq!(g.kvs[1], kv("a/2", "z", 3, 3, 1));
    assert_eq!(
        keys(&get("a/2", GetOptions::from_key()).await),
        ["a/2", "a/3", "b"]
    );
    assert_eq!(
        keys(&get("", GetOptions::prefix()).await),
        ["a/1", "a/2", "a/3", "b"]
    );
    assert_eq!(
        keys(&get("", GetOptions::from_key()).await),
        ["a/1", "a/2", "a/3", "b"]
    );
    let range = GetOptions {
        range: KeyRange::End(b"a/3".to_vec()),
        ..Default::default()
    };
    assert_eq!(keys(&get("a/1", range).await), ["a/1", "a/2"]);

    let g = get(
        "a/",
        GetOptions {
            limit: 2,
            ..GetOptions::prefix()
        },
    )
    .await;
    assert_eq!(
        (keys(&g), g.more, g.count),
        (vec!["a/1".into(), "a/2".into()], true, 3)
    );
    let by_value = GetOptions {
        sort: Some((SortTarget::Value, SortOrder::Descend)),
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", by_value).await), ["a/2", "a/3", "a/1"]);
    let by_key_desc = GetOptions {
        sort: Some((SortTarget::Key, SortOrder::Descend)),
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", by_key_desc).await), ["a/3", "a/2", "a/1"]);
    let g = get(
        "a/",
        GetOptions {
            count_only: true,
            ..GetOptions::prefix()
        },
    )
    .await;
    assert_eq!((g.count, g.kvs.len()), (3, 0));

    // a/1 rewritten at revision 6: mod and create revisions now differ in order.
    c.put("a/1", "x2", PutOptions::default()).await.unwrap();
    let by_mod = GetOptions {
        sort: Some((SortTarget::Mod, SortOrder::Descend)),
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", by_mod).await), ["a/1", "a/3", "a/2"]);
    let by_version = GetOptions {
        sort: Some((SortTarget::Version, SortOrder::Descend)),
        limit: 1,
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", by_version).await), ["a/1"]);
    let min_mod = GetOptions {
        min_mod_revision: 4,
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", min_mod).await), ["a/1", "a/3"]);
    let max_mod = GetOptions {
        max_mod_revision: 4,
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", max_mod).await), ["a/2", "a/3"]);
    let min_create = GetOptions {
        min_create_revision: 3,
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", min_create).await), ["a/2", "a/3"]);
    let max_create = GetOptions {
        max_create_revision: 3,
        ..GetOptions::prefix()
    };
    assert_eq!(keys(&get("a/", max_create).await), ["a/1", "a/2"]);
    assert_eq!(keys(&get("a/", GetOptions::first_create()).await), ["a/1"]);
    assert_eq!(keys(&get("a/", GetOptions::last_create()).await), ["a/3"]);
    assert_eq!(keys(&get("a/", GetOptions::first_key()).await), ["a/1"]);
    assert_eq!(keys(&get("a/", GetOptions::last_key()).await), ["a/3"]);
    assert_eq!(keys(&get("a/", GetOptions::first_rev()).await), ["a/2"]);
    assert_eq!(keys(&get("a/", GetOptions::last_rev()).await), ["a/1"]);

    // Deletes: one key, none, a prefix, from a key.
    let d = c
        .delete(
            "a/2",
            DeleteOptions {
                prev_kv: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((d.deleted, rev(&d.header)), (1, 7));
    assert_eq!(d.prev_kvs, vec![kv("a/2", "z", 3, 3, 1)]);
    let d = c.delete("a/2", DeleteOptions::default()).await.unwrap();
    assert_eq!((d.deleted, rev(&d.header), d.prev_kvs.len()), (0, 7, 0));
    let d = c
        .delete(
            "a/",
            DeleteOptions {
                prev_kv: true,
                ..DeleteOptions::prefix()
            },
        )
        .await
        .unwrap();
    assert_eq!((d.deleted, rev(&d.header)), (2, 8));
    assert_eq!(
        d.prev_kvs,
        vec![kv("a/1", "x2", 2, 6, 2), kv("a/3", "y", 4, 4, 1)]
    );
    let d = c
        .delete(
            "",
            DeleteOptions {
                range: KeyRange::FromKey,
                prev_kv: false,
            },
        )
        .await
        .unwrap();
    assert_eq!((d.deleted, rev(&d.header)), (1, 9));
    let g = get("", GetOptions::prefix()).await;
    assert_eq!((g.count, rev(&g.header)), (0, 9));
}

/// Run against a fresh 1-member cluster.
pub async fn txn_branches_with_each_compare_target(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    c.put("k", "v1", PutOptions::default()).await.unwrap();
    c.put("k", "v2", PutOptions::default()).await.unwrap(); // version 2, create 2, mod 3
    let get_k = || Op::get("k", GetOptions::default());

    let t = c
        .txn()
        .when([Compare::value("k", CompareOp::Equal, "v2")])
        .and_then([Op::put(
            "k",
            "v3",
            PutOptions {
                prev_kv: true,
                ..Default::default()
            },
        )])
        .or_else([get_k()])
        .commit()
        .await
        .unwrap();
    assert!(t.succeeded);
    assert_eq!(rev(&t.header), 4);
    match &t.responses[..] {
        [OpResponse::Put(p)] => assert_eq!(p.prev_kv, Some(kv("k", "v2", 2, 3, 2))),
        other => panic!("{other:?}"),
    }

    // Each target, once holding and once not. k: version 3, create 2, mod 4, lease 0.
    let cases = [
        (Compare::version("k", CompareOp::Equal, 3), true),
        (Compare::version("k", CompareOp::Less, 3), false),
        (Compare::create_revision("k", CompareOp::Equal, 2), true),
        (Compare::create_revision("k", CompareOp::Greater, 2), false),
        (Compare::mod_revision("k", CompareOp::Greater, 3), true),
        (Compare::mod_revision("k", CompareOp::NotEqual, 4), false),
        (Compare::value("k", CompareOp::Greater, "v2"), true),
        (Compare::value("k", CompareOp::Less, "v3"), false),
        (Compare::lease("k", CompareOp::Equal, 0), true),
        (Compare::lease("k", CompareOp::NotEqual, 0), false),
        (
            Compare::create_revision("absent", CompareOp::Equal, 0),
            true,
        ),
        (
            Compare::version("", CompareOp::Greater, 0).with_prefix(),
            true,
        ),
        (
            Compare::version("a", CompareOp::Greater, 0).with_range("l"),
            true,
        ),
        (
            Compare::version("a", CompareOp::Equal, 0).with_range("z"),
            false,
        ),
    ];
    for (cmp, holds) in cases {
        let t = c
            .txn()
            .when([cmp.clone()])
            .and_then([Op::get("absent", GetOptions::default())])
            .or_else([get_k()])
            .commit()
            .await
            .unwrap();
        assert_eq!(t.succeeded, holds, "{cmp:?}");
        assert_eq!(rev(&t.header), 4, "a read-only txn writes nothing");
        match &t.responses[..] {
            [OpResponse::Get(g)] if holds => assert_eq!(g.count, 0),
            [OpResponse::Get(g)] => assert_eq!(g.kvs, vec![kv("k", "v3", 2, 4, 3)]),
            other => panic!("{other:?}"),
        }
    }

    // Several compares must all hold; both branches may write; nested txns.
    let t = c
        .txn()
        .when([
            Compare::version("k", CompareOp::Equal, 3),
            Compare::value("k", CompareOp::Equal, "nope"),
        ])
        .and_then([Op::put("k", "never", PutOptions::default())])
        .or_else([
            Op::delete(
                "k",
                DeleteOptions {
                    prev_kv: true,
                    ..Default::default()
                },
            ),
            Op::txn([], [Op::put("n", "1", PutOptions::default())], []),
        ])
        .commit()
        .await
        .unwrap();
    assert!(!t.succeeded);
    assert_eq!(rev(&t.header), 5, "one txn is one revision");
    match &t.responses[..] {
        [OpResponse::Delete(d), OpResponse::Txn(inner)] => {
            assert_eq!(d.deleted, 1);
            assert!(inner.succeeded);
        }
        other => panic!("{other:?}"),
    }
    let g = c.get("n", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs, vec![kv("n", "1", 5, 5, 1)]);

    // An empty txn succeeds and writes nothing; etcd's txn refusals are typed.
    let t = c.txn().commit().await.unwrap();
    assert!(t.succeeded && t.responses.is_empty());
    assert_eq!(rev(&t.header), 5);
    assert_etcd(
        c.txn()
            .and_then([
                Op::put("d", "1", PutOptions::default()),
                Op::put("d", "2", PutOptions::default()),
            ])
            .commit()
            .await,
        EtcdError::DuplicateKey,
    );
    let many: Vec<Op> = (0..129)
        .map(|i| Op::put(format!("m{i}"), "v", PutOptions::default()))
        .collect();
    assert_etcd(c.txn().and_then(many).commit().await, EtcdError::TooManyOps);
}

/// Run against a fresh 1-member cluster.
pub async fn compaction_and_compacted_reads(endpoints: Vec<String>) {
    let c = client(&endpoints).await;
    for v in ["1", "2", "3", "4"] {
        c.put("c", v, PutOptions::default()).await.unwrap(); // revisions 2..=5
    }
    let r = c.compact(4, CompactOptions::default()).await.unwrap();
    assert_eq!(rev(&r.header), 5);
    let err = c
        .get(
            "c",
            GetOptions {
                revision: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.is_compacted(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "etcdserver: mvcc: required revision has been compacted"
    );
    assert_eq!(err.code(), tonic_code_out_of_range());
    let g = c
        .get(
            "c",
            GetOptions {
                revision: 4,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(g.kvs, vec![kv("c", "3", 2, 4, 3)]);
    assert_etcd(
        c.compact(4, CompactOptions::default()).await,
        EtcdError::Compacted,
    );
    assert_etcd(
        c.compact(3, CompactOptions { physical: true }).await,
        EtcdError::Compacted,
    );
    assert_etcd(
        c.compact(6, CompactOptions::default()).await,
        EtcdError::FutureRev,
    );
    let r = c
        .compact(5, CompactOptions { physical: true })
        .await
        .unwrap();
    assert_eq!(rev(&r.header), 5);
    let g = c.get("c", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs, vec![kv("c", "4", 2, 5, 4)]);
}

fn tonic_code_out_of_range() -> etcd_sdk::v3::error::Code {
    etcd_sdk::v3::error::Code::OutOfRange
}

/// Run against a fresh 3-member cluster: with one member SIGSTOPped, reads
/// and writes through a client over all three endpoints keep completing,
/// each within its own deadline: the one write caught on the stopped member
/// (its keepalive ping times out) fails with outcome-unknown (never anything
/// else; the body retries it), and the member's circuit breaker keeps every
/// later call away from it until it answers a probe after its resume.
pub async fn calls_continue_with_a_member_paused(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let urls = c.client_urls();
    let cl = Client::new(Config {
        keep_alive_time: Some(Duration::from_millis(500)),
        keep_alive_timeout: Some(Duration::from_millis(1000)),
        dial_timeout: Some(Duration::from_secs(1)),
        ..Config::new(urls.iter().cloned())
    })
    .await
    .unwrap();
    let per_call = Duration::from_secs(5);
    // Warm connections to every member.
    for i in 0..6 {
        cl.with_timeout(per_call)
            .put(format!("warm{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }

    let stopped = (leader + 1) % 3;
    c.pause(stopped);
    let start = Instant::now();
    let mut unknown = 0;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let key = format!("p{i}");
        let value = format!("v{i}");
        loop {
            let t = Instant::now();
            let r = cl
                .with_timeout(per_call)
                .put(key.clone(), value.clone(), PutOptions::default())
                .await;
            assert!(
                t.elapsed() < per_call + Duration::from_secs(1),
                "put took {:?}",
                t.elapsed()
            );
            match r {
                Ok(_) => break,
                Err(e) if e.is_outcome_unknown() => unknown += 1,
                Err(e) => panic!("put {key}: {e:?}"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "puts do not get through"
            );
        }
        let t = Instant::now();
        let g = cl
            .with_timeout(per_call)
            .get(key.clone(), GetOptions::default())
            .await
            .unwrap_or_else(|e| panic!("get {key} after {:?}: {e:?}", t.elapsed()));
        slowest = slowest.max(t.elapsed());
        assert_eq!(g.kvs[0].value, value.as_bytes());
    }
    let took = start.elapsed();
    println!(
        "v3: 20 puts and gets with member {stopped} stopped took {took:?}, slowest call {slowest:?}, {unknown} outcome-unknown puts"
    );
    // The per-endpoint circuit breaker: the first put that picks the stopped
    // member is lost (its keepalive ping or its deadline runs out), which
    // takes the member out of rotation; it comes back only after answering
    // a probe, which a stopped member cannot. So at most one put is
    // outcome-unknown, however many calls follow.
    assert!(
        unknown <= 1,
        "{unknown} outcome-unknown puts: the stopped member was picked again"
    );
    let stopped_url = &urls[stopped];
    assert!(
        !cl.usable_endpoints().contains(stopped_url),
        "the stopped member is still in rotation: {:?}",
        cl.usable_endpoints()
    );
    assert_eq!(cl.endpoints(), urls, "the breaker does not change the set");
    c.resume(stopped);
    // Once it answers a probe (the backoff is at most 30 s) it is used again.
    let back = Instant::now();
    while !cl.usable_endpoints().contains(stopped_url) {
        assert!(
            back.elapsed() < Duration::from_secs(40),
            "the resumed member never came back: {:?}",
            cl.usable_endpoints()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..6 {
        cl.with_timeout(per_call)
            .put(format!("after{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
}

/// Run against a fresh 3-member cluster: with one member killed, every put
/// and get succeeds (a refused connection sends nothing, so no write is
/// outcome-unknown), the dead endpoint leaves the rotation after its
/// refusals, and it comes back once the restarted member answers a probe.
pub async fn calls_continue_with_a_member_killed(c: &dyn Backend) {
    assert_eq!(c.size(), 3);
    let leader = c.wait_for_leader(None, Duration::from_secs(20)).await;
    let urls = c.client_urls();
    let cl = Client::new(Config {
        dial_timeout: Some(Duration::from_secs(1)),
        ..Config::new(urls.iter().cloned())
    })
    .await
    .unwrap();
    let per_call = Duration::from_secs(5);
    for i in 0..6 {
        cl.with_timeout(per_call)
            .put(format!("warm{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
    let killed = (leader + 1) % 3;
    c.kill(killed);
    for i in 0..20 {
        let key = format!("k{i}");
        cl.with_timeout(per_call)
            .put(key.clone(), "v", PutOptions::default())
            .await
            .unwrap_or_else(|e| panic!("put {key} with member {killed} dead: {e:?}"));
        let g = cl
            .with_timeout(per_call)
            .get(key.clone(), GetOptions::default())
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        assert_eq!(g.kvs[0].value, b"v");
    }
    let killed_url = &urls[killed];
    assert!(
        !cl.usable_endpoints().contains(killed_url),
        "the dead member is still in rotation: {:?}",
        cl.usable_endpoints()
    );
    c.restart(killed).await;
    let back = Instant::now();
    while !cl.usable_endpoints().contains(killed_url) {
        assert!(
            back.elapsed() < Duration::from_secs(40),
            "the restarted member never came back: {:?}",
            cl.usable_endpoints()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..6 {
        cl.with_timeout(per_call)
            .put(format!("after{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
}

/// Run against a fresh 1-member cluster. Per-call deadlines and `close()`
/// classify what they cut short: a write that may have reached the (stopped)
/// member is outcome-unknown, a read is a plain timeout, and a write that
/// could not even connect (a dead endpoint) is a plain timeout too.
pub async fn deadlines_and_close_classify_what_they_cut(c: &dyn Backend) {
    assert_eq!(c.size(), 1);
    let urls = c.client_urls();
    let cl = client(&urls).await;
    cl.put("d", "before", PutOptions::default()).await.unwrap();

    c.pause(0);
    let short = cl.with_timeout(Duration::from_millis(300));
    let t = Instant::now();
    let err = short
        .put("d", "during", PutOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, etcd_sdk::v3::Error::OutcomeUnknown { cause } if cause.is_timeout()),
        "{err:?}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "the deadline took {:?}",
        t.elapsed()
    );
    let err = short.get("d", GetOptions::default()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let err = short
        .with_deadline(Instant::now() + Duration::from_millis(200))
        .delete("d", DeleteOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");

    // close() ends a call in flight and every later one.
    let pending = {
        let cl = cl.clone();
        tokio::spawn(async move { cl.put("d", "closing", PutOptions::default()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cl.close();
    let err = pending.await.expect("the put task").unwrap_err();
    assert!(
        matches!(&err, etcd_sdk::v3::Error::OutcomeUnknown { cause } if matches!(**cause, etcd_sdk::v3::Error::Closed)),
        "{err:?}"
    );
    assert!(matches!(
        cl.get("d", GetOptions::default()).await,
        Err(etcd_sdk::v3::Error::Closed)
    ));
    c.resume(0);

    // Nothing listens: the write never left, so it is not outcome-unknown.
    let dead = Client::connect([c.dead_endpoint()]).await.unwrap();
    let err = dead
        .with_timeout(Duration::from_millis(500))
        .put("d", "nowhere", PutOptions::default())
        .await
        .unwrap_err();
    assert!(
        !err.is_outcome_unknown(),
        "a refused connection sent nothing: {err:?}"
    );

    // The writes cut short were outcome-unknown for a reason: the frozen
    // member may still apply them from its socket buffer once resumed (seen:
    // the delete applied). Whatever happened is one of their outcomes.
    let fresh = client(&urls).await;
    let g = fresh.get("d", GetOptions::default()).await.unwrap();
    let value = g
        .kvs
        .first()
        .map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
    println!("v3: after resuming, d = {value:?}");
    assert!(
        matches!(
            value.as_deref(),
            None | Some("before" | "during" | "closing")
        ),
        "unexpected value {value:?}"
    );
}

/// Run against a fresh 1-member cluster. With auth on, a client given a
/// username fetches a token at connect and sends it with every call; one
/// without credentials is refused with the typed "user name is empty"; a
/// wrong password fails `Client::new` with the typed authentication error.
/// Before auth is on, credentials are accepted and no token is used.
pub async fn auth_token_fetched_at_connect_and_sent(endpoints: Vec<String>) {
    use etcd_sdk::v3::pb::etcdserverpb::{
        AuthDisableRequest, AuthEnableRequest, AuthUserAddRequest, AuthUserGrantRoleRequest,
        AuthenticateRequest, auth_client::AuthClient,
    };
    let creds = |user: &str, password: &str| Config {
        username: Some(user.into()),
        password: Some(password.into()),
        request_timeout: Some(CALL_TIMEOUT),
        ..Config::new(endpoints.iter().cloned())
    };
    // Auth off: credentials are fine ("authentication is not enabled" is ignored).
    let early = Client::new(creds("root", "pw")).await.unwrap();
    early.put("a", "1", PutOptions::default()).await.unwrap();

    let mut admin = AuthClient::connect(endpoints[0].clone()).await.unwrap();
    admin
        .user_add(AuthUserAddRequest {
            name: "root".into(),
            password: "pw".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .user_grant_role(AuthUserGrantRoleRequest {
            user: "root".into(),
            role: "root".into(),
        })
        .await
        .unwrap();
    admin.auth_enable(AuthEnableRequest {}).await.unwrap();

    let root = Client::new(creds("root", "pw")).await.unwrap();
    let p = root.put("a", "2", PutOptions::default()).await.unwrap();
    assert!(p.header.is_some());
    let g = root.get("a", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"2");

    let anonymous = client(&endpoints).await;
    assert_etcd(
        anonymous.get("a", GetOptions::default()).await,
        EtcdError::UserEmpty,
    );
    assert_etcd(
        anonymous.put("a", "3", PutOptions::default()).await,
        EtcdError::UserEmpty,
    );
    assert_etcd(
        Client::new(creds("root", "wrong")).await,
        EtcdError::AuthFailed,
    );

    // Auth turned off and on again invalidates every token: the client's
    // next call is refused with "invalid auth token", fetches a new one and
    // is retried once, transparently.
    let token = admin
        .authenticate(AuthenticateRequest {
            name: "root".into(),
            password: "pw".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .token;
    let mut disable = etcd_sdk::v3::tonic::Request::new(AuthDisableRequest {});
    disable
        .metadata_mut()
        .insert("token", token.parse().expect("an ascii token"));
    admin.auth_disable(disable).await.unwrap();
    admin.auth_enable(AuthEnableRequest {}).await.unwrap();
    let g = root.get("a", GetOptions::default()).await.unwrap();
    assert_eq!(g.kvs[0].value, b"2");
    root.put("a", "4", PutOptions::default()).await.unwrap();
}
