//! The SDK's v3 packages over a real cluster: namespaces
//! (`etcd_sdk::v3::namespace`), ordering (`ordering`), mirror (`mirror`),
//! the client config file (`yaml`) and snapshots (`snapshot`). Each body
//! takes endpoints, so the same bodies run against etcd-sim; the checks
//! that run `etcdctl` take its path (`None` skips them, e.g. in sim builds).
//! Each case expects fresh single-member clusters (revision 1). Run against
//! real etcd by `tests/real_v3_packages.rs`.

use etcd_sdk::v3::mirror::{Mirror, MirrorOptions};
use etcd_sdk::v3::util::{key_exists, key_missing};
use etcd_sdk::v3::{
    Client, Config, DeleteOptions, Error, EtcdError, EventType, GetOptions, KV, Lease, Op,
    OpResponse, PutOptions, TimeToLiveOptions, WatchOptions, WatchStream, Watcher, namespace,
    ordering, snapshot, yaml,
};
use futures_util::StreamExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The bound on any one step a case waits for.
const STEP: Duration = Duration::from_secs(10);

async fn client(endpoints: &[String]) -> Client {
    Client::new(Config {
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    })
    .await
    .expect("client")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn keys_values(kvs: &[etcd_sdk::v3::KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (text(&kv.key), text(&kv.value)))
        .collect()
}

fn rev(h: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    h.as_ref().map(|h| h.revision).expect("a header")
}

/// Runs etcdctl (v3) against `endpoints` and returns its stdout; panics with
/// its stderr when it fails.
fn etcdctl(bin: &Path, endpoints: &[String], args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", endpoints.join(",")))
        .args(args)
        .output()
        .expect("run etcdctl");
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The next watch response with events, within [`STEP`].
async fn next_events(w: &mut WatchStream) -> Vec<(EventType, String, String)> {
    loop {
        let r = match tokio::time::timeout(STEP, w.next()).await {
            Ok(Some(Ok(r))) => r,
            other => panic!("expected a watch response, got {other:?}"),
        };
        if !r.events.is_empty() {
            return r
                .events
                .iter()
                .map(|e| (e.kind, text(&e.kv.key), text(&e.kv.value)))
                .collect();
        }
    }
}

/// Two namespaces (`a/`, `b/`) over one cluster: get, put, delete, txn,
/// watch and lease time-to-live each see only their own keys, without the
/// prefix; the cluster (and etcdctl) sees the prefixed keys.
pub async fn namespace_isolation(endpoints: Vec<String>, etcdctl_bin: Option<&Path>) {
    let c = client(&endpoints).await;
    let a = namespace::Kv::new(c.clone(), "a/");
    let b = namespace::Kv::new(c.clone(), "b/");
    let wa = namespace::Watcher::new(c.clone(), "a/");
    let mut watch_a = wa.watch("", WatchOptions::prefix()).await.unwrap();
    let none = PutOptions::default();

    a.put("k", "in-a", none.clone()).await.unwrap();
    b.put("k", "in-b", none.clone()).await.unwrap();
    a.put("dir/x", "ax", none.clone()).await.unwrap();
    b.put("dir/y", "by", none.clone()).await.unwrap();
    c.put("outside", "o", none.clone()).await.unwrap();

    // Gets: one key, a prefix, the whole namespace, from-key.
    let got = a.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(keys_values(&got.kvs), [("k".into(), "in-a".into())]);
    let got = b.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(keys_values(&got.kvs), [("k".into(), "in-b".into())]);
    let all_a = a.get("", GetOptions::prefix()).await.unwrap();
    assert_eq!(
        keys_values(&all_a.kvs),
        [("dir/x".into(), "ax".into()), ("k".into(), "in-a".into())]
    );
    let from = b.get("dir/z", GetOptions::from_key()).await.unwrap();
    assert_eq!(keys_values(&from.kvs), [("k".into(), "in-b".into())]);
    let dir = b.get("dir/", GetOptions::prefix()).await.unwrap();
    assert_eq!(keys_values(&dir.kvs), [("dir/y".into(), "by".into())]);

    // The cluster holds the prefixed keys.
    let raw = c.get("", GetOptions::prefix()).await.unwrap();
    let raw_keys: Vec<_> = raw.kvs.iter().map(|kv| text(&kv.key)).collect();
    assert_eq!(raw_keys, ["a/dir/x", "a/k", "b/dir/y", "b/k", "outside"]);
    if let Some(bin) = etcdctl_bin {
        let out = etcdctl(bin, &endpoints, &["get", "a/", "--prefix", "--keys-only"]);
        let listed: Vec<_> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(listed, ["a/dir/x", "a/k"]);
        let out = etcdctl(bin, &endpoints, &["get", "b/k"]);
        assert_eq!(out, "b/k\nin-b\n");
    }

    // Txn with compares on the namespace's keys; prev_kv stripped in the
    // nested responses.
    let t = a
        .txn()
        .when([key_exists("k"), key_missing("nope")])
        .and_then([
            Op::put(
                "k",
                "in-a-2",
                PutOptions {
                    prev_kv: true,
                    ..Default::default()
                },
            ),
            Op::txn([], [Op::get("dir/", GetOptions::prefix())], []),
        ])
        .commit()
        .await
        .unwrap();
    assert!(t.succeeded);
    match &t.responses[..] {
        [OpResponse::Put(p), OpResponse::Txn(nested)] => {
            assert_eq!(p.prev_kv.as_ref().map(|kv| text(&kv.key)), Some("k".into()));
            match &nested.responses[..] {
                [OpResponse::Get(g)] => {
                    assert_eq!(keys_values(&g.kvs), [("dir/x".into(), "ax".into())])
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // b's "k" does not hold a's new value.
    let t = b
        .txn()
        .when([etcd_sdk::v3::Compare::value(
            "k",
            etcd_sdk::v3::CompareOp::Equal,
            "in-a-2",
        )])
        .or_else([Op::get("k", GetOptions::default())])
        .commit()
        .await
        .unwrap();
    assert!(!t.succeeded);

    // Delete a whole namespace: only its keys go.
    let del = b
        .delete(
            "",
            DeleteOptions {
                prev_kv: true,
                ..DeleteOptions::prefix()
            },
        )
        .await
        .unwrap();
    assert_eq!(del.deleted, 2);
    let mut gone: Vec<_> = del.prev_kvs.iter().map(|kv| text(&kv.key)).collect();
    gone.sort();
    assert_eq!(gone, ["dir/y", "k"]);
    assert_eq!(a.get("", GetOptions::prefix()).await.unwrap().count, 2);
    assert_eq!(
        c.get("outside", GetOptions::default()).await.unwrap().count,
        1
    );

    // The wrappers stack: an ordering check over namespace a.
    let checked = ordering::Kv::new(a.clone(), ordering::violation_budget(|| 1));
    let got = checked.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(keys_values(&got.kvs), [("k".into(), "in-a-2".into())]);
    assert!(checked.prev_rev() > 0);

    // Empty keys are refused client-side.
    let err = a.put("", "v", none.clone()).await.unwrap_err();
    assert_eq!(err.etcd(), Some(EtcdError::EmptyKey));

    // The watch on namespace a saw a's writes only, without the prefix.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.extend(next_events(&mut watch_a).await);
    }
    assert_eq!(
        seen,
        [
            (EventType::Put, "k".into(), "in-a".into()),
            (EventType::Put, "dir/x".into(), "ax".into()),
            (EventType::Put, "k".into(), "in-a-2".into()),
        ]
    );
    a.delete("dir/x", DeleteOptions::default()).await.unwrap();
    c.put("b/late", "not a's", none.clone()).await.unwrap();
    assert_eq!(
        next_events(&mut watch_a).await,
        [(EventType::Delete, "dir/x".into(), "".into())]
    );

    // Lease: time-to-live lists only the namespace's keys.
    let la = namespace::Lease::new(c.clone(), "a/");
    let lease = la.grant(60).await.unwrap();
    let with = PutOptions {
        lease: lease.id,
        ..Default::default()
    };
    a.put("leased", "1", with.clone()).await.unwrap();
    b.put("leased", "2", with.clone()).await.unwrap();
    c.put("top", "3", with).await.unwrap();
    let ttl = la
        .time_to_live(lease.id, TimeToLiveOptions::with_keys())
        .await
        .unwrap();
    assert_eq!(ttl.keys, [b"leased".to_vec()]);
    let raw = c
        .time_to_live(lease.id, TimeToLiveOptions::with_keys())
        .await
        .unwrap();
    assert_eq!(raw.keys.len(), 3);
    la.revoke(lease.id).await.unwrap();
    assert_eq!(
        a.get("leased", GetOptions::default()).await.unwrap().count,
        0
    );
    c.close();
}

/// An ordering KV over two endpoints, one of which is far behind (a second
/// cluster at revision 1 stands in for a member cut off from its leader):
/// no get or txn ever returns an older revision than one already returned;
/// with only the stale endpoint left, reads fail with `NoGreaterRev`.
/// `current` and `stale` are fresh single-member clusters.
pub async fn ordering_with_a_stale_endpoint(current: Vec<String>, stale: Vec<String>) {
    let writer = client(&current).await;
    for i in 0..20 {
        writer
            .put(format!("k{i}"), "v", PutOptions::default())
            .await
            .unwrap();
    }
    let head = rev(&writer
        .get("k0", GetOptions::default())
        .await
        .unwrap()
        .header);
    assert_eq!(head, 21);

    let both: Vec<String> = current.iter().chain(&stale).cloned().collect();
    let c = client(&both).await;
    let violations = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&violations);
    let switch = ordering::switch_endpoint_on_violation(c.clone());
    let kv = ordering::Kv::new(c.clone(), move |op: &Op, resp: &OpResponse, prev: i64| {
        counted.fetch_add(1, Ordering::SeqCst);
        switch(op, resp, prev)
    });
    let serializable = GetOptions {
        serializable: true,
        ..Default::default()
    };
    // Until the current cluster answered once, the stale one's answers are
    // the newest seen; from then on, every answer is at `head`.
    let mut at_head = 0;
    // Four rounds of a get and a txn: about one violation each after the
    // first (the budget of 5 × 2 + 1 is not spent).
    for _ in 0..4 {
        let r = kv.get("k0", serializable.clone()).await.unwrap();
        if rev(&r.header) == head {
            at_head += 1;
        } else {
            assert_eq!(at_head, 0, "an older revision after {head} was returned");
        }
        let t = kv
            .txn()
            .and_then([Op::get("k1", serializable.clone())])
            .commit()
            .await
            .unwrap();
        if at_head > 0 {
            assert_eq!(rev(&t.header), head);
        }
    }
    assert!(at_head >= 3, "{at_head}");
    assert_eq!(kv.prev_rev(), head);
    let seen = violations.load(Ordering::SeqCst);
    assert!(
        (3..=11).contains(&seen),
        "round-robin over two endpoints must have hit the stale one: {seen}"
    );
    // Writes pass through unchecked (the stale cluster takes them too).
    kv.put("w", "x", PutOptions::default()).await.unwrap();

    // Only the stale endpoint left: the budget (5 × endpoints, counted over
    // the function's life as in Go) runs out.
    c.set_endpoints(stale.iter().cloned()).unwrap();
    let err = kv.get("k0", serializable).await.unwrap_err();
    assert!(matches!(err, Error::NoGreaterRev), "{err:?}");
    assert_eq!(
        err.to_string(),
        "etcdclient: no cluster members have a revision higher than the previously received revision"
    );
    c.close();
    writer.close();
}

/// `make-mirror` of a 1,000-key prefix to another cluster under another
/// prefix, with writes (puts, deletes, a multi-key txn, new keys) made while
/// the base is being copied: the destination ends up equal to the source.
/// `source` and `dest` are fresh single-member clusters.
pub async fn mirror_with_updates_during_sync(source: Vec<String>, dest: Vec<String>) {
    let src = client(&source).await;
    let dst = client(&dest).await;
    for chunk in 0..10 {
        let puts = (chunk * 100..chunk * 100 + 100).map(|i| {
            Op::put(
                format!("src/{i:04}"),
                format!("v{i}"),
                PutOptions::default(),
            )
        });
        src.txn().and_then(puts).commit().await.unwrap();
    }
    src.put("other/x", "not mirrored", PutOptions::default())
        .await
        .unwrap();

    let mirror = Arc::new(Mirror::new(
        src.clone(),
        dst.clone(),
        MirrorOptions {
            prefix: b"src/".to_vec(),
            dest_prefix: Some(b"copy/".to_vec()),
            batch_limit: 100,
        },
    ));
    let running = tokio::spawn({
        let m = Arc::clone(&mirror);
        async move { m.run().await }
    });

    // Write while the base is copied: once the base revision is fixed (the
    // syncer read it) and before the copy is complete.
    let deadline = Instant::now() + STEP;
    while mirror.syncer().revision() == 0 {
        assert!(Instant::now() < deadline, "the mirror never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let base_rev = mirror.syncer().revision();
    for i in 0..50 {
        src.put(
            format!("src/{i:04}"),
            format!("new{i}"),
            PutOptions::default(),
        )
        .await
        .unwrap();
    }
    src.delete("src/0500", DeleteOptions::default())
        .await
        .unwrap();
    src.delete(
        "src/06",
        DeleteOptions {
            range: etcd_sdk::v3::KeyRange::Prefix,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    src.txn()
        .and_then([
            Op::put("src/t1", "a", PutOptions::default()),
            Op::put("src/t2", "b", PutOptions::default()),
            Op::delete("src/0999", DeleteOptions::default()),
        ])
        .commit()
        .await
        .unwrap();
    let during_base = mirror.synced_revision() == 0;

    // Wait until the destination holds the source's prefix.
    let want_rev = rev(&src
        .get("src/t1", GetOptions::default())
        .await
        .unwrap()
        .header);
    let deadline = Instant::now() + Duration::from_secs(60);
    while mirror.synced_revision() < want_rev {
        assert!(
            !running.is_finished(),
            "the mirror stopped: {:?}",
            running.await
        );
        assert!(
            Instant::now() < deadline,
            "mirror at {} of {want_rev}",
            mirror.synced_revision()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let from = src.get("src/", GetOptions::prefix()).await.unwrap();
    let to = dst.get("copy/", GetOptions::prefix()).await.unwrap();
    let want: Vec<_> = keys_values(&from.kvs)
        .into_iter()
        .map(|(k, v)| (k.replacen("src/", "copy/", 1), v))
        .collect();
    assert_eq!(from.count, 1000 - 1 - 100 - 1 + 2);
    assert_eq!(keys_values(&to.kvs), want);
    assert_eq!(
        dst.get("other/", GetOptions::prefix()).await.unwrap().count,
        0
    );
    assert_eq!(
        dst.get("src/", GetOptions::prefix()).await.unwrap().count,
        0
    );
    // 1,000 base keys, 50 + 1 + 100 + 3 updates.
    assert_eq!(mirror.total(), 1000 + 154);
    assert!(base_rev < want_rev);
    tracing::info!(
        during_base,
        "mirror: updates were written while the base was copied"
    );
    running.abort();
    src.close();
    dst.close();
}

/// Go's client config file: written, loaded, connected with; a file that
/// asks for TLS is refused with a clear error.
pub async fn yaml_load_then_connect(endpoints: Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.yaml");
    let list = endpoints
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        &path,
        format!(
            "endpoints: [{list}]\n\
             dial-timeout: 5000000000\n\
             dial-keep-alive-time: 10s\n\
             dial-keep-alive-timeout: 3s\n\
             MaxCallSendMsgSize: 1048576\n\
             insecure-transport: true\n\
             reject-old-cluster: true\n"
        ),
    )
    .unwrap();
    let cfg = yaml::load(&path).unwrap();
    assert_eq!(cfg.endpoints, endpoints);
    assert_eq!(cfg.dial_timeout, Some(Duration::from_secs(5)));
    assert_eq!(cfg.max_call_send_msg_size, Some(1 << 20));
    let c = Client::new(Config {
        request_timeout: Some(STEP),
        ..cfg
    })
    .await
    .unwrap();
    c.put("from-yaml", "ok", PutOptions::default())
        .await
        .unwrap();
    let got = c.get("from-yaml", GetOptions::default()).await.unwrap();
    assert_eq!(keys_values(&got.kvs), [("from-yaml".into(), "ok".into())]);
    // The send limit from the file is in force.
    let big = vec![b'x'; 1100 * 1024];
    // (The core reports it as OutcomeUnknown over an h2 reset today, not as
    // Go's client-side ResourceExhausted; only the refusal is checked here.)
    assert!(c.put("big", big, PutOptions::default()).await.is_err());
    assert_eq!(c.get("big", GetOptions::default()).await.unwrap().count, 0);
    c.close();

    let tls = dir.path().join("tls.yaml");
    std::fs::write(
        &tls,
        format!("endpoints: [{list}]\ntrusted-ca-file: /etc/ssl/ca.crt\n"),
    )
    .unwrap();
    let with_tls = yaml::load(&tls).expect("a file with TLS keys loads");
    assert_eq!(
        with_tls.tls.as_ref().and_then(|t| t.ca()),
        Some(&etcd_sdk::tls::Pem::File("/etc/ssl/ca.crt".into()))
    );
}

/// A snapshot saved from one member: the file is the database plus its
/// SHA-256, `verify` accepts it, and etcdctl's `snapshot status` reads it at
/// the cluster's revision; a snapshot etcdctl saves right after is the same
/// file byte for byte.
pub async fn snapshot_save_and_status(endpoints: Vec<String>, etcdctl_bin: Option<&Path>) {
    let c = client(&endpoints).await;
    for i in 0..50 {
        c.put(format!("snap/{i}"), vec![b'v'; 1000], PutOptions::default())
            .await
            .unwrap();
    }
    let head = rev(&c.get("snap/0", GetOptions::default()).await.unwrap().header);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.db");
    let cfg = Config {
        request_timeout: Some(STEP),
        ..Config::new(endpoints.iter().cloned())
    };
    let saved = snapshot::save_from_endpoint(&cfg, &endpoints[0], &path)
        .await
        .unwrap();
    assert_eq!(saved.size % 512, 32);
    assert!(saved.db_size() > 50 * 1000);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), saved.size);
    assert!(!dir.path().join("ours.db.part").exists());
    assert_eq!(snapshot::verify(&path).unwrap(), saved);
    // Through the Maintenance trait of an existing client too.
    let again = snapshot::save(&c, dir.path().join("again.db"))
        .await
        .unwrap();
    assert_eq!(again.sha256, saved.sha256);

    if let Some(bin) = etcdctl_bin {
        let p = path.to_string_lossy().into_owned();
        let status = etcdctl(bin, &endpoints, &["snapshot", "status", &p, "-w", "json"]);
        let v: serde_json::Value = serde_json::from_str(status.trim()).expect("status json");
        assert_eq!(v["revision"].as_i64(), Some(head), "{status}");
        assert_eq!(v["totalSize"].as_u64(), Some(saved.db_size()), "{status}");
        let theirs = dir.path().join("theirs.db");
        let t = theirs.to_string_lossy().into_owned();
        let ep = [endpoints[0].clone()];
        etcdctl(bin, &ep, &["snapshot", "save", &t]);
        assert_eq!(
            std::fs::read(&theirs).unwrap(),
            std::fs::read(&path).unwrap()
        );
    }
    c.close();
}
