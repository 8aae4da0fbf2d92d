//! etcdctl 3.4 in v2 mode (`ETCDCTL_API=2`) against etcd 3.4.23 and against
//! etcd-sim, side by side: each scenario runs the same etcdctl commands against a
//! fresh server of each kind and asserts that what etcdctl printed (stdout, stderr,
//! exit code) is the same once URLs and member ids are normalized
//! (`etcd_test_support::etcdctl::normalize` lists what may differ; indices may not).
//!
//! Needs `/usr/bin/etcd` and `/usr/bin/etcdctl` (`scripts/install-deps.sh`).

#![cfg(not(madsim))]

use etcd_test_support::etcdctl::{Session, compare};
use std::time::Duration;

/// Keys: set, get, mk, mkdir, update, rm, rmdir, ls, output formats, TTLs,
/// compare-and-swap, and the errors with their exit codes.
#[test]
fn keys() {
    compare(1, |s: &mut Session<'_>| {
        s.ctl(&["set", "/a", "1"]);
        s.ctl(&["get", "/a"]);
        s.ctl(&["mk", "/a", "2"]);
        s.ctl(&["mk", "/b", "2"]);
        s.ctl(&["mkdir", "/dir"]);
        s.ctl(&["mkdir", "/dir"]);
        s.ctl(&["set", "/dir/x", "X"]);
        s.ctl(&["set", "/dir/sub/y", "Y"]);
        s.ctl(&["update", "/a", "10"]);
        s.ctl(&["update", "/missing", "v"]);
        s.ctl(&["get", "/missing"]);
        s.ctl(&["get", "/dir"]);
        // Without --sort etcd lists a directory in Go's (randomized) map order: those
        // listings are compared as sets of lines.
        s.ctl_sorted(&["ls"]);
        s.ctl_sorted(&["ls", "/dir"]);
        s.ctl_sorted(&["ls", "-r"]);
        s.ctl_sorted(&["ls", "-p", "/"]);
        s.ctl(&["ls", "-r", "-p", "--sort", "/"]);
        s.ctl(&["ls", "/missing"]);
        s.ctl(&["ls", "/a"]);
        s.ctl(&["-o", "extended", "get", "/a"]);
        s.ctl(&["-o", "json", "get", "/a"]);
        s.ctl(&["-o", "extended", "set", "/a", "11"]);
        s.ctl(&["-o", "json", "set", "/a", "12"]);
        s.ctl(&["-o", "extended", "ls", "--sort", "-r", "/dir"]);
        s.ctl(&["-o", "json", "ls", "--sort", "/dir"]);
        s.ctl(&["set", "--ttl", "100", "/ttl", "t"]);
        s.ctl(&["-o", "extended", "get", "/ttl"]);
        s.ctl(&["-o", "json", "get", "/ttl"]);
        s.ctl(&["mk", "--ttl", "50", "/ttl2", "t"]);
        s.ctl(&["update", "--ttl", "0", "/ttl2", "u"]);
        s.ctl(&["-o", "extended", "get", "/ttl2"]);
        s.ctl(&["set", "--swap-with-value", "12", "/a", "13"]);
        s.ctl(&["set", "--swap-with-value", "nope", "/a", "14"]);
        let idx = s.index().to_string();
        s.ctl(&["set", "--swap-with-index", &idx, "/a", "15"]);
        s.ctl(&["set", "--swap-with-index", "1", "/a", "16"]);
        s.ctl(&["set", "--swap-with-value", "x", "/missing", "1"]);
        s.ctl(&["set", "/dir", "v"]);
        s.ctl(&["set", "/a/b", "v"]);
        s.ctl(&["mk", "--in-order", "/queue", "first"]);
        s.ctl(&["-o", "extended", "mk", "--in-order", "/queue", "second"]);
        s.ctl(&["ls", "--sort", "/queue"]);
        s.ctl(&["rm", "/dir"]);
        s.ctl(&["rmdir", "/dir"]);
        s.ctl(&["rm", "--dir", "/dir"]);
        s.ctl(&["rm", "--with-value", "wrong", "/b"]);
        s.ctl(&["rm", "--with-index", "1", "/b"]);
        s.ctl(&["rm", "--with-value", "2", "/b"]);
        s.ctl(&["rm", "/b"]);
        s.ctl(&["rmdir", "/a"]);
        s.ctl(&["rm", "-r", "/dir"]);
        s.ctl(&["mkdir", "/empty"]);
        s.ctl(&["rmdir", "/empty"]);
        s.ctl(&["setdir", "/sd"]);
        s.ctl(&["setdir", "/sd"]);
        s.ctl(&["updatedir", "--ttl", "30", "/sd"]);
        s.ctl(&["updatedir", "/nosuchdir"]);
        s.ctl(&["-o", "extended", "get", "/sd"]);
        s.ctl(&["rm", "/a"]);
        s.ctl(&["rm", "/a"]);
        s.ctl(&["get", "/a"]);
        s.ctl(&["set", "--", "/dash", "-v"]);
        s.ctl(&["get", "/dash"]);
        s.ctl(&["set", "/spaces and%20", "v w"]);
        s.ctl_sorted(&["ls", "/"]);
        s.ctl(&["get", "/_hidden"]);
        s.ctl(&["set", "/_hidden", "h"]);
        s.ctl(&["ls", "--sort", "/"]);
        s.ctl(&["get", "-q", "/_hidden"]);
        s.ctl(&["set"]);
        s.ctl(&["get"]);
        s.ctl(&["set", "--ttl", "abc", "/k", "v"]);
    });
}

