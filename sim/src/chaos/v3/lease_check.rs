//! The lease checks:
//! - no put attaches a lease after that lease's acknowledged revoke (a put
//!   known at a revision above the revoke's);
//! - (with the KV checks: no key attached to a lease is read at a revision
//!   after the lease's revoke);
//! - a kept-alive lease never expires early: an answer "requested lease not
//!   found" for a lease, when the lease's grant or last acknowledged keepalive
//!   was invoked less than its TTL before that answer came back and no revoke
//!   of it had been sent, is a violation.

use super::history::{V3History, V3Request, V3Response};
use super::writes::Rebuilt;
use crate::chaos::violation::{Violation, ViolationKind};
use std::collections::BTreeMap;

fn violation(message: String, ops: Vec<u64>) -> Violation {
    Violation {
        kind: ViolationKind::NotLinearizable,
        key: None,
        message,
        ops,
        watches: Vec::new(),
        sub_history: String::new(),
        context: Vec::new(),
    }
}

/// A lease's TTL in ns and its renewals: `(invoke, complete, op)` of the
/// grant and of every acknowledged keepalive.
type Renewals = (u64, Vec<(u64, u64, u64)>);

/// The lease a request names, if any.
fn lease_of(req: &V3Request) -> Option<i64> {
    match req {
        V3Request::LeaseRevoke { id } | V3Request::LeaseKeepAlive { id } => Some(*id),
        V3Request::Put { lease, .. } if *lease != 0 => Some(*lease),
        V3Request::Txn { .. } => req.puts().into_iter().map(|(_, _, l)| l).find(|l| *l != 0),
        _ => None,
    }
}

/// Every lease violation of `history`.
pub fn check_leases(history: &V3History, b: &Rebuilt) -> Vec<Violation> {
    let mut out = Vec::new();
    for (key, puts) in &b.puts {
        for (r, put) in puts {
            if put.lease == 0 {
                continue;
            }
            if let Some(&(revoked, revoke)) = b.revokes.get(&put.lease)
                && *r > revoked
            {
                out.push(violation(
                    format!(
                        "operation {} put {key} with lease {:x} at revision {r}, after the lease's revoke (operation {revoke}) at revision {revoked}",
                        put.op, put.lease
                    ),
                    vec![revoke, put.op],
                ));
            }
        }
    }
    // Lease -> (ttl in ns, [(invoke, complete, op)] of the grant and every
    // acknowledged keepalive).
    let mut renewals: BTreeMap<i64, Renewals> = BTreeMap::new();
    let mut first_revoke: BTreeMap<i64, u64> = BTreeMap::new();
    for op in &history.ops {
        match (&op.request, op.response()) {
            (V3Request::LeaseGrant { .. }, Some(V3Response::LeaseGrant { id, ttl, .. })) => {
                let ttl_ns = u64::try_from(*ttl)
                    .unwrap_or(0)
                    .saturating_mul(1_000_000_000);
                renewals.entry(*id).or_insert((ttl_ns, Vec::new())).1.push((
                    op.invoke_ns,
                    op.complete_ns,
                    op.id,
                ));
            }
            (V3Request::LeaseKeepAlive { id }, Some(V3Response::LeaseKeepAlive { ttl, .. }))
                if *ttl > 0 =>
            {
                if let Some(e) = renewals.get_mut(id) {
                    e.1.push((op.invoke_ns, op.complete_ns, op.id));
                }
            }
            (V3Request::LeaseRevoke { id }, _) => {
                let t = first_revoke.entry(*id).or_insert(op.invoke_ns);
                *t = (*t).min(op.invoke_ns);
            }
            _ => {}
        }
    }
    for op in &history.ops {
        if op.response() != Some(&V3Response::LeaseNotFound) {
            continue;
        }
        let Some(lease) = lease_of(&op.request) else {
            continue;
        };
        let Some((ttl, renewed)) = renewals.get(&lease) else {
            continue;
        };
        if first_revoke
            .get(&lease)
            .is_some_and(|&t| t < op.complete_ns)
        {
            continue;
        }
        let latest = renewed
            .iter()
            .filter(|(_, done, _)| *done <= op.invoke_ns)
            .max_by_key(|(invoked, _, _)| *invoked);
        if let Some(&(invoked, _, by)) = latest
            && op.complete_ns < invoked.saturating_add(*ttl)
        {
            out.push(violation(
                format!(
                    "lease {lease:x} was not found by operation {} at {} ms, although operation {by} renewed it at {} ms with a TTL of {} s",
                    op.id,
                    op.complete_ns / 1_000_000,
                    invoked / 1_000_000,
                    ttl / 1_000_000_000
                ),
                vec![by, op.id],
            ));
        }
    }
    out
}
