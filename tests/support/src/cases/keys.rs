//! `KeysAPI` checks with the exact indices, actions and error codes etcd 3.4
//! answers (spec §9), written once and run against two backends: real etcd
//! (`tests/real_keys.rs`) and the simulated cluster (`sim/tests/sim_keys.rs`).
//! Each case expects a fresh 1-member cluster, whose first write is index 4.

use etcd_sdk::client::Request;
use etcd_sdk::keys::{
    CreateInOrderOptions, DeleteOptions, GetOptions, PrevExist, Response, SetOptions,
    WatcherOptions, new_keys_api,
};
use etcd_sdk::wire::{Action, ErrorCode, Node};
use etcd_sdk::{ApiError, Client, Config, Error, HttpClient, KeysAPI, Watcher};
use http::Method;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WATCH_TIMEOUT: Duration = Duration::from_secs(10);

fn raw_client(endpoints: &[String]) -> HttpClient {
    HttpClient::new(Config {
        endpoints: endpoints.to_vec(),
        header_timeout_per_request: Some(Duration::from_secs(5)),
        ..Default::default()
    })
    .expect("valid endpoints")
}

fn keys_api(endpoints: &[String]) -> impl KeysAPI + use<> {
    let client: Arc<dyn Client> = Arc::new(raw_client(endpoints));
    new_keys_api(client)
}

fn node(r: &Response) -> &Node {
    r.node
        .as_ref()
        .unwrap_or_else(|| panic!("no node in {r:?}"))
}

fn prev(r: &Response) -> &Node {
    r.prev_node
        .as_ref()
        .unwrap_or_else(|| panic!("no prevNode in {r:?}"))
}

/// Asserts `e` is the v2 API error `code` with this message, cause and index.
#[track_caller]
fn assert_api(e: Error, code: u32, message: &str, cause: &str, index: u64) {
    match e {
        Error::Api(ApiError {
            code: c,
            message: m,
            cause: ca,
            index: i,
        }) => {
            assert_eq!(
                (c, m.as_str(), ca.as_str(), i),
                (ErrorCode(code), message, cause, index)
            );
        }
        other => panic!("expected API error {code}, got {other:?}"),
    }
}

fn ttl(secs: u64) -> Option<Duration> {
    Some(Duration::from_secs(secs))
}