/// Watches: one-shot and `--forever` watches from an index, recursive watches,
/// every output format, and `exec-watch` running a shell command per event.
#[test]
fn watch() {
    compare(1, |s: &mut Session<'_>| {
        s.ctl(&["set", "/w/a", "1"]);
        // etcdctl's --after-index N waits for the first event with an index above N.
        let before = (s.index() - 1).to_string();
        // A one-shot watch answered from the event history.
        s.ctl(&["watch", "--after-index", &before, "/w/a"]);
        s.ctl(&["-o", "extended", "watch", "--after-index", &before, "/w/a"]);
        s.ctl(&["-o", "json", "watch", "--after-index", &before, "/w/a"]);
        let next = s.index().to_string();
        // A one-shot watch waiting for the next change.
        s.watch(&["watch", "--after-index", &next, "/w/a"], 1, |s| {
            s.ctl(&["set", "/w/a", "2"]);
        });
        let next = s.index().to_string();
        s.watch(
            &["watch", "--forever", "--after-index", &next, "-r", "/w"],
            5,
            |s| {
                s.ctl(&["set", "/w/b", "3"]);
                s.ctl(&["mkdir", "/w/d"]);
                s.ctl(&["update", "/w/a", "4"]);
                s.ctl(&["set", "/w/d/e", "5"]);
                s.ctl(&["rm", "/w/b"]);
            },
        );
        // Extended output shows the response's X-Etcd-Index: the store index when the
        // long poll arrived, which races with writes made while the watch runs. From
        // the history, every poll sees the final index.
        let before = s.index().to_string();
        s.ctl(&["set", "/w/a", "6"]);
        s.ctl(&["set", "--ttl", "100", "/w/t", "long"]);
        s.watch(
            &[
                "-o",
                "extended",
                "watch",
                "-f",
                "--after-index",
                &before,
                "-r",
                "/w",
            ],
            12,
            |_| {},
        );
        let next = s.index().to_string();
        s.watch(
            &["watch", "-f", "--after-index", &next, "/w/short"],
            2,
            |s| {
                s.ctl(&["set", "--ttl", "1", "/w/short", "gone soon"]);
            },
        );
        let next = s.index().to_string();
        s.watch(
            &[
                "-o",
                "json",
                "watch",
                "--forever",
                "--after-index",
                &next,
                "/w/a",
            ],
            2,
            |s| {
                s.ctl(&["set", "/w/a", "7"]);
                s.ctl(&["rm", "/w/a"]);
            },
        );
        let next = s.index().to_string();
        let echo = "echo $ETCD_WATCH_ACTION $ETCD_WATCH_KEY $ETCD_WATCH_VALUE";
        // exec-watch runs each event's command concurrently: lines in any order.
        s.watch_unordered(
            &[
                "exec-watch",
                "--after-index",
                &next,
                "-r",
                "/w",
                "--",
                "sh",
                "-c",
                echo,
            ],
            4,
            |s| {
                s.ctl(&["set", "/w/x", "8"]);
                s.ctl(&["update", "/w/x", "9"]);
                s.ctl(&["mk", "/w/y", "10"]);
                s.ctl(&["rm", "/w/x"]);
            },
        );
        let next = s.index().to_string();
        let env = "env | grep ^ETCD_WATCH_ | sort";
        s.watch(
            &[
                "exec-watch",
                "--after-index",
                &next,
                "/w/env",
                "--",
                "sh",
                "-c",
                env,
            ],
            5,
            |s| {
                s.ctl(&["set", "--ttl", "100", "/w/env", "environment"]);
            },
        );
        s.ctl(&["watch"]);
        s.ctl(&["exec-watch", "/w"]);
    });
}

