//! The in-memory tree: files and directories, and how they are shown on the wire.

use super::path::is_hidden_name;
use super::ttl::ttl_seconds;
use etcd_sdk::wire::Node;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// A file's value, shared between the tree and the events in the history that
/// show it (etcd's Go strings share their bytes the same way): a large value is
/// held once however many events name it.
pub(crate) type Value = Arc<String>;

/// One node of the tree (etcd's `node`).
///
/// Children are kept in a `BTreeMap`, so every listing comes out sorted by key
/// whether or not the client asked for `sorted=true` (etcd's unsorted order is Go's
/// random map order; sorted is one of the orders it can produce). Deep trees are
/// walked, shown and dropped without recursion.
pub(crate) struct TreeNode {
    /// The full internal path, e.g. `/1/foo`.
    pub(crate) path: String,
    /// The index of the write that created this node object.
    pub(crate) created_index: u64,
    /// The index of the last write to this node (directories keep their creation index).
    pub(crate) modified_index: u64,
    /// When the node expires; `None` means permanent.
    pub(crate) expire_time: Option<SystemTime>,
    /// File value or directory children.
    pub(crate) kind: NodeKind,
}

/// What a node holds.
#[derive(Debug)]
pub(crate) enum NodeKind {
    /// A file and its value.
    File(Value),
    /// A directory and its children by name.
    Dir(BTreeMap<String, TreeNode>),
}

/// The outcome of a prevValue / prevIndex comparison (etcd's `Compare`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparison {
    /// Both conditions hold (absent conditions hold trivially).
    Match,
    /// Only the index differs.
    IndexMismatch,
    /// Only the value differs.
    ValueMismatch,
    /// Both differ.
    BothMismatch,
}

impl TreeNode {
    /// A new file.
    pub(crate) fn new_file(
        path: String,
        value: Value,
        index: u64,
        expire_time: Option<SystemTime>,
    ) -> Self {
        TreeNode {
            path,
            created_index: index,
            modified_index: index,
            expire_time,
            kind: NodeKind::File(value),
        }
    }

