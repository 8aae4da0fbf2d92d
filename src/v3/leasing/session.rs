//! [`Sessions`]: the leasing KV's session (Go's `monitorSession`): a lease
//! kept alive, to which every lease key this client takes is attached.
//! When the lease is lost the cache is dropped (the lease keys went with
//! it) and a new session is made, retried until it succeeds or the KV is
//! closed; calls that need a session wait for it meanwhile.

use super::LeasingClient;
use super::cache::Cache;
use super::latch::Latch;
use crate::v3::concurrency::{self, Session, SessionOptions};
use crate::v3::error::{Error, Result};
use crate::v3::lease::LeaseId;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The pause between two failed attempts at a new session.
const RETRY: Duration = Duration::from_millis(500);

struct Current<C> {
    session: Option<Session<C>>,
    /// Opens when `session` is set.
    ready: Arc<Latch>,
}

/// The current session, if any, and how to wait for one.
pub(crate) struct Sessions<C> {
    current: Mutex<Current<C>>,
    opts: SessionOptions,
}

/// A concurrency error as a client error: the session's own calls fail
/// with client errors; a context that ended maps to its client equivalent.
pub(crate) fn client_error(e: concurrency::Error) -> Error {
    match e {
        concurrency::Error::Client(e) => e,
        concurrency::Error::DeadlineExceeded => Error::Timeout,
        other => {
            tracing::debug!(error = %other, "leasing: session ended");
            Error::Closed
        }
    }
}

impl<C: LeasingClient> Sessions<C> {
    /// Makes the first session (with `opts`, as every later one).
    pub(crate) async fn start(client: C, opts: SessionOptions, cache: &Cache) -> Result<Self> {
        let s = Session::with_options(client, opts.clone())
            .await
            .map_err(client_error)?;
        cache.start(s.lease());
        Ok(Sessions {
            current: Mutex::new(Current {
                session: Some(s),
                ready: Latch::opened(),
            }),
            opts,
        })
    }

    fn current(&self) -> MutexGuard<'_, Current<C>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lease of a live session (Go's `readySession` + `leaseID`).
    pub(crate) fn ready(&self) -> Option<LeaseId> {
        let c = self.current();
        c.session
            .as_ref()
            .filter(|s| !s.is_done())
            .map(Session::lease)
    }

    /// The current session's lease, waiting for a session if there is none
    /// (Go's `waitSession`); [`Error::Closed`] once `closed` opens.
    pub(crate) async fn wait(&self, closed: &Latch) -> Result<LeaseId> {
        loop {
            if closed.is_open() {
                return Err(Error::Closed);
            }
            let ready = {
                let c = self.current();
                if let Some(s) = &c.session {
                    return Ok(s.lease());
                }
                c.ready.clone()
            };
            tokio::select! {
                biased;
                _ = closed.wait() => return Err(Error::Closed),
                _ = ready.wait() => {}
            }
        }
    }

    /// The current session, if any (to close it).
    pub(crate) fn take(&self) -> Option<Session<C>> {
        self.current().session.take()
    }

    /// Watches the session until `closed` opens: when its lease is lost,
    /// drops the cache and makes a new one.
    pub(crate) async fn monitor(&self, client: C, cache: &Cache, closed: &Latch) {
        loop {
            let done = match &self.current().session {
                Some(s) => s.done(),
                None => return,
            };
            tokio::select! {
                biased;
                _ = closed.wait() => return,
                _ = done => {}
            }
            {
                let mut c = self.current();
                if c.session.is_none() {
                    // Taken by close.
                    return;
                }
                tracing::debug!("leasing: session lost; dropping the cache");
                c.session = None;
                c.ready = Latch::closed();
                cache.reset();
            }
            let s = loop {
                let made = tokio::select! {
                    biased;
                    _ = closed.wait() => return,
                    made = Session::with_options(client.clone(), self.opts.clone()) => made,
                };
                match made {
                    Ok(s) => break s,
                    Err(e) => {
                        tracing::debug!(error = %e, "leasing: new session failed; retrying");
                        tokio::select! {
                            biased;
                            _ = closed.wait() => return,
                            _ = tokio::time::sleep(RETRY) => {}
                        }
                    }
                }
            };
            if closed.is_open() {
                // Closed while it was being made: release it at once.
                if let Err(e) = s.close().await {
                    tracing::debug!(error = %e, "leasing: revoking a late session failed");
                }
                return;
            }
            let mut c = self.current();
            cache.start(s.lease());
            c.session = Some(s);
            c.ready.open();
        }
    }
}
