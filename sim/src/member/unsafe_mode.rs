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
}

impl UnsafeMode {
    /// The mode's command-line name (`local-quorum-reads`).
    pub fn name(self) -> &'static str {
        match self {
            UnsafeMode::LocalQuorumReads => "local-quorum-reads",
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
#[error("unknown unsafe mode {0:?} (known: local-quorum-reads)")]
pub struct UnknownUnsafeMode(pub String);

impl FromStr for UnsafeMode {
    type Err = UnknownUnsafeMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local-quorum-reads" => Ok(UnsafeMode::LocalQuorumReads),
            other => Err(UnknownUnsafeMode(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let m = UnsafeMode::LocalQuorumReads;
        assert_eq!(m.to_string().parse::<UnsafeMode>(), Ok(m));
        assert!("acknowledge-early".parse::<UnsafeMode>().is_err());
    }
}
