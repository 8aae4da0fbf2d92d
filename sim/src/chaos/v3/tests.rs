//! The v3 checker on hand-made histories: a valid one passes, and each planted
//! bug (stale read, phantom value, lost write, revision order, duplicate
//! revision, wrong txn branch, lease read after revoke, early expiry) is caught.

use super::check::check_v3;
use super::history::*;
use super::writes::{V3WriteEvent, known_writes};
use crate::chaos::violation::ViolationKind;

/// Builds a history one operation at a time.
#[derive(Default)]
struct H {
    h: V3History,
}

fn kv(key: &str, value: &str, create: i64, m: i64, version: i64, lease: i64) -> V3KeyValue {
    V3KeyValue {
        key: key.into(),
        value: value.into(),
        create_revision: create,
        mod_revision: m,
        version,
        lease,
    }
}

impl H {
    fn op(&mut self, t: (u64, u64), request: V3Request, outcome: V3Outcome) -> &mut Self {
        let id = self.h.ops.len() as u64;
        self.h.ops.push(V3Operation {
            id,
            client: 0,
            invoke_ns: t.0,
            complete_ns: t.1,
            request,
            outcome,
        });
        self
    }

    fn put(&mut self, t: (u64, u64), key: &str, value: &str, lease: i64, rev: i64) -> &mut Self {
        self.op(
            t,
            V3Request::Put {
                key: key.into(),
                value: value.into(),
                lease,
            },
            V3Outcome::Ok(V3Response::Put {
                revision: rev,
                prev: None,
            }),
        )
    }

    fn put_unknown(&mut self, t: (u64, u64), key: &str, value: &str) -> &mut Self {
        self.op(
            t,
            V3Request::Put {
                key: key.into(),
                value: value.into(),
                lease: 0,
            },
            V3Outcome::Unknown {
                error: "context deadline exceeded".into(),
            },
        )
    }

    fn read(&mut self, t: (u64, u64), key: &str, rev: i64, kvs: Vec<V3KeyValue>) -> &mut Self {
        let count = kvs.len() as i64;
        self.op(
            t,
            V3Request::Range {
                range: V3Range::key(key),
                serializable: false,
            },
            V3Outcome::Ok(V3Response::Range {
                revision: rev,
                kvs,
                count,
            }),
        )
    }

    fn check(&self) -> super::check::V3Report {
        check_v3(&self.h)
    }
}

/// A valid history touching every kind of check.
fn good() -> H {
    let mut h = H::default();
    h.put((0, 10), "a", "c0-1", 0, 2)
        .put((5, 20), "b", "c1-1", 0, 3)
        .read((21, 30), "a", 3, vec![kv("a", "c0-1", 2, 2, 1, 0)])
        // CAS on a's mod revision: then branch, revision 4.
        .op(
            (31, 40),
            V3Request::Txn {
                compares: vec![V3Compare {
                    key: "a".into(),
                    not_equal: false,
                    target: V3CompareTarget::ModRevision { revision: 2 },
                }],
                success: vec![V3TxnOp::Put {
                    key: "a".into(),
                    value: "c0-2".into(),
                    lease: 0,
                }],
                failure: vec![],
            },
            V3Outcome::Ok(V3Response::Txn {
                revision: 4,
                succeeded: true,
                results: vec![V3TxnResult::Put {
                    prev: Some(kv("a", "c0-1", 2, 2, 1, 0)),
                }],
            }),
        )
        // An unknown put of b, seen later at revision 5.
        .put_unknown((41, 50), "b", "c1-2")
        // An unknown put nobody sees, maybe at revision 6.
        .put_unknown((51, 60), "a", "c0-3")
        .read((61, 70), "b", 6, vec![kv("b", "c1-2", 3, 5, 2, 0)])
        // A still reads c0-2 at 6: the unknown put of a did not take 6 (or
        // took it later): unexplained revision 6 is a's only if it was seen.
        .op(
            (71, 80),
            V3Request::Delete {
                range: V3Range::key("b"),
            },
            V3Outcome::Ok(V3Response::Delete {
                revision: 7,
                prev: vec![kv("b", "c1-2", 3, 5, 2, 0)],
            }),
        )
        .read((81, 90), "b", 7, vec![])
        .op(
            (91, 100),
            V3Request::LeaseGrant { ttl: 5 },
            V3Outcome::Ok(V3Response::LeaseGrant {
                revision: 7,
                id: 0x55,
                ttl: 5,
            }),
        )
        .put((101, 110), "c", "c2-1", 0x55, 8)
        .op(
            (111, 120),
            V3Request::LeaseKeepAlive { id: 0x55 },
            V3Outcome::Ok(V3Response::LeaseKeepAlive {
                revision: 8,
                ttl: 5,
            }),
        )
        .op(
            (121, 130),
            V3Request::LeaseRevoke { id: 0x55 },
            V3Outcome::Ok(V3Response::LeaseRevoke { revision: 9 }),
        )
        .read((131, 140), "c", 9, vec![])
        .op(
            (141, 150),
            V3Request::Range {
                range: V3Range::prefix(""),
                serializable: true,
            },
            V3Outcome::Ok(V3Response::Range {
                revision: 9,
                kvs: vec![kv("a", "c0-2", 2, 4, 2, 0)],
                count: 1,
            }),
        );
    h
}

