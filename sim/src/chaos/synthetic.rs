//! Valid concurrent histories from a seed, for the checkers' tests and benchmark.
//!
//! Clients issue operations back to back over a small key set; each operation
//! takes effect at a random point of its interval on a simulated store that
//! behaves like etcd's v2 keys (one index per change, `prevNode` on the writes
//! that report it), so the history is linearizable by construction. A few percent
//! of the operations fail (never applied) or end unknown (applied at a random
//! time, possibly after the client gave up, or never). Local reads sometimes
//! return an older value of the key. Watchers see the changes of the keys they
//! watch from their start index on, in order.

use super::history::{
    FaultEntry, History, Op, Operation, Outcome, Response, RunInfo, WatchEvent, WatchRecord,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// The shape of a synthetic history.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    /// Seed of the generator.
    pub seed: u64,
    /// Operations in total.
    pub ops: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Keys `/k0`, `/k1`, ... (plus the directory `/q` for create-in-order).
    pub keys: usize,
    /// Fraction of operations that end unknown.
    pub unknown: f64,
    /// Fraction of operations that fail.
    pub failed: f64,
    /// Watchers.
    pub watchers: usize,
    /// Fault entries to annotate the history with (the generator injects none:
    /// they only decorate timelines).
    pub faults: usize,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 1,
            ops: 1000,
            clients: 8,
            keys: 10,
            unknown: 0.03,
            failed: 0.03,
            watchers: 4,
            faults: 0,
        }
    }
}

const MS: u64 = 1_000_000;
/// The directory create-in-order posts to.
pub const QUEUE_DIR: &str = "/q";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    LocalGet,
    Set,
    Create,
    Cas,
    Cad,
    Delete,
    Post,
}

fn pick_kind(rng: &mut StdRng) -> Kind {
    match rng.random_range(0..100) {
        0..30 => Kind::Get,
        30..36 => Kind::LocalGet,
        36..58 => Kind::Set,
        58..66 => Kind::Create,
        66..82 => Kind::Cas,
        82..88 => Kind::Cad,
        88..95 => Kind::Delete,
        _ => Kind::Post,
    }
}

enum Fate {
    Definite,
    Failed,
    /// Unknown; applied at the given time, or never.
    Unknown(Option<u64>),
}

struct Planned {
    client: usize,
    invoke: u64,
    complete: u64,
    /// When it takes effect (for a definite one: inside its interval).
    at: u64,
    kind: Kind,
    key: String,
    fate: Fate,
}

/// One change the store made.
struct Change {
    index: u64,
    action: &'static str,
    key: String,
    value: Option<String>,
    at: u64,
}

#[derive(Default)]
struct Store {
    index: u64,
    /// key -> (value, modifiedIndex)
    keys: BTreeMap<String, (String, u64)>,
    /// Every value a key held, with its index, oldest first.
    past: BTreeMap<String, Vec<(String, u64)>>,
    changes: Vec<Change>,
}

impl Store {
    fn write(&mut self, key: &str, value: Option<String>, action: &'static str, at: u64) -> u64 {
        self.index += 1;
        let index = self.index;
        match &value {
            Some(v) => {
                self.keys.insert(key.to_string(), (v.clone(), index));
                self.past
                    .entry(key.to_string())
                    .or_default()
                    .push((v.clone(), index));
            }
            None => {
                self.keys.remove(key);
            }
        }
        self.changes.push(Change {
            index,
            action,
            key: key.to_string(),
            value,
            at,
        });
        index
    }
}

fn done(value: Option<String>, prev: Option<String>, key: &str, mi: u64, ei: u64) -> Outcome {
    Outcome::Ok(Response::Done {
        value,
        prev,
        node_key: key.to_string(),
        modified_index: mi,
        etcd_index: ei,
    })
}

