//! The v2 commands that travel through Raft, and their application to the store
//! (etcd's `apply_v2.go`): every member applies the same command with the same
//! timestamps, so every member produces the same events and indices.

use crate::store::v2::{Reply, Store, StoreError, TtlOptions};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

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
    use etcd_sdk::wire::Action;
    use std::time::{Duration, UNIX_EPOCH};

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