    /// A new, empty directory.
    pub(crate) fn new_dir(path: String, index: u64, expire_time: Option<SystemTime>) -> Self {
        TreeNode {
            path,
            created_index: index,
            modified_index: index,
            expire_time,
            kind: NodeKind::Dir(BTreeMap::new()),
        }
    }

    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir(_))
    }

    /// The value of a file, or `""` for a directory (etcd's `node.Value`).
    pub(crate) fn value(&self) -> &str {
        match &self.kind {
            NodeKind::File(v) => v,
            NodeKind::Dir(_) => "",
        }
    }

    /// The shared value of a file, `None` for a directory.
    pub(crate) fn shared_value(&self) -> Option<&Value> {
        match &self.kind {
            NodeKind::File(v) => Some(v),
            NodeKind::Dir(_) => None,
        }
    }

    /// The children of a directory.
    pub(crate) fn children(&self) -> Option<&BTreeMap<String, TreeNode>> {
        match &self.kind {
            NodeKind::Dir(c) => Some(c),
            NodeKind::File(_) => None,
        }
    }

    /// The children of a directory, mutably.
    pub(crate) fn children_mut(&mut self) -> Option<&mut BTreeMap<String, TreeNode>> {
        match &mut self.kind {
            NodeKind::Dir(c) => Some(c),
            NodeKind::File(_) => None,
        }
    }

    /// The expiration and the whole seconds left (rounded up), or `(None, 0)`.
    pub(crate) fn expiration_and_ttl(&self, now: SystemTime) -> (Option<SystemTime>, i64) {
        match self.expire_time {
            Some(t) => (Some(t), ttl_seconds(t, now)),
            None => (None, 0),
        }
    }

    /// The node alone, as etcd's `Repr` shows it without children: a file with its
    /// value, a directory flagged `dir` with no `nodes`.
    fn shallow(&self, now: SystemTime) -> Node {
        let (expiration, ttl) = self.expiration_and_ttl(now);
        let mut node = Node {
            key: self.path.clone(),
            expiration,
            ttl,
            modified_index: self.modified_index,
            created_index: self.created_index,
            ..Default::default()
        };
        match &self.kind {
            NodeKind::File(v) => node.value = Some(v.as_str().to_owned()),
            NodeKind::Dir(_) => node.dir = true,
        }
        node
    }

    /// The node as etcd's `Repr`: a file with its value, or a directory with its
    /// non-hidden children only when `recursive` (then at every level).
    ///
    /// Built with an explicit stack, not by recursion: the depth of the tree is the
    /// depth of a user's key, which the stack of a worker thread must not bound. A
    /// deep result must be dropped with [`drop_wire_node`] for the same reason.
    pub(crate) fn repr(&self, recursive: bool, now: SystemTime) -> Node {
        if !recursive {
            return self.shallow(now);
        }
        // Each frame: a directory being listed, its listing so far, and the children
        // still to visit.
        let mut stack = vec![(self.shallow(now), self.visible_iter())];
        loop {
            let next = stack.last_mut().and_then(|(_, rest)| rest.next());
            match next {
                Some(child) if child.is_dir() => {
                    stack.push((child.shallow(now), child.visible_iter()));
                }
                Some(child) => {
                    if let Some((parent, _)) = stack.last_mut() {
                        parent.nodes.push(child.shallow(now));
                    }
                }
                None => {
                    let Some((done, _)) = stack.pop() else {
                        return Node::default();
                    };
                    match stack.last_mut() {
                        Some((parent, _)) => parent.nodes.push(done),
                        None => return done,
                    }
                }
            }
        }
    }

    /// The non-hidden children of a directory in key order (none for a file).
    fn visible_iter(&self) -> VisibleChildren<'_> {
        VisibleChildren(self.children().map(|c| c.iter()))
    }

    /// The node as a `get` shows it (etcd's `loadInternalNode`): like [`repr`](Self::repr),
    /// except that a directory always lists its non-hidden children (which show their
    /// own children only when `recursive`).
    pub(crate) fn load(&self, recursive: bool, now: SystemTime) -> Node {
        let mut node = self.shallow(now);
        node.nodes = self
            .visible_iter()
            .map(|c| c.repr(recursive, now))
            .collect();
        node
    }

    /// Compares with a prevValue (`""` = no condition) and a prevIndex (0 = no condition).
    pub(crate) fn compare(&self, prev_value: &str, prev_index: u64) -> Comparison {
        let index_ok = prev_index == 0 || self.modified_index == prev_index;
        let value_ok = prev_value.is_empty() || self.value() == prev_value;
        match (value_ok, index_ok) {
            (true, true) => Comparison::Match,
            (false, true) => Comparison::ValueMismatch,
            (true, false) => Comparison::IndexMismatch,
            (false, false) => Comparison::BothMismatch,
        }
    }

    /// The cause of error 101 for a failed comparison.
    pub(crate) fn compare_fail_cause(
        &self,
        which: Comparison,
        prev_value: &str,
        prev_index: u64,
    ) -> String {
        match which {
            Comparison::IndexMismatch => format!("[{} != {}]", prev_index, self.modified_index),
            Comparison::ValueMismatch => format!("[{} != {}]", prev_value, self.value()),
            Comparison::Match | Comparison::BothMismatch => format!(
                "[{} != {}] [{} != {}]",
                prev_value,
                self.value(),
                prev_index,
                self.modified_index
            ),
        }
    }

    /// Paths of this subtree in the order etcd's recursive `Remove` reports them to
    /// its callback: each child's subtree first (children in key order), then the
    /// node itself. Iterative (see [`repr`](Self::repr)).
    pub(crate) fn removal_order(&self, out: &mut Vec<String>) {
        let mut stack = vec![(self, self.children().map(|c| c.values()))];
        while let Some((node, rest)) = stack.last_mut() {
            match rest.as_mut().and_then(|r| r.next()) {
                Some(child) => stack.push((child, child.children().map(|c| c.values()))),
                None => {
                    out.push(node.path.clone());
                    stack.pop();
                }
            }
        }
    }

    /// Every (expiration, path) in this subtree. Iterative (see [`repr`](Self::repr)).
    pub(crate) fn expirations(&self, out: &mut Vec<(SystemTime, String)>) {
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if let Some(t) = node.expire_time {
                out.push((t, node.path.clone()));
            }
            if let Some(children) = node.children() {
                stack.extend(children.values());
            }
        }
    }
}

impl Drop for TreeNode {
    /// Frees a subtree without recursion: the derived drop would recurse once per
    /// level, and a key can be as deep as its user makes it.
    fn drop(&mut self) {
        let NodeKind::Dir(children) = &mut self.kind else {
            return;
        };
        if children.values().all(|c| !c.is_dir()) {
            return;
        }
        let mut pending: Vec<TreeNode> = std::mem::take(children).into_values().collect();
        while let Some(mut node) = pending.pop() {
            if let NodeKind::Dir(grandchildren) = &mut node.kind {
                pending.extend(std::mem::take(grandchildren).into_values());
            }
            // `node` now has no children: dropping it does not recurse.
        }
    }
}

