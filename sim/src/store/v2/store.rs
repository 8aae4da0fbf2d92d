//! The store: every v2 operation, with etcd 3.4's check order, error codes, causes,
//! index arithmetic and notifications.

use super::error::StoreError;
use super::event_history::{EventHistory, HistoryEntry, event_index};
use super::node::{Comparison, NodeKind, TreeNode, Value};
use super::path::{KEYS_NAMESPACE, MEMBERS_NAMESPACE, clean_path, components, join, split};
use super::stats::StoreStats;
use super::ttl::{TtlIndex, min_expire_time, ttl_seconds};
use super::watcher_hub::{WATCHER_BUFFER, Watcher, WatcherHub};
use etcd_sdk::wire::{Action, ErrorCode, Event, Node};
use std::collections::BTreeSet;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// The store version etcd 3.4 reports (`CurrentVersion`).
pub const STORE_VERSION: u32 = 2;

/// Expiration options of a write (etcd's `TTLOptionSet`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtlOptions {
    /// When the node expires; `None` makes it permanent. The server computes it from
    /// the receiving member's clock (now + ttl) before proposing the write.
    pub expire_time: Option<SystemTime>,
    /// Renew the TTL, keeping the value, without waking watchers.
    pub refresh: bool,
}

impl TtlOptions {
    /// A permanent write.
    pub fn permanent() -> Self {
        Self::default()
    }

    /// A write that expires at `at`.
    pub fn expires_at(at: SystemTime) -> Self {
        TtlOptions {
            expire_time: Some(at),
            refresh: false,
        }
    }

    /// A refresh that moves the expiration to `at`.
    pub fn refresh_to(at: SystemTime) -> Self {
        TtlOptions {
            expire_time: Some(at),
            refresh: true,
        }
    }
}

/// A successful operation: the event (with internal keys) and the store index the
/// response reports (`X-Etcd-Index`): the new index after a write, the current one
/// after a get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The event.
    pub event: Event,
    /// The store index for the response header.
    pub etcd_index: u64,
}

impl Reply {
    /// Whether the response status is 201 Created: a `create`, or a `set` that had
    /// no previous node (etcd's `Event.IsCreated`).
    pub fn is_created(&self) -> bool {
        match self.event.action {
            Action::Create => true,
            Action::Set => self.event.prev_node.is_none(),
            _ => false,
        }
    }
}

/// The shared values of an event's node and previous node, handed to the
/// history so that it holds the tree's values instead of copies.
#[derive(Debug, Default)]
struct EventValues {
    node: Option<Value>,
    prev: Option<Value>,
}

/// The v2 store: one tree holding every namespace, one global index, the 1000-event
/// history, the watchers and the statistics. See the [module docs](super) for the
/// conventions (internal paths, explicit time, sorted listings, quirks).
#[derive(Debug)]
pub struct Store {
    pub(crate) root: TreeNode,
    pub(crate) index: u64,
    readonly: BTreeSet<String>,
    pub(crate) ttl: TtlIndex,
    pub(crate) history: EventHistory,
    hub: WatcherHub,
    pub(crate) stats: StoreStats,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// The store an etcd server starts with: namespaces `/0` and `/1` created (at
    /// index 0) and read-only together with `/`. `/2` is left to the auth layer.
    pub fn new() -> Self {
        Self::with_namespaces(&[MEMBERS_NAMESPACE, KEYS_NAMESPACE])
    }

    /// A store with the given top-level namespace directories, read-only like `/`
    /// (etcd's `v2store.New(namespaces...)`; no namespaces gives a plain tree).
    pub fn with_namespaces(namespaces: &[&str]) -> Self {
        let mut root = TreeNode::new_dir("/".to_string(), 0, None);
        let mut readonly = BTreeSet::from(["/".to_string()]);
        for ns in namespaces {
            let path = clean_path(ns);
            let (_, name) = split(&path);
            if let Some(children) = root.children_mut() {
                children.insert(name.to_string(), TreeNode::new_dir(path.clone(), 0, None));
            }
            readonly.insert(path);
        }
        Store {
            root,
            index: 0,
            readonly,
            ttl: TtlIndex::default(),
            history: EventHistory::default(),
            hub: WatcherHub::default(),
            stats: StoreStats::default(),
        }
    }

    /// The current (global) index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The store format version (always 2).
    pub fn version(&self) -> u32 {
        STORE_VERSION
    }

