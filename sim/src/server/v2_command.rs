//! The v2 commands that travel through Raft, and their application to the store
//! (etcd's `apply_v2.go`): every member applies the same command with the same
//! timestamps, so every member produces the same events and indices.

use crate::api::v2::keys_request::KeysRequest;
use crate::store::v2::{Reply, Store, StoreError, TtlOptions};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// A replicated v2 write (or quorum read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum V2Command {
    /// PUT without conditions.
    Set {
        /// Internal path (`/1/...`).
        path: String,
        /// Make a directory.
        dir: bool,
        /// The value (ignored for directories).
        value: String,
        /// Absolute expiration; `None` is permanent.
        expire: Option<SystemTime>,
        /// Renew the TTL, keeping the value.
        refresh: bool,
    },
    /// PUT `prevExist=false`, or POST (`unique`: an in-order child).
    Create {
        /// Internal path (for `unique`, the parent directory).
        path: String,
        /// Make a directory.
        dir: bool,
        /// The value.
        value: String,
        /// Name the node by the next index inside `path`.
        unique: bool,
        /// Absolute expiration.
        expire: Option<SystemTime>,
    },
    /// PUT `prevExist=true` without value/index conditions.
    Update {
        /// Internal path.
        path: String,
        /// The new value.
        value: String,
        /// Absolute expiration (`None` removes the TTL).
        expire: Option<SystemTime>,
        /// Renew the TTL, keeping the value.
        refresh: bool,
    },
    /// PUT with `prevValue` and/or `prevIndex`.
    CompareAndSwap {
        /// Internal path.
        path: String,
        /// Required current value (`""`: no condition).
        prev_value: String,
        /// Required modified index (0: no condition).
        prev_index: u64,
        /// The new value.
        value: String,
        /// Absolute expiration.
        expire: Option<SystemTime>,
        /// Renew the TTL, keeping the value.
        refresh: bool,
    },
    /// DELETE without conditions.
    Delete {
        /// Internal path.
        path: String,
        /// Delete a directory.
        dir: bool,
        /// Delete a subtree.
        recursive: bool,
    },
    /// DELETE with `prevValue` and/or `prevIndex`.
    CompareAndDelete {
        /// Internal path.
        path: String,
        /// Required current value.
        prev_value: String,
        /// Required modified index.
        prev_index: u64,
    },
    /// GET `quorum=true`: a read ordered by the log.
    QuorumGet {
        /// Internal path.
        path: String,
        /// Include subtrees.
        recursive: bool,
    },
    /// The leader's periodic expiry sweep (etcd's SYNC request).
    Sync {
        /// Nodes that expire at or before this time are removed.
        time: SystemTime,
    },
}

/// A command plus the proposing member's clock, used for the TTL each member shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Proposal {
    /// The command.
    pub command: V2Command,
    /// The proposer's clock when it received the request.
    pub now: SystemTime,
}

/// What a `/v2/keys` request turns into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// A long poll on the local watcher hub.
    Watch,
    /// A read of the local store (GET without quorum, HEAD).
    LocalGet,
    /// A command to replicate.
    Propose(V2Command),
}

impl Dispatch {
    /// Maps a validated request to what serves it (spec §2.3). `now` is the
    /// receiving member's clock: a `ttl` becomes an absolute expiration here. A
    /// write's value moves into its command (`req.value` is left empty), so a
    /// large value is not copied.
    pub fn of(req: &mut KeysRequest, now: SystemTime) -> Dispatch {
        let value = std::mem::take(&mut req.value);
        let expire = req.ttl.map(|secs| now + Duration::from_secs(secs));
        let refresh = req.refresh.unwrap_or(false);
        let conditional = req.prev_index > 0 || !req.prev_value.is_empty();
        match req.method.as_str() {
            "GET" if req.quorum => Dispatch::Propose(V2Command::QuorumGet {
                path: req.path.clone(),
                recursive: req.recursive,
            }),
            "GET" if req.wait => Dispatch::Watch,
            "POST" => Dispatch::Propose(V2Command::Create {
                path: req.path.clone(),
                dir: req.dir,
                value,
                unique: true,
                expire,
            }),
            "PUT" => Dispatch::Propose(match req.prev_exist {
                Some(true) if !conditional => V2Command::Update {
                    path: req.path.clone(),
                    value,
                    expire,
                    refresh,
                },
                Some(false) => V2Command::Create {
                    path: req.path.clone(),
                    dir: req.dir,
                    value,
                    unique: false,
                    expire,
                },
                _ if conditional => V2Command::CompareAndSwap {
                    path: req.path.clone(),
                    prev_value: req.prev_value.clone(),
                    prev_index: req.prev_index,
                    value,
                    expire,
                    refresh,
                },
                _ => V2Command::Set {
                    path: req.path.clone(),
                    dir: req.dir,
                    value,
                    expire,
                    refresh,
                },
            }),
            "DELETE" if conditional => Dispatch::Propose(V2Command::CompareAndDelete {
                path: req.path.clone(),
                prev_value: req.prev_value.clone(),
                prev_index: req.prev_index,
            }),
            "DELETE" => Dispatch::Propose(V2Command::Delete {
                path: req.path.clone(),
                dir: req.dir || req.recursive,
                recursive: req.recursive,
            }),
            _ => Dispatch::LocalGet,
        }
    }
}

fn ttl(expire: Option<SystemTime>, refresh: bool) -> TtlOptions {
    TtlOptions {
        expire_time: expire,
        refresh,
    }
}

