//! The workload's operations, drawn from a seed: which kinds of operation a run
//! favours ([`OpMix`]) and what each client asks next ([`OpGenerator`]).
//!
//! Everything here is pure: the same seed gives the same mix and, for each
//! client, the same sequence of operation choices, whatever the scheduling. (The
//! values a compare-and-swap expects come from what the client last saw, so they
//! do depend on the run.)

use super::history::Op;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// The kinds of operation the workload issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// `GET quorum=true`.
    GetQuorum,
    /// `GET` from the member's local store.
    GetLocal,
    /// Unconditional `PUT`.
    Set,
    /// `PUT prevExist=false`.
    Create,
    /// `PUT prevValue=...`.
    CompareAndSwap,
    /// `DELETE prevValue=...`.
    CompareAndDelete,
    /// Unconditional `DELETE`.
    Delete,
    /// `POST` into the queue directory.
    CreateInOrder,
}

impl OpKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OpKind; 8] = [
        OpKind::GetQuorum,
        OpKind::GetLocal,
        OpKind::Set,
        OpKind::Create,
        OpKind::CompareAndSwap,
        OpKind::CompareAndDelete,
        OpKind::Delete,
        OpKind::CreateInOrder,
    ];
}

/// Relative weights of the operation kinds in one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpMix {
    /// `(kind, weight)`; weights are positive.
    pub weights: Vec<(OpKind, u32)>,
}

impl OpMix {
    /// A mix drawn from `seed`: quorum reads and compare-and-swaps weigh 4–12,
    /// every other kind 1–6, so each run leans a different way but every kind
    /// appears.
    pub fn from_seed(seed: u64) -> OpMix {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x006f_706d_6978);
        let weights = OpKind::ALL
            .iter()
            .map(|&k| {
                let w = match k {
                    OpKind::GetQuorum | OpKind::CompareAndSwap => rng.random_range(4..=12),
                    _ => rng.random_range(1..=6),
                };
                (k, w)
            })
            .collect();
        OpMix { weights }
    }

    /// Picks a kind with probability proportional to its weight.
    pub fn pick(&self, rng: &mut impl Rng) -> OpKind {
        let total: u32 = self.weights.iter().map(|(_, w)| w).sum();
        let mut x = rng.random_range(0..total.max(1));
        for &(k, w) in &self.weights {
            if x < w {
                return k;
            }
            x -= w;
        }
        OpKind::GetQuorum
    }
}

/// One client's source of operations: its own RNG (from the run seed and the
/// client's number), the keys, and the values it last saw per key (so that
/// compare-and-swap and compare-and-delete often hold the right expectation).
#[derive(Debug)]
pub struct OpGenerator {
    client: usize,
    rng: StdRng,
    mix: OpMix,
    keys: Vec<String>,
    queue_dir: String,
    seq: u64,
    last_seen: BTreeMap<String, String>,
}

impl OpGenerator {
    /// The generator of client `client` in the run with `seed`.
    pub fn new(seed: u64, client: usize, keys: Vec<String>, queue_dir: String) -> Self {
        let stream = seed
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(client as u64 + 1);
        OpGenerator {
            client,
            rng: StdRng::seed_from_u64(stream),
            mix: OpMix::from_seed(seed),
            keys,
            queue_dir,
            seq: 0,
            last_seen: BTreeMap::new(),
        }
    }

    /// A fresh value, unique in the run: `c<client>-<seq>`.
    fn value(&mut self) -> String {
        self.seq += 1;
        format!("c{}-{}", self.client, self.seq)
    }

    /// The value this client expects `key` to hold: usually the one it last saw,
    /// sometimes (or when it saw none) another client's plausible value.
    fn expected(&mut self, key: &str) -> String {
        match self.last_seen.get(key) {
            Some(v) if self.rng.random_bool(0.8) => v.clone(),
            _ => format!(
                "c{}-{}",
                self.rng.random_range(0..8),
                self.rng.random_range(1..=self.seq.max(1) + 1)
            ),
        }
    }