/// Members of a three-member cluster led by `m0`: list, add (a member that never
/// starts), update and remove it, cluster-health, a stopped follower, and the
/// errors.
#[test]
fn members() {
    compare(3, |s: &mut Session<'_>| {
        // etcd refuses membership changes until its peers have been connected for 5 s
        // (6 s from readiness leaves a margin for a loaded machine).
        s.server().settle_for(Duration::from_secs(6));
        s.ctl_sorted(&["member", "list"]);
        s.ctl_sorted(&["cluster-health"]);
        let m0_peer = s.server().members()[0].peer_url.clone();
        s.ctl(&["member", "add", "dup", &m0_peer]);
        s.ctl(&["member", "add", "bad", "not-a-url"]);
        s.ctl(&["member", "add", "m4"]);
        let new_peer = fresh_url(s, "<new-peer>");
        s.ctl(&["member", "add", "m3", &new_peer]);
        s.ctl_sorted(&["member", "list"]);
        s.ctl_sorted(&["cluster-health"]);
        let added = added_id(s);
        let other_peer = fresh_url(s, "<other-peer>");
        s.ctl(&["member", "update", &added, &other_peer]);
        s.ctl(&["member", "update", "abc", &other_peer]);
        s.ctl(&["member", "update", &added, &m0_peer]);
        s.ctl_sorted(&["member", "list"]);
        s.ctl(&["member", "remove", &added]);
        s.ctl(&["member", "remove", &added]);
        s.ctl(&["member", "remove", "abc"]);
        s.ctl(&["member", "remove", "not-hex"]);
        s.ctl(&["member", "remove"]);
        s.ctl_sorted(&["member", "list"]);
        let m2 = s.server().members()[2].clone();
        s.ctl(&["member", "update", &m2.id, &m2.peer_url]);
        s.server().stop_member(2);
        s.ctl_sorted(&["cluster-health"]);
        s.ctl_sorted(&["member", "list"]);
        s.ctl(&["set", "/still", "works"]);
    });
}

/// With a member added that never started, etcd's strict reconfiguration check
/// (on by default) refuses further additions: every member answers 500, which
/// etcdctl reports as "has no leader".
#[test]
fn member_add_while_a_member_never_started() {
    compare(3, |s: &mut Session<'_>| {
        s.server().settle_for(Duration::from_secs(6));
        let new_peer = fresh_url(s, "<new-peer>");
        s.ctl(&["member", "add", "m3", &new_peer]);
        s.ctl(&["member", "add", "again", &new_peer]);
        let m0_peer = s.server().members()[0].peer_url.clone();
        s.ctl(&["member", "add", "dup", &m0_peer]);
    });
}

/// A peer URL on a free port, shown as `label` in the transcript.
fn fresh_url(s: &mut Session<'_>, label: &str) -> String {
    let url = format!(
        "http://127.0.0.1:{}",
        etcd_test_support::ports::free_ports(1)[0]
    );
    s.alias(&url, label);
    url
}

/// The id `member add` announced in the last step that announced one.
fn added_id(s: &Session<'_>) -> String {
    s.steps()
        .iter()
        .rev()
        .find_map(|step| {
            let rest = step.stdout.split("with ID ").nth(1)?;
            Some(rest.chars().take_while(char::is_ascii_hexdigit).collect())
        })
        .expect("a member add announced an id")
}

