//! `etcdctl endpoint status --cluster` with `-w json` and `-w table` against a
//! 3-member etcd 3.4.23 and a 3-member etcd-sim, side by side. The values
//! differ by nature (ids, sizes, Raft indexes), and etcdctl prints the members
//! as the cluster lists them (by id), so the transcripts are compared by
//! shape: the same JSON fields with the same types, the same table header and
//! columns; and each server's values are checked for what they must be (the
//! endpoints are the members', each status is its member's, one leader that
//! all agree on, the version, db sizes above 0, Raft term and indexes
//! consistent).
//!
//! Needs `/usr/bin/etcd` and `/usr/bin/etcdctl`.

#![cfg(not(madsim))]

use etcd_test_support::etcdctl::{Flavor, Server};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// `ETCDCTL_API=3 etcdctl --endpoints=<m0> endpoint status --cluster <args>`:
/// its stdout (the command must succeed).
fn status(server: &Server, args: &[&str]) -> String {
    let out = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", server.endpoint()))
        .args(["endpoint", "status", "--cluster"])
        .args(args)
        .output()
        .expect("etcdctl");
    assert!(
        out.status.success(),
        "{:?}: {}",
        server.flavor(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every field path of `v` with its JSON type (arrays as `[]`).
fn shape(v: &Value, path: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                shape(v, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for v in a {
                shape(v, &format!("{path}[]"), out);
            }
        }
        Value::String(_) => {
            out.insert(format!("{path}: string"));
        }
        Value::Number(_) => {
            out.insert(format!("{path}: number"));
        }
        Value::Bool(_) => {
            out.insert(format!("{path}: bool"));
        }
        Value::Null => {
            out.insert(format!("{path}: null"));
        }
    }
}

fn u64_at(v: &Value, ptr: &str) -> u64 {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {ptr} in {v}"))
}

/// The member id in decimal, from etcdctl's hex.
fn id_of(hex: &str) -> u64 {
    u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{hex}: {e}"))
}

/// Checks one server's JSON statuses; returns their shape.
fn check_json(server: &Server, text: &str) -> BTreeSet<String> {
    let who = format!("{:?}", server.flavor());
    let v: Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{who}: {e}: {text}"));
    let entries = v.as_array().unwrap_or_else(|| panic!("{who}: {text}"));
    assert_eq!(entries.len(), 3, "{who}: {text}");
    let members = server.members();
    let urls: BTreeSet<&str> = members.iter().map(|m| m.client_url.as_str()).collect();
    let seen: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["Endpoint"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(seen, urls, "{who}: the endpoints are the members'");
    let cluster = id_of(server.cluster_id());
    let ids: BTreeSet<u64> = members.iter().map(|m| id_of(&m.id)).collect();
    let mut leaders = BTreeSet::new();
    let mut terms = BTreeSet::new();
    for e in entries {
        let url = e["Endpoint"].as_str().unwrap_or_default();
        let m = members
            .iter()
            .find(|m| m.client_url == url)
            .unwrap_or_else(|| panic!("{who}: {url}"));
        assert_eq!(
            u64_at(e, "/Status/header/cluster_id"),
            cluster,
            "{who}: {e}"
        );
        assert_eq!(
            u64_at(e, "/Status/header/member_id"),
            id_of(&m.id),
            "{who}: {e}"
        );
        assert!(u64_at(e, "/Status/header/revision") >= 2, "{who}: {e}");
        assert_eq!(e["Status"]["version"], "3.4.23", "{who}: {e}");
        let (size, in_use) = (
            u64_at(e, "/Status/dbSize"),
            u64_at(e, "/Status/dbSizeInUse"),
        );
        assert!(size > 0 && in_use > 0 && in_use <= size, "{who}: {e}");
        leaders.insert(u64_at(e, "/Status/leader"));
        let term = u64_at(e, "/Status/raftTerm");
        assert!(term >= 1, "{who}: {e}");
        assert_eq!(u64_at(e, "/Status/header/raft_term"), term, "{who}: {e}");
        terms.insert(term);
        let (index, applied) = (
            u64_at(e, "/Status/raftIndex"),
            u64_at(e, "/Status/raftAppliedIndex"),
        );
        assert!(index > 3 && applied > 3, "{who}: {e}");
    }
    assert_eq!(leaders.len(), 1, "{who}: one leader for all: {text}");
    assert!(
        leaders.iter().all(|l| ids.contains(l)),
        "{who}: the leader is a member: {text}"
    );
    assert_eq!(terms.len(), 1, "{who}: one term: {text}");
    let mut out = BTreeSet::new();
    shape(&v, "", &mut out);
    out
}

/// Checks one server's table; returns its header (runs of spaces and
/// dashes collapsed: the widths follow the values).
fn check_table(server: &Server, text: &str) -> String {
    let who = format!("{:?}", server.flavor());
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 4, "{who}: a header and 3 rows: {text}");
    let header = rows[0].join("|");
    let col = |name: &str| {
        rows[0]
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("{who}: no {name} column: {text}"))
    };
    let (ep, id, version, size, leader) = (
        col("ENDPOINT"),
        col("ID"),
        col("VERSION"),
        col("DB SIZE"),
        col("IS LEADER"),
    );
    let mut leaders = 0;
    for r in &rows[1..] {
        let m = server
            .members()
            .iter()
            .find(|m| m.client_url == r[ep])
            .unwrap_or_else(|| panic!("{who}: {r:?}"));
        assert_eq!(r[id], m.id, "{who}: {r:?}");
        assert_eq!(r[version], "3.4.23", "{who}: {r:?}");
        assert!(
            r[size].ends_with(" kB") || r[size].ends_with(" MB") || r[size].ends_with(" B"),
            "{who}: {r:?}"
        );
        assert!(!r[size].starts_with("0 "), "{who}: {r:?}");
        match r[leader].as_str() {
            "true" => leaders += 1,
            "false" => {}
            other => panic!("{who}: IS LEADER {other:?}"),
        }
    }
    assert_eq!(leaders, 1, "{who}: {text}");
    header
}

/// Waits until every member reports the same revision (followers apply a
/// moment after the leader).
fn settle(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = status(server, &["-w", "json"]);
        let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
        let revs: BTreeSet<u64> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.pointer("/Status/header/revision")?.as_u64())
                    .collect()
            })
            .unwrap_or_default();
        if revs.len() == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "revisions never agreed: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn endpoint_status_cluster_json_and_table() {
    let mut shapes = Vec::new();
    let mut headers = Vec::new();
    for flavor in [Flavor::Etcd, Flavor::Sim] {
        let server = Server::start(flavor, 3);
        server.put_v3_raw("a", "1");
        settle(&server);
        shapes.push(check_json(&server, &status(&server, &["-w", "json"])));
        headers.push(check_table(&server, &status(&server, &["-w", "table"])));
    }
    assert_eq!(
        shapes[0], shapes[1],
        "the JSON fields and types (etcd, etcd-sim)"
    );
    assert_eq!(
        headers[0], headers[1],
        "the table's columns (etcd, etcd-sim)"
    );
}
