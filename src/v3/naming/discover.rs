//! [`Discovery`]: a target's endpoints as a [`tower::discover::Discover`].

use super::stream::UpdateStream;
use super::update::{Operation, Update};
use crate::v3::error::Result;
use futures_util::Stream;
use std::collections::{BTreeSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower::discover::Change;

/// A target's endpoints as service changes for a tower balancer (from
/// [`super::Resolver::discover`]).
///
/// A `Stream` of `Result<Change<String, S>>`, which makes it a
/// [`tower::discover::Discover`] keyed by address: every endpoint of the
/// current set, and every endpoint registered later, is a
/// [`Change::Insert`] of `make(&update)`; an endpoint deleted (or whose
/// lease ended) is a [`Change::Remove`] of its address. An endpoint
/// registered again (new metadata) is inserted again under the same
/// address, which a balancer takes as a replacement. It ends as the
/// [`UpdateStream`] under it does (an error, then nothing).
///
/// Keyed by address: two keys naming one address (not Go 3.4's layout,
/// where the key is `<target>/<addr>`) are one service, removed with the
/// first of them.
pub struct Discovery<S, F> {
    updates: UpdateStream,
    make: F,
    pending: VecDeque<Change<String, S>>,
    live: BTreeSet<String>,
}

impl<S, F> std::fmt::Debug for Discovery<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("live", &self.live)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<S, F> Discovery<S, F>
where
    F: FnMut(&Update) -> S,
{
    /// The changes of `updates`, each new endpoint made a service by `make`.
    pub fn new(updates: UpdateStream, make: F) -> Self {
        Discovery {
            updates,
            make,
            pending: VecDeque::new(),
            live: BTreeSet::new(),
        }
    }

    /// The addresses inserted and not removed so far.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.live.iter().map(String::as_str)
    }

    fn queue(&mut self, batch: Vec<Update>) {
        for u in batch {
            match u.op {
                Operation::Add => {
                    let svc = (self.make)(&u);
                    self.live.insert(u.addr.clone());
                    self.pending.push_back(Change::Insert(u.addr, svc));
                }
                Operation::Delete => {
                    if self.live.remove(&u.addr) {
                        self.pending.push_back(Change::Remove(u.addr));
                    }
                }
            }
        }
    }
}

// Nothing in it is ever pinned in place: the services are only moved out.
impl<S, F: Unpin> Unpin for Discovery<S, F> {}

impl<S, F> Stream for Discovery<S, F>
where
    F: FnMut(&Update) -> S + Unpin,
{
    type Item = Result<Change<String, S>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(change) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(change)));
            }
            match ready!(Pin::new(&mut this.updates).poll_next(cx)) {
                Some(Ok(batch)) => this.queue(batch),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}
