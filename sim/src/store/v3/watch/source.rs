//! What the watchable store needs from the kv store: its revisions and its history.
//!
//! The MVCC store implements [`EventSource`] (in `store::v3`'s glue, over its
//! `events_between`); tests use an in-memory double.

use etcd_sdk::v3::pb::mvccpb;

/// The history a watcher asked for has been compacted away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compacted {
    /// The store's compact revision at the time of the read.
    pub compact_revision: i64,
}

/// Read access to the kv store's revisions and event history.
///
/// The watchable store applies etcd's compaction rule itself: a watcher whose next
/// revision is *below* [`EventSource::compact_revision`] is cancelled as compacted
/// (checked against etcd 3.4.23: after `compaction 4`, `watch k --rev=4` still
/// replays revision 4, `--rev=3` is cancelled). An `Err(Compacted)` from
/// [`EventSource::events_between`] is also treated as a compaction cancel, so an
/// implementation must answer `from == compact_revision` with events, not an error.
pub trait EventSource {
    /// The store's current revision (1 on an empty store).
    fn current_revision(&self) -> i64;
    /// The compact revision (0 when never compacted).
    fn compact_revision(&self) -> i64;
    /// Every event with from <= revision <= to, for keys in [key, range_end) (etcd's
    /// range rules: empty range_end = one key, "\0" = from key), in revision then
    /// sub-revision order, with prev_kv filled as in ChangeSet (absent if compacted).
    /// `Err(Compacted { compact_revision })` when `from` is below the compact
    /// revision; `from == compact_revision` is answered with what compaction kept.
    fn events_between(
        &self,
        from: i64,
        to: i64,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<mvccpb::Event>, Compacted>;
}
