//! Snapshots: the whole store state as bytes, and back.
//!
//! Like etcd's v2 `Save`/`Recovery` (which marshal the tree, `CurrentIndex`, the
//! event history, the stats and the version, but not the watchers), a snapshot holds
//! the tree, the index, the 1000-event history and the counters. Recovering replaces
//! all of those and rebuilds the TTL index; registered watchers stay registered, as
//! in etcd (they simply see the events applied after the snapshot).
//!
//! The tree is stored flat (one record per node, parents first), so deep trees do
//! not hit JSON nesting limits. The format is JSON and private to this crate.

use super::event_history::{EventHistory, HistoryEntry};
use super::node::{NodeKind, TreeNode, Value};
use super::path::split;
use super::stats::StoreStats;
use super::store::{STORE_VERSION, Store};
use super::ttl::TtlIndex;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A snapshot that cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a snapshot.
    #[error("invalid v2 store snapshot: {0}")]
    Decode(#[from] serde_json::Error),
    /// The snapshot decodes but describes an impossible tree.
    #[error("invalid v2 store snapshot: {0}")]
    Invalid(String),
}

/// A point in time as seconds and nanoseconds since the Unix epoch (floor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(e) => {
                let d = e.duration();
                let (mut secs, mut nanos) = (-(d.as_secs() as i64), d.subsec_nanos());
                if nanos > 0 {
                    secs -= 1;
                    nanos = 1_000_000_000 - nanos;
                }
                Timestamp { secs, nanos }
            }
        }
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        let nanos = Duration::from_nanos(u64::from(t.nanos.min(999_999_999)));
        if t.secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(t.secs as u64) + nanos
        } else {
            UNIX_EPOCH - Duration::from_secs(t.secs.unsigned_abs()) + nanos
        }
    }
}

/// One node, without its children.
#[derive(Debug, Serialize, Deserialize)]
struct FlatNode {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    created_index: u64,
    modified_index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expire_time: Option<Timestamp>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SnapshotData {
    version: u32,
    current_index: u64,
    /// Every node, parents before children; the first is the root.
    nodes: Vec<FlatNode>,
    history: Vec<HistoryEntry>,
    stats: StoreStats,
}

/// Every node, parents first, in depth-first pre-order with children in key order.
/// Iterative: the tree is as deep as its deepest key.
fn flatten(root: &TreeNode, out: &mut Vec<FlatNode>) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        out.push(FlatNode {
            path: node.path.clone(),
            value: match &node.kind {
                NodeKind::File(v) => Some(v.as_str().to_owned()),
                NodeKind::Dir(_) => None,
            },
            created_index: node.created_index,
            modified_index: node.modified_index,
            expire_time: node.expire_time.map(Timestamp::from),
        });
        if let NodeKind::Dir(children) = &node.kind {
            stack.extend(children.values().rev());
        }
    }
}

/// Rebuilds the tree from [`flatten`]'s order. The open directories form a stack
/// (the path from the root to the last node): each node closes the directories that
/// are not its parent, then opens itself. Linear in the number of nodes, and
/// without recursion.
fn unflatten(nodes: Vec<FlatNode>) -> Result<(TreeNode, TtlIndex), SnapshotError> {
    let mut iter = nodes.into_iter();
    let root = iter
        .next()
        .ok_or_else(|| SnapshotError::Invalid("no root node".into()))?;
    if root.path != "/" || root.value.is_some() {
        return Err(SnapshotError::Invalid(format!(
            "bad root node {:?}",
            root.path
        )));
    }
    let mut tree = TreeNode::new_dir("/".into(), root.created_index, None);
    tree.modified_index = root.modified_index;
    let mut open: Vec<TreeNode> = vec![tree];
    let mut ttl = TtlIndex::default();
    for flat in iter {
        let (parent, name) = split(&flat.path);
        // The parent is an open node, whose path is clean; so the path is clean when
        // its last element is (checked here without re-cleaning a long path).
        if matches!(name, "" | "." | "..") {
            return Err(SnapshotError::Invalid(format!("bad path {:?}", flat.path)));
        }
        while open.last().is_some_and(|top| top.path != parent) {
            close_top(&mut open);
        }
        match open.last() {
            None => {
                return Err(SnapshotError::Invalid(format!(
                    "{:?} comes before its parent",
                    flat.path
                )));
            }
            Some(top) if !top.is_dir() => {
                return Err(SnapshotError::Invalid(format!(
                    "parent of {:?} is a file",
                    flat.path
                )));
            }
            Some(_) => {}
        }
        let expire_time = flat.expire_time.map(SystemTime::from);
        let mut node = match flat.value {
            Some(v) => {
                TreeNode::new_file(flat.path, Value::new(v), flat.created_index, expire_time)
            }
            None => TreeNode::new_dir(flat.path, flat.created_index, expire_time),
        };
        node.modified_index = flat.modified_index;
        if let Some(t) = expire_time {
            ttl.insert(t, &node.path);
        }
        open.push(node);
    }
    while open.len() > 1 {
        close_top(&mut open);
    }
    let tree = open
        .pop()
        .ok_or_else(|| SnapshotError::Invalid("no root node".into()))?;
    Ok((tree, ttl))
}

/// Moves the last open node into its parent's children (the one below it).
fn close_top(open: &mut Vec<TreeNode>) {
    let Some(done) = open.pop() else {
        return;
    };
    if let Some(children) = open.last_mut().and_then(|p| p.children_mut()) {
        let (_, name) = split(&done.path);
        children.insert(name.to_string(), done);
    }
}

impl Store {
    /// The store's state as bytes (tree, index, history, counters).
    pub fn save(&self) -> Vec<u8> {
        let mut nodes = Vec::new();
        flatten(&self.root, &mut nodes);
        let data = SnapshotData {
            version: STORE_VERSION,
            current_index: self.index,
            nodes,
            history: self.history.entries().cloned().collect(),
            stats: StoreStats {
                watchers: 0,
                ..self.stats
            },
        };
        // Plain data with string keys: encoding into memory cannot fail.
        serde_json::to_vec(&data).unwrap_or_default()
    }

    /// Replaces the state with a snapshot made by [`save`](Self::save). On error the
    /// store is left unchanged. Watchers stay registered.
    pub fn recover(&mut self, data: &[u8]) -> Result<(), SnapshotError> {
        let data: SnapshotData = serde_json::from_slice(data)?;
        if data.version != STORE_VERSION {
            return Err(SnapshotError::Invalid(format!(
                "unknown store version {}",
                data.version
            )));
        }
        let (root, ttl) = unflatten(data.nodes)?;
        self.root = root;
        self.ttl = ttl;
        self.index = data.current_index;
        self.history = EventHistory::from_entries(data.history);
        self.stats = StoreStats {
            watchers: 0,
            ..data.stats
        };
        Ok(())
    }
}
