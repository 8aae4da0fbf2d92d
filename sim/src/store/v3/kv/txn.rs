//! Txn execution: the compares pick a branch (for nested txns too, all at the start
//! revision), the chosen puts' lease and ignore_* conditions and the chosen ranges'
//! revisions are checked before anything is written, then every op runs in one write
//! batch so reads see earlier writes and all writes share one revision.

use etcd_sdk::v3::pb::etcdserverpb::{
    RangeRequest, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse, request_op,
    response_op,
};

use super::compare::compares_hold;
use super::error::{KvError, Result};
use super::store::KvStore;
use super::write::WriteBatch;
use super::{ChangeSet, LeaseLookup};

/// The branch a txn takes, and (in order) the paths of the nested txns in that branch.
#[derive(Debug)]
struct Path {
    succeeded: bool,
    nested: Vec<Path>,
}

impl Path {
    fn choose(store: &KvStore, req: &TxnRequest, at: i64) -> Path {
        let succeeded = compares_hold(store, &req.compare, at);
        let nested = branch(req, succeeded)
            .iter()
            .filter_map(|op| match &op.request {
                Some(request_op::Request::RequestTxn(t)) => Some(Path::choose(store, t, at)),
                _ => None,
            })
            .collect();
        Path { succeeded, nested }
    }
}

fn branch(req: &TxnRequest, succeeded: bool) -> &[RequestOp] {
    if succeeded {
        &req.success
    } else {
        &req.failure
    }
}

/// Whether a txn only reads: every op of both branches is a Range (a nested txn counts
/// as a write, as in etcd). Such txns need no Raft entry; see [`KvStore::txn_read`].
pub fn is_txn_read_only(req: &TxnRequest) -> bool {
    req.success
        .iter()
        .chain(&req.failure)
        .all(|op| matches!(op.request, Some(request_op::Request::RequestRange(_))))
}

/// Calls `f` on every non-txn op of the chosen branches, depth first.
fn visit_chosen<'r>(
    req: &'r TxnRequest,
    path: &Path,
    f: &mut dyn FnMut(&'r RequestOp) -> Result<()>,
) -> Result<()> {
    let mut nested = path.nested.iter();
    for op in branch(req, path.succeeded) {
        match &op.request {
            Some(request_op::Request::RequestTxn(t)) => {
                if let Some(p) = nested.next() {
                    visit_chosen(t, p, f)?;
                }
            }
            _ => f(op)?,
        }
    }
    Ok(())
}

fn revision_header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

impl KvStore {
    /// The checks etcd makes on a txn's chosen ranges before running it: a `revision`
    /// above the current one is [`KvError::FutureRevision`], one below the compact
    /// revision [`KvError::Compacted`] (etcd compares the raw value here, so a negative
    /// revision is "compacted" once it is below the compact revision, -1 before any
    /// compaction).
    fn check_ranges(&self, req: &TxnRequest, path: &Path) -> Result<()> {
        visit_chosen(req, path, &mut |op| match &op.request {
            Some(request_op::Request::RequestRange(r)) => self.check_range_revision(r),
            _ => Ok(()),
        })
    }

    fn check_range_revision(&self, r: &RangeRequest) -> Result<()> {
        if r.revision == 0 {
            Ok(())
        } else if r.revision > self.current_revision {
            Err(KvError::FutureRevision)
        } else if r.revision < self.compact_main {
            Err(self.compacted())
        } else {
            Ok(())
        }
    }

    /// The chosen puts' conditions: ignore_value/ignore_lease need the key now
    /// ([`KvError::KeyNotFound`]); a lease must exist ([`KvError::LeaseNotFound`]).
    fn check_puts(&self, req: &TxnRequest, path: &Path, leases: &dyn LeaseLookup) -> Result<()> {
        visit_chosen(req, path, &mut |op| {
            let Some(request_op::Request::RequestPut(p)) = &op.request else {
                return Ok(());
            };
            if (p.ignore_value || p.ignore_lease) && self.get(&p.key).is_none() {
                return Err(KvError::KeyNotFound);
            }
            if p.lease != 0 && !leases.lease_exists(p.lease) {
                return Err(KvError::LeaseNotFound);
            }
            Ok(())
        })
    }

