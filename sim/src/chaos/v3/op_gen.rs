//! What each v3 workload client asks next, drawn from the seed: puts (some
//! with a lease), linearizable and serializable ranges (one key or a prefix),
//! deletes (one key or a prefix), txns (CAS on mod revision, on value,
//! create-if-absent, multi-key compare and put), lease grant / keepalive /
//! revoke, and compaction at an observed revision.
//!
//! Pure: the same seed and client give the same choices; the values a compare
//! expects come from what the client last saw, so they depend on the run.
//! Every put writes a value unique in the run (`c<client>-<n>`).

use super::history::{
    V3Compare, V3CompareTarget, V3Outcome, V3Range, V3Request, V3Response, V3TxnOp, V3TxnResult,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// The prefix every workload key lives under.
pub const KEY_PREFIX: &str = "v3chaos/";

/// The kinds of request, with their weights.
const MIX: &[(Kind, u32)] = &[
    (Kind::Put, 14),
    (Kind::PutLease, 5),
    (Kind::RangeKey, 14),
    (Kind::RangePrefix, 6),
    (Kind::RangeSerializable, 6),
    (Kind::Delete, 4),
    (Kind::DeletePrefix, 1),
    (Kind::CasMod, 10),
    (Kind::CasValue, 5),
    (Kind::Create, 3),
    (Kind::MultiKey, 5),
    (Kind::Grant, 3),
    (Kind::KeepAlive, 4),
    (Kind::Revoke, 2),
    (Kind::Compact, 1),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Put,
    PutLease,
    RangeKey,
    RangePrefix,
    RangeSerializable,
    Delete,
    DeletePrefix,
    CasMod,
    CasValue,
    Create,
    MultiKey,
    Grant,
    KeepAlive,
    Revoke,
    Compact,
}

/// One client's source of requests.
#[derive(Debug)]
pub struct V3OpGenerator {
    client: usize,
    rng: StdRng,
    keys: Vec<String>,
    next_value: u64,
    /// Key -> (value, mod revision) last seen; absent when last seen missing.
    seen: BTreeMap<String, Option<(String, i64)>>,
    /// Leases this client was granted and has not revoked.
    leases: Vec<i64>,
    /// The highest header revision seen.
    revision: i64,
}

impl V3OpGenerator {
    /// Client `client` of the run with `seed`, over `keys` keys.
    pub fn new(seed: u64, client: usize, keys: usize) -> Self {
        let stream =
            seed ^ 0x0076_3363_6861_6f73 ^ (client as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        V3OpGenerator {
            client,
            rng: StdRng::seed_from_u64(stream),
            keys: (0..keys.max(2))
                .map(|i| format!("{KEY_PREFIX}k{i}"))
                .collect(),
            next_value: 0,
            seen: BTreeMap::new(),
            leases: Vec::new(),
            revision: 0,
        }
    }

    /// A number below `bound` (at least 1).
    pub fn draw(&mut self, bound: u64) -> u64 {
        self.rng.random_range(0..bound.max(1))
    }

    fn value(&mut self) -> String {
        self.next_value += 1;
        format!("c{}-{}", self.client, self.next_value)
    }

    fn key(&mut self) -> String {
        let i = self.rng.random_range(0..self.keys.len());
        self.keys[i].clone()
    }

    fn two_keys(&mut self) -> (String, String) {
        let a = self.rng.random_range(0..self.keys.len());
        let b = (a + self.rng.random_range(1..self.keys.len())) % self.keys.len();
        (self.keys[a].clone(), self.keys[b].clone())
    }

    fn seen_mod(&self, key: &str) -> i64 {
        match self.seen.get(key) {
            Some(Some((_, m))) => *m,
            _ => 0,
        }
    }

    fn lease(&mut self) -> Option<i64> {
        if self.leases.is_empty() {
            None
        } else {
            let i = self.rng.random_range(0..self.leases.len());
            Some(self.leases[i])
        }
    }

    fn pick(&mut self) -> Kind {
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for &(k, w) in MIX {
            if x < w {
                return k;
            }
            x -= w;
        }
        Kind::Put
    }

    /// The next request.
    pub fn next_request(&mut self) -> V3Request {
        match self.pick() {
            Kind::Put => V3Request::Put {
                key: self.key(),
                value: self.value(),
                lease: 0,
            },
            Kind::PutLease => match self.lease() {
                Some(lease) => V3Request::Put {
                    key: self.key(),
                    value: self.value(),
                    lease,
                },
                None => V3Request::LeaseGrant {
                    ttl: self.rng.random_range(3..=8),
                },
            },
            Kind::RangeKey => V3Request::Range {
                range: V3Range::key(self.key()),
                serializable: false,
            },
            Kind::RangePrefix => V3Request::Range {
                range: V3Range::prefix(KEY_PREFIX),
                serializable: false,
            },
            Kind::RangeSerializable => {
                let range = if self.rng.random_bool(0.5) {
                    V3Range::key(self.key())
                } else {
                    V3Range::prefix(KEY_PREFIX)
                };
                V3Request::Range {
                    range,
                    serializable: true,
                }
            }
            Kind::Delete => V3Request::Delete {
                range: V3Range::key(self.key()),
            },
            Kind::DeletePrefix => V3Request::Delete {
                range: V3Range::prefix(KEY_PREFIX),
            },
            Kind::CasMod => {
                let key = self.key();
                let revision = self.seen_mod(&key);
                V3Request::Txn {
                    compares: vec![V3Compare {
                        key: key.clone(),
                        not_equal: false,
                        target: V3CompareTarget::ModRevision { revision },
                    }],
                    success: vec![V3TxnOp::Put {
                        key,
                        value: self.value(),
                        lease: 0,
                    }],
                    failure: Vec::new(),
                }
            }
            Kind::CasValue => {
                let (key, other) = self.two_keys();
                let value = match self.seen.get(&key) {
                    Some(Some((v, _))) => v.clone(),
                    _ => String::from("none"),
                };
                V3Request::Txn {
                    compares: vec![V3Compare {
                        key: key.clone(),
                        not_equal: false,
                        target: V3CompareTarget::Value { value },
                    }],
                    success: vec![V3TxnOp::Put {
                        key,
                        value: self.value(),
                        lease: 0,
                    }],
                    failure: vec![V3TxnOp::Put {
                        key: other,
                        value: self.value(),
                        lease: 0,
                    }],
                }
            }
            Kind::Create => {
                let (key, other) = self.two_keys();
                V3Request::Txn {
                    compares: vec![V3Compare {
                        key: key.clone(),
                        not_equal: false,
                        target: V3CompareTarget::Version { version: 0 },
                    }],
                    success: vec![V3TxnOp::Put {
                        key,
                        value: self.value(),
                        lease: self.lease().unwrap_or(0),
                    }],
                    failure: vec![V3TxnOp::Delete {
                        range: V3Range::key(other),
                    }],
                }
            }
            Kind::MultiKey => {
                let (a, b) = self.two_keys();
                let (ra, rb) = (self.seen_mod(&a), self.seen_mod(&b));
                V3Request::Txn {
                    compares: vec![
                        V3Compare {
                            key: a.clone(),
                            not_equal: false,
                            target: V3CompareTarget::ModRevision { revision: ra },
                        },
                        V3Compare {
                            key: b.clone(),
                            not_equal: false,
                            target: V3CompareTarget::ModRevision { revision: rb },
                        },
                    ],
                    success: vec![
                        V3TxnOp::Put {
                            key: a,
                            value: self.value(),
                            lease: 0,
                        },
                        V3TxnOp::Put {
                            key: b,
                            value: self.value(),
                            lease: 0,
                        },
                    ],
                    failure: Vec::new(),
                }
            }
            Kind::Grant => V3Request::LeaseGrant {
                ttl: self.rng.random_range(3..=8),
            },
            Kind::KeepAlive => match self.lease() {
                Some(id) => V3Request::LeaseKeepAlive { id },
                None => V3Request::Range {
                    range: V3Range::key(self.key()),
                    serializable: false,
                },
            },
            Kind::Revoke => match self.lease() {
                Some(id) => {
                    self.leases.retain(|l| *l != id);
                    V3Request::LeaseRevoke { id }
                }
                None => V3Request::LeaseGrant {
                    ttl: self.rng.random_range(3..=8),
                },
            },
            Kind::Compact => {
                if self.revision > 20 {
                    let back = self.rng.random_range(5..=15);
                    V3Request::Compact {
                        revision: self.revision - back,
                    }
                } else {
                    V3Request::Range {
                        range: V3Range::prefix(KEY_PREFIX),
                        serializable: false,
                    }
                }
            }
        }
    }

    /// The next request of the liveness phase: a put or a linearizable range.
    pub fn next_liveness_request(&mut self) -> V3Request {
        if self.rng.random_bool(0.5) {
            V3Request::Put {
                key: self.key(),
                value: self.value(),
                lease: 0,
            }
        } else {
            V3Request::Range {
                range: V3Range::key(self.key()),
                serializable: false,
            }
        }
    }

    /// Learns from a request's outcome what the keys and leases hold.
    pub fn observe(&mut self, request: &V3Request, outcome: &V3Outcome) {
        let resp = match outcome {
            V3Outcome::Ok(r) => r,
            V3Outcome::Unknown { .. } => {
                for (key, _, _) in request.puts() {
                    self.seen.remove(key);
                }
                return;
            }
            V3Outcome::Failed { .. } => return,
        };
        if let Some(r) = resp.revision() {
            self.revision = self.revision.max(r);
        }
        match (request, resp) {
            (V3Request::Range { range, .. }, V3Response::Range { kvs, .. }) => {
                if !range.prefix && kvs.is_empty() {
                    self.seen.insert(range.key.clone(), None);
                }
                for kv in kvs {
                    self.seen
                        .insert(kv.key.clone(), Some((kv.value.clone(), kv.mod_revision)));
                }
            }
            (V3Request::Put { key, value, .. }, V3Response::Put { revision, .. }) => {
                self.seen
                    .insert(key.clone(), Some((value.clone(), *revision)));
            }
            (V3Request::Delete { .. }, V3Response::Delete { prev, .. }) => {
                for kv in prev {
                    self.seen.insert(kv.key.clone(), None);
                }
            }
            (
                V3Request::Txn {
                    success, failure, ..
                },
                V3Response::Txn {
                    revision,
                    succeeded,
                    results,
                },
            ) => {
                let branch = if *succeeded { success } else { failure };
                for (op, result) in branch.iter().zip(results) {
                    match (op, result) {
                        (V3TxnOp::Put { key, value, .. }, _) => {
                            self.seen
                                .insert(key.clone(), Some((value.clone(), *revision)));
                        }
                        (V3TxnOp::Delete { .. }, V3TxnResult::Delete { prev }) => {
                            for kv in prev {
                                self.seen.insert(kv.key.clone(), None);
                            }
                        }
                        _ => {}
                    }
                }
            }
            (V3Request::LeaseGrant { .. }, V3Response::LeaseGrant { id, .. }) => {
                self.leases.push(*id);
            }
            (req, V3Response::LeaseNotFound) => {
                let gone: Vec<i64> = match req {
                    V3Request::LeaseKeepAlive { id } | V3Request::LeaseRevoke { id } => vec![*id],
                    other => other.puts().into_iter().map(|(_, _, l)| l).collect(),
                };
                self.leases.retain(|l| !gone.contains(l));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_requests_and_values_are_unique() {
        let mut a = V3OpGenerator::new(9, 1, 5);
        let mut b = V3OpGenerator::new(9, 1, 5);
        let mut values = std::collections::BTreeSet::new();
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let (x, y) = (a.next_request(), b.next_request());
            assert_eq!(x, y);
            for (_, v, _) in x.puts() {
                assert!(values.insert(v.to_string()), "{v} twice");
            }
            if let V3Request::LeaseGrant { .. } = x {
                a.observe(
                    &x,
                    &V3Outcome::Ok(V3Response::LeaseGrant {
                        revision: 1,
                        id: 77,
                        ttl: 5,
                    }),
                );
                b.observe(
                    &x,
                    &V3Outcome::Ok(V3Response::LeaseGrant {
                        revision: 1,
                        id: 77,
                        ttl: 5,
                    }),
                );
            }
            kinds.insert(serde_json::to_value(&x).unwrap()["type"].to_string());
        }
        assert_eq!(kinds.len(), 7, "every request type appears");
        assert_ne!(
            V3OpGenerator::new(9, 2, 5).next_request(),
            V3OpGenerator::new(9, 1, 5).next_request()
        );
    }

    #[test]
    fn compares_follow_what_was_seen() {
        let mut g = V3OpGenerator::new(1, 0, 2);
        let put = V3Request::Put {
            key: format!("{KEY_PREFIX}k0"),
            value: "x".into(),
            lease: 0,
        };
        g.observe(
            &put,
            &V3Outcome::Ok(V3Response::Put {
                revision: 42,
                prev: None,
            }),
        );
        assert_eq!(g.seen_mod(&format!("{KEY_PREFIX}k0")), 42);
        g.observe(&put, &V3Outcome::Unknown { error: "t".into() });
        assert_eq!(g.seen_mod(&format!("{KEY_PREFIX}k0")), 0);
    }
}
