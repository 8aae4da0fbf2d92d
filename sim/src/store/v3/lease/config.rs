//! The lessor's configuration and etcd 3.4's lease constants.

use std::time::Duration;

/// The largest TTL a grant may ask for, in seconds (etcd's `MaxLeaseTTL`).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// How often etcd's lessor looks for expired leases (and due checkpoints): its run loop
/// waits 500 ms between passes.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The most leases etcd revokes per second (`leaseRevokeRate`). Each check reports at
/// most half of it ([`LessorConfig::revoke_limit_per_check`]); [`Lessor::promote`]
/// spreads expiries out when at least this many leases exist.
///
/// [`Lessor::promote`]: super::Lessor::promote
pub const REVOKE_RATE: usize = 1000;

/// How many `LeaseRevoke` proposals for expired leases etcd's server keeps in flight at
/// once (`maxPendingRevokes`). A server-side limit; the lessor does not use it.
pub const MAX_PENDING_REVOKES: usize = 16;

/// The lessor's own default for [`LessorConfig::expired_retry_interval`] when none is
/// given. etcd's server always passes its request timeout instead (7 s by default).
pub const DEFAULT_EXPIRED_RETRY_INTERVAL: Duration = Duration::from_secs(3);

/// The default time between two checkpoints of one lease (5 minutes).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// The most checkpoints etcd proposes per second (`leaseCheckpointRate`): a check sends
/// at most half of it in batches.
pub const CHECKPOINT_RATE: usize = 1000;

/// The most checkpoints in one `LeaseCheckpoint` entry (`maxLeaseCheckpointBatchSize`).
pub const MAX_CHECKPOINT_BATCH: usize = 1000;

/// Remaining-TTL checkpoints (`--experimental-enable-lease-checkpoint`): the primary
/// periodically proposes each long lease's remaining TTL, so a new leader does not give
/// it its full TTL again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// Time between two checkpoints of one lease; only leases whose TTL is longer than
    /// this (in whole seconds) are checkpointed. Zero means the default
    /// ([`DEFAULT_CHECKPOINT_INTERVAL`], 5 min); etcd 3.4 has no flag for it.
    pub interval: Duration,
    /// `--experimental-enable-lease-checkpoint-persist`: applied checkpoints also reach
    /// the snapshot (and so survive a restart). Off by default.
    pub persist: bool,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            interval: DEFAULT_CHECKPOINT_INTERVAL,
            persist: false,
        }
    }
}

/// How a [`Lessor`](super::Lessor) behaves. [`Default`] is etcd 3.4.23's server with
/// its default flags (10 election ticks of 100 ms, no checkpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessorConfig {
    /// The smallest TTL a lease gets, in seconds: grants asking for less get this much.
    /// The server derives it from the election timeout ([`LessorConfig::min_ttl_for`]).
    pub min_ttl: i64,
    /// After [`Lessor::expired`](super::Lessor::expired) reports a lease, it is not
    /// reported again before this much time (the revoke may be slow or fail). etcd's
    /// server uses its request timeout, 5 s + 2 × election timeout (7 s by default).
    /// Zero means [`DEFAULT_EXPIRED_RETRY_INTERVAL`], as in etcd's lessor.
    pub expired_retry_interval: Duration,
    /// The revoke rate ([`REVOKE_RATE`]); only tests change it.
    pub revoke_rate: usize,
    /// Remaining-TTL checkpoints; `None` (the default) when off.
    pub checkpoint: Option<CheckpointConfig>,
}

impl Default for LessorConfig {
    fn default() -> Self {
        LessorConfig::new(10, Duration::from_millis(100))
    }
}

impl LessorConfig {
    /// The configuration etcd's server builds for `election_ticks` ticks of `tick`
    /// (`--election-timeout` / `--heartbeat-interval`): the minimum TTL from
    /// [`LessorConfig::min_ttl_for`], the retry interval = the request timeout, no
    /// checkpoints.
    pub fn new(election_ticks: u64, tick: Duration) -> Self {
        LessorConfig {
            min_ttl: Self::min_ttl_for(election_ticks, tick),
            expired_retry_interval: Self::request_timeout(election_ticks, tick),
            revoke_rate: REVOKE_RATE,
            checkpoint: None,
        }
    }

