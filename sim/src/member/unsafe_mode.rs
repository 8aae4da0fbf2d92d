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
}

impl UnsafeMode {
    /// The mode's command-line name (`local-quorum-reads`).
    pub fn name(self) -> &'static str {
        match self {
            UnsafeMode::LocalQuorumReads => "local-quorum-reads",
            UnsafeMode::CorruptKv => "corrupt-kv",
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
#[error("unknown unsafe mode {0:?} (known: local-quorum-reads, corrupt-kv)")]
pub struct UnknownUnsafeMode(pub String);

impl FromStr for UnsafeMode {
    type Err = UnknownUnsafeMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local-quorum-reads" => Ok(UnsafeMode::LocalQuorumReads),
            "corrupt-kv" => Ok(UnsafeMode::CorruptKv),
            other => Err(UnknownUnsafeMode(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [UnsafeMode::LocalQuorumReads, UnsafeMode::CorruptKv] {
            assert_eq!(m.to_string().parse::<UnsafeMode>(), Ok(m));
        }
        assert!("acknowledge-early".parse::<UnsafeMode>().is_err());
    }
}