async fn next_event(w: &mut Box<dyn Watcher>) -> Response {
    tokio::time::timeout(WATCH_TIMEOUT, w.next())
        .await
        .expect("no watch event in time")
        .expect("watch failed")
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn set_get_update_create_with_etcds_indices(endpoints: Vec<String>) {
    let keys = keys_api(&endpoints);
    let root = raw_client(&endpoints)
        .send(Request::new(Method::GET, "/v2/keys/"))
        .await
        .unwrap();
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("x-etcd-index"),
        Some("3"),
        "a fresh 1-member store sits at index 3"
    );
    assert_eq!(
        &root.body[..],
        b"{\"action\":\"get\",\"node\":{\"dir\":true}}\n"
    );
    let cluster_id = root.header("x-etcd-cluster-id").unwrap().to_string();

    let r = keys
        .set("/message", "Hello world", SetOptions::default())
        .await
        .unwrap();
    assert_eq!(r.action, Action::Set);
    let n = node(&r);
    assert_eq!(
        (n.key.as_str(), n.value.as_deref(), n.dir),
        ("/message", Some("Hello world"), false)
    );
    assert_eq!((n.created_index, n.modified_index, n.ttl), (4, 4, 0));
    assert!(n.expiration.is_none());
    assert!(r.prev_node.is_none());
    assert_eq!(r.index, 4);
    assert_eq!(r.cluster_id, cluster_id);
    assert!(r.raft_index.is_some() && r.raft_term.is_some(), "{r:?}");

    let r = keys
        .set("/message", "Hello etcd", SetOptions::default())
        .await
        .unwrap();
    assert_eq!(r.action, Action::Set);
    assert_eq!((node(&r).created_index, node(&r).modified_index), (5, 5));
    assert_eq!(prev(&r).value.as_deref(), Some("Hello world"));
    assert_eq!(prev(&r).modified_index, 4);
    assert_eq!(r.index, 5);

    let r = keys.get("/message", GetOptions::default()).await.unwrap();
    assert_eq!(r.action, Action::Get);
    assert_eq!(node(&r).value.as_deref(), Some("Hello etcd"));
    assert_eq!(node(&r).modified_index, 5);
    assert_eq!(r.index, 5);

    let e = keys.get("/nokey", GetOptions::default()).await.unwrap_err();
    assert!(e.is_key_not_found());
    assert_api(e, 100, "Key not found", "/nokey", 5);
    let e = keys
        .get("/message/sub", GetOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 104, "Not a directory", "/message", 5);

    let r = keys.update("/message", "v3").await.unwrap();
    assert_eq!(r.action, Action::Update);
    assert_eq!((node(&r).created_index, node(&r).modified_index), (5, 6));
    assert_eq!(node(&r).value.as_deref(), Some("v3"));
    assert_eq!(prev(&r).value.as_deref(), Some("Hello etcd"));
    let e = keys.update("/missing", "x").await.unwrap_err();
    assert_api(e, 100, "Key not found", "/missing", 6);

    let e = keys.create("/message", "x").await.unwrap_err();
    assert_api(e, 105, "Key already exists", "/message", 6);
    let r = keys.create("/newk", "a").await.unwrap();
    assert_eq!(r.action, Action::Create);
    assert_eq!(node(&r).created_index, 7);
    assert!(r.prev_node.is_none());

    let no_exist = SetOptions {
        prev_exist: PrevExist::NoExist,
        ..Default::default()
    };
    let e = keys.set("/newk", "b", no_exist).await.unwrap_err();
    assert_api(e, 105, "Key already exists", "/newk", 7);
    let exist = SetOptions {
        prev_exist: PrevExist::Exist,
        ..Default::default()
    };
    let r = keys.set("/newk", "b", exist.clone()).await.unwrap();
    assert_eq!(r.action, Action::Update);
    assert_eq!(node(&r).modified_index, 8);
    let e = keys.set("/ghost", "b", exist).await.unwrap_err();
    assert_api(e, 100, "Key not found", "/ghost", 8);

    let quorum = GetOptions {
        quorum: true,
        ..Default::default()
    };
    let r = keys.get("/newk", quorum).await.unwrap();
    assert_eq!(node(&r).value.as_deref(), Some("b"));
    assert_eq!(r.index, 8);

    // A TTL, then a plain set that makes the key permanent again.
    let with_ttl = SetOptions {
        ttl: ttl(100),
        ..Default::default()
    };
    let r = keys.set("/t", "v", with_ttl).await.unwrap();
    assert!((99..=100).contains(&node(&r).ttl), "{r:?}");
    assert!(node(&r).expiration.is_some());
    let r = keys.set("/t", "v2", SetOptions::default()).await.unwrap();
    assert_eq!((node(&r).ttl, node(&r).expiration), (0, None));
    assert!(prev(&r).ttl > 0);
    assert_eq!(node(&r).modified_index, 10);

    // noValueOnSuccess: only the action comes back.
    let quiet = SetOptions {
        no_value_on_success: true,
        ..Default::default()
    };
    let r = keys.set("/nv", "1", quiet).await.unwrap();
    assert_eq!(r.action, Action::Set);
    assert!(r.node.is_none() && r.prev_node.is_none(), "{r:?}");
    assert_eq!(r.index, 11);
    let r = keys.get("/nv", GetOptions::default()).await.unwrap();
    assert_eq!(node(&r).value.as_deref(), Some("1"));

    // The root is read-only.
    let mkdir = SetOptions {
        dir: true,
        ..Default::default()
    };
    let e = keys.set("/", "", mkdir).await.unwrap_err();
    assert_api(e, 107, "Root is read only", "/", 11);
    let rm_r = DeleteOptions {
        recursive: true,
        ..Default::default()
    };
    let e = keys.delete("/", rm_r).await.unwrap_err();
    assert_api(e, 107, "Root is read only", "/", 11);
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn compare_and_swap_and_compare_and_delete(endpoints: Vec<String>) {
    let keys = keys_api(&endpoints);
    keys.set("/foo", "bar", SetOptions::default())
        .await
        .unwrap();
    let cas = |prev_value: Option<&str>, prev_index: Option<u64>| SetOptions {
        prev_value: prev_value.map(str::to_string),
        prev_index,
        ..Default::default()
    };

    let e = keys
        .set("/foo", "x", cas(Some("two"), None))
        .await
        .unwrap_err();
    assert_api(e, 101, "Compare failed", "[two != bar]", 4);
    let e = keys.set("/foo", "x", cas(None, Some(1))).await.unwrap_err();
    assert_api(e, 101, "Compare failed", "[1 != 4]", 4);
    let e = keys
        .set("/foo", "x", cas(Some("zz"), Some(1)))
        .await
        .unwrap_err();
    assert_api(e, 101, "Compare failed", "[zz != bar] [1 != 4]", 4);
    let e = keys
        .set("/foo", "x", cas(Some(""), None))
        .await
        .unwrap_err();
    assert_api(
        e,
        201,
        "PrevValue is Required in POST form",
        "\"prevValue\" cannot be empty",
        0,
    );

    let r = keys
        .set("/foo", "three", cas(Some("bar"), None))
        .await
        .unwrap();
    assert_eq!(r.action, Action::CompareAndSwap);
    assert_eq!((node(&r).created_index, node(&r).modified_index), (4, 5));
    assert_eq!(prev(&r).value.as_deref(), Some("bar"));
    let r = keys.set("/foo", "four", cas(None, Some(5))).await.unwrap();
    assert_eq!(r.action, Action::CompareAndSwap);
    assert_eq!(node(&r).modified_index, 6);

    let cad = |prev_value: Option<&str>, prev_index: Option<u64>| DeleteOptions {
        prev_value: prev_value.map(str::to_string),
        prev_index,
        ..Default::default()
    };
    let e = keys
        .delete("/foo", cad(Some("nope"), None))
        .await
        .unwrap_err();
    assert_api(e, 101, "Compare failed", "[nope != four]", 6);
    let e = keys.delete("/foo", cad(None, Some(1))).await.unwrap_err();
    assert_api(e, 101, "Compare failed", "[1 != 6]", 6);
    let r = keys.delete("/foo", cad(None, Some(6))).await.unwrap();
    assert_eq!(r.action, Action::CompareAndDelete);
    let n = node(&r);
    assert_eq!(
        (
            n.key.as_str(),
            n.value.as_deref(),
            n.created_index,
            n.modified_index
        ),
        ("/foo", None, 4, 7)
    );
    assert_eq!(prev(&r).value.as_deref(), Some("four"));
    assert_eq!(r.index, 7);
    let e = keys
        .delete("/foo", DeleteOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 100, "Key not found", "/foo", 7);
    let e = keys
        .set("/ghost", "x", cas(Some("x"), None))
        .await
        .unwrap_err();
    assert_api(e, 100, "Key not found", "/ghost", 7);

    // Compare-and-swap and compare-and-delete on a directory.
    let mkdir = SetOptions {
        dir: true,
        ..Default::default()
    };
    keys.set("/d", "", mkdir).await.unwrap();
    let e = keys.set("/d", "v", cas(Some("x"), None)).await.unwrap_err();
    assert_api(e, 102, "Not a file", "/d", 8);
    let e = keys.delete("/d", cad(Some("x"), None)).await.unwrap_err();
    assert_api(e, 102, "Not a file", "/d", 8);
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn directories_listing_sorting_and_deletes(endpoints: Vec<String>) {
    let keys = keys_api(&endpoints);
    let mkdir = SetOptions {
        dir: true,
        ..Default::default()
    };
    let r = keys.set("/dir1", "", mkdir.clone()).await.unwrap();
    assert_eq!(r.action, Action::Set);
    let n = node(&r);
    assert_eq!(
        (n.key.as_str(), n.dir, n.value.as_deref(), n.created_index),
        ("/dir1", true, None, 4)
    );
    let e = keys.set("/dir1", "", mkdir.clone()).await.unwrap_err();
    assert_api(e, 102, "Not a file", "/dir1", 4);
    let e = keys
        .set("/dir1", "x", SetOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 102, "Not a file", "/dir1", 4);

    for (k, v) in [("/dir1/a", "1"), ("/dir1/b/c", "2"), ("/dir1/_hidden", "h")] {
        keys.set(k, v, SetOptions::default()).await.unwrap();
    }
    // Non-recursive: direct children only, hidden ones left out.
    let r = keys.get("/dir1", GetOptions::default()).await.unwrap();
    let n = node(&r);
    assert!(n.dir);
    assert_eq!(n.created_index, 4);
    let mut children: Vec<(&str, bool, usize)> = n
        .nodes
        .iter()
        .map(|c| (c.key.as_str(), c.dir, c.nodes.len()))
        .collect();
    children.sort();
    assert_eq!(children, vec![("/dir1/a", false, 0), ("/dir1/b", true, 0)]);
    // Recursive and sorted.
    let rs = GetOptions {
        recursive: true,
        sort: true,
        quorum: false,
    };
    let r = keys.get("/dir1", rs).await.unwrap();
    let n = node(&r);
    let keys_of = |n: &Node| n.nodes.iter().map(|c| c.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys_of(n), vec!["/dir1/a", "/dir1/b"]);
    assert_eq!(keys_of(&n.nodes[1]), vec!["/dir1/b/c"]);
    assert_eq!(n.nodes[1].nodes[0].value.as_deref(), Some("2"));
    assert_eq!(n.nodes[1].created_index, 6, "auto-created parent");
    // A hidden key can be read directly.
    let r = keys
        .get("/dir1/_hidden", GetOptions::default())
        .await
        .unwrap();
    assert_eq!(node(&r).value.as_deref(), Some("h"));

    // Sorting really sorts: written z, y, x.
    for k in ["/s/z", "/s/y", "/s/x"] {
        keys.set(k, k, SetOptions::default()).await.unwrap();
    }
    let r = keys
        .get(
            "/s",
            GetOptions {
                sort: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(keys_of(node(&r)), vec!["/s/x", "/s/y", "/s/z"]);
    assert_eq!(r.index, 10);

    // Deleting a directory needs dir=true, and recursive=true when not empty.
    let e = keys
        .delete("/dir1", DeleteOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 102, "Not a file", "/dir1", 10);
    let rmdir = DeleteOptions {
        dir: true,
        ..Default::default()
    };
    let e = keys.delete("/dir1", rmdir.clone()).await.unwrap_err();
    assert_api(e, 108, "Directory not empty", "/dir1", 10);
    let rm_r = DeleteOptions {
        recursive: true,
        ..Default::default()
    };
    let r = keys.delete("/dir1", rm_r).await.unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(
        (node(&r).key.as_str(), node(&r).dir, node(&r).modified_index),
        ("/dir1", true, 11)
    );
    assert!(prev(&r).dir);
    let e = keys
        .get("/dir1/a", GetOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 100, "Key not found", "/dir1", 11);

    keys.set("/empty", "", mkdir).await.unwrap();
    let r = keys.delete("/empty", rmdir).await.unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(node(&r).modified_index, 13);

    // A file blocks paths through it.
    keys.set("/file", "x", SetOptions::default()).await.unwrap();
    let e = keys
        .set("/file/child", "y", SetOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 104, "Not a directory", "/file", 14);
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn create_in_order_makes_a_sorted_queue(endpoints: Vec<String>) {
    let keys = keys_api(&endpoints);
    let r = keys
        .create_in_order("/queue", "Job1", CreateInOrderOptions::default())
        .await
        .unwrap();
    assert_eq!(r.action, Action::Create);
    let n = node(&r);
    assert_eq!(
        (n.key.as_str(), n.value.as_deref(), n.created_index),
        ("/queue/00000000000000000004", Some("Job1"), 4)
    );
    let r = keys
        .create_in_order("/queue", "Job2", CreateInOrderOptions::default())
        .await
        .unwrap();
    assert_eq!(node(&r).key, "/queue/00000000000000000005");
    let r = keys
        .create_in_order("/queue", "Job3", CreateInOrderOptions { ttl: ttl(100) })
        .await
        .unwrap();
    assert_eq!(node(&r).key, "/queue/00000000000000000006");
    assert!((99..=100).contains(&node(&r).ttl));

    let rs = GetOptions {
        recursive: true,
        sort: true,
        quorum: true,
    };
    let r = keys.get("/queue", rs).await.unwrap();
    let n = node(&r);
    assert_eq!(
        n.created_index, 4,
        "the queue directory came with its first item"
    );
    let values: Vec<&str> = n.nodes.iter().map(Node::value_str).collect();
    assert_eq!(values, vec!["Job1", "Job2", "Job3"]);

    keys.set("/qfile", "x", SetOptions::default())
        .await
        .unwrap();
    let e = keys
        .create_in_order("/qfile", "y", CreateInOrderOptions::default())
        .await
        .unwrap_err();
    assert_api(e, 104, "Not a directory", "/qfile", 7);
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn ttl_expiry_and_refresh(endpoints: Vec<String>) {
    let keys = keys_api(&endpoints);
    let short = SetOptions {
        ttl: ttl(1),
        ..Default::default()
    };
    let r = keys.set("/exp", "v", short).await.unwrap();
    assert_eq!(node(&r).ttl, 1);
    assert!(node(&r).expiration.is_some());
    assert_eq!(r.index, 4);

    // The leader expires it about a second later; a watcher sees the expire event.
    let mut w = keys.watcher(
        "/exp",
        WatcherOptions {
            after_index: 4,
            recursive: false,
        },
    );
    let start = Instant::now();
    let ev = next_event(&mut w).await;
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(ev.action, Action::Expire);
    assert_eq!(
        (
            node(&ev).key.as_str(),
            node(&ev).created_index,
            node(&ev).modified_index
        ),
        ("/exp", 4, 5)
    );
    assert_eq!(prev(&ev).value.as_deref(), Some("v"));
    let e = keys.get("/exp", GetOptions::default()).await.unwrap_err();
    assert_api(e, 100, "Key not found", "/exp", 5);

    // Refresh: renews the TTL, keeps the value, wakes no watcher.
    let r = keys
        .set(
            "/rk",
            "v",
            SetOptions {
                ttl: ttl(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(node(&r).modified_index, 6);
    let refresh = SetOptions {
        ttl: ttl(30),
        refresh: true,
        prev_exist: PrevExist::Exist,
        ..Default::default()
    };
    let r = keys.set("/rk", "", refresh.clone()).await.unwrap();
    assert_eq!(r.action, Action::Update);
    let n = node(&r);
    assert_eq!(n.value.as_deref(), Some("v"), "refresh keeps the value");
    assert!((29..=30).contains(&n.ttl), "{n:?}");
    assert_eq!((n.created_index, n.modified_index), (6, 7));
    assert!(prev(&r).ttl <= 5);

    let mut w = keys.watcher(
        "/rk",
        WatcherOptions {
            after_index: 6,
            recursive: false,
        },
    );
    let pending = tokio::spawn(async move { w.next().await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!pending.is_finished(), "a refresh must not wake watchers");
    keys.set("/rk", "w", SetOptions::default()).await.unwrap();
    let ev = tokio::time::timeout(WATCH_TIMEOUT, pending)
        .await
        .expect("watch did not return")
        .unwrap()
        .unwrap();
    assert_eq!(ev.action, Action::Set);
    assert_eq!(node(&ev).value.as_deref(), Some("w"));
    assert_eq!(node(&ev).modified_index, 8);

    // Refresh needs a TTL and forbids a value.
    let no_ttl = SetOptions {
        ttl: None,
        ..refresh.clone()
    };
    let e = keys.set("/rk", "", no_ttl).await.unwrap_err();
    assert_api(
        e,
        212,
        "A TTL must be provided on refresh",
        "No TTL value set",
        0,
    );
    let e = keys.set("/rk", "x", refresh).await.unwrap_err();
    assert_api(
        e,
        211,
        "Value provided on refresh",
        "A value was provided on a refresh",
        0,
    );
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn watch_history_recursive_and_live(endpoints: Vec<String>) {
    let keys = Arc::new(keys_api(&endpoints));
    for (k, v) in [("/w/a", "1"), ("/w/b", "2"), ("/other", "3"), ("/w/a", "4")] {
        keys.set(k, v, SetOptions::default()).await.unwrap();
    }
    let from_3 = |recursive| WatcherOptions {
        after_index: 3,
        recursive,
    };

    // One key, from history, then live.
    let mut w = keys.watcher("/w/a", from_3(false));
    let ev = next_event(&mut w).await;
    assert_eq!(
        (
            ev.action,
            node(&ev).modified_index,
            node(&ev).value.as_deref()
        ),
        (Action::Set, 4, Some("1"))
    );
    let ev = next_event(&mut w).await;
    assert_eq!(
        (node(&ev).modified_index, node(&ev).value.as_deref()),
        (7, Some("4"))
    );
    assert_eq!(prev(&ev).value.as_deref(), Some("1"));
    let live = tokio::spawn(async move { w.next().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    keys.set("/w/a", "5", SetOptions::default()).await.unwrap();
    let ev = tokio::time::timeout(WATCH_TIMEOUT, live)
        .await
        .expect("live event")
        .unwrap()
        .unwrap();
    assert_eq!(
        (node(&ev).key.as_str(), node(&ev).modified_index),
        ("/w/a", 8)
    );

    // A recursive watch sees the children, and not /other.
    let mut rw = keys.watcher("/w", from_3(true));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let ev = next_event(&mut rw).await;
        seen.push((node(&ev).key.clone(), node(&ev).modified_index));
    }
    let want: Vec<(String, u64)> = [("/w/a", 4), ("/w/b", 5), ("/w/a", 7), ("/w/a", 8)]
        .iter()
        .map(|(k, i)| (k.to_string(), *i))
        .collect();
    assert_eq!(seen, want);

    // A delete event carries the deleted value in prevNode.
    let mut wb = keys.watcher(
        "/w/b",
        WatcherOptions {
            after_index: 5,
            recursive: false,
        },
    );
    keys.delete("/w/b", DeleteOptions::default()).await.unwrap();
    let ev = next_event(&mut wb).await;
    assert_eq!((ev.action, node(&ev).modified_index), (Action::Delete, 9));
    assert_eq!(prev(&ev).value.as_deref(), Some("2"));

    // after_index 0 waits for future events only.
    let mut fresh = keys.watcher("/live", WatcherOptions::default());
    let task = tokio::spawn(async move { fresh.next().await });
    let mut written = Vec::new();
    let deadline = Instant::now() + WATCH_TIMEOUT;
    while !task.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the watcher saw none of {written:?}"
        );
        let r = keys
            .set("/live", &written.len().to_string(), SetOptions::default())
            .await
            .unwrap();
        written.push(node(&r).modified_index);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ev = task.await.unwrap().unwrap();
    assert_eq!(node(&ev).key, "/live");
    assert!(
        written.contains(&node(&ev).modified_index),
        "{ev:?} not among {written:?}"
    );
}

/// Run against a fresh 1-member cluster at `endpoints`.
pub async fn watch_from_a_cleared_index_then_recover(endpoints: Vec<String>) {
    let keys = Arc::new(keys_api(&endpoints));
    // 1010 writes: indices 4..=1013; the history keeps the last 1000 (14..=1013).
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let keys = keys.clone();
            tokio::spawn(async move {
                for i in (w..1010).step_by(4) {
                    keys.set(&format!("/hist/{i}"), "x", SetOptions::default())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    keys.set("/hist/last", "1009", SetOptions::default())
        .await
        .unwrap();

    let mut w = keys.watcher(
        "/hist",
        WatcherOptions {
            after_index: 5,
            recursive: true,
        },
    );
    let e = tokio::time::timeout(WATCH_TIMEOUT, w.next())
        .await
        .expect("the server answers at once")
        .unwrap_err();
    assert!(e.is_event_index_cleared(), "{e:?}");
    assert_api(
        e,
        401,
        "The event in requested index is outdated and cleared",
        "the requested history has been cleared [15/6]",
        1014,
    );

    // Recovery as the docs say: get, then watch from the response's index.
    let r = keys.get("/hist/last", GetOptions::default()).await.unwrap();
    assert_eq!(r.index, 1014);
    let mut w = keys.watcher(
        "/hist",
        WatcherOptions {
            after_index: r.index,
            recursive: true,
        },
    );
    let task = tokio::spawn(async move { w.next().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    keys.set("/hist/after", "a", SetOptions::default())
        .await
        .unwrap();
    let ev = tokio::time::timeout(WATCH_TIMEOUT, task)
        .await
        .expect("event after recovery")
        .unwrap()
        .unwrap();
    assert_eq!(
        (node(&ev).key.as_str(), node(&ev).modified_index),
        ("/hist/after", 1015)
    );
}
