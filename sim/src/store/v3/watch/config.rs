//! The watchable store's limits and the timing constants the server's loops use.
//! The store itself has no clock: the server calls its sync, victim and progress
//! entry points on these intervals.

use std::time::Duration;

/// Slots of a stream's outbound queue for watcher responses (etcd's `chanBufLen`).
pub const CHAN_BUF_LEN: usize = 128;
/// Distinct revisions in one catch-up response (etcd's `watchBatchMaxRevs`).
pub const WATCH_BATCH_MAX_REVS: usize = 1000;
/// Unsynced watchers caught up per sync pass (etcd's `maxWatchersPerSync`).
pub const MAX_WATCHERS_PER_SYNC: usize = 512;
/// Control replies a stream may hold before the server stops reading requests
/// (etcd's `ctrlStreamBufLen`).
pub const CTRL_STREAM_BUF_LEN: usize = 16;
/// etcd's default `--max-request-bytes`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1_572_864;
/// What gRPC may add on top of a request (etcd's `grpcOverheadBytes`).
pub const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;
/// How often the server runs a sync pass while watchers are unsynced (etcd's
/// `syncWatchersLoop`: 100 ms, or at once again while a pass made progress).
pub const SYNC_INTERVAL: Duration = Duration::from_millis(100);
/// How often the server retries victims while there are any (etcd's
/// `syncVictimsLoop`; also right after a poll freed room).
pub const VICTIM_RETRY_INTERVAL: Duration = Duration::from_millis(10);
/// Default `--experimental-watch-progress-notify-interval`.
pub const DEFAULT_PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_secs(600);
/// Smallest progress-notify interval; smaller settings are raised to it.
pub const MIN_PROGRESS_NOTIFY_INTERVAL: Duration = Duration::from_millis(100);

/// The per-stream progress ticker period: `interval` (raised to the minimum) plus a
/// jitter of up to 10 %. `jitter_fraction` in [0, 1) comes from the server's seeded
/// RNG (etcd draws it once per stream).
pub fn progress_notify_interval(interval: Duration, jitter_fraction: f64) -> Duration {
    let base = interval.max(MIN_PROGRESS_NOTIFY_INTERVAL);
    let fraction = jitter_fraction.clamp(0.0, 1.0);
    base + (base / 10).mul_f64(fraction)
}

/// The watchable store's limits. Memory is bounded by them: each stream holds at
/// most `queue_capacity` watcher responses (plus the control replies the server
/// lets through), each victim holds one response, and one catch-up response holds
/// at most `max_revisions_per_batch` revisions' events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    /// Watcher responses a stream queues before its watchers become victims.
    pub queue_capacity: usize,
    /// Distinct revisions per catch-up response (also the history read window).
    pub max_revisions_per_batch: usize,
    /// Unsynced watchers handled per sync pass.
    pub max_watchers_per_sync: usize,
    /// Responses of watchers that asked for `fragment` are split when their encoded
    /// size reaches this many bytes: max-request-bytes + 512 KiB.
    pub fragment_limit: usize,
    /// A deliberate bug, **for testing the chaos checker only**
    /// (`--unsafe watch-resume-skip`): a watcher created with a start revision
    /// at or below the current one (a resume, a replay) loses the first event
    /// it would be sent. `false` (etcd's behaviour) by default.
    pub unsafe_skip_first_replayed_event: bool,
}

impl WatchConfig {
    /// etcd's limits for a server started with `--max-request-bytes`.
    pub fn new(max_request_bytes: usize) -> Self {
        Self {
            queue_capacity: CHAN_BUF_LEN,
            max_revisions_per_batch: WATCH_BATCH_MAX_REVS,
            max_watchers_per_sync: MAX_WATCHERS_PER_SYNC,
            fragment_limit: max_request_bytes.saturating_add(GRPC_OVERHEAD_BYTES),
            unsafe_skip_first_replayed_event: false,
        }
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_REQUEST_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_etcds() {
        let c = WatchConfig::default();
        assert_eq!(c.queue_capacity, 128);
        assert_eq!(c.max_revisions_per_batch, 1000);
        assert_eq!(c.max_watchers_per_sync, 512);
        assert_eq!(c.fragment_limit, 2_097_152);
    }

    #[test]
    fn progress_interval_has_a_floor_and_bounded_jitter() {
        let ms = Duration::from_millis;
        assert_eq!(progress_notify_interval(ms(10), 0.0), ms(100));
        assert_eq!(progress_notify_interval(ms(1000), 0.5), ms(1050));
        assert!(progress_notify_interval(ms(1000), 0.999) < ms(1100));
        assert_eq!(
            progress_notify_interval(DEFAULT_PROGRESS_NOTIFY_INTERVAL, 0.0),
            DEFAULT_PROGRESS_NOTIFY_INTERVAL
        );
    }
}