/// Users, roles and auth enable/disable: passwords on the command line and on
/// stdin, grants and revokes, what a non-root user may and may not do, and the
/// errors.
#[test]
fn auth() {
    compare(1, |s: &mut Session<'_>| {
        s.ctl(&["user", "list"]);
        s.ctl(&["role", "list"]);
        s.ctl(&["auth", "enable"]);
        s.ctl(&["user", "get", "root"]);
        s.ctl_stdin(&["user", "add", "root"], "rootpw\n");
        s.ctl(&["user", "add", "alice:alicepw"]);
        s.ctl(&["user", "add", "alice:other"]);
        s.ctl_stdin(&["user", "add", "bob"], "bobpw\n");
        s.ctl(&["user", "list"]);
        s.ctl(&["user", "get", "root"]);
        s.ctl(&["user", "get", "nobody"]);
        s.ctl(&["role", "add", "reader"]);
        s.ctl(&["role", "add", "reader"]);
        s.ctl(&["role", "add", "writer"]);
        s.ctl(&["role", "add", "root"]);
        s.ctl(&["role", "list"]);
        s.ctl(&["role", "get", "root"]);
        s.ctl(&["role", "get", "nobody"]);
        s.ctl(&["role", "grant", "reader", "--path", "/pub/*", "--read"]);
        s.ctl(&["role", "grant", "reader", "--path", "/pub/*", "--read"]);
        s.ctl(&["role", "grant", "writer", "--path", "/pub/*", "--write"]);
        s.ctl(&["role", "grant", "writer", "--path", "/own/*", "--readwrite"]);
        s.ctl(&["role", "grant", "writer", "--path", "/both", "--rw"]);
        s.ctl(&["role", "grant", "writer", "--path", "/x"]);
        s.ctl(&[
            "role", "grant", "writer", "--read", "--write", "--path", "/x",
        ]);
        s.ctl(&["role", "grant", "writer", "--read"]);
        s.ctl(&["role", "grant", "nobody", "--path", "/x", "--read"]);
        s.ctl(&["role", "grant", "root", "--path", "/x", "--read"]);
        s.ctl(&["role", "get", "reader"]);
        s.ctl(&["role", "get", "writer"]);
        s.ctl(&["role", "revoke", "writer", "--path", "/both", "--write"]);
        s.ctl(&["role", "revoke", "writer", "--path", "/nothing", "--read"]);
        s.ctl(&["role", "revoke", "nobody", "--path", "/x", "--read"]);
        s.ctl(&["role", "get", "writer"]);
        s.ctl(&["user", "grant", "alice", "--roles", "reader"]);
        s.ctl(&["user", "grant", "alice", "--roles", "reader"]);
        s.ctl(&[
            "user", "grant", "bob", "--roles", "reader", "--roles", "writer",
        ]);
        // etcd grants a role that does not exist; getting the user then fails.
        s.ctl(&["user", "add", "carol:carolpw"]);
        s.ctl(&["user", "grant", "carol", "--roles", "nosuchrole"]);
        s.ctl(&["user", "get", "carol"]);
        s.ctl(&["-u", "carol:carolpw", "get", "/pub/a"]);
        s.ctl(&["user", "grant", "nobody", "--roles", "reader"]);
        s.ctl(&["user", "grant", "bob"]);
        s.ctl(&["user", "revoke", "bob", "--roles", "reader"]);
        s.ctl(&["user", "revoke", "bob", "--roles", "reader"]);
        s.ctl(&["user", "get", "alice"]);
        s.ctl(&["user", "get", "bob"]);
        s.ctl(&["user", "revoke", "bob", "--roles", "nosuchrole"]);
        s.ctl(&["user", "revoke", "nobody", "--roles", "reader"]);
        s.ctl_stdin(&["user", "passwd", "alice"], "newalicepw\n");
        s.ctl_stdin(&["user", "passwd", "nobody"], "pw\n");
        s.ctl(&["set", "/pub/a", "public"]);
        s.ctl(&["set", "/own/a", "own"]);
        s.ctl(&["auth", "enable"]);
        s.ctl(&["auth", "enable"]);
        // Anyone may still do everything: enabling auth creates the guest role with
        // read and write on /*.
        s.ctl(&["get", "/pub/a"]);
        s.ctl(&["-u", "root:rootpw", "role", "get", "guest"]);
        s.ctl(&["-u", "root:rootpw", "role", "list"]);
        s.ctl(&[
            "-u",
            "root:rootpw",
            "role",
            "revoke",
            "guest",
            "--path",
            "/*",
            "--rw",
        ]);
        s.ctl(&["get", "/pub/a"]);
        s.ctl(&["set", "/pub/a", "anonymous"]);
        s.ctl(&["user", "list"]);
        s.ctl(&["-u", "alice:newalicepw", "get", "/pub/a"]);
        s.ctl(&["-u", "alice:alicepw", "get", "/pub/a"]);
        s.ctl(&["-u", "alice:newalicepw", "set", "/pub/a", "by alice"]);
        s.ctl(&["-u", "alice:newalicepw", "get", "/own/a"]);
        s.ctl(&["-u", "alice:newalicepw", "user", "list"]);
        s.ctl(&["-u", "alice:newalicepw", "role", "add", "mine"]);
        s.ctl(&["-u", "alice:newalicepw", "auth", "disable"]);
        s.ctl_stdin(&["-u", "bob", "set", "/pub/a", "by bob"], "bobpw\n");
        s.ctl(&["-u", "bob:bobpw", "get", "/pub/a"]);
        s.ctl(&[
            "-u",
            "bob:bobpw",
            "-o",
            "extended",
            "set",
            "/own/b",
            "bob's",
        ]);
        s.ctl(&["-u", "bob:bobpw", "ls", "--sort", "-r", "/own"]);
        s.ctl(&["-u", "bob:bobpw", "get", "/own/b"]);
        s.ctl(&["-u", "bob:bobpw", "rm", "/own/b"]);
        s.ctl(&["-u", "bob:bobpw", "mkdir", "/elsewhere"]);
        s.ctl(&["-u", "carol:carolpw", "get", "/pub/a"]);
        // Prefix permissions: /pub/* against the directory itself, recursion, depth.
        s.ctl(&["-u", "bob:bobpw", "set", "/pub/sub/deep", "d"]);
        s.ctl(&["-u", "bob:bobpw", "mkdir", "/pub/dir"]);
        s.ctl(&["-u", "bob:bobpw", "set", "/pub", "file?"]);
        s.ctl(&["-u", "alice:newalicepw", "get", "/pub/sub/deep"]);
        s.ctl(&["-u", "alice:newalicepw", "ls", "--sort", "/pub"]);
        s.ctl(&["-u", "alice:newalicepw", "ls", "--sort", "-r", "/pub"]);
        s.ctl(&["-u", "alice:newalicepw", "ls", "--sort", "/pub/"]);
        s.ctl(&["-u", "alice:newalicepw", "ls", "/"]);
        s.ctl(&[
            "-u",
            "alice:newalicepw",
            "watch",
            "--after-index",
            "1",
            "/pub/a",
        ]);
        s.ctl(&[
            "-u",
            "alice:newalicepw",
            "watch",
            "-r",
            "--after-index",
            "1",
            "/pub",
        ]);
        s.ctl(&["-u", "alice:newalicepw", "get", "/pubx"]);
        s.ctl(&["-u", "bob:bobpw", "rm", "-r", "/pub/sub"]);
        s.ctl(&["-u", "bob:bobpw", "rmdir", "/pub/dir"]);
        s.ctl(&["-u", "bob:bobpw", "rm", "-r", "/pub"]);
        s.ctl(&["-u", "root:rootpw", "role", "add", "guest"]);
        s.ctl(&[
            "-u",
            "root:rootpw",
            "role",
            "grant",
            "guest",
            "--path",
            "/pub/*",
            "--read",
        ]);
        s.ctl(&["get", "/pub/a"]);
        s.ctl(&["ls", "--sort", "/pub"]);
        s.ctl(&["set", "/pub/a", "anonymous"]);
        s.ctl(&["-u", "nobody:pw", "get", "/pub/a"]);
        s.ctl(&["-u", "root:wrong", "get", "/pub/a"]);
        s.ctl(&["-u", "root:rootpw", "user", "list"]);
        s.ctl(&[
            "-u",
            "root:rootpw",
            "user",
            "revoke",
            "root",
            "--roles",
            "root",
        ]);
        s.ctl(&["-u", "root:rootpw", "user", "remove", "bob"]);
        s.ctl(&["-u", "root:rootpw", "user", "remove", "bob"]);
        s.ctl(&["-u", "root:rootpw", "user", "remove", "root"]);
        s.ctl(&["-u", "root:rootpw", "role", "remove", "writer"]);
        s.ctl(&["-u", "root:rootpw", "role", "remove", "writer"]);
        s.ctl(&["-u", "root:rootpw", "role", "remove", "root"]);
        s.ctl(&["-u", "root:rootpw", "role", "remove", "guest"]);
        s.ctl(&["-u", "root:rootpw", "role", "list"]);
        s.ctl(&["auth", "disable"]);
        s.ctl(&["-u", "root:rootpw", "auth", "disable"]);
        s.ctl(&["-u", "root:rootpw", "auth", "disable"]);
        s.ctl(&["get", "/pub/a"]);
        s.ctl(&["user", "list"]);
        s.ctl(&["role", "list"]);
        s.ctl(&["user", "remove", "root"]);
        s.ctl(&["user", "add"]);
        s.ctl(&["role", "add"]);
        s.ctl(&["role", "revoke", "reader"]);
        s.ctl(&["user", "revoke", "alice"]);
    });
}

