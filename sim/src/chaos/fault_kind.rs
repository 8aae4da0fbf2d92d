//! The nemesis's fault menu and the selection a run uses (`--faults all` or a
//! comma-separated list of names).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One kind of fault the nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// SIGSTOP a random member, SIGCONT it later.
    Pause,
    /// Kill a random member (power loss), restart it later.
    Kill,
    /// Split the members into random groups, heal later.
    Partition,
    /// Cut one direction of one member-to-member link, heal later.
    Cut,
    /// Clog every link of one member, clients included, heal later.
    Isolate,
    /// Raise the latency of every message, reset later.
    Latency,
    /// Lose packets with some probability (on streams: retransmission delays), reset
    /// later.
    Loss,
    /// SIGSTOP the leader, SIGCONT it later.
    PauseLeader,
    /// Kill the leader, restart it later.
    KillLeader,
    /// Add a member (when the cluster has its initial size) or remove one (when it
    /// has one more).
    Membership,
}

impl FaultKind {
    /// Every kind, in menu order.
    pub const ALL: [FaultKind; 10] = [
        FaultKind::Pause,
        FaultKind::Kill,
        FaultKind::Partition,
        FaultKind::Cut,
        FaultKind::Isolate,
        FaultKind::Latency,
        FaultKind::Loss,
        FaultKind::PauseLeader,
        FaultKind::KillLeader,
        FaultKind::Membership,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Pause => "pause",
            FaultKind::Kill => "kill",
            FaultKind::Partition => "partition",
            FaultKind::Cut => "cut",
            FaultKind::Isolate => "isolate",
            FaultKind::Latency => "latency",
            FaultKind::Loss => "loss",
            FaultKind::PauseLeader => "pause-leader",
            FaultKind::KillLeader => "kill-leader",
            FaultKind::Membership => "membership",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault selection that names an unknown kind, or none.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultSetError {
    /// An unknown name.
    #[error("unknown fault kind {0:?} (known: all, none, {known})", known = known_names())]
    Unknown(String),
}

fn known_names() -> String {
    FaultKind::ALL
        .iter()
        .map(|k| k.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The fault kinds a run may use. Displays as `all`, `none`, or the names in
/// menu order joined by commas (which parses back to the same set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSet(BTreeSet<FaultKind>);

impl FaultSet {
    /// Every kind.
    pub fn all() -> Self {
        FaultSet(FaultKind::ALL.into_iter().collect())
    }

    /// No fault at all (the workload runs on a healthy cluster).
    pub fn none() -> Self {
        FaultSet(BTreeSet::new())
    }

    /// The given kinds.
    pub fn of(kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        FaultSet(kinds.into_iter().collect())
    }

    /// The kinds, in menu order.
    pub fn kinds(&self) -> Vec<FaultKind> {
        self.0.iter().copied().collect()
    }

    /// Whether `kind` is selected.
    pub fn contains(&self, kind: FaultKind) -> bool {
        self.0.contains(&kind)
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Default for FaultSet {
    fn default() -> Self {
        FaultSet::all()
    }
}

impl fmt::Display for FaultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == FaultKind::ALL.len() {
            return f.write_str("all");
        }
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.0.iter().map(|k| k.name()).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for FaultSet {
    type Err = FaultSetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => set.extend(FaultKind::ALL),
                "none" => {}
                _ => {
                    let kind = FaultKind::ALL
                        .into_iter()
                        .find(|k| k.name() == name)
                        .ok_or_else(|| FaultSetError::Unknown(name.to_string()))?;
                    set.insert(kind);
                }
            }
        }
        Ok(FaultSet(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_lists_and_none() {
        assert_eq!("all".parse::<FaultSet>(), Ok(FaultSet::all()));
        assert_eq!("none".parse::<FaultSet>(), Ok(FaultSet::none()));
        let s: FaultSet = "kill, partition,pause-leader".parse().unwrap();
        assert_eq!(
            s.kinds(),
            [
                FaultKind::Kill,
                FaultKind::Partition,
                FaultKind::PauseLeader
            ]
        );
        assert_eq!(s.to_string(), "kill,partition,pause-leader");
        assert_eq!(s.to_string().parse::<FaultSet>(), Ok(s));
        assert_eq!(FaultSet::all().to_string(), "all");
        assert_eq!(FaultSet::none().to_string(), "none");
        assert_eq!(
            "kill,bogus".parse::<FaultSet>(),
            Err(FaultSetError::Unknown("bogus".into()))
        );
    }

    #[test]
    fn every_name_is_distinct_and_round_trips() {
        for k in FaultKind::ALL {
            assert_eq!(k.name().parse::<FaultSet>(), Ok(FaultSet::of([k])));
        }
    }
}
