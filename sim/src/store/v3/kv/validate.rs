//! The request checks etcd runs before Raft (in its gRPC handlers), in etcd's order.
//! Lease existence is not checked here; it is checked at apply.

use std::collections::BTreeSet;

use etcd_sdk::v3::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, request_op,
};

use super::error::{KvError, Result};

/// etcd's default `--max-txn-ops`.
pub const DEFAULT_MAX_TXN_OPS: usize = 128;

/// A RangeRequest needs a key.
pub fn validate_range(req: &RangeRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(KvError::KeyNotProvided);
    }
    Ok(())
}

/// A PutRequest needs a key; `ignore_value` forbids a value and `ignore_lease` a lease.
pub fn validate_put(req: &PutRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(KvError::KeyNotProvided);
    }
    if req.ignore_value && !req.value.is_empty() {
        return Err(KvError::ValueProvided);
    }
    if req.ignore_lease && req.lease != 0 {
        return Err(KvError::LeaseProvided);
    }
    Ok(())
}

/// A DeleteRangeRequest needs a key.
pub fn validate_delete_range(req: &DeleteRangeRequest) -> Result<()> {
    if req.key.is_empty() {
        return Err(KvError::KeyNotProvided);
    }
    Ok(())
}

/// Validates a TxnRequest as etcd does, in this order:
/// 1. the longest of compare/success/failure above `max_txn_ops` →
///    [`KvError::TooManyOps`];
/// 2. every compare key non-empty, then every success op, then every failure op (each
///    as its own request; an op with nothing set is [`KvError::KeyNotFound`]); a nested
///    txn is checked the same way against `max_txn_ops` minus the enclosing txn's
///    longest list;
/// 3. the duplicate-key check, for the success list and then the failure list: two
///    puts of one key, or a put inside a delete's range (same level, nested or
///    enclosing), are [`KvError::DuplicateKey`]; overlapping deletes are allowed, and so
///    is one key put in both branches of a nested txn.
pub fn validate_txn(req: &TxnRequest, max_txn_ops: usize) -> Result<()> {
    check_txn(req, i64::try_from(max_txn_ops).unwrap_or(i64::MAX))?;
    check_intervals(&req.success)?;
    check_intervals(&req.failure)?;
    Ok(())
}

fn check_txn(req: &TxnRequest, max_ops: i64) -> Result<()> {
    let longest = req
        .compare
        .len()
        .max(req.success.len())
        .max(req.failure.len()) as i64;
    if longest > max_ops {
        return Err(KvError::TooManyOps);
    }
    if req.compare.iter().any(|c| c.key.is_empty()) {
        return Err(KvError::KeyNotProvided);
    }
    for op in req.success.iter().chain(&req.failure) {
        check_op(op, max_ops - longest)?;
    }
    Ok(())
}

fn check_op(op: &RequestOp, max_ops: i64) -> Result<()> {
    match &op.request {
        Some(request_op::Request::RequestRange(r)) => validate_range(r),
        Some(request_op::Request::RequestPut(p)) => validate_put(p),
        Some(request_op::Request::RequestDeleteRange(d)) => validate_delete_range(d),
        Some(request_op::Request::RequestTxn(t)) => check_txn(t, max_ops),
        None => Err(KvError::KeyNotFound),
    }
}

/// A delete's key interval as etcd's duplicate check sees it: `[key, key + "\0")` for
/// one key, else `[key, range_end)` compared as plain bytes. etcd gives `"\0"` no
/// special meaning here, so a from-key delete (`range_end == "\0"`) covers nothing and
/// never collides with a put.
#[derive(Clone, Debug)]
struct DeleteInterval {
    start: Vec<u8>,
    end: Vec<u8>,
}

impl DeleteInterval {
    fn new(key: &[u8], range_end: &[u8]) -> Self {
        let end = if range_end.is_empty() {
            let mut e = key.to_vec();
            e.push(0);
            e
        } else {
            range_end.to_vec()
        };
        DeleteInterval {
            start: key.to_vec(),
            end,
        }
    }

    fn covers(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && key < self.end.as_slice()
    }
}

fn any_covers(dels: &[DeleteInterval], key: &[u8]) -> bool {
    dels.iter().any(|d| d.covers(key))
}

/// etcd's overlap check for one list of ops; returns the keys it puts and the
/// intervals it deletes (its own and its nested txns') for the enclosing level.
fn check_intervals(ops: &[RequestOp]) -> Result<(BTreeSet<Vec<u8>>, Vec<DeleteInterval>)> {
    // This level's deletes first, so nested puts are checked against them.
    let mut dels: Vec<DeleteInterval> = ops
        .iter()
        .filter_map(|op| match &op.request {
            Some(request_op::Request::RequestDeleteRange(d)) => {
                Some(DeleteInterval::new(&d.key, &d.range_end))
            }
            _ => None,
        })
        .collect();

    // Nested txns: their puts join this level's, their deletes this level's deletes.
    let mut puts: BTreeSet<Vec<u8>> = BTreeSet::new();
    for op in ops {
        let Some(request_op::Request::RequestTxn(t)) = &op.request else {
            continue;
        };
        let (puts_then, dels_then) = check_intervals(&t.success)?;
        let (puts_else, dels_else) = check_intervals(&t.failure)?;
        for k in &puts_then {
            if puts.contains(k) || any_covers(&dels, k) {
                return Err(KvError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in &puts_else {
            // A key put by this txn's other branch is fine: only one branch runs.
            if puts.contains(k) && !puts_then.contains(k) {
                return Err(KvError::DuplicateKey);
            }
            if any_covers(&dels, k) {
                return Err(KvError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }

    // This level's puts.
    for op in ops {
        let Some(request_op::Request::RequestPut(p)) = &op.request else {
            continue;
        };
        if puts.contains(&p.key) || any_covers(&dels, &p.key) {
            return Err(KvError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

#[cfg(test)]
mod tests;