/// A one-member cluster as etcdctl sees it: member list, cluster-health, the
/// `--debug` output, `--no-sync`.
#[test]
fn one_member_cluster() {
    compare(1, |s: &mut Session<'_>| {
        s.ctl(&["member", "list"]);
        s.ctl(&["cluster-health"]);
        s.ctl(&["--debug", "set", "/d", "v"]);
        s.ctl(&["--debug", "get", "/d"]);
        s.ctl(&["--debug", "member", "list"]);
        s.ctl(&["--no-sync", "get", "/d"]);
        s.ctl(&["--no-sync", "cluster-health"]);
        s.ctl(&[
            "member",
            "add",
            "two",
            "http://127.0.0.1:1,http://127.0.0.1:2",
        ]);
        s.ctl(&[
            "member",
            "add",
            "two",
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
        ]);
        // A second member that never starts: the cluster loses its quorum.
        let new_peer = fresh_url(s, "<new-peer>");
        s.ctl(&["member", "add", "m1", &new_peer]);
        s.ctl_sorted(&["member", "list"]);
        s.ctl_sorted(&["cluster-health"]);
    });
}

/// The event history's limit (1000 events): a watch from a cleared index, and odd
/// keys and values.
#[test]
fn history_and_odd_keys() {
    compare(1, |s: &mut Session<'_>| {
        for i in 0..1010 {
            s.server().put_raw("/fill", &i.to_string());
        }
        s.ctl(&["watch", "--after-index", "1", "/fill"]);
        s.ctl(&[
            "exec-watch",
            "--after-index",
            "1",
            "/fill",
            "--",
            "echo",
            "x",
        ]);
        s.ctl(&["-o", "json", "watch", "--after-index", "1", "/fill"]);
        let recent = (s.index() - 1).to_string();
        s.ctl(&["watch", "--after-index", &recent, "/fill"]);
        s.ctl(&["set", "/odd/a b", "with space"]);
        s.ctl(&["set", "/odd/q?x=1&y", "query"]);
        s.ctl(&["set", "/odd/ü/日本", "unicode ✓"]);
        s.ctl(&["set", "/odd/pct%2F", "percent"]);
        s.ctl(&["set", "/odd//double//slash/", "slashes"]);
        s.ctl(&["set", "/odd/empty", ""]);
        s.ctl(&["set", "/odd/multi", "line one\nline two"]);
        s.ctl(&["ls", "--sort", "-r", "/odd"]);
        s.ctl(&["-o", "json", "get", "/odd/ü/日本"]);
        s.ctl(&["get", "/odd/double/slash"]);
        s.ctl(&["get", "/odd/multi"]);
        s.ctl(&["-o", "extended", "get", "/odd/empty"]);
        s.ctl(&["get", "odd/empty"]);
        s.ctl(&["-o", "extended", "get", "/odd"]);
        s.ctl(&["-o", "json", "get", "/odd"]);
        s.ctl(&["rm", "/"]);
        s.ctl(&["rm", "-r", "/"]);
        s.ctl(&["rmdir", "/"]);
        s.ctl(&["set", "/", "root"]);
        s.ctl(&["mkdir", "/"]);
        s.ctl(&["get", "/"]);
        s.ctl(&["update", "/odd", "v"]);
        s.ctl(&["updatedir", "/odd/multi"]);
        s.ctl(&["mkdir", "/odd/multi"]);
        s.ctl(&["mk", "--in-order", "/odd/multi", "v"]);
        s.ctl(&["rm", "--with-index", "abc", "/odd/multi"]);
        s.ctl(&["set", "--ttl", "-5", "/odd/neg", "v"]);
        s.ctl(&["set", "--swap-with-index", "-1", "/odd/multi", "v"]);
        s.ctl(&["rm", "-r", "/odd"]);
        s.ctl(&["ls", "/odd"]);
    });
}

