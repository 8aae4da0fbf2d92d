//! etcd 3.4's watchable store as a pure state machine: watch streams and their
//! watchers, catch-up from history, live delivery, victims, progress notifications,
//! compaction cancels and fragmentation. No I/O, clock, tasks or locks: the server's
//! Watch service drives it and sends what it queues.
//!
//! # How the server drives it
//! The store reads the kv store only through [`EventSource`] and receives live
//! writes as `(revision, events)` (a `ChangeSet`'s events, `prev_kv` filled).
//! 1. A Watch call opens a stream: [`WatchableStore::open_stream`].
//! 2. Each request read from the stream, in order: `create_request` →
//!    [`WatchableStore::create`] (after the server's permission check; a failed check
//!    → [`WatchableStore::reject_create`] with the gRPC error text),
//!    `cancel_request` → [`WatchableStore::cancel`], `progress_request` →
//!    [`WatchableStore::progress_request`]. The server stops reading requests while
//!    [`WatchableStore::control_backlog`] is at [`CTRL_STREAM_BUF_LEN`].
//! 3. After every applied write that changed keys, once the kv store reflects it:
//!    [`WatchableStore::notify`]`(revision, &events)`, in revision order.
//!    After a compaction: [`WatchableStore::compacted`].
//! 4. While [`WatchableStore::unsynced_count`] > 0: [`WatchableStore::sync_unsynced`]
//!    every [`SYNC_INTERVAL`] (and right after a create, or again at once while a
//!    pass shrank the count).
//! 5. The stream's send task: [`WatchableStore::poll`] and send every response in
//!    the order given (fragments included); then [`WatchableStore::retry_victims`]
//!    (also every [`VICTIM_RETRY_INTERVAL`] while [`WatchableStore::victim_count`] > 0).
//! 6. A per-stream ticker with period [`progress_notify_interval`]:
//!    [`WatchableStore::progress_tick`].
//! 7. The stream ends: [`WatchableStore::close_stream`].
//!
//! # Headers
//! Every response carries `header: Some(ResponseHeader { revision, .. })` with only
//! the revision set; the server fills `cluster_id`, `member_id` and `raft_term` and
//! keeps the revision (which is 0 on the compaction cancel, as in etcd).
//!
//! # Memory bounds
//! - a stream's queue: at most `queue_capacity` (128) watcher responses, plus the
//!   control replies the server lets in (bounded by [`CTRL_STREAM_BUF_LEN`] when it
//!   stops reading requests at that backlog);
//! - a victim: exactly one pending response (so at most one per watcher);
//! - a catch-up response: events of at most `max_revisions_per_batch` (1000)
//!   revisions, read in windows of that many revisions;
//! - a sync pass: at most `max_watchers_per_sync` (512) watchers;
//! - a live response: the events of one write.
//!
//! Watchers and streams are not durable (no snapshot): a restarted member has none.

mod batch;
pub mod config;
mod fragment;
#[cfg(test)]
mod model_tests;
mod queue;
pub mod source;
pub mod spec;
mod store;
#[cfg(test)]
pub(crate) mod testing;

pub use config::{
    CHAN_BUF_LEN, CTRL_STREAM_BUF_LEN, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_PROGRESS_NOTIFY_INTERVAL,
    GRPC_OVERHEAD_BYTES, MAX_WATCHERS_PER_SYNC, MIN_PROGRESS_NOTIFY_INTERVAL, SYNC_INTERVAL,
    VICTIM_RETRY_INTERVAL, WATCH_BATCH_MAX_REVS, WatchConfig, progress_notify_interval,
};
pub use source::{Compacted, EventSource};
pub use spec::{ERR_DUPLICATE_ID, ERR_EMPTY_RANGE, KeyRange, WatchSpec};
pub use store::{INVALID_WATCH_ID, StreamId, WatchError, WatchableStore};
