//! Deliberately unsafe server behaviour, **for testing the chaos checker only**.
//!
//! A checker that never finds anything proves nothing. These modes break the
//! guarantees etcd gives on purpose, so a test can show that the chaos harness
//! catches the breakage within a few dozen seeds. Never enable one anywhere else:
//! a member in an unsafe mode is not etcd.

use std::fmt;
use std::str::FromStr;

/// A deliberate violation of etcd's guarantees (see the module docs: for testing
/// the chaos checker only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeMode {
    /// Serve quorum GETs (`quorum=true`) from the member's local store instead of
    /// through the Raft log: a follower behind the leader, or a deposed leader
    /// cut off from the majority, answers with stale data. Breaks
    /// linearizability of quorum reads.
    LocalQuorumReads,
    /// Once the member has replayed its log at boot, damage the newest value
    /// of its v3 MVCC history in place (no Raft, no new revision), as bit rot
    /// on its disk would: its HashKV then differs from its peers'. For testing
    /// etcd's corruption checks (`--experimental-initial-corrupt-check`,
    /// `--experimental-corrupt-check-time`).
    CorruptKv,
    /// Serve linearizable v3 Ranges (`serializable=false`) from the member's
    /// local store, without the read-index barrier (the Raft log): a follower
    /// behind the leader, or a member cut off from the majority, answers with
    /// stale data. Breaks linearizability of v3 reads.
    LocalLinearizableRanges,
    /// When a watch is created with a start revision at or below the current
    /// one (a resume, or a replay from history), drop the first event the
    /// watcher would be sent. Breaks the watch's reliability (resumable).
    WatchResumeSkip,
    /// A follower whose own clock says a lease expired, half its TTL after the
    /// follower first saw it, proposes its revocation (only the leader's lessor
    /// may expire leases, and keepalives reach only the leader). Kept-alive
    /// leases and their keys disappear early.
    EarlyFollowerLeaseExpiry,
}

impl UnsafeMode {
    /// Every mode, in declaration order.
    pub const ALL: [UnsafeMode; 5] = [
        UnsafeMode::LocalQuorumReads,
        UnsafeMode::CorruptKv,
        UnsafeMode::LocalLinearizableRanges,
        UnsafeMode::WatchResumeSkip,
        UnsafeMode::EarlyFollowerLeaseExpiry,
    ];

    /// The mode's command-line name (`local-quorum-reads`).
    pub fn name(self) -> &'static str {
        match self {
            UnsafeMode::LocalQuorumReads => "local-quorum-reads",
            UnsafeMode::CorruptKv => "corrupt-kv",
            UnsafeMode::LocalLinearizableRanges => "local-linearizable-ranges",
            UnsafeMode::WatchResumeSkip => "watch-resume-skip",
            UnsafeMode::EarlyFollowerLeaseExpiry => "early-follower-lease-expiry",
        }
    }
}

impl fmt::Display for UnsafeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown unsafe mode name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown unsafe mode {0:?} (known: local-quorum-reads, corrupt-kv, \
     local-linearizable-ranges, watch-resume-skip, early-follower-lease-expiry)"
)]
pub struct UnknownUnsafeMode(pub String);

impl FromStr for UnsafeMode {
    type Err = UnknownUnsafeMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnsafeMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownUnsafeMode(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in UnsafeMode::ALL {
            assert_eq!(m.to_string().parse::<UnsafeMode>(), Ok(m));
        }
        let err = "acknowledge-early".parse::<UnsafeMode>().unwrap_err();
        for m in UnsafeMode::ALL {
            assert!(err.to_string().contains(m.name()), "{err}");
        }
    }
}