/// Applies `p` to `store`, as every member does for each committed entry. A
/// write or quorum read gives its reply; a sync gives `None` (its expire events
/// reach watchers through the store).
///
/// Takes the proposal by value: its value moves into the store.
pub fn apply(store: &mut Store, p: V2Proposal) -> Option<Result<Reply, StoreError>> {
    let now = p.now;
    let reply = match p.command {
        V2Command::Set {
            path,
            dir,
            value,
            expire,
            refresh,
        } => store.set(&path, dir, value, ttl(expire, refresh), now),
        V2Command::Create {
            path,
            dir,
            value,
            unique,
            expire,
        } => store.create(&path, dir, value, unique, expire, now),
        V2Command::Update {
            path,
            value,
            expire,
            refresh,
        } => store.update(&path, value, ttl(expire, refresh), now),
        V2Command::CompareAndSwap {
            path,
            prev_value,
            prev_index,
            value,
            expire,
            refresh,
        } => store.compare_and_swap(
            &path,
            &prev_value,
            prev_index,
            value,
            ttl(expire, refresh),
            now,
        ),
        V2Command::Delete {
            path,
            dir,
            recursive,
        } => store.delete(&path, dir, recursive, now),
        V2Command::CompareAndDelete {
            path,
            prev_value,
            prev_index,
        } => store.compare_and_delete(&path, &prev_value, prev_index, now),
        V2Command::QuorumGet { path, recursive } => store.get(&path, recursive, now),
        V2Command::Sync { time } => {
            store.delete_expired(time);
            return None;
        }
    };
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v2::form::Form;
    use etcd_sdk::wire::Action;
    use std::time::UNIX_EPOCH;

    fn dispatch(method: &str, query: &str, body: &str) -> Dispatch {
        let form = Form::parse(
            method,
            Some(query),
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        );
        let mut req = KeysRequest::parse(method, "/k", form).expect("valid");
        Dispatch::of(&mut req, UNIX_EPOCH + Duration::from_secs(1_000))
    }

    fn action_of(d: Dispatch) -> &'static str {
        match d {
            Dispatch::Watch => "watch",
            Dispatch::LocalGet => "local",
            Dispatch::Propose(c) => match c {
                V2Command::Set { .. } => "set",
                V2Command::Create { unique: true, .. } => "post",
                V2Command::Create { .. } => "create",
                V2Command::Update { .. } => "update",
                V2Command::CompareAndSwap { .. } => "cas",
                V2Command::Delete { .. } => "delete",
                V2Command::CompareAndDelete { .. } => "cad",
                V2Command::QuorumGet { .. } => "qget",
                V2Command::Sync { .. } => "sync",
            },
        }
    }

    #[test]
    fn dispatch_table_of_spec_2_3() {
        assert_eq!(action_of(dispatch("GET", "", "")), "local");
        assert_eq!(action_of(dispatch("HEAD", "", "")), "local");
        assert_eq!(action_of(dispatch("GET", "wait=true", "")), "watch");
        assert_eq!(
            action_of(dispatch("GET", "wait=true&quorum=true", "")),
            "qget",
            "quorum wins over wait"
        );
        assert_eq!(action_of(dispatch("POST", "", "value=x")), "post");
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=true", "value=x")),
            "update"
        );
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=true&prevIndex=3", "value=x")),
            "cas"
        );
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=false&prevValue=a", "value=x")),
            "create"
        );
        assert_eq!(action_of(dispatch("PUT", "prevValue=a", "value=x")), "cas");
        assert_eq!(
            action_of(dispatch("PUT", "prevIndex=0", "value=x")),
            "set",
            "prevIndex=0 is no condition"
        );
        assert_eq!(
            action_of(dispatch("DELETE", "prevIndex=2&recursive=true", "")),
            "cad"
        );
        assert_eq!(action_of(dispatch("DELETE", "", "")), "delete");
    }

    #[test]
    fn ttl_becomes_an_absolute_expiration_and_recursive_implies_dir() {
        match dispatch("PUT", "", "value=v&ttl=5") {
            Dispatch::Propose(V2Command::Set { expire, .. }) => {
                assert_eq!(expire, Some(UNIX_EPOCH + Duration::from_secs(1_005)))
            }
            other => panic!("{other:?}"),
        }
        match dispatch("DELETE", "recursive=true", "") {
            Dispatch::Propose(V2Command::Delete { dir, recursive, .. }) => {
                assert!(dir && recursive)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proposals_round_trip_and_apply_identically() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let props = vec![
            V2Proposal {
                command: V2Command::Set {
                    path: "/1/a".into(),
                    dir: false,
                    value: "x".into(),
                    expire: Some(now + Duration::from_secs(2)),
                    refresh: false,
                },
                now,
            },
            V2Proposal {
                command: V2Command::CompareAndSwap {
                    path: "/1/a".into(),
                    prev_value: "x".into(),
                    prev_index: 0,
                    value: "y".into(),
                    expire: None,
                    refresh: false,
                },
                now,
            },
            V2Proposal {
                command: V2Command::Sync {
                    time: now + Duration::from_secs(10),
                },
                now,
            },
        ];
        let (mut a, mut b) = (Store::new(), Store::new());
        for p in &props {
            let wire = serde_json::to_vec(p).unwrap();
            let back: V2Proposal = serde_json::from_slice(&wire).unwrap();
            assert_eq!(&back, p);
            assert_eq!(apply(&mut a, p.clone()), apply(&mut b, back));
        }
        assert_eq!(a.save(), b.save());
        match apply(
            &mut a,
            V2Proposal {
                command: V2Command::QuorumGet {
                    path: "/1/a".into(),
                    recursive: false,
                },
                now,
            },
        ) {
            Some(Ok(r)) => {
                assert_eq!(r.event.action, Action::Get);
                assert_eq!(r.event.node.unwrap().value.as_deref(), Some("y"));
            }
            other => panic!("{other:?}"),
        }
    }
}