/// Compare-and-swap and compare-and-delete combinations, TTL changes on keys and
/// directories, and the errors of each.
#[test]
fn conditions_and_ttls() {
    compare(1, |s: &mut Session<'_>| {
        s.ctl(&["set", "/c", "v1"]);
        let idx = s.index().to_string();
        s.ctl(&[
            "set",
            "--swap-with-value",
            "no",
            "--swap-with-index",
            "1",
            "/c",
            "x",
        ]);
        s.ctl(&[
            "set",
            "--swap-with-value",
            "v1",
            "--swap-with-index",
            "1",
            "/c",
            "x",
        ]);
        s.ctl(&[
            "set",
            "--swap-with-value",
            "no",
            "--swap-with-index",
            &idx,
            "/c",
            "x",
        ]);
        s.ctl(&[
            "-o",
            "extended",
            "set",
            "--swap-with-value",
            "v1",
            "--swap-with-index",
            &idx,
            "/c",
            "v2",
        ]);
        s.ctl(&["rm", "--with-value", "no", "--with-index", "1", "/c"]);
        s.ctl(&["rm", "--with-value", "v2", "--with-index", "1", "/c"]);
        s.ctl(&["set", "--swap-with-index", "1", "/nokey", "x"]);
        s.ctl(&["rm", "--with-index", "1", "/nokey"]);
        s.ctl(&["rm", "--with-value", "x", "/nokey"]);
        s.ctl(&["mkdir", "/d/sub"]);
        s.ctl(&["set", "/d/sub/k", "v"]);
        s.ctl(&["mk", "/d", "v"]);
        s.ctl(&["mk", "/d/sub/k", "v"]);
        s.ctl(&["update", "/d", "v"]);
        s.ctl(&["rm", "--dir", "/d/sub"]);
        s.ctl(&["rmdir", "/d/sub"]);
        s.ctl(&["rm", "--with-value", "v", "/d/sub"]);
        s.ctl(&["rm", "-r", "--with-index", "1", "/d/sub"]);
        s.ctl(&["setdir", "/d/sub/k"]);
        s.ctl(&["set", "--swap-with-value", "x", "/d", "v"]);
        s.ctl(&["mkdir", "--ttl", "100", "/td"]);
        s.ctl(&["-o", "extended", "get", "/td/../td/"]);
        s.ctl(&["-o", "json", "ls", "/td"]);
        s.ctl(&["updatedir", "--ttl", "200", "/td"]);
        s.ctl(&["-o", "json", "ls", "/td"]);
        s.ctl(&["updatedir", "/td"]);
        s.ctl(&["-o", "json", "ls", "/td"]);
        s.ctl(&["setdir", "--ttl", "50", "/td"]);
        s.ctl(&["mk", "--in-order", "--ttl", "60", "/td", "queued"]);
        s.ctl(&["-o", "json", "ls", "--sort", "/td"]);
        s.ctl(&["set", "--ttl", "30", "/tk", "v"]);
        s.ctl(&["update", "/tk", "w"]);
        s.ctl(&["-o", "extended", "get", "/tk"]);
        s.ctl(&["update", "--ttl", "40", "/tk", "x"]);
        s.ctl(&["-o", "extended", "get", "/tk"]);
        s.ctl(&["set", "/tk", "y"]);
        s.ctl(&["-o", "extended", "get", "/tk"]);
        s.ctl(&["set", "--ttl", "1", "/gone", "soon"]);
        s.ctl(&["mkdir", "--ttl", "1", "/gonedir"]);
        s.ctl(&["set", "/gonedir/child", "c"]);
        s.server().wait(Duration::from_millis(2500));
        s.ctl(&["get", "/gone"]);
        s.ctl(&["ls", "/gonedir"]);
        s.ctl(&["get", "/gonedir/child"]);
        s.ctl(&["ls", "--sort", "/"]);
    });
}
