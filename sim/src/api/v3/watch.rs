//! The `etcdserverpb.Watch` service (etcd's `v3rpc/watch.go`) over the watchable
//! store (`crate::store::v3::watch`, whose "How the server drives it" this
//! follows). One gRPC stream is one store stream, served by two tasks:
//!
//! - the receive task applies create / cancel / progress requests in order under
//!   the stores lock, and stops reading while the stream's control backlog is at
//!   [`CTRL_STREAM_BUF_LEN`] (etcd's `ctrlStream` buffer);
//! - the send task loops: wait for the backend's write activity, a request, the
//!   sync interval (while watchers are unsynced), the victim retry interval (while
//!   victims wait) or the stream's progress ticker; then, under the lock, sync the
//!   unsynced watchers, tick progress when due, poll the stream and retry victims;
//!   then send each response with the member's ids and term (the store's revision
//!   is kept: 0 on a compaction cancel). When a sync or victim retry moved
//!   watchers (possibly of other streams), it signals the activity so that their
//!   streams poll too.
//!
//! The stream ends when the client goes away (both tasks stop, the store stream
//! is closed) or its requests fail; a client that only half-closes keeps
//! receiving. With `hasleader: true` and no leader the call is refused at open,
//! and ended with Unavailable "etcdserver: no leader" when the leader stays
//! unknown (see [`super::metadata`]).
//!
//! Auth: each create is checked against the stream's `token` (READ on the key
//! or range; a from-key watch is checked on its key alone, as etcd does). A
//! refused create is answered at once with a created-and-canceled response
//! (watch id -1) whose cancel reason is the printed gRPC error, as etcd sends it.
//!
//! [`WatchService::open`] is the core: it takes any request stream and returns
//! the response stream; the gRPC method is a thin wrapper over it.

use super::auth_info::{CertCommonName, Credentials, auth_info, check_read};
use super::error::no_leader;
use super::header::{at_revision, stamp_ids};
use super::learner::{Rpc, check_learner};
use super::metadata::{NO_LEADER_CHECK_INTERVAL, check_leader, leader_lost, requires_leader};
use crate::auth::v3::AuthError;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_state::V3Stores;
use crate::store::v3::watch::{
    CTRL_STREAM_BUF_LEN, SYNC_INTERVAL, StreamId, VICTIM_RETRY_INTERVAL, WatchError,
    progress_notify_interval,
};
use etcd_sdk::v3::pb::etcdserverpb::watch_request::RequestUnion;
use etcd_sdk::v3::pb::etcdserverpb::watch_server::Watch;
use etcd_sdk::v3::pb::etcdserverpb::{
    ResponseHeader, WatchCreateRequest, WatchRequest, WatchResponse,
};
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::{self, Request, Response, Status, Streaming};
use futures_util::{Stream, StreamExt as _};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// Responses buffered between the send task and gRPC before the send task waits
/// for the client (the store's queue and victims bound the rest).
const OUT_BUFFER: usize = 16;

/// The stream a Watch call answers with.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send + 'static>>;

/// The Watch service of one member.
#[derive(Clone)]
pub struct WatchService {
    backend: Arc<dyn V3Backend>,
    /// How often `hasleader` streams check for a leader.
    leader_check: std::time::Duration,
}

/// What the receive task tells the send task.
#[derive(Default)]
struct Signals {
    /// A request was applied: poll now.
    wake: Notify,
    /// The request stream failed: the call is over.
    stop: AtomicBool,
}

fn lock(stores: &Mutex<V3Stores>) -> MutexGuard<'_, V3Stores> {
    stores.lock().unwrap_or_else(|p| p.into_inner())
}

impl WatchService {
    /// The Watch service over `backend`.
    pub fn new(backend: Arc<dyn V3Backend>) -> WatchService {
        WatchService {
            backend,
            leader_check: NO_LEADER_CHECK_INTERVAL,
        }
    }

    /// Opens one watch stream over `requests` (after the `hasleader` check on
    /// `meta`) and returns its responses.
    ///
    /// # Errors
    ///
    /// Unavailable "etcdserver: no leader" when `meta` requires a leader and none
    /// is known; Unavailable "etcdserver: rpc not supported for learner" on a
    /// learner.
    pub fn open<S>(&self, meta: &MetadataMap, requests: S) -> Result<WatchStream, Status>
    where
        S: Stream<Item = Result<WatchRequest, Status>> + Send + 'static,
    {
        self.open_as(meta, None, requests)
    }