    /// etcd's minimum lease TTL in seconds: 1.5 election timeouts, where the 1.5 is taken
    /// in whole ticks (`(3 × ticks) / 2`, integer division), rounded up to a second.
    /// 10 ticks of 100 ms give 2.
    pub fn min_ttl_for(election_ticks: u64, tick: Duration) -> i64 {
        let ticks = u128::from(election_ticks.saturating_mul(3) / 2);
        let nanos = ticks.saturating_mul(tick.as_nanos());
        let secs = nanos.div_ceil(1_000_000_000);
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// The election timeout (`election_ticks` × `tick`), the extension
    /// [`Lessor::promote`](super::Lessor::promote) takes from etcd's server.
    pub fn election_timeout(election_ticks: u64, tick: Duration) -> Duration {
        tick.saturating_mul(u32::try_from(election_ticks).unwrap_or(u32::MAX))
    }

    /// etcd's server request timeout: 5 s + 2 × the election timeout (7 s by default).
    pub fn request_timeout(election_ticks: u64, tick: Duration) -> Duration {
        Duration::from_secs(5)
            .saturating_add(Self::election_timeout(election_ticks, tick).saturating_mul(2))
    }

    /// The most leases one check should hand to [`Lessor::expired`]: half the revoke
    /// rate, since etcd checks twice a second (500 by default).
    ///
    /// [`Lessor::expired`]: super::Lessor::expired
    pub fn revoke_limit_per_check(&self) -> usize {
        self.revoke_rate / 2
    }

    /// The retry interval actually used (zero replaced by the default).
    pub(super) fn effective_retry_interval(&self) -> Duration {
        if self.expired_retry_interval.is_zero() {
            DEFAULT_EXPIRED_RETRY_INTERVAL
        } else {
            self.expired_retry_interval
        }
    }

    /// The checkpoint interval actually used, when checkpoints are on.
    pub(super) fn effective_checkpoint_interval(&self) -> Option<Duration> {
        self.checkpoint.map(|c| {
            if c.interval.is_zero() {
                DEFAULT_CHECKPOINT_INTERVAL
            } else {
                c.interval
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_etcds_default_server() {
        let c = LessorConfig::default();
        assert_eq!(c.min_ttl, 2);
        assert_eq!(c.expired_retry_interval, Duration::from_secs(7));
        assert_eq!(c.revoke_rate, 1000);
        assert_eq!(c.revoke_limit_per_check(), 500);
        assert_eq!(c.checkpoint, None);
    }

    #[test]
    fn min_ttl_uses_whole_ticks_and_rounds_up() {
        // 10 × 100 ms: 15 ticks = 1.5 s -> 2.
        assert_eq!(LessorConfig::min_ttl_for(10, Duration::from_millis(100)), 2);
        // 5 ticks: (15 / 2) = 7 ticks (not 7.5) of 100 ms = 0.7 s -> 1.
        assert_eq!(LessorConfig::min_ttl_for(5, Duration::from_millis(100)), 1);
        // 20 × 500 ms: 30 ticks = 15 s exactly.
        assert_eq!(
            LessorConfig::min_ttl_for(20, Duration::from_millis(500)),
            15
        );
        assert_eq!(LessorConfig::min_ttl_for(0, Duration::from_millis(100)), 0);
    }

    #[test]
    fn election_and_request_timeouts() {
        let tick = Duration::from_millis(100);
        assert_eq!(
            LessorConfig::election_timeout(10, tick),
            Duration::from_secs(1)
        );
        assert_eq!(
            LessorConfig::request_timeout(10, tick),
            Duration::from_secs(7)
        );
        assert_eq!(
            LessorConfig::request_timeout(50, Duration::from_millis(200)),
            Duration::from_secs(25)
        );
    }

    #[test]
    fn zero_intervals_mean_the_defaults() {
        let c = LessorConfig {
            expired_retry_interval: Duration::ZERO,
            checkpoint: Some(CheckpointConfig {
                interval: Duration::ZERO,
                persist: false,
            }),
            ..LessorConfig::default()
        };
        assert_eq!(c.effective_retry_interval(), DEFAULT_EXPIRED_RETRY_INTERVAL);
        assert_eq!(
            c.effective_checkpoint_interval(),
            Some(DEFAULT_CHECKPOINT_INTERVAL)
        );
        assert_eq!(
            LessorConfig::default().effective_checkpoint_interval(),
            None
        );
    }
}
