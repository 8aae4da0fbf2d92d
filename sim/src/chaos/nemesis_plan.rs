//! The nemesis's plan: a pure, seed-derived sequence of fault steps, and the pure
//! choices each step makes (which member, which groups, how much latency). The
//! executor ([`super::nemesis`]) applies them to a running cluster.
//!
//! Steps are bounded so the cluster can recover: one fault at a time, each held
//! for 0.5–5 s of virtual time and then undone (a paused member resumed, a killed
//! one restarted, links healed, latency and loss reset), with a pause of up to
//! 1.5 s before the next.

use super::fault_kind::{FaultKind, FaultSet};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::ops::Range;
use std::time::Duration;

/// One planned fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisStep {
    /// How long to wait before injecting it (after the previous step was undone).
    pub gap: Duration,
    /// What to inject.
    pub kind: FaultKind,
    /// How long to hold it before undoing it.
    pub hold: Duration,
    /// The seed of the step's own choices (see [`choose`], [`split_groups`],
    /// [`latency_range`], [`loss_rate`]).
    pub pick: u64,
}

/// How long faults last and how far apart they are (virtual time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisBounds {
    /// How long a fault is held.
    pub hold: Range<Duration>,
    /// The wait before each fault.
    pub gap: Range<Duration>,
}

impl Default for NemesisBounds {
    fn default() -> Self {
        NemesisBounds {
            hold: Duration::from_millis(500)..Duration::from_secs(5),
            gap: Duration::ZERO..Duration::from_millis(1500),
        }
    }
}

/// An endless, seed-derived sequence of [`NemesisStep`]s over the selected kinds.
#[derive(Debug)]
pub struct NemesisPlan {
    rng: StdRng,
    kinds: Vec<FaultKind>,
    bounds: NemesisBounds,
}

impl NemesisPlan {
    /// The plan of the run with `seed`, over `faults`.
    pub fn new(seed: u64, faults: &FaultSet, bounds: NemesisBounds) -> Self {
        NemesisPlan {
            rng: StdRng::seed_from_u64(seed ^ 0x006e_656d_6573_6973),
            kinds: faults.kinds(),
            bounds,
        }
    }

    /// The next step; `None` when no fault kind is selected.
    pub fn next_step(&mut self) -> Option<NemesisStep> {
        if self.kinds.is_empty() {
            return None;
        }
        let kind = self.kinds[self.rng.random_range(0..self.kinds.len())];
        Some(NemesisStep {
            gap: draw(&mut self.rng, &self.bounds.gap),
            kind,
            hold: draw(&mut self.rng, &self.bounds.hold),
            pick: self.rng.random(),
        })
    }
}

impl Iterator for NemesisPlan {
    type Item = NemesisStep;

    fn next(&mut self) -> Option<NemesisStep> {
        self.next_step()
    }
}

fn draw(rng: &mut StdRng, range: &Range<Duration>) -> Duration {
    if range.is_empty() {
        return range.start;
    }
    let ms = rng.random_range(range.start.as_millis()..range.end.as_millis().max(1));
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// One of `members`, chosen by `pick`; `None` when there is none.
pub fn choose(members: &[usize], pick: u64) -> Option<usize> {
    let n = u64::try_from(members.len()).ok().filter(|&n| n > 0)?;
    members.get(usize::try_from(pick % n).unwrap_or(0)).copied()
}

/// Two distinct members (`from`, `to`) for a one-way cut; `None` with fewer than two.
pub fn choose_pair(members: &[usize], pick: u64) -> Option<(usize, usize)> {
    if members.len() < 2 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(pick);
    let mut m = members.to_vec();
    m.shuffle(&mut rng);
    Some((m[0], m[1]))
}

/// `members` split into 2 or 3 non-empty groups (fewer when there are fewer
/// members), chosen by `pick`; each group sorted.
pub fn split_groups(members: &[usize], pick: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(pick);
    let mut m = members.to_vec();
    m.shuffle(&mut rng);
    let groups = if m.len() >= 3 && rng.random_bool(0.3) {
        3
    } else {
        2
    }
    .min(m.len().max(1));
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); groups];
    for (i, member) in m.into_iter().enumerate() {
        // The first `groups` members seed each group; the rest land anywhere.
        let g = if i < groups {
            i
        } else {
            rng.random_range(0..groups)
        };
        out[g].push(member);
    }
    for g in &mut out {
        g.sort_unstable();
    }
    out.sort();
    out
}

/// A one-way message latency range chosen by `pick`: from 10–50 ms up to
/// 10–300 ms (etcd's default election timeout is 1 s).
pub fn latency_range(pick: u64) -> Range<Duration> {
    let high = 50 + pick % 251;
    Duration::from_millis(10)..Duration::from_millis(high)
}

/// A packet loss rate chosen by `pick`: 5 % to 50 %.
pub fn loss_rate(pick: u64) -> f64 {
    0.05 + f64::from(u32::try_from(pick % 46).unwrap_or(0)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_seeded_and_bounded() {
        let faults = FaultSet::all();
        let a: Vec<_> = NemesisPlan::new(3, &faults, NemesisBounds::default())
            .take(200)
            .collect();
        let b: Vec<_> = NemesisPlan::new(3, &faults, NemesisBounds::default())
            .take(200)
            .collect();
        assert_eq!(a, b);
        let c: Vec<_> = NemesisPlan::new(4, &faults, NemesisBounds::default())
            .take(200)
            .collect();
        assert_ne!(a, c);
        let bounds = NemesisBounds::default();
        for s in &a {
            assert!(bounds.hold.contains(&s.hold), "{s:?}");
            assert!(bounds.gap.contains(&s.gap), "{s:?}");
        }
        let kinds: std::collections::BTreeSet<_> = a.iter().map(|s| s.kind).collect();
        assert_eq!(kinds.len(), FaultKind::ALL.len(), "every kind is drawn");
    }

    #[test]
    fn only_selected_kinds_and_none_without_any() {
        let only = FaultSet::of([FaultKind::Kill, FaultKind::Loss]);
        assert!(
            NemesisPlan::new(1, &only, NemesisBounds::default())
                .take(100)
                .all(|s| only.contains(s.kind))
        );
        assert_eq!(
            NemesisPlan::new(1, &FaultSet::none(), NemesisBounds::default()).next_step(),
            None
        );
    }

    #[test]
    fn groups_cover_every_member_once() {
        for pick in 0..200 {
            let members = [0, 1, 2, 3, 4];
            let groups = split_groups(&members, pick);
            assert!((2..=3).contains(&groups.len()), "{groups:?}");
            assert!(groups.iter().all(|g| !g.is_empty()));
            let mut all: Vec<usize> = groups.concat();
            all.sort_unstable();
            assert_eq!(all, members);
        }
        assert_eq!(split_groups(&[4], 9), vec![vec![4]]);
    }

    #[test]
    fn choices_stay_in_range() {
        assert_eq!(choose(&[], 5), None);
        assert_eq!(choose(&[7, 8], 5), Some(8));
        assert_eq!(choose_pair(&[1], 5), None);
        for pick in 0..100 {
            let (a, b) = choose_pair(&[0, 1, 2], pick).unwrap();
            assert_ne!(a, b);
            let r = latency_range(pick);
            assert!(r.start < r.end && r.end <= Duration::from_millis(300));
            let l = loss_rate(pick);
            assert!((0.05..=0.5).contains(&l), "{l}");
        }
    }
}