    /// As [`WatchService::open`], for a stream whose connection's client
    /// certificate names `cert` (`--client-cert-auth`: the user of its
    /// requests without a token).
    ///
    /// # Errors
    ///
    /// As [`WatchService::open`].
    pub fn open_as<S>(
        &self,
        meta: &MetadataMap,
        cert: Option<CertCommonName>,
        requests: S,
    ) -> Result<WatchStream, Status>
    where
        S: Stream<Item = Result<WatchRequest, Status>> + Send + 'static,
    {
        check_learner(self.backend.as_ref(), Rpc::Other)?;
        check_leader(meta, self.backend.as_ref())?;
        let stores = self.backend.v3_stores();
        let stream = lock(&stores).watch.open_stream();
        let period = progress_notify_interval(
            self.backend.limits().watch_progress_notify_interval,
            rand::random::<f64>(),
        );
        let (tx, rx) = mpsc::channel(OUT_BUFFER);
        let signals = Arc::new(Signals::default());
        tokio::spawn(receive(
            self.backend.clone(),
            (meta.clone(), cert),
            stream,
            Box::pin(requests),
            tx.clone(),
            signals.clone(),
        ));
        let lost = leader_lost(
            requires_leader(meta),
            self.backend.clone(),
            self.leader_check,
        );
        tokio::spawn(send(
            self.backend.clone(),
            stream,
            tx,
            signals,
            period,
            lost,
        ));
        Ok(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )))
    }
}

/// Applies one request to the store stream.
fn apply_request(
    stores: &mut V3Stores,
    stream: StreamId,
    req: WatchRequest,
) -> Result<(), WatchError> {
    let V3Stores { kv, watch, .. } = stores;
    match req.request_union {
        Some(RequestUnion::CreateRequest(c)) => watch.create(stream, &c, kv).map(|_| ()),
        Some(RequestUnion::CancelRequest(c)) => watch.cancel(stream, c.watch_id, kv).map(|_| ()),
        Some(RequestUnion::ProgressRequest(_)) => watch.progress_request(stream, kv),
        // etcd ignores a request with nothing set.
        None => Ok(()),
    }
}

/// The cancel reason of a create refused by auth: the printed gRPC error
/// (`rpc error: code = … desc = …`) etcd puts there.
fn refusal_reason(e: &AuthError) -> String {
    let typed = match e {
        AuthError::InvalidAuthToken | AuthError::AuthOldRevision | AuthError::UserEmpty => e,
        _ => &AuthError::PermissionDenied,
    };
    let status = super::auth_info::auth_status(typed);
    format!(
        "rpc error: code = {} desc = {}",
        go_code_name(status.code()),
        status.message()
    )
}

/// grpc-go's name of a code, as its errors print it.
fn go_code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::InvalidArgument => "InvalidArgument",
        tonic::Code::Unauthenticated => "Unauthenticated",
        _ => "PermissionDenied",
    }
}

/// Whether the caller of `meta` may watch what `create` asks for (etcd's
/// `isWatchPermitted`, after its key normalization).
async fn watch_permitted(
    backend: &dyn V3Backend,
    creds: Credentials<'_>,
    create: &WatchCreateRequest,
) -> Result<(), AuthError> {
    let who = auth_info(creds, backend).await?;
    let key: &[u8] = if create.key.is_empty() {
        &[0]
    } else {
        &create.key
    };
    let range_end: &[u8] = if create.range_end == [0] {
        &[]
    } else {
        &create.range_end
    };
    let stores = backend.v3_stores();
    check_read(&lock(&stores), who.as_ref(), key, range_end)
}