    /// Draws a number in `0..n` from the client's RNG (think times, choices).
    pub fn draw(&mut self, n: u64) -> u64 {
        self.rng.random_range(0..n.max(1))
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        let kind = self.mix.pick(&mut self.rng);
        let i = self.rng.random_range(0..self.keys.len().max(1));
        let key = self
            .keys
            .get(i)
            .cloned()
            .unwrap_or_else(|| "/chaos/k0".into());
        match kind {
            OpKind::GetQuorum => Op::Get { key, quorum: true },
            OpKind::GetLocal => Op::Get { key, quorum: false },
            OpKind::Set => Op::Set {
                value: self.value(),
                key,
            },
            OpKind::Create => Op::Create {
                value: self.value(),
                key,
            },
            OpKind::CompareAndSwap => Op::CompareAndSwap {
                prev: self.expected(&key),
                value: self.value(),
                key,
            },
            OpKind::CompareAndDelete => Op::CompareAndDelete {
                prev: self.expected(&key),
                key,
            },
            OpKind::Delete => Op::Delete { key },
            OpKind::CreateInOrder => Op::CreateInOrder {
                dir: self.queue_dir.clone(),
                value: self.value(),
            },
        }
    }

    /// Tells the generator what `key` holds as far as this client knows (`None`:
    /// absent or unknown).
    pub fn observe(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.last_seen.insert(key.to_string(), v.to_string());
            }
            None => {
                self.last_seen.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        (0..5).map(|i| format!("/chaos/k{i}")).collect()
    }

    fn ops(seed: u64, client: usize, n: usize) -> Vec<Op> {
        let mut g = OpGenerator::new(seed, client, keys(), "/chaos-queue".into());
        (0..n).map(|_| g.next_op()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_operations() {
        assert_eq!(ops(7, 1, 200), ops(7, 1, 200));
        assert_ne!(ops(7, 1, 200), ops(8, 1, 200));
        assert_ne!(ops(7, 1, 200), ops(7, 2, 200));
    }

    #[test]
    fn every_kind_appears_and_values_are_unique() {
        let all = ops(3, 4, 2000);
        let mut kinds = std::collections::BTreeSet::new();
        let mut values = std::collections::BTreeSet::new();
        for op in &all {
            kinds.insert(format!("{:?}", std::mem::discriminant(op)));
            let written = match op {
                Op::Set { value, .. }
                | Op::Create { value, .. }
                | Op::CompareAndSwap { value, .. }
                | Op::CreateInOrder { value, .. } => Some(value.clone()),
                _ => None,
            };
            if let Some(v) = written {
                assert!(v.starts_with("c4-"), "{v}");
                assert!(values.insert(v.clone()), "value {v} written twice");
            }
            if let Op::Get { key, .. } = op {
                assert!(keys().contains(key));
            }
        }
        assert_eq!(kinds.len(), 7, "Get covers both quorum and local reads");
        assert!(
            all.iter()
                .any(|o| matches!(o, Op::Get { quorum: false, .. }))
        );
        assert!(
            all.iter()
                .any(|o| matches!(o, Op::Get { quorum: true, .. }))
        );
    }

    #[test]
    fn compare_and_swap_mostly_expects_what_the_client_saw() {
        let mut g = OpGenerator::new(11, 0, vec!["/chaos/k0".into()], "/q".into());
        g.observe("/chaos/k0", Some("c9-1"));
        let mut hits = 0;
        let mut cas = 0;
        for _ in 0..2000 {
            if let Op::CompareAndSwap { prev, .. } = g.next_op() {
                cas += 1;
                hits += usize::from(prev == "c9-1");
            }
        }
        assert!(cas > 100, "{cas}");
        assert!(hits * 10 > cas * 6, "{hits}/{cas}");
        g.observe("/chaos/k0", None);
        assert!(g.last_seen.is_empty());
    }

    #[test]
    fn mix_weights_are_positive_and_seeded() {
        let m = OpMix::from_seed(5);
        assert_eq!(m.weights.len(), OpKind::ALL.len());
        assert!(m.weights.iter().all(|(_, w)| *w > 0));
        assert_eq!(m, OpMix::from_seed(5));
    }
}