    /// The statistics, with `watchers` set to the watchers registered now.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            watchers: self.hub.count() as u64,
            ..self.stats
        }
    }

    /// Registered watchers.
    pub fn watcher_count(&self) -> usize {
        self.hub.count()
    }

    /// Whether any node has a TTL (the leader proposes expiry sweeps only then).
    pub fn has_ttl_keys(&self) -> bool {
        !self.ttl.is_empty()
    }

    /// The earliest expiration in the store, if any.
    pub fn next_expiration(&self) -> Option<SystemTime> {
        self.ttl.first().map(|(t, _)| *t)
    }

    /// The indices of the oldest and newest events in the history (0, 0 when empty).
    pub fn history_range(&self) -> (u64, u64) {
        (self.history.start_index(), self.history.last_index())
    }

    fn error(&self, code: ErrorCode, cause: impl Into<String>) -> StoreError {
        StoreError::new(code, cause, self.index)
    }

    /// etcd's `internalGet`: the node at a clean path. Fails with 104 (cause: the file
    /// in the way) or 100 (cause: the first missing path).
    fn lookup(&self, path: &str) -> Result<&TreeNode, StoreError> {
        let mut cur = &self.root;
        for name in components(path) {
            let Some(children) = cur.children() else {
                return Err(self.error(ErrorCode::NOT_DIR, cur.path.clone()));
            };
            match children.get(name) {
                Some(child) => cur = child,
                None => return Err(self.error(ErrorCode::KEY_NOT_FOUND, join(&cur.path, name))),
            }
        }
        Ok(cur)
    }

    /// The node at a clean path known to exist.
    fn lookup_mut(&mut self, path: &str) -> Option<&mut TreeNode> {
        let mut cur = &mut self.root;
        for name in components(path) {
            cur = cur.children_mut()?.get_mut(name)?;
        }
        Some(cur)
    }

    /// Takes the node at a clean path out of the tree, and its subtree's TTLs out of
    /// the TTL index. Returns the removed paths in callback order (children first).
    fn detach(&mut self, path: &str) -> Vec<String> {
        let (parent, name) = split(path);
        let Some(node) = self
            .lookup_mut(parent)
            .and_then(|p| p.children_mut())
            .and_then(|c| c.remove(name))
        else {
            return Vec::new();
        };
        let mut expirations = Vec::new();
        node.expirations(&mut expirations);
        for (t, p) in expirations {
            self.ttl.remove(t, &p);
        }
        let mut order = Vec::new();
        node.removal_order(&mut order);
        order
    }

    /// Adds an event to the history (sharing `values` with the tree) and, unless
    /// it is a refresh, notifies watchers.
    fn record(&mut self, event: &Event, values: EventValues, refresh: bool) {
        self.history
            .add(HistoryEntry::new(event, values.node, values.prev, refresh));
        if !refresh {
            self.hub.notify(event);
        }
    }

    /// Moves a node's expiration (etcd's `UpdateTTL`), keeping the TTL index in step.
    fn set_expiration(&mut self, path: &str, expire_time: Option<SystemTime>) {
        let Some(node) = self.lookup_mut(path) else {
            return;
        };
        let old = std::mem::replace(&mut node.expire_time, expire_time);
        if let Some(t) = old {
            self.ttl.remove(t, path);
        }
        if let Some(t) = expire_time {
            self.ttl.insert(t, path);
        }
    }

    // ----- reads -----

    /// Get: the node at `path`; a directory lists its non-hidden children, with their
    /// subtrees when `recursive`. Listings are always sorted by key. `now` is used
    /// for the `ttl` shown. Fails with 100 or 104.
    pub fn get(
        &mut self,
        path: &str,
        recursive: bool,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let path = clean_path(path);
        match self.lookup(&path) {
            Ok(n) => {
                let mut node = n.load(recursive, now);
                node.key = path;
                self.stats.gets_success += 1;
                Ok(Reply {
                    event: Event {
                        action: Action::Get,
                        node: Some(node),
                        prev_node: None,
                    },
                    etcd_index: self.index,
                })
            }
            Err(e) => {
                self.stats.gets_fail += 1;
                Err(e)
            }
        }
    }

    // ----- writes -----

    /// Set: create or replace the node at `path` (parents are created). A file is
    /// replaced (by a file or, with `dir`, an empty directory); a directory gives 102.
    /// With `refresh` the key must exist and keeps its value; the event goes to the
    /// history only. The new node always gets a new createdIndex.
    pub fn set(
        &mut self,
        path: &str,
        dir: bool,
        value: impl Into<String>,
        opts: TtlOptions,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let path = clean_path(path);
        let result = self.set_inner(&path, dir, value.into(), opts, now);
        match &result {
            Ok(_) => self.stats.sets_success += 1,
            Err(_) => self.stats.sets_fail += 1,
        }
        result
    }

    fn set_inner(
        &mut self,
        path: &str,
        dir: bool,
        value: String,
        opts: TtlOptions,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        // A refresh keeps the existing value (a directory's is empty); the
        // previous node itself comes from internal_create, which replaces it.
        let existing_value = match self.lookup(path) {
            Ok(n) => Some(n.shared_value().cloned().unwrap_or_default()),
            Err(e) if e.code == ErrorCode::KEY_NOT_FOUND => {
                if opts.refresh {
                    return Err(e);
                }
                None
            }
            Err(e) => return Err(e),
        };
        let value = match (opts.refresh, existing_value) {
            (true, Some(v)) => v,
            _ => Value::new(value),
        };
        let (event, values) = self.internal_create(
            path,
            dir,
            value,
            false,
            true,
            opts.expire_time,
            Action::Set,
            now,
        )?;
        self.record(&event, values, opts.refresh);
        Ok(Reply {
            event,
            etcd_index: self.index,
        })
    }

    /// Create: make a new node at `path`, or with `unique` a new child of `path` named
    /// by the next index as 20 zero-padded digits (POST). Parents are created. Fails
    /// with 105 if the node exists, 104 if a path element is a file, 107 on a
    /// read-only path.
    pub fn create(
        &mut self,
        path: &str,
        dir: bool,
        value: impl Into<String>,
        unique: bool,
        expire_time: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let result = self.internal_create(
            path,
            dir,
            Value::new(value.into()),
            unique,
            false,
            expire_time,
            Action::Create,
            now,
        );
        match result {
            Ok((event, values)) => {
                self.stats.create_success += 1;
                self.record(&event, values, false);
                Ok(Reply {
                    event,
                    etcd_index: self.index,
                })
            }
            Err(e) => {
                self.stats.create_fail += 1;
                Err(e)
            }
        }
    }

    /// etcd's `internalCreate`, shared by set and create. Does not record the event;
    /// returns it with the shared values the history keeps.
    #[allow(clippy::too_many_arguments)]
    fn internal_create(
        &mut self,
        path: &str,
        dir: bool,
        value: Value,
        unique: bool,
        replace: bool,
        expire_time: Option<SystemTime>,
        action: Action,
        now: SystemTime,
    ) -> Result<(Event, EventValues), StoreError> {
        let next = self.index + 1;
        let path = if unique {
            clean_path(&format!("{path}/{next:020}"))
        } else {
            clean_path(path)
        };
        if self.readonly.contains(&path) {
            return Err(self.error(ErrorCode::ROOT_R_ONLY, "/"));
        }
        let expire_time = expire_time.filter(|t| *t >= min_expire_time());
        let (dir_path, name) = split(&path);
        if let Err(e) = self.ensure_dir(dir_path, next) {
            // etcd counts a failed walk as a failed set, whatever the operation.
            self.stats.sets_fail += 1;
            return Err(e);
        }
        let mut prev_node = None;
        let mut values = EventValues::default();
        let existing = self
            .lookup_mut(dir_path)
            .and_then(|d| d.children_mut())
            .and_then(|c| c.get(name));
        if let Some(existing) = existing {
            if !replace {
                return Err(self.error(ErrorCode::NODE_EXIST, path));
            }
            if existing.is_dir() {
                return Err(self.error(ErrorCode::NOT_FILE, path));
            }
            prev_node = Some(existing.repr(false, now));
            values.prev = existing.shared_value().cloned();
            self.detach(&path);
        }
        let mut node = Node {
            key: path.clone(),
            modified_index: next,
            created_index: next,
            ..Default::default()
        };
        let new = if dir {
            node.dir = true;
            TreeNode::new_dir(path.clone(), next, expire_time)
        } else {
            node.value = Some(value.as_str().to_owned());
            values.node = Some(value.clone());
            TreeNode::new_file(path.clone(), value, next, expire_time)
        };
        if let Some(t) = expire_time {
            self.ttl.insert(t, &path);
            node.expiration = Some(t);
            node.ttl = ttl_seconds(t, now);
        }
        if let Some(children) = self.lookup_mut(dir_path).and_then(|d| d.children_mut()) {
            children.insert(name.to_string(), new);
        }
        self.index = next;
        let event = Event {
            action,
            node: Some(node),
            prev_node,
        };
        Ok((event, values))
    }

    /// etcd's walk with `checkDir`: makes sure every element of the clean directory
    /// path `dir_path` is a directory, creating missing ones as permanent directories
    /// with index `new_index`. Fails with 104 on a file, cause: the file's path.
    fn ensure_dir(&mut self, dir_path: &str, new_index: u64) -> Result<(), StoreError> {
        let index = self.index;
        let mut cur = &mut self.root;
        for name in components(dir_path) {
            let parent_path = cur.path.clone();
            let Some(children) = cur.children_mut() else {
                return Err(StoreError::new(ErrorCode::NOT_DIR, parent_path, index));
            };
            let child = children
                .entry(name.to_string())
                .or_insert_with(|| TreeNode::new_dir(join(&parent_path, name), new_index, None));
            if !child.is_dir() {
                return Err(StoreError::new(
                    ErrorCode::NOT_DIR,
                    child.path.clone(),
                    index,
                ));
            }
            cur = child;
        }
        Ok(())
    }

    /// Update: replace a file's value (or, with an empty value, only a directory's
    /// TTL) keeping createdIndex. The TTL is replaced: `None` makes the node
    /// permanent. A directory's stored modifiedIndex does not change although the
    /// event shows the new index. Fails with 107, 100/104, or 102 (directory with a
    /// value).
    pub fn update(
        &mut self,
        path: &str,
        value: impl Into<String>,
        opts: TtlOptions,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let value: String = value.into();
        let path = clean_path(path);
        if self.readonly.contains(&path) {
            // etcd returns this error without counting it as a failure.
            self.stats.update_success += 1;
            return Err(self.error(ErrorCode::ROOT_R_ONLY, "/"));
        }
        let next = self.index + 1;
        let n = match self.lookup(&path) {
            Ok(n) => n,
            Err(e) => {
                self.stats.update_fail += 1;
                return Err(e);
            }
        };
        if n.is_dir() && !value.is_empty() {
            self.stats.update_success += 1;
            return Err(self.error(ErrorCode::NOT_FILE, path));
        }
        let value = if opts.refresh {
            n.shared_value().cloned().unwrap_or_default()
        } else {
            Value::new(value)
        };
        let prev_node = n.repr(false, now);
        let mut values = EventValues {
            node: None,
            prev: n.shared_value().cloned(),
        };
        let mut node = Node {
            key: path.clone(),
            modified_index: next,
            created_index: n.created_index,
            ..Default::default()
        };
        if let Some(target) = self.lookup_mut(&path) {
            match &mut target.kind {
                NodeKind::File(v) => {
                    *v = value.clone();
                    target.modified_index = next;
                    node.value = Some(value.as_str().to_owned());
                    values.node = Some(value);
                }
                NodeKind::Dir(_) => node.dir = true,
            }
        }
        self.set_expiration(&path, opts.expire_time);
        (node.expiration, node.ttl) = self.ttl_of(&path, now);
        let event = Event {
            action: Action::Update,
            node: Some(node),
            prev_node: Some(prev_node),
        };
        self.index = next;
        self.record(&event, values, opts.refresh);
        self.stats.update_success += 1;
        Ok(Reply {
            event,
            etcd_index: self.index,
        })
    }

    fn ttl_of(&self, path: &str, now: SystemTime) -> (Option<SystemTime>, i64) {
        self.lookup(path)
            .map(|n| n.expiration_and_ttl(now))
            .unwrap_or((None, 0))
    }

    /// CompareAndSwap: write `value` if the file's value equals `prev_value` (`""` =
    /// any) and its modifiedIndex equals `prev_index` (0 = any). Keeps createdIndex;
    /// replaces the TTL. Fails with 107, 100/104, 102 (directory) or 101 (cause
    /// `[prev != current]`, or both comparisons).
    pub fn compare_and_swap(
        &mut self,
        path: &str,
        prev_value: &str,
        prev_index: u64,
        value: impl Into<String>,
        opts: TtlOptions,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let path = clean_path(path);
        if self.readonly.contains(&path) {
            // etcd returns this error without counting it as a failure.
            self.stats.compare_and_swap_success += 1;
            return Err(self.error(ErrorCode::ROOT_R_ONLY, "/"));
        }
        let n = match self.lookup(&path) {
            Ok(n) => n,
            Err(e) => {
                self.stats.compare_and_swap_fail += 1;
                return Err(e);
            }
        };
        if n.is_dir() {
            self.stats.compare_and_swap_fail += 1;
            return Err(self.error(ErrorCode::NOT_FILE, path));
        }
        let which = n.compare(prev_value, prev_index);
        if which != Comparison::Match {
            let cause = n.compare_fail_cause(which, prev_value, prev_index);
            // etcd returns this error without counting it as a failure.
            self.stats.compare_and_swap_success += 1;
            return Err(self.error(ErrorCode::TEST_FAILED, cause));
        }
        let value = if opts.refresh {
            n.shared_value().cloned().unwrap_or_default()
        } else {
            Value::new(value.into())
        };
        let prev_node = n.repr(false, now);
        let values = EventValues {
            node: Some(value.clone()),
            prev: n.shared_value().cloned(),
        };
        let created_index = n.created_index;
        self.index += 1;
        let index = self.index;
        if let Some(target) = self.lookup_mut(&path) {
            target.kind = NodeKind::File(value.clone());
            target.modified_index = index;
        }
        self.set_expiration(&path, opts.expire_time);
        let (expiration, ttl) = self.ttl_of(&path, now);
        let node = Node {
            key: path,
            value: Some(value.as_str().to_owned()),
            expiration,
            ttl,
            modified_index: index,
            created_index,
            ..Default::default()
        };
        let event = Event {
            action: Action::CompareAndSwap,
            node: Some(node),
            prev_node: Some(prev_node),
        };
        self.record(&event, values, opts.refresh);
        self.stats.compare_and_swap_success += 1;
        Ok(Reply {
            event,
            etcd_index: self.index,
        })
    }

    /// Delete: remove a file, or a directory when `dir` (empty) or `recursive` (any;
    /// recursive implies dir). Watchers on every removed node are woken. Fails with
    /// 107, 100/104, 102 (directory without dir) or 108 (non-empty, not recursive).
    pub fn delete(
        &mut self,
        path: &str,
        dir: bool,
        recursive: bool,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let path = clean_path(path);
        if self.readonly.contains(&path) {
            // etcd returns this error without counting it as a failure.
            self.stats.delete_success += 1;
            return Err(self.error(ErrorCode::ROOT_R_ONLY, "/"));
        }
        let dir = dir || recursive;
        let n = match self.lookup(&path) {
            Ok(n) => n,
            Err(e) => {
                self.stats.delete_fail += 1;
                return Err(e);
            }
        };
        if let Some(children) = n.children() {
            let code = if !dir {
                Some(ErrorCode::NOT_FILE)
            } else if !children.is_empty() && !recursive {
                Some(ErrorCode::DIR_NOT_EMPTY)
            } else {
                None
            };
            if let Some(code) = code {
                self.stats.delete_fail += 1;
                return Err(self.error(code, path));
            }
        }
        let next = self.index + 1;
        let node = Node {
            key: path.clone(),
            dir: n.is_dir(),
            modified_index: next,
            created_index: n.created_index,
            ..Default::default()
        };
        let event = Event {
            action: Action::Delete,
            node: Some(node),
            prev_node: Some(n.repr(false, now)),
        };
        let values = EventValues {
            node: None,
            prev: n.shared_value().cloned(),
        };
        let removed = self.detach(&path);
        self.hub.notify_removed(&event, &removed);
        self.index = next;
        self.record(&event, values, false);
        self.stats.delete_success += 1;
        Ok(Reply {
            event,
            etcd_index: self.index,
        })
    }

    /// CompareAndDelete: remove a file if it matches as for compareAndSwap. No
    /// read-only check: on a namespace root it fails with 102 like any directory.
    /// Fails with 100/104, 102 or 101.
    pub fn compare_and_delete(
        &mut self,
        path: &str,
        prev_value: &str,
        prev_index: u64,
        now: SystemTime,
    ) -> Result<Reply, StoreError> {
        let path = clean_path(path);
        let n = match self.lookup(&path) {
            Ok(n) => n,
            Err(e) => {
                self.stats.compare_and_delete_fail += 1;
                return Err(e);
            }
        };
        if n.is_dir() {
            // etcd returns this error without counting it as a failure.
            self.stats.compare_and_delete_success += 1;
            return Err(self.error(ErrorCode::NOT_FILE, path));
        }
        let which = n.compare(prev_value, prev_index);
        if which != Comparison::Match {
            let cause = n.compare_fail_cause(which, prev_value, prev_index);
            // etcd returns this error without counting it as a failure.
            self.stats.compare_and_delete_success += 1;
            return Err(self.error(ErrorCode::TEST_FAILED, cause));
        }
        let index = self.index + 1;
        let node = Node {
            key: path.clone(),
            modified_index: index,
            created_index: n.created_index,
            ..Default::default()
        };
        let event = Event {
            action: Action::CompareAndDelete,
            node: Some(node),
            prev_node: Some(n.repr(false, now)),
        };
        let values = EventValues {
            node: None,
            prev: n.shared_value().cloned(),
        };
        self.index = index;
        let removed = self.detach(&path);
        self.hub.notify_removed(&event, &removed);
        self.record(&event, values, false);
        self.stats.compare_and_delete_success += 1;
        Ok(Reply {
            event,
            etcd_index: self.index,
        })
    }

    /// Expiry sweep (the SYNC a leader proposes): removes every node whose expiration
    /// is at or before `cutoff`, earliest first, each as its own `expire` event at the
    /// next index. A directory takes its subtree with it, waking watchers on existing
    /// descendants. The prevNode's `ttl` is computed against `cutoff`. Returns the
    /// events (already recorded and delivered).
    pub fn delete_expired(&mut self, cutoff: SystemTime) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some((at, path)) = self.ttl.first().cloned() {
            if at > cutoff {
                break;
            }
            let Ok(n) = self.lookup(&path) else {
                // Cannot happen (the index follows the tree); never loop on it.
                self.ttl.remove(at, &path);
                continue;
            };
            let index = self.index + 1;
            let node = Node {
                key: path.clone(),
                dir: n.is_dir(),
                modified_index: index,
                created_index: n.created_index,
                ..Default::default()
            };
            let event = Event {
                action: Action::Expire,
                node: Some(node),
                prev_node: Some(n.repr(false, cutoff)),
            };
            let values = EventValues {
                node: None,
                prev: n.shared_value().cloned(),
            };
            self.index = index;
            let removed = self.detach(&path);
            self.hub.notify_removed(&event, &removed);
            self.stats.expire_count += 1;
            self.record(&event, values, false);
            events.push(event);
        }
        events
    }

    // ----- watches -----

    /// Watch `key` (an internal path) for events from `since_index` (0: from the next
    /// index). Fails with 401 when `since_index` is older than the history (index:
    /// the current index).
    ///
    /// A watch whose first event is already in the history gets it at once and is not
    /// registered (non-stream). A stream gets every matching event from the history,
    /// then stays registered for live events. Otherwise the watcher is registered and
    /// gets its first matching event (non-stream) or every one (stream).
    pub fn watch(
        &self,
        key: &str,
        recursive: bool,
        stream: bool,
        since_index: u64,
    ) -> Result<Watcher, StoreError> {
        let key = clean_path(key);
        let since = if since_index == 0 {
            self.index + 1
        } else {
            since_index
        };
        let mut hits = self.history.scan(&key, recursive, since).map_err(|mut e| {
            e.index = self.index;
            e
        })?;
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let mut last_sent = 0;
        if !stream {
            if let Some(entry) = hits.next() {
                // The only event; dropping the sender closes the channel after it.
                let _ = tx.try_send(entry.event());
                return Ok(Watcher::new(rx, self.index, None));
            }
        } else {
            for entry in hits {
                let event = entry.event();
                let index = event_index(&event);
                if tx.try_send(event).is_err() {
                    // More history than the buffer holds: the watcher overflows at once.
                    return Ok(Watcher::new(rx, self.index, None));
                }
                last_sent = index;
            }
        }
        let registration = self
            .hub
            .register(&key, recursive, stream, since, last_sent, tx);
        Ok(Watcher::new(rx, self.index, Some(registration)))
    }
}