/// Applies one operation at its point; returns it and its definite response.
fn apply(rng: &mut StdRng, store: &mut Store, p: &Planned, id: u64) -> (Op, Outcome) {
    let key = p.key.clone();
    let value = format!("v{id}");
    let current = store.keys.get(&key).cloned();
    // A comparison value: usually the current one, sometimes an old or absent one.
    let mut prev_guess = || match (&current, rng.random_bool(0.7)) {
        (Some((v, _)), true) => v.clone(),
        _ => store
            .past
            .get(&key)
            .filter(|p| !p.is_empty())
            .map(|p| p[rng.random_range(0..p.len())].0.clone())
            .unwrap_or_else(|| format!("never-{id}")),
    };
    let idx = store.index;
    match p.kind {
        Kind::Get | Kind::LocalGet => {
            let quorum = p.kind == Kind::Get;
            let op = Op::Get {
                key: key.clone(),
                quorum,
            };
            let read = if !quorum && rng.random_bool(0.3) {
                // A stale local read: any earlier value of the key.
                store
                    .past
                    .get(&key)
                    .filter(|p| !p.is_empty())
                    .map(|p| p[rng.random_range(0..p.len())].clone())
            } else {
                current
            };
            let outcome = match read {
                Some((v, mi)) => done(Some(v), None, &key, mi, if quorum { idx } else { mi }),
                None => Outcome::Ok(Response::NotFound { index: idx }),
            };
            (op, outcome)
        }
        Kind::Set => {
            let op = Op::Set {
                key: key.clone(),
                value: value.clone(),
            };
            let mi = store.write(&key, Some(value.clone()), "set", p.at);
            (op, done(Some(value), current.map(|c| c.0), &key, mi, mi))
        }
        Kind::Create => {
            let op = Op::Create {
                key: key.clone(),
                value: value.clone(),
            };
            if current.is_some() {
                return (op, Outcome::Ok(Response::AlreadyExists { index: idx }));
            }
            let mi = store.write(&key, Some(value.clone()), "create", p.at);
            (op, done(Some(value), None, &key, mi, mi))
        }
        Kind::Cas => {
            let prev = prev_guess();
            let op = Op::CompareAndSwap {
                key: key.clone(),
                prev: prev.clone(),
                value: value.clone(),
            };
            match current {
                None => (op, Outcome::Ok(Response::NotFound { index: idx })),
                Some((c, _)) if c != prev => {
                    (op, Outcome::Ok(Response::CompareFailed { index: idx }))
                }
                Some(_) => {
                    let mi = store.write(&key, Some(value.clone()), "compareAndSwap", p.at);
                    (op, done(Some(value), Some(prev), &key, mi, mi))
                }
            }
        }
        Kind::Cad => {
            let prev = prev_guess();
            let op = Op::CompareAndDelete {
                key: key.clone(),
                prev: prev.clone(),
            };
            match current {
                None => (op, Outcome::Ok(Response::NotFound { index: idx })),
                Some((c, _)) if c != prev => {
                    (op, Outcome::Ok(Response::CompareFailed { index: idx }))
                }
                Some(_) => {
                    let mi = store.write(&key, None, "compareAndDelete", p.at);
                    (op, done(None, Some(prev), &key, mi, mi))
                }
            }
        }
        Kind::Delete => {
            let op = Op::Delete { key: key.clone() };
            match current {
                None => (op, Outcome::Ok(Response::NotFound { index: idx })),
                Some((c, _)) => {
                    let mi = store.write(&key, None, "delete", p.at);
                    (op, done(None, Some(c), &key, mi, mi))
                }
            }
        }
        Kind::Post => {
            let op = Op::CreateInOrder {
                dir: QUEUE_DIR.to_string(),
                value: value.clone(),
            };
            let node_key = format!("{QUEUE_DIR}/{:020}", idx + 1);
            let mi = store.write(&node_key, Some(value.clone()), "create", p.at);
            (op, done(Some(value), None, &node_key, mi, mi))
        }
    }
}

fn plan(cfg: &SyntheticConfig, rng: &mut StdRng) -> Vec<Planned> {
    let clients = cfg.clients.max(1);
    let mut free_at = vec![0u64; clients];
    let mut planned = Vec::with_capacity(cfg.ops);
    for n in 0..cfg.ops {
        let client = n % clients;
        let invoke = free_at[client] + rng.random_range(0..2 * MS);
        let duration = rng.random_range(MS / 2..10 * MS);
        let complete = invoke + duration;
        free_at[client] = complete;
        let at = invoke + rng.random_range(0..=duration);
        let roll: f64 = rng.random();
        let fate = if roll < cfg.unknown {
            // Applied late (up to three intervals after the call) or never.
            let late = invoke + rng.random_range(0..=3 * duration);
            Fate::Unknown(rng.random_bool(0.5).then_some(late))
        } else if roll < cfg.unknown + cfg.failed {
            Fate::Failed
        } else {
            Fate::Definite
        };
        let kind = pick_kind(rng);
        let key = format!("/k{}", rng.random_range(0..cfg.keys.max(1)));
        planned.push(Planned {
            client,
            invoke,
            complete,
            at,
            kind,
            key,
            fate,
        });
    }
    planned.sort_by_key(|p| (p.invoke, p.client));
    planned
}