fn kinds(h: &H) -> Vec<ViolationKind> {
    h.check().violations.iter().map(|v| v.kind).collect()
}

#[test]
fn a_valid_history_passes() {
    let h = good();
    let report = h.check();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.pinned, 1);
    assert_eq!(
        report.unexplained, 2,
        "revision 6: a's unknown put or nothing; 9: the revoke's, or another lease's expiry"
    );
}

#[test]
fn a_keyless_revoke_does_not_explain_away_an_expiry() {
    // Lease 0x77 has no keys: its revoke answers with the current revision,
    // 11, which lease 0x66's expiry took (deleting h).
    let mut h = good();
    h.put((200, 210), "h", "c7-1", 0x66, 10)
        .op(
            (211, 220),
            V3Request::LeaseRevoke { id: 0x77 },
            V3Outcome::Ok(V3Response::LeaseRevoke { revision: 11 }),
        )
        .read((221, 230), "h", 11, vec![]);
    let r = h.check();
    assert!(r.is_ok(), "{r}");
    // Without a lease, nothing explains h's absence.
    let put = h.h.ops.len() - 3;
    h.h.ops[put].request = V3Request::Put {
        key: "h".into(),
        value: "c7-1".into(),
        lease: 0,
    };
    assert!(!h.check().is_ok());
}

#[test]
fn known_writes_by_revision() {
    let w = known_writes(&good().h);
    assert_eq!(w.keys().copied().collect::<Vec<_>>(), [2, 3, 4, 5, 7, 8, 9]);
    assert_eq!(
        w[&5],
        [V3WriteEvent::Put {
            key: "b".into(),
            value: "c1-2".into(),
            lease: 0
        }]
    );
    assert_eq!(w[&7], [V3WriteEvent::Delete { key: "b".into() }]);
    assert_eq!(w[&9], [V3WriteEvent::LeaseRevoke { lease: 0x55 }]);
}

#[test]
fn a_stale_read_is_caught() {
    let mut h = good();
    // At revision 4, a was c0-2; a read at 5 showing c0-1 is stale.
    h.read((200, 210), "a", 9, vec![kv("a", "c0-1", 2, 2, 1, 0)]);
    let v = h.check();
    assert!(
        v.violations
            .iter()
            .any(|v| v.kind == ViolationKind::NotLinearizable && v.message.contains("stale read")),
        "{v}"
    );
}

