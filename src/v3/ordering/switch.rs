//! Go's `NewOrderViolationSwitchEndpointClosure`: retry a stale read on the
//! next endpoints, and give up after five rounds of them.

use super::super::client::Client;
use super::super::error::{Error, Result};
use super::super::kv::OpResponse;
use super::super::op::Op;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The standard violation function for an [`super::Kv`] over `client`
/// (Go's `NewOrderViolationSwitchEndpointClosure`): each stale answer is
/// retried, and since the client sends each attempt to the next endpoint
/// round-robin, the retry goes to another member. After more than five
/// violations per endpoint (counted over the function's whole life, as in
/// Go: it is never reset) it fails with [`Error::NoGreaterRev`]: no member
/// has caught up.
pub fn switch_endpoint_on_violation(
    client: Client,
) -> impl Fn(&Op, &OpResponse, i64) -> Result<()> + Send + Sync + 'static {
    violation_budget(move || client.endpoints().len())
}

/// A violation function that lets through up to `5 × endpoints() + 1`
/// violations and then fails each with [`Error::NoGreaterRev`]
/// ([`switch_endpoint_on_violation`] with the endpoint count given as a
/// function, for KVs other than [`Client`]).
pub fn violation_budget<E>(
    endpoints: E,
) -> impl Fn(&Op, &OpResponse, i64) -> Result<()> + Send + Sync + 'static
where
    E: Fn() -> usize + Send + Sync + 'static,
{
    let violations = AtomicUsize::new(0);
    move |_: &Op, _: &OpResponse, prev_rev: i64| {
        let seen = violations.load(Ordering::SeqCst);
        if seen > 5 * endpoints() {
            tracing::warn!(prev_rev, seen, "ordering: no member caught up");
            return Err(Error::NoGreaterRev);
        }
        violations.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