    /// Runs a txn as one write (validated first with
    /// [`validate_txn`](super::validate_txn)). Returns the response (top-level header
    /// `None`; nested headers as etcd sets them: a nested TxnResponse gets an empty
    /// header, nested Range/Put/DeleteRange responses a header with only the revision
    /// they saw or wrote) and the change set, `None` when nothing changed (no revision
    /// bump: read-only branches, deletes of missing keys, an empty txn).
    ///
    /// Errors, all before anything is written: [`KvError::KeyNotFound`] /
    /// [`KvError::LeaseNotFound`] for a chosen put, [`KvError::FutureRevision`] /
    /// [`KvError::Compacted`] for a chosen range's revision. A put with ignore_value or
    /// ignore_lease whose key an earlier op of the same txn deleted (possible only with
    /// a from-key delete, which etcd's duplicate check lets through) fails with
    /// [`KvError::KeyNotFound`] and the txn is rolled back (etcd would crash the member).
    pub fn txn(
        &mut self,
        req: &TxnRequest,
        leases: &dyn LeaseLookup,
    ) -> Result<(TxnResponse, Option<ChangeSet>)> {
        let path = Path::choose(self, req, self.current_revision);
        if !is_txn_read_only(req) {
            self.check_puts(req, &path, leases)?;
        }
        self.check_ranges(req, &path)?;
        let mut batch = WriteBatch::new(self);
        match apply(&mut batch, req, &path) {
            Ok(resp) => Ok((resp, batch.commit())),
            Err(e) => {
                tracing::warn!(error = %e, "txn failed while applying; rolled back");
                batch.rollback();
                Err(e)
            }
        }
    }

    /// Serves a read-only txn ([`is_txn_read_only`]) without a write: `None` when the
    /// txn writes (use [`KvStore::txn`]). Same response shape as [`KvStore::txn`].
    pub fn txn_read(&self, req: &TxnRequest) -> Option<Result<TxnResponse>> {
        if !is_txn_read_only(req) {
            return None;
        }
        let at = self.current_revision;
        let path = Path::choose(self, req, at);
        if let Err(e) = self.check_ranges(req, &path) {
            return Some(Err(e));
        }
        let responses = branch(req, path.succeeded)
            .iter()
            .map(|op| match &op.request {
                Some(request_op::Request::RequestRange(r)) => {
                    self.range_at(r, at).map(|mut resp| {
                        resp.header = revision_header(at);
                        ResponseOp {
                            response: Some(response_op::Response::ResponseRange(resp)),
                        }
                    })
                }
                _ => Ok(ResponseOp { response: None }),
            })
            .collect::<Result<Vec<_>>>();
        Some(responses.map(|responses| TxnResponse {
            header: None,
            succeeded: path.succeeded,
            responses,
        }))
    }
}

/// Runs the chosen branch of `req` in `batch`.
fn apply(batch: &mut WriteBatch<'_>, req: &TxnRequest, path: &Path) -> Result<TxnResponse> {
    let mut nested = path.nested.iter();
    let mut responses = Vec::new();
    for op in branch(req, path.succeeded) {
        let response = match &op.request {
            None => None,
            Some(request_op::Request::RequestRange(r)) => {
                let mut resp = batch.store().range_at(r, batch.read_revision())?;
                resp.header = revision_header(batch.read_revision());
                Some(response_op::Response::ResponseRange(resp))
            }
            Some(request_op::Request::RequestPut(p)) => {
                let mut resp = batch.apply_put(p)?;
                resp.header = revision_header(batch.read_revision());
                Some(response_op::Response::ResponsePut(resp))
            }
            Some(request_op::Request::RequestDeleteRange(d)) => {
                let mut resp = batch.apply_delete_range(d);
                // etcd: the batch's revision if anything changed so far, else the begin one.
                resp.header = revision_header(batch.read_revision());
                Some(response_op::Response::ResponseDeleteRange(resp))
            }
            Some(request_op::Request::RequestTxn(t)) => {
                let Some(p) = nested.next() else {
                    // Path::choose made one path per nested txn of this branch.
                    return Err(KvError::KeyNotFound);
                };
                let mut resp = apply(batch, t, p)?;
                resp.header = Some(ResponseHeader::default());
                Some(response_op::Response::ResponseTxn(resp))
            }
        };
        responses.push(ResponseOp { response });
    }
    Ok(TxnResponse {
        header: None,
        succeeded: path.succeeded,
        responses,
    })
}

#[cfg(test)]
mod tests;