fn watchers(cfg: &SyntheticConfig, rng: &mut StdRng, store: &Store, end: u64) -> Vec<WatchRecord> {
    let mut out = Vec::new();
    for id in 0..cfg.watchers as u64 {
        let (key, recursive) = match rng.random_range(0..4) {
            0 => ("/".to_string(), true),
            1 => (QUEUE_DIR.to_string(), true),
            _ => (format!("/k{}", rng.random_range(0..cfg.keys.max(1))), false),
        };
        let start_index = rng.random_range(1..=store.index.max(1));
        let stop_index = rng.random_range(start_index..=store.index.max(start_index));
        let covered = |k: &str| {
            k == key
                || (recursive
                    && (key == "/" || k.strip_prefix(&key).is_some_and(|r| r.starts_with('/'))))
        };
        let mut received = 0u64;
        let events: Vec<WatchEvent> = store
            .changes
            .iter()
            .filter(|c| c.index >= start_index && c.index <= stop_index && covered(&c.key))
            .map(|c| {
                received = received.max(c.at + rng.random_range(0..MS));
                WatchEvent {
                    action: c.action.to_string(),
                    key: c.key.clone(),
                    value: c.value.clone(),
                    modified_index: c.index,
                    received_ns: received,
                }
            })
            .collect();
        let started_ns = store
            .changes
            .iter()
            .find(|c| c.index >= start_index)
            .map_or(0, |c| c.at.saturating_sub(MS));
        out.push(WatchRecord {
            id,
            client: id as usize % cfg.clients.max(1),
            key,
            recursive,
            start_index,
            started_ns,
            ended_ns: received.max(started_ns).max(end.min(received + 50 * MS)),
            end: "run finished".into(),
            events,
        });
    }
    out
}

/// Decorative fault entries, alternating a fault and its heal.
fn fault_notes(cfg: &SyntheticConfig, rng: &mut StdRng, end: u64) -> Vec<FaultEntry> {
    let menu = [
        ("pause", "pause m1", "resume", "resume m1"),
        ("kill", "kill m2", "restart", "restart m2"),
        ("partition", "partition [m0] [m1 m2]", "heal", "heal all"),
        (
            "clog",
            "clog link m0 -> m2",
            "unclog",
            "unclog link m0 -> m2",
        ),
    ];
    let mut times: Vec<u64> = (0..cfg.faults).map(|_| rng.random_range(0..=end)).collect();
    times.sort_unstable();
    times
        .iter()
        .enumerate()
        .map(|(n, &at_ns)| {
            let (k, w, hk, hw) = menu[(n / 2) % menu.len()];
            let (kind, what) = if n % 2 == 0 { (k, w) } else { (hk, hw) };
            FaultEntry {
                at_ns,
                kind: kind.into(),
                what: what.into(),
            }
        })
        .collect()
}

/// Generates a valid history of `cfg.ops` operations.
pub fn generate(cfg: &SyntheticConfig) -> History {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let planned = plan(cfg, &mut rng);
    // Apply in the order the operations take effect; ids are in invocation order.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    let effect_time = |p: &Planned| match p.fate {
        Fate::Definite => p.at,
        Fate::Unknown(Some(t)) => t,
        Fate::Failed | Fate::Unknown(None) => p.at,
    };
    order.sort_by_key(|&i| (effect_time(&planned[i]), i));
    let mut store = Store::default();
    let mut results: Vec<Option<(Op, Outcome)>> = vec![None; planned.len()];
    for i in order {
        let p = &planned[i];
        let id = i as u64;
        let (op, outcome) = match p.fate {
            Fate::Definite => apply(&mut rng, &mut store, p, id),
            Fate::Unknown(Some(_)) => {
                let (op, _) = apply(&mut rng, &mut store, p, id);
                let error = "timed out (synthetic: took effect)".to_string();
                (op, Outcome::Unknown { error })
            }
            Fate::Unknown(None) | Fate::Failed => {
                // Not applied: the request is made as if at its point, then dropped.
                let mut scratch = Store {
                    index: store.index,
                    keys: store.keys.clone(),
                    past: BTreeMap::new(),
                    changes: Vec::new(),
                };
                let (op, _) = apply(&mut rng, &mut scratch, p, id);
                let outcome = match p.fate {
                    Fate::Failed => Outcome::Failed {
                        error: "connection refused (synthetic)".into(),
                    },
                    _ => Outcome::Unknown {
                        error: "timed out (synthetic: never applied)".into(),
                    },
                };
                (op, outcome)
            }
        };
        results[i] = Some((op, outcome));
    }
    let ops: Vec<Operation> = planned
        .iter()
        .zip(results)
        .enumerate()
        .filter_map(|(i, (p, r))| {
            let (op, outcome) = r?;
            Some(Operation {
                id: i as u64,
                client: p.client,
                endpoint: Some(p.client % 3),
                invoke_ns: p.invoke,
                complete_ns: p.complete,
                op,
                outcome,
            })
        })
        .collect();
    let end = ops.iter().map(|o| o.complete_ns).max().unwrap_or(0);
    let watches = watchers(cfg, &mut rng, &store, end);
    let faults = fault_notes(cfg, &mut rng, end);
    History {
        info: RunInfo {
            seed: cfg.seed,
            nodes: 3,
            clients: cfg.clients,
            faults: "none (synthetic)".into(),
            unsafe_mode: None,
            replay: format!("synthetic::generate(seed {}, {} ops)", cfg.seed, cfg.ops),
        },
        ops,
        watches,
        faults,
    }
}