impl std::fmt::Debug for TreeNode {
    /// The node and the number of its children: a derived `Debug` would recurse
    /// through the whole subtree.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TreeNode");
        d.field("path", &self.path)
            .field("created_index", &self.created_index)
            .field("modified_index", &self.modified_index)
            .field("expire_time", &self.expire_time);
        match &self.kind {
            NodeKind::File(v) => d.field("value", v),
            NodeKind::Dir(c) => d.field("children", &c.len()),
        };
        d.finish()
    }
}

/// Drops a wire node without recursion (see [`TreeNode::repr`]): a recursive get of a
/// deep directory returns a node nested as deeply as the tree.
pub fn drop_wire_node(node: Node) {
    let mut pending = vec![node];
    while let Some(mut n) = pending.pop() {
        pending.append(&mut n.nodes);
    }
}

/// The children a listing shows: all but the hidden ones, in key order.
struct VisibleChildren<'a>(Option<std::collections::btree_map::Iter<'a, String, TreeNode>>);

impl<'a> Iterator for VisibleChildren<'a> {
    type Item = &'a TreeNode;

    fn next(&mut self) -> Option<&'a TreeNode> {
        let iter = self.0.as_mut()?;
        iter.by_ref()
            .find(|(name, _)| !is_hidden_name(name))
            .map(|(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> TreeNode {
        let mut d = TreeNode::new_dir("/d".into(), 2, None);
        let mut sub = TreeNode::new_dir("/d/sub".into(), 3, None);
        sub.children_mut().unwrap().insert(
            "x".into(),
            TreeNode::new_file("/d/sub/x".into(), Value::new("1".into()), 4, None),
        );
        let c = d.children_mut().unwrap();
        c.insert(
            "b".into(),
            TreeNode::new_file("/d/b".into(), Value::new("vb".into()), 5, None),
        );
        c.insert(
            "a".into(),
            TreeNode::new_file("/d/a".into(), Value::new("va".into()), 6, None),
        );
        c.insert(
            "_h".into(),
            TreeNode::new_file("/d/_h".into(), Value::new("hidden".into()), 7, None),
        );
        c.insert("sub".into(), sub);
        d
    }

    #[test]
    fn load_lists_one_level_unless_recursive() {
        let d = sample();
        let now = UNIX_EPOCH;
        let flat = d.load(false, now);
        let keys: Vec<_> = flat.nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["/d/a", "/d/b", "/d/sub"], "sorted, hidden left out");
        assert!(flat.nodes[2].dir && flat.nodes[2].nodes.is_empty());
        let deep = d.load(true, now);
        assert_eq!(deep.nodes[2].nodes[0].key, "/d/sub/x");
        assert!(
            d.repr(false, now).nodes.is_empty(),
            "repr(false) is shallow"
        );
    }

    #[test]
    fn removal_order_is_children_first() {
        let mut out = Vec::new();
        sample().removal_order(&mut out);
        assert_eq!(out, ["/d/_h", "/d/a", "/d/b", "/d/sub/x", "/d/sub", "/d"]);
    }

    #[test]
    fn compare_and_causes() {
        let f = TreeNode::new_file("/f".into(), Value::new("bar".into()), 9, None);
        assert_eq!(f.compare("", 0), Comparison::Match);
        assert_eq!(f.compare("bar", 9), Comparison::Match);
        let w = f.compare("two", 0);
        assert_eq!(f.compare_fail_cause(w, "two", 0), "[two != bar]");
        let w = f.compare("", 1);
        assert_eq!(f.compare_fail_cause(w, "", 1), "[1 != 9]");
        let w = f.compare("zz", 1);
        assert_eq!(f.compare_fail_cause(w, "zz", 1), "[zz != bar] [1 != 9]");
    }

    #[test]
    fn ttl_shown_rounded_up() {
        let exp = UNIX_EPOCH + Duration::from_secs(100);
        let f = TreeNode::new_file("/f".into(), Value::new("v".into()), 1, Some(exp));
        let n = f.repr(false, UNIX_EPOCH + Duration::from_millis(95_500));
        assert_eq!((n.expiration, n.ttl), (Some(exp), 5));
    }
}
