//! The client's shared Watch streams: one gRPC Watch stream per metadata set
//! (with or without `hasleader`), each owned by one task that multiplexes
//! every watcher of the client over it.
//!
//! The task serializes creates (one outstanding at a time, so the IDs the
//! server assigns map to requests in order, as in Go), joins fragments, and
//! routes responses by watch ID. When the stream fails in a way a new
//! stream can fix (an error, its end, a lost connection, "no leader") every
//! watcher is created again on a new stream at its [`ResumePoint`]: the
//! revision after the last one it was given, so nothing is repeated or
//! skipped.
//!
//! A stream to a member that stopped answering (SIGSTOP, a black hole)
//! would hang, as Go's does, if nothing noticed. Two things do: the
//! channel's HTTP/2 keepalive ([`crate::v3::Config::keep_alive_time`])
//! closes the connection when pings go unanswered, and, with a keepalive
//! configured, the task itself sends a progress request after
//! `keep_alive_time` without a message and declares the stream dead when
//! nothing arrives within `keep_alive_timeout` (20 s when unset) after it.
//! A new stream is then opened (its create is sent at once, so a new stream
//! that never answers is caught the same way).

use super::options::WatchOptions;
use super::response::WatchResponse;
use super::resume::{Reassembler, ResumePoint};
use super::session::{Asker, Link, Session};
use crate::v3::client::Client;
use crate::v3::error::{Error, EtcdError, Result};
use crate::v3::pb::etcdserverpb::{
    self as pb, watch_client::WatchClient, watch_request::RequestUnion,
};
use crate::v3::streams::receiver_stream;
use crate::v3::streams::sleep_until;
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::{Code, Status, Streaming};

/// The first pause before re-opening a failed stream (Go's).
const BACKOFF_START: Duration = Duration::from_millis(1);
/// The longest pause between attempts to open a stream (Go's).
const BACKOFF_MAX: Duration = Duration::from_millis(100);
/// How long a progress probe may go unanswered when the config sets a
/// keepalive time but no timeout (gRPC's default keepalive timeout).
const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// The bound on fetching a new auth token for a watcher refused with a
/// stale one.
const AUTH_REFRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// The running Watch streams of one client, by `require_leader`.
#[derive(Default)]
pub(crate) struct WatchHub {
    streams: Mutex<BTreeMap<bool, Entry>>,
    next_generation: AtomicU64,
}

struct Entry {
    /// Tells a task's own entry from a successor's.
    generation: u64,
    tx: mpsc::UnboundedSender<Command>,
}

/// What a stream's task is asked to do.
pub(crate) enum Command {
    /// Add a watcher; the reply comes once the server created it.
    Create {
        key: Vec<u8>,
        opts: WatchOptions,
        reply: oneshot::Sender<Result<Created>>,
    },
    /// The user dropped the watcher: cancel it on the server.
    Cancel { local: u64 },
    /// Ask the server for a progress reply for every watcher.
    Progress,
    /// End every watcher with [`Error::Closed`].
    CloseAll,
}