/// Makes one (the last possible) quorum read return a value overwritten before the read began, with
/// the index that value's write got (so only the linearizability check can
/// tell), proving a checker is not vacuous. Returns the read's id, or `None` when
/// no read qualifies.
pub fn inject_stale_read(h: &mut History) -> Option<u64> {
    let done = |o: &Operation| match &o.outcome {
        Outcome::Ok(Response::Done {
            value,
            modified_index,
            ..
        }) => Some((value.clone(), *modified_index)),
        _ => None,
    };
    for r in (0..h.ops.len()).rev() {
        let read = &h.ops[r];
        if !matches!(read.op, Op::Get { quorum: true, .. }) || done(read).is_none() {
            continue;
        }
        let key = read.op.key().to_string();
        // w2 overwrote the key and completed before the read began; w1 wrote a
        // value and completed before w2 began.
        let writes: Vec<&Operation> = h
            .ops
            .iter()
            .filter(|o| o.op.key() == key && o.op.is_write() && o.complete_ns < read.invoke_ns)
            .filter(|o| done(o).is_some())
            .collect();
        let found = writes.iter().find_map(|w2| {
            writes.iter().find_map(|w1| {
                let (Some(v1), mi1) = done(w1)? else {
                    return None;
                };
                (w1.complete_ns < w2.invoke_ns && w1.id != w2.id).then_some((v1, mi1))
            })
        });
        if let Some((stale, mi)) = found {
            let id = read.id;
            if let Outcome::Ok(Response::Done {
                value,
                modified_index,
                ..
            }) = &mut h.ops[r].outcome
            {
                *value = Some(stale);
                *modified_index = mi;
            }
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::check::{CheckOptions, ViolationKind, check};

    #[test]
    fn generated_histories_pass_every_check() {
        for seed in 0..20 {
            let cfg = SyntheticConfig {
                seed,
                ops: 400,
                ..SyntheticConfig::default()
            };
            let h = generate(&cfg);
            assert_eq!(h.ops.len(), 400);
            let report = check(&h, &CheckOptions::default());
            assert!(
                report.is_ok() && report.is_conclusive(),
                "seed {seed}: {report}"
            );
            assert!(report.watch_events > 0, "seed {seed}: watchers saw nothing");
        }
    }

    #[test]
    fn generation_is_deterministic() {
        let cfg = SyntheticConfig::default();
        assert_eq!(generate(&cfg), generate(&cfg));
    }

    #[test]
    fn one_stale_read_makes_a_generated_history_fail() {
        for seed in 0..20 {
            let cfg = SyntheticConfig {
                seed,
                ops: 400,
                watchers: 0,
                ..SyntheticConfig::default()
            };
            let mut h = generate(&cfg);
            let id = inject_stale_read(&mut h).expect("a read to make stale");
            let report = check(&h, &CheckOptions::default());
            let v = report
                .violations
                .iter()
                .find(|v| v.kind == ViolationKind::NotLinearizable)
                .unwrap_or_else(|| panic!("seed {seed}: stale read #{id} not caught: {report}"));
            assert!(
                v.ops.contains(&id),
                "seed {seed}: witness without #{id}: {report}"
            );
            assert!(v.ops.len() <= 6, "seed {seed}: witness not small: {report}");
        }
    }
}