/// The receive task: requests in order, paused while the control backlog is full.
async fn receive(
    backend: Arc<dyn V3Backend>,
    (meta, cert): (MetadataMap, Option<CertCommonName>),
    stream: StreamId,
    mut requests: Pin<Box<dyn Stream<Item = Result<WatchRequest, Status>> + Send>>,
    tx: mpsc::Sender<Result<WatchResponse, Status>>,
    signals: Arc<Signals>,
) {
    let stores = backend.v3_stores();
    loop {
        while lock(&stores).watch.control_backlog(stream) >= CTRL_STREAM_BUF_LEN {
            tokio::select! {
                biased;
                _ = tx.closed() => return,
                _ = tokio::time::sleep(VICTIM_RETRY_INTERVAL) => {}
            }
        }
        let next = tokio::select! {
            biased;
            _ = tx.closed() => return,
            next = requests.next() => next,
        };
        match next {
            Some(Ok(req)) => {
                if let Some(RequestUnion::CreateRequest(c)) = &req.request_union
                    && let Err(e) = watch_permitted(
                        backend.as_ref(),
                        Credentials::with_common_name(&meta, cert.as_ref().map(|c| c.0.as_str())),
                        c,
                    )
                    .await
                {
                    let revision = lock(&stores).kv.current_revision();
                    let resp = WatchResponse {
                        header: at_revision(&backend.header(), revision),
                        watch_id: -1,
                        created: true,
                        canceled: true,
                        cancel_reason: refusal_reason(&e),
                        ..Default::default()
                    };
                    if tx.send(Ok(resp)).await.is_err() {
                        return;
                    }
                    continue;
                }
                if apply_request(&mut lock(&stores), stream, req).is_err() {
                    return;
                }
                signals.wake.notify_one();
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, "watch: request stream failed");
                signals.stop.store(true, Ordering::SeqCst);
                signals.wake.notify_one();
                return;
            }
            // Half-closed: the responses go on.
            None => return,
        }
    }
}

/// What one pass of the send task found.
struct Pass {
    responses: Vec<WatchResponse>,
    /// A sync or victim retry moved watchers: other streams may have responses.
    moved: bool,
    unsynced: bool,
    victims: bool,
    /// This stream has responses queued already (victims moved into it).
    more: bool,
}

/// One pass under the lock: sync, progress tick, poll, retry victims.
fn pass(stores: &mut V3Stores, stream: StreamId, progress_due: bool) -> Result<Pass, WatchError> {
    let V3Stores { kv, watch, .. } = stores;
    let before = watch.unsynced_count();
    let mut count = before;
    while count > 0 {
        let after = watch.sync_unsynced(kv);
        if after >= count {
            break;
        }
        count = after;
    }
    if progress_due {
        watch.progress_tick(stream, kv)?;
    }
    let responses = watch.poll(stream)?;
    let retried = watch.retry_victims(kv);
    Ok(Pass {
        responses,
        moved: count < before || retried > 0,
        unsynced: watch.unsynced_count() > 0,
        victims: watch.victim_count() > 0,
        more: watch.queued(stream) > 0,
    })
}

/// The send task: see the module docs. Closes the store stream when it ends.
async fn send(
    backend: Arc<dyn V3Backend>,
    stream: StreamId,
    tx: mpsc::Sender<Result<WatchResponse, Status>>,
    signals: Arc<Signals>,
    period: std::time::Duration,
    mut leader_lost: Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
) {
    let stores = backend.v3_stores();
    let activity = backend.v3_activity();
    let mut next_progress = Instant::now() + period;
    'serve: loop {
        // Enabled before looking at the state, so no write's notification is missed.
        let notified = activity.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if signals.stop.load(Ordering::SeqCst) {
            break;
        }
        let progress_due = Instant::now() >= next_progress;
        if progress_due {
            next_progress = Instant::now() + period;
        }
        let member: ResponseHeader = backend.header();
        let Ok(found) = pass(&mut lock(&stores), stream, progress_due) else {
            break;
        };
        if found.moved {
            activity.notify_waiters();
        }
        for mut resp in found.responses {
            stamp_ids(
                resp.header.get_or_insert_with(ResponseHeader::default),
                &member,
            );
            if tx.send(Ok(resp)).await.is_err() {
                break 'serve;
            }
        }
        if found.more {
            continue;
        }
        let mut wait = next_progress.saturating_duration_since(Instant::now());
        if found.unsynced {
            wait = wait.min(SYNC_INTERVAL);
        }
        if found.victims {
            wait = wait.min(VICTIM_RETRY_INTERVAL);
        }
        tokio::select! {
            biased;
            _ = tx.closed() => break,
            _ = &mut leader_lost => {
                let _ = tx.send(Err(no_leader())).await;
                break;
            }
            _ = signals.wake.notified() => {}
            _ = &mut notified => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    lock(&stores).watch.close_stream(stream);
}

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let meta = req.metadata().clone();
        let cert = req.extensions().get::<CertCommonName>().cloned();
        Ok(Response::new(self.open_as(
            &meta,
            cert,
            req.into_inner(),
        )?))
    }
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