/// A watcher the server created.
pub(crate) struct Created {
    /// The watcher's ID inside its task (watch IDs change on every stream).
    pub(crate) local: u64,
    /// Its responses.
    pub(crate) rx: mpsc::UnboundedReceiver<Result<WatchResponse>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl WatchHub {
    /// Sends `cmd` to the stream for `require_leader`, starting its task
    /// when none runs; returns the task's command sender.
    pub(crate) fn send(
        &self,
        client: &Client,
        require_leader: bool,
        cmd: Command,
    ) -> mpsc::UnboundedSender<Command> {
        let mut streams = lock(&self.streams);
        let tx = match streams.get(&require_leader) {
            Some(e) if !e.tx.is_closed() => e.tx.clone(),
            _ => {
                let (tx, rx) = mpsc::unbounded_channel();
                let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
                streams.insert(
                    require_leader,
                    Entry {
                        generation,
                        tx: tx.clone(),
                    },
                );
                let task = StreamTask::new(client.clone(), require_leader, generation, rx);
                tokio::spawn(task.run());
                tx
            }
        };
        // Sent under the lock: a task retiring takes the lock to look for it.
        let _ = tx.send(cmd);
        tx
    }

    /// Sends a command to every running stream; returns how many there were.
    pub(crate) fn broadcast(&self, cmd: impl Fn() -> Command) -> usize {
        let streams = lock(&self.streams);
        streams
            .values()
            .filter(|e| e.tx.send(cmd()).is_ok())
            .count()
    }

    /// Called by a task with no watchers left: removes its entry unless a
    /// command arrived meanwhile (which it returns; the task carries on).
    fn retire(
        &self,
        require_leader: bool,
        generation: u64,
        rx: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Option<Command> {
        let mut streams = lock(&self.streams);
        if let Ok(cmd) = rx.try_recv() {
            return Some(cmd);
        }
        if streams
            .get(&require_leader)
            .is_some_and(|e| e.generation == generation)
        {
            streams.remove(&require_leader);
        }
        None
    }
}

/// When a quiet stream is probed and when an unanswered probe condemns it.
#[derive(Clone, Copy, Debug)]
struct Liveness {
    quiet: Duration,
    answer: Duration,
}

/// A watcher's caller, waiting for its first created reply.
struct Waiting {
    reply: oneshot::Sender<Result<Created>>,
    rx: mpsc::UnboundedReceiver<Result<WatchResponse>>,
}

/// One watcher, across streams.
pub(super) struct Slot {
    key: Vec<u8>,
    opts: WatchOptions,
    resume: ResumePoint,
    out: mpsc::UnboundedSender<Result<WatchResponse>>,
    /// Until the first created reply: the caller's reply and the receiver
    /// handed over with it.
    waiting: Option<Waiting>,
    /// Its watch ID on the current stream, once created there.
    server_id: Option<i64>,
    /// Whether a refusal for a stale token already made us fetch a new one.
    auth_refreshed: bool,
}

impl Slot {
    pub(super) fn create_request(&self) -> pb::WatchRequest {
        pb::WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(
                self.opts
                    .create_request(&self.key, self.resume.start_revision()),
            )),
        }
    }

    /// Ends the watcher with `err`: the caller's `watch` fails with it if
    /// the watcher was never created, its stream yields it otherwise.
    fn fail(self, err: Error) {
        match self.waiting {
            Some(Waiting { reply, .. }) => {
                let _ = reply.send(Err(err));
            }
            None => {
                let _ = self.out.send(Err(err));
            }
        }
    }
}

enum Event {
    Closed,
    Command(Option<Command>),
    Opened(std::result::Result<Streaming<pb::WatchResponse>, Status>),
    Message(Option<std::result::Result<pb::WatchResponse, Status>>),
    Tick,
}

async fn next_link_event(session: Option<&mut Session>) -> Event {
    match session {
        None => std::future::pending().await,
        Some(s) => match &mut s.link {
            Link::Opening(open) => Event::Opened(open.await),
            Link::Up(stream) => Event::Message(stream.next().await),
        },
    }
}

/// Whether a stream failure is one a new stream cannot fix. Unlike Go's
/// `isHaltErr`, Unknown and Cancelled are retried (tonic and madsim report
/// a broken connection with them), and so is "no leader".
fn halts(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::InvalidArgument
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::Unimplemented
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::NotFound
            | Code::AlreadyExists
            | Code::ResourceExhausted
    )
}

struct StreamTask {
    client: Client,
    require_leader: bool,
    generation: u64,
    rx: mpsc::UnboundedReceiver<Command>,
    rx_open: bool,
    watchers: BTreeMap<u64, Slot>,
    next_local: u64,
    session: Option<Session>,
    retry_at: Instant,
    backoff: Duration,
    liveness: Option<Liveness>,
    /// A user's progress request waiting for a stream whose creates are
    /// all answered (one request answers every watcher, so several
    /// waiting requests are one).
    progress_pending: bool,
}

