//! [`UpdateStream`]: a target's endpoint set, then its changes.

use super::update::{Operation, Update};
use crate::v3::error::Result;
use crate::v3::watch::{EventType, WatchResponse, WatchStream};
use futures_util::Stream;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// The endpoints of a target as batches of [`Update`]s (from
/// [`super::Resolver::watch`]; Go's `naming.Watcher.Next`).
///
/// - The first batch is the set at the time of the watch: one
///   [`Operation::Add`] per endpoint, in key order (empty when there is
///   none).
/// - Then one batch per watch response with changes: an add for each put
///   (a new endpoint, or new metadata for a known one), a delete for each
///   endpoint key deleted, whether by a delete, a revoked lease or an
///   expired one. A delete carries the address and metadata the endpoint
///   had. Keys whose value is not an update are skipped (a warning is
///   logged), as Go skips them.
/// - No change is missed or repeated between the first batch and the
///   watch: the watch starts at the revision after the read.
/// - An error ends the stream after it is yielded: the watch was compacted
///   past (read the set again), cancelled by the server, or the client was
///   closed. A member that fails is not an error: the client's watch
///   resumes on another one without a gap.
pub struct UpdateStream {
    first: Option<Vec<Update>>,
    events: WatchStream,
    /// The endpoints known now, by key: what a delete removes.
    known: BTreeMap<Vec<u8>, Update>,
    done: bool,
}

impl std::fmt::Debug for UpdateStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateStream")
            .field("known", &self.known.len())
            .field("done", &self.done)
            .finish()
    }
}

impl UpdateStream {
    pub(crate) fn new(first: Vec<Update>, keys: Vec<Vec<u8>>, events: WatchStream) -> Self {
        let known = keys.into_iter().zip(first.iter().cloned()).collect();
        UpdateStream {
            first: Some(first),
            events,
            known,
            done: false,
        }
    }

    /// The endpoint set the batches yielded so far add up to (the first
    /// batch's before anything is yielded), in key order.
    pub fn endpoints(&self) -> Vec<Update> {
        self.known.values().cloned().collect()
    }

    /// The changes of one watch response.
    fn changes(&mut self, resp: WatchResponse) -> Vec<Update> {
        let mut batch = Vec::new();
        for ev in resp.events {
            match ev.kind {
                EventType::Put => match Update::from_json(&ev.kv.value) {
                    Ok(mut u) => {
                        u.op = Operation::Add;
                        self.known.insert(ev.kv.key, u.clone());
                        batch.push(u);
                    }
                    Err(e) => tracing::warn!(
                        key = %String::from_utf8_lossy(&ev.kv.key),
                        error = %e,
                        "naming: skipping a value that is not an endpoint"
                    ),
                },
                EventType::Delete => {
                    // Only what was added can go; a key whose value was never
                    // an endpoint goes silently.
                    if let Some(mut gone) = self.known.remove(&ev.kv.key) {
                        gone.op = Operation::Delete;
                        batch.push(gone);
                    }
                }
            }
        }
        batch
    }
}

impl Stream for UpdateStream {
    type Item = Result<Vec<Update>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.events).poll_next(cx)) {
                Some(Ok(resp)) => {
                    let batch = this.changes(resp);
                    if !batch.is_empty() {
                        return Poll::Ready(Some(Ok(batch)));
                    }
                }
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}