#[test]
fn a_phantom_or_failed_value_is_caught() {
    let mut h = good();
    h.read((200, 210), "a", 9, vec![kv("a", "c9-9", 2, 9, 1, 0)]);
    assert!(kinds(&h).contains(&ViolationKind::PhantomRead));
    let mut h = good();
    h.op(
        (200, 210),
        V3Request::Put {
            key: "d".into(),
            value: "c3-1".into(),
            lease: 0,
        },
        V3Outcome::Failed {
            error: "etcdserver: no space".into(),
        },
    )
    .read((211, 220), "d", 10, vec![kv("d", "c3-1", 10, 10, 1, 0)]);
    assert!(kinds(&h).contains(&ViolationKind::PhantomRead));
}

#[test]
fn a_lost_acknowledged_write_is_caught() {
    let mut h = good();
    h.put((200, 210), "e", "c4-1", 0, 10)
        .read((211, 220), "e", 10, vec![]);
    let r = h.check();
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("lost write")),
        "{r}"
    );
}

#[test]
fn revision_order_and_duplicates_are_caught() {
    let mut h = good();
    // Invoked after revision 9 was acknowledged, answered at 3.
    h.read((200, 210), "a", 3, vec![kv("a", "c0-1", 2, 2, 1, 0)]);
    assert!(kinds(&h).contains(&ViolationKind::StaleIndex));
    let mut h = good();
    h.put((200, 210), "f", "c5-1", 0, 9);
    let k = kinds(&h);
    assert!(
        k.contains(&ViolationKind::DuplicateIndex) || k.contains(&ViolationKind::WriteIndexOrder),
        "{k:?}"
    );
    let mut h = good();
    h.put((200, 210), "f", "c5-1", 0, 10)
        .put((5, 300), "f", "c5-2", 0, 10);
    assert!(kinds(&h).contains(&ViolationKind::DuplicateIndex));
}

#[test]
fn a_txn_on_the_wrong_branch_is_caught() {
    let mut h = good();
    // g's mod revision is 10 at revision 10, yet the CAS on 10 took its else
    // branch.
    h.put((200, 210), "g", "c6-1", 0, 10).op(
        (211, 220),
        V3Request::Txn {
            compares: vec![V3Compare {
                key: "g".into(),
                not_equal: false,
                target: V3CompareTarget::ModRevision { revision: 10 },
            }],
            success: vec![V3TxnOp::Put {
                key: "g".into(),
                value: "c6-2".into(),
                lease: 0,
            }],
            failure: vec![],
        },
        V3Outcome::Ok(V3Response::Txn {
            revision: 10,
            succeeded: false,
            results: vec![],
        }),
    );
    let r = h.check();
    assert!(
        r.violations
            .iter()
            .any(|v| v.message.contains("else branch")),
        "{r}"
    );
}

#[test]
fn a_key_read_after_its_lease_was_revoked_is_caught() {
    let mut h = good();
    h.read((200, 210), "c", 9, vec![kv("c", "c2-1", 8, 8, 1, 0x55)]);
    let r = h.check();
    assert!(
        r.violations.iter().any(|v| v.message.contains("revoke")),
        "{r}"
    );
}

#[test]
fn a_kept_alive_lease_that_expires_early_is_caught() {
    let mut h = H::default();
    h.op(
        (0, 10),
        V3Request::LeaseGrant { ttl: 5 },
        V3Outcome::Ok(V3Response::LeaseGrant {
            revision: 1,
            id: 7,
            ttl: 5,
        }),
    )
    .op(
        (3_000_000_000, 3_000_000_010),
        V3Request::LeaseKeepAlive { id: 7 },
        V3Outcome::Ok(V3Response::LeaseKeepAlive {
            revision: 1,
            ttl: 5,
        }),
    )
    // 6 s after the grant, 3 s after the keepalive: still alive.
    .op(
        (6_000_000_000, 6_000_000_010),
        V3Request::LeaseKeepAlive { id: 7 },
        V3Outcome::Ok(V3Response::LeaseNotFound),
    );
    let r = h.check();
    assert!(
        r.violations.iter().any(|v| v.message.contains("not found")),
        "{r}"
    );
    // 9 s after the keepalive it may be gone.
    h.h.ops[2].invoke_ns = 9_000_000_000;
    h.h.ops[2].complete_ns = 9_000_000_010;
    assert!(h.check().is_ok());
}
