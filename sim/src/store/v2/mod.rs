//! etcd's v2 store (`v2store` in etcd 3.4) as a deterministic state machine.
//!
//! # Model
//!
//! One tree holds three namespaces: `/0` (cluster members and version), `/1` (the
//! user keys of `/v2/keys`) and `/2` (v2 auth data, created by the auth layer's first
//! write). [`Store::new`] creates `/0` and `/1`, read-only like `/`. One global index
//! counts every successful write and every expired node across all namespaces; the
//! 1000-event history spans them all too.
//!
//! # Conventions
//!
//! - **Paths are internal.** Every operation takes the full internal path
//!   (`/1/foo`), and events and error causes carry internal paths. The HTTP layer
//!   maps a user key with [`keys_path`] and presents results with
//!   [`trim_event_prefix`]`(event, `[`KEYS_NAMESPACE`]`)` and
//!   [`StoreError::trim_cause_prefix`]`(`[`KEYS_NAMESPACE`]`)`, exactly as etcd's v2http
//!   does. The same API serves `/0` and `/2` writes.
//! - **No clock inside.** Operations that show a TTL take `now` (the `ttl` field is
//!   `ceil((expiration - now) / 1s)`); writes take absolute expirations
//!   ([`TtlOptions`]), which the server computes on the receiving member before
//!   proposing. Expiry happens only through [`Store::delete_expired`]`(cutoff)`: the
//!   leader proposes a SYNC with a timestamp and every member applies it with that
//!   timestamp. For identical events on every member, pass the same `now` (e.g. one
//!   carried in the command) to the writes as well.
//! - **Deterministic.** Children are kept in ordered maps, so listings are always
//!   sorted by key (`sorted=true` or not: etcd's unsorted order is Go's random map
//!   order, of which sorted is one instance). Expiry order is (expiration, path).
//!   Delete callbacks run children first, in key order. Watchers at one path are
//!   notified in registration order.
//! - **Not at store level:** `noValueOnSuccess`, parameter validation, auth checks and
//!   the choice of operation from `prevExist`/`prevValue`/`prevIndex` (spec §2.2, §2.3)
//!   belong to the HTTP layer; [`Reply::is_created`] gives the 201 rule.
//! - **Snapshots** ([`Store::save`], [`Store::recover`]) hold the tree, the index, the
//!   history and the counters, as etcd's v2 snapshot does (see [`snapshot`]).
//!
//! # etcd quirks
//!
//! Kept on purpose (they are visible on the wire):
//! - The history scan matches a delete or expire of a directory against any watched
//!   key it is a *string* prefix of: a watch on `/d10` from history matches the
//!   delete of `/d1`.
//! - The history scan does not filter hidden keys; live notifications do.
//! - Deleting (or expiring) a parent wakes the watchers registered on its *existing*
//!   descendants only; a watcher on a missing child stays asleep (although a later
//!   history scan from the same index would match).
//! - Updating only the TTL of a directory reports the new modifiedIndex in the event
//!   but does not store it.
//! - compareAndDelete does not check the read-only set: on `/1` it fails with 102 and
//!   cause `/1` (empty once trimmed).
//! - Statistics count some failures as successes and some create failures twice
//!   (see [`stats`]).
//!
//! Fixed on purpose (no client depends on them):
//! - **Stream duplicate delete.** etcd sends a stream watcher the same delete twice
//!   when it is notified both as a removed node and as an ancestor (or the key
//!   itself). Here a stream watcher never receives an event index twice.
//! - **Stream from history stall.** etcd answers a stream whose first event is in the
//!   history with that one event and never registers it. Here a stream gets every
//!   matching event from the history (up to the 100-event buffer; more overflows it)
//!   and then stays registered for live events.
//! - **Overflow.** When a watcher's 100-event buffer overflows it is removed *and* its
//!   channel closes (etcd removes it but leaves the channel open), so the HTTP
//!   response ends as the spec describes.

pub mod cluster_keys;
mod error;
mod event_history;
mod node;
pub mod path;
pub mod snapshot;
pub mod stats;
mod store;
mod ttl;
mod watcher_hub;

#[cfg(test)]
mod tests;

pub use error::StoreError;
pub use event_history::HISTORY_CAPACITY;
pub use node::drop_wire_node;
pub use path::{
    AUTH_NAMESPACE, KEYS_NAMESPACE, MEMBERS_NAMESPACE, clean_path, keys_path, trim_event_prefix,
    trim_key_prefix, trim_node_prefix,
};
pub use snapshot::SnapshotError;
pub use stats::StoreStats;
pub use store::{Reply, STORE_VERSION, Store, TtlOptions};
pub use ttl::{min_expire_time, ttl_seconds};
pub use watcher_hub::{WATCHER_BUFFER, Watcher};