impl StreamTask {
    fn new(
        client: Client,
        require_leader: bool,
        generation: u64,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> StreamTask {
        let config = client.config();
        let liveness = config.keep_alive_time.map(|quiet| Liveness {
            quiet,
            answer: config.keep_alive_timeout.unwrap_or(DEFAULT_ANSWER_TIMEOUT),
        });
        StreamTask {
            client,
            require_leader,
            generation,
            rx,
            rx_open: true,
            watchers: BTreeMap::new(),
            next_local: 0,
            session: None,
            retry_at: Instant::now(),
            backoff: BACKOFF_START,
            liveness,
            progress_pending: false,
        }
    }

    async fn run(mut self) {
        loop {
            if self.watchers.is_empty() {
                // Nothing to watch: close the stream, and end unless a
                // command came in meanwhile.
                self.session = None;
                let hub = &self.client.streams().watch;
                match hub.retire(self.require_leader, self.generation, &mut self.rx) {
                    Some(cmd) => {
                        self.on_command(cmd);
                        continue;
                    }
                    None => return,
                }
            }
            if self.session.is_none() && Instant::now() >= self.retry_at {
                self.open();
            }
            let wake = self.wake();
            let event = tokio::select! {
                biased;
                _ = self.client.closed() => Event::Closed,
                cmd = self.rx.recv(), if self.rx_open => Event::Command(cmd),
                event = next_link_event(self.session.as_mut()) => event,
                _ = sleep_until(wake) => Event::Tick,
            };
            let now = Instant::now();
            match event {
                Event::Closed => self.fail_all(|| Error::Closed),
                Event::Command(None) => self.rx_open = false,
                Event::Command(Some(cmd)) => self.on_command(cmd),
                Event::Opened(Ok(stream)) => {
                    if let Some(s) = self.session.as_mut() {
                        s.link = Link::Up(Box::new(stream));
                        s.heard(now);
                    }
                }
                Event::Opened(Err(status)) | Event::Message(Some(Err(status))) => {
                    self.session_failed(status)
                }
                Event::Message(None) => {
                    self.session_failed(Status::unavailable("the watch stream ended"))
                }
                Event::Message(Some(Ok(resp))) => {
                    if let Some(s) = self.session.as_mut() {
                        s.heard(now);
                    }
                    self.on_message(resp).await;
                }
                Event::Tick => self.on_tick(now),
            }
        }
    }

    /// When the loop must wake without an event: to re-open the stream, to
    /// probe a quiet one, or to give up on an unanswered probe.
    fn wake(&self) -> Option<Instant> {
        match &self.session {
            None => Some(self.retry_at),
            Some(s) => self.liveness.map(|l| match s.probe_sent {
                None => s.last_heard + l.quiet,
                Some(at) => at + l.answer,
            }),
        }
    }

    fn on_tick(&mut self, now: Instant) {
        let (Some(live), Some(s)) = (self.liveness, self.session.as_mut()) else {
            return;
        };
        match s.probe_sent {
            None if now >= s.last_heard + live.quiet => {
                s.request_progress(Asker::Probe);
                s.probe_sent = Some(now);
            }
            Some(at) if now >= at + live.answer => {
                tracing::debug!(
                    require_leader = self.require_leader,
                    "v3 watch: no answer to a progress probe; opening a new stream"
                );
                self.session_failed(Status::unavailable(
                    "the watch stream did not answer a progress request in time",
                ));
            }
            _ => {}
        }
    }

    /// Forgets watchers whose caller stopped waiting for their first
    /// created reply (its deadline passed) before their create was sent.
    fn prune_abandoned(&mut self) {
        let outstanding = self.session.as_ref().and_then(|s| s.outstanding);
        self.watchers.retain(|&local, slot| {
            let abandoned = slot.waiting.as_ref().is_some_and(|w| w.reply.is_closed());
            !abandoned || Some(local) == outstanding
        });
    }

    /// Opens a new stream and queues every watcher's create, in the order
    /// they were added, each at its resume point.
    fn open(&mut self) {
        self.prune_abandoned();
        for slot in self.watchers.values_mut() {
            slot.server_id = None;
        }
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let config = self.client.config();
        let target = self.client.stream_endpoint();
        let mut wc = WatchClient::new(target.channel)
            .max_encoding_message_size(config.effective_max_call_send_msg_size())
            .max_decoding_message_size(config.effective_max_call_recv_msg_size());
        let mut request = self.client.request(receiver_stream(requests_rx), None);
        if self.require_leader {
            request
                .metadata_mut()
                .insert("hasleader", AsciiMetadataValue::from_static("true"));
        }
        let open =
            Box::pin(async move { wc.watch(request).await.map(tonic::Response::into_inner) });
        let mut session = Session {
            requests,
            link: Link::Opening(open),
            queue: self.watchers.keys().copied().collect(),
            outstanding: None,
            ids: BTreeMap::new(),
            cancels_sent: BTreeSet::new(),
            fragments: Reassembler::default(),
            progress: VecDeque::new(),
            last_heard: Instant::now(),
            probe_sent: None,
            heard_any: false,
            report: target.report,
        };
        // The server answers the call (headers) with its first message: the
        // first create goes out with it.
        session.send_next_create(&self.watchers);
        self.session = Some(session);
    }

    /// The stream failed: resume on a new one after a pause, or end every
    /// watcher if a new stream cannot help.
    fn session_failed(&mut self, status: Status) {
        let dead = self.session.take();
        let heard = dead.as_ref().is_some_and(|s| s.heard_any);
        if let Some(dead) = dead {
            // A user's progress request that died with the stream is sent
            // again on the next one.
            if dead.progress.contains(&Asker::User) {
                self.progress_pending = true;
            }
            if let Some(report) = dead.report {
                report.failed(&status);
            }
        }
        if halts(&status) {
            tracing::warn!(error = %status, "v3 watch: the stream failed for good; ending its watchers");
            self.fail_all(|| Error::from_status(status.clone()));
            return;
        }
        tracing::debug!(error = %status, "v3 watch: the stream failed; resuming its watchers on a new one");
        crate::metrics::watch_resume();
        self.backoff = if heard {
            BACKOFF_START
        } else {
            (self.backoff + self.backoff / 4).min(BACKOFF_MAX)
        };
        self.retry_at = Instant::now() + self.backoff;
    }

    fn fail_all(&mut self, err: impl Fn() -> Error) {
        self.session = None;
        self.progress_pending = false;
        for (_, slot) in std::mem::take(&mut self.watchers) {
            slot.fail(err());
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Create { key, opts, reply } => {
                if self.client.is_closed() {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                }
                self.prune_abandoned();
                let local = self.next_local;
                self.next_local += 1;
                let (out, rx) = mpsc::unbounded_channel();
                let slot = Slot {
                    resume: ResumePoint::new(opts.revision),
                    key,
                    opts,
                    out,
                    waiting: Some(Waiting { reply, rx }),
                    server_id: None,
                    auth_refreshed: false,
                };
                self.watchers.insert(local, slot);
                if let Some(s) = self.session.as_mut() {
                    s.queue.push_back(local);
                    s.send_next_create(&self.watchers);
                }
                self.flush_progress();
            }
            Command::Cancel { local } => {
                let Some(slot) = self.watchers.remove(&local) else {
                    return;
                };
                // A watcher still queued is skipped; one being created is
                // cancelled when its created reply comes.
                if let (Some(s), Some(id)) = (self.session.as_mut(), slot.server_id) {
                    s.ids.remove(&id);
                    s.cancels_sent.insert(id);
                    s.cancel(id);
                }
            }
            Command::Progress => {
                // Sent once every watcher is created on the current stream
                // (or, during a reconnect, on the next one), so its reply
                // reaches every watcher.
                self.progress_pending = true;
                self.flush_progress();
            }
            Command::CloseAll => self.fail_all(|| Error::Closed),
        }
    }

    async fn on_message(&mut self, resp: pb::WatchResponse) {
        if resp.created {
            return self.on_created(resp).await;
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if resp.watch_id == -1 {
            // A progress reply for the whole stream. etcd 3.4 sends it
            // without waiting for unsynced watchers, so it moves no resume
            // point; it goes to the watchers only if the user asked.
            if s.progress.pop_front() == Some(Asker::User) {
                let progress = WatchResponse::from(resp);
                for slot in self.watchers.values().filter(|w| w.server_id.is_some()) {
                    let _ = slot.out.send(Ok(progress.clone()));
                }
            }
            return;
        }
        let Some(resp) = s.fragments.push(resp) else {
            return;
        };
        let id = resp.watch_id;
        let Some(&local) = s.ids.get(&id) else {
            // Events for a watcher nobody has (any more): cancel it once.
            if !resp.canceled && s.cancels_sent.insert(id) {
                s.cancel(id);
            }
            return;
        };
        if resp.canceled {
            s.ids.remove(&id);
            if let Some(slot) = self.watchers.remove(&local) {
                let resp = WatchResponse::from(resp);
                let err = resp.err().unwrap_or(Error::WatchCanceled {
                    reason: resp.cancel_reason,
                });
                slot.fail(err);
            }
            return;
        }
        if let Some(slot) = self.watchers.get_mut(&local) {
            slot.resume.on_response(&resp);
            let _ = slot.out.send(Ok(resp.into()));
        }
    }

    async fn on_created(&mut self, resp: pb::WatchResponse) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(local) = s.outstanding.take() else {
            tracing::debug!(
                watch_id = resp.watch_id,
                "v3 watch: a created reply with no create outstanding"
            );
            return;
        };
        let refused = resp.canceled || resp.watch_id == -1;
        let id = resp.watch_id;
        match self.watchers.get_mut(&local) {
            None => {
                // Dropped by the user while it was being created.
                if !refused {
                    s.cancels_sent.insert(id);
                    s.cancel(id);
                }
            }
            Some(slot) if refused => {
                let err = Error::WatchCanceled {
                    reason: resp.cancel_reason,
                };
                if should_refresh_token(&self.client, &err) && !slot.auth_refreshed {
                    // Go's answer to a stale token: a new token, a new
                    // stream, and the create again.
                    slot.auth_refreshed = true;
                    let deadline = Instant::now() + AUTH_REFRESH_TIMEOUT;
                    if let Err(e) = self.client.authenticate(Some(deadline)).await {
                        tracing::debug!(error = %e, "v3 watch: refreshing the auth token failed");
                    }
                    self.session = None;
                    self.retry_at = Instant::now();
                    return;
                }
                if let Some(slot) = self.watchers.remove(&local) {
                    slot.fail(err);
                }
            }
            Some(slot) => {
                slot.server_id = Some(id);
                slot.auth_refreshed = false;
                s.ids.insert(id, local);
                slot.resume
                    .on_created(resp.header.as_ref().map_or(0, |h| h.revision));
                if let Some(Waiting { reply, rx }) = slot.waiting.take() {
                    if slot.opts.created_notify {
                        let _ = slot.out.send(Ok(resp.into()));
                    }
                    if reply.send(Ok(Created { local, rx })).is_err() {
                        // The caller gave up waiting (its deadline passed).
                        self.watchers.remove(&local);
                        s.ids.remove(&id);
                        s.cancels_sent.insert(id);
                        s.cancel(id);
                    }
                }
            }
        }
        if let Some(s) = self.session.as_mut() {
            s.send_next_create(&self.watchers);
        }
        self.flush_progress();
    }

    /// Sends the user's pending progress request if the stream's creates
    /// are all answered.
    fn flush_progress(&mut self) {
        if !self.progress_pending {
            return;
        }
        if let Some(s) = self.session.as_mut().filter(|s| s.creates_done()) {
            s.request_progress(Asker::User);
            self.progress_pending = false;
        }
    }
}

/// Whether a create refused with `err` calls for a new token (the client's
/// rule for unary calls).
fn should_refresh_token(client: &Client, err: &Error) -> bool {
    match err.etcd() {
        Some(EtcdError::InvalidAuthToken | EtcdError::AuthOldRevision) => true,
        Some(EtcdError::UserEmpty) => client
            .config()
            .username
            .as_deref()
            .is_some_and(|u| !u.is_empty()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::config::Config;

    fn created(watch_id: i64, revision: i64) -> pb::WatchResponse {
        pb::WatchResponse {
            header: Some(pb::ResponseHeader {
                revision,
                ..Default::default()
            }),
            watch_id,
            created: true,
            ..Default::default()
        }
    }

    fn stream_progress(revision: i64) -> pb::WatchResponse {
        pb::WatchResponse {
            header: Some(pb::ResponseHeader {
                revision,
                ..Default::default()
            }),
            watch_id: -1,
            ..Default::default()
        }
    }

    /// A task (not running) with one watcher added while no stream is up.
    async fn task_with_a_watcher() -> (StreamTask, oneshot::Receiver<Result<Created>>) {
        // Nothing listens there: streams are made but never polled.
        let client = Client::new(Config::new(["http://127.0.0.1:1"]))
            .await
            .unwrap();
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut task = StreamTask::new(client, false, 0, rx);
        let (reply, created_rx) = oneshot::channel();
        task.on_command(Command::Create {
            key: b"k".to_vec(),
            opts: WatchOptions::default(),
            reply,
        });
        (task, created_rx)
    }

    fn user_progress_in_flight(task: &StreamTask) -> bool {
        task.session
            .as_ref()
            .is_some_and(|s| s.progress.contains(&Asker::User))
    }

    /// A `request_progress` while the stream is being replaced is not
    /// dropped: it waits, and goes out on the new stream once every watcher
    /// is created there, so its reply reaches them all.
    #[tokio::test]
    async fn a_progress_request_during_a_reconnect_goes_out_on_the_new_stream() {
        let (mut task, created_rx) = task_with_a_watcher().await;
        task.on_command(Command::Progress);
        assert!(task.progress_pending, "no stream: kept");

        task.open();
        assert!(task.progress_pending, "the create is not answered yet");
        assert!(!user_progress_in_flight(&task));

        task.on_message(created(3, 10)).await;
        assert!(!task.progress_pending);
        assert!(user_progress_in_flight(&task), "sent after the create");
        let Created { mut rx, .. } = created_rx.await.unwrap().unwrap();

        task.on_message(stream_progress(12)).await;
        let p = rx.try_recv().expect("the progress reply").unwrap();
        assert!(p.is_progress_notify() && p.revision() == 12, "{p:?}");
    }

    /// One sent on a stream that then fails before answering is sent again
    /// on the next stream.
    #[tokio::test]
    async fn a_progress_request_lost_with_its_stream_is_sent_again() {
        let (mut task, created_rx) = task_with_a_watcher().await;
        task.open();
        task.on_message(created(0, 5)).await;
        let Created { mut rx, .. } = created_rx.await.unwrap().unwrap();
        task.on_command(Command::Progress);
        assert!(user_progress_in_flight(&task) && !task.progress_pending);

        task.session_failed(Status::unavailable("member went away"));
        assert!(task.progress_pending);
        task.open();
        task.on_message(created(7, 5)).await;
        assert!(user_progress_in_flight(&task) && !task.progress_pending);
        task.on_message(stream_progress(6)).await;
        let p = rx.try_recv().expect("the progress reply").unwrap();
        assert!(p.is_progress_notify() && p.revision() == 6, "{p:?}");
        // Closing forgets it.
        task.on_command(Command::Progress);
        task.session_failed(Status::unavailable("member went away"));
        task.on_command(Command::CloseAll);
        assert!(!task.progress_pending);
    }
}
