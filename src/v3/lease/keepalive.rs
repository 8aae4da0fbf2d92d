//! The client's one LeaseKeepAlive stream, shared by every kept-alive lease
//! and owned by one task (Go's lessor loops, in one place).
//!
//! Each lease is renewed a third of its TTL after the last answer (and
//! re-sent every 500 ms while unanswered); every caller of
//! [`crate::v3::Lease::keep_alive`] for it gets each answer. A lease whose
//! answer says TTL ≤ 0 (expired, revoked), or that got no answer before its
//! deadline (the last answer + TTL, or the first-answer bound), ends its
//! callers' streams with [`Error::KeepAliveHalted`]. A stream that fails is
//! opened again after 500 ms (the channel picks the member), with every
//! lease sent at once. The stream is opened with `hasleader`, so a member
//! without a leader ends it instead of holding renewals.
//!
//! A stream to a member that stopped answering is noticed by the channel's
//! HTTP/2 keepalive and, when the client has a keepalive configured, by the
//! task: a request unanswered for `keep_alive_timeout` (20 s when unset)
//! condemns the stream, and another is opened at once.

use super::LeaseKeepAliveResponse;
use super::schedule::{RESEND_AFTER, Renewal, Schedule, first_deadline};
use crate::v3::client::{Client, StreamReport};
use crate::v3::error::{Error, EtcdError};
use crate::v3::pb::etcdserverpb::{self as pb, lease_client::LeaseClient};
use crate::v3::streams::receiver_stream;
use crate::v3::streams::sleep_until;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;
use tonic::{Status, Streaming};

/// How long a request may go unanswered when the config sets a keepalive
/// time but no timeout.
const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// The running keepalive stream of one client, if any.
#[derive(Default)]
pub(crate) struct KeepAliveHub {
    entry: Mutex<Option<Entry>>,
    next_generation: AtomicU64,
    next_caller: AtomicU64,
}

struct Entry {
    generation: u64,
    tx: mpsc::UnboundedSender<Command>,
}

/// Where one caller's answers go.
pub(crate) struct Sink {
    answers: mpsc::Sender<LeaseKeepAliveResponse>,
    halt: oneshot::Sender<Error>,
}

impl Sink {
    pub(crate) fn new(
        answers: mpsc::Sender<LeaseKeepAliveResponse>,
        halt: oneshot::Sender<Error>,
    ) -> Sink {
        Sink { answers, halt }
    }

    /// Ends the caller's stream with `err` (after the answers it holds).
    fn halt(self, err: Error) {
        let _ = self.halt.send(err);
    }
}

/// What the keepalive task is asked to do.
pub(crate) enum Command {
    /// Keep lease `id` alive for `caller`.
    Add { id: i64, caller: u64, sink: Sink },
    /// The caller dropped its stream.
    Remove { id: i64, caller: u64 },
    /// End every caller with [`Error::Closed`].
    CloseAll,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KeepAliveHub {
    /// A new caller ID (for [`Command::Add`] and its drop guard).
    pub(crate) fn new_caller(&self) -> u64 {
        self.next_caller.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `cmd`, starting the task when none runs; returns its sender.
    pub(crate) fn send(&self, client: &Client, cmd: Command) -> mpsc::UnboundedSender<Command> {
        let mut entry = lock(&self.entry);
        let tx = match entry.as_ref() {
            Some(e) if !e.tx.is_closed() => e.tx.clone(),
            _ => {
                let (tx, rx) = mpsc::unbounded_channel();
                let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
                *entry = Some(Entry {
                    generation,
                    tx: tx.clone(),
                });
                tokio::spawn(KeepAliveTask::new(client.clone(), generation, rx).run());
                tx
            }
        };
        let _ = tx.send(cmd);
        tx
    }

    /// Sends `cmd` to the running task, if any.
    pub(crate) fn send_if_running(&self, cmd: Command) {
        if let Some(e) = lock(&self.entry).as_ref() {
            let _ = e.tx.send(cmd);
        }
    }

    /// See [`crate::v3::watch`]'s hub: the same retirement under the lock.
    fn retire(
        &self,
        generation: u64,
        rx: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Option<Command> {
        let mut entry = lock(&self.entry);
        if let Ok(cmd) = rx.try_recv() {
            return Some(cmd);
        }
        if entry.as_ref().is_some_and(|e| e.generation == generation) {
            *entry = None;
        }
        None
    }
}

/// One kept-alive lease.
struct LeaseSlot {
    schedule: Schedule,
    callers: BTreeMap<u64, Sink>,
}

impl LeaseSlot {
    fn halt(self, err: impl Fn() -> Error) {
        for (_, sink) in self.callers {
            sink.halt(err());
        }
    }
}

enum Link {
    Opening(BoxFuture<'static, std::result::Result<Streaming<pb::LeaseKeepAliveResponse>, Status>>),
    Up(Box<Streaming<pb::LeaseKeepAliveResponse>>),
}

struct Session {
    requests: mpsc::UnboundedSender<pb::LeaseKeepAliveRequest>,
    link: Link,
    /// Requests sent and not answered yet.
    unanswered: u64,
    /// The last answer, or the send that started the unanswered run.
    last_progress: Instant,
    /// Feeds this stream's outcome to its endpoint's breaker.
    report: Option<StreamReport>,
}

enum Event {
    Closed,
    Command(Option<Command>),
    Opened(std::result::Result<Streaming<pb::LeaseKeepAliveResponse>, Status>),
    Message(Option<std::result::Result<pb::LeaseKeepAliveResponse, Status>>),
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

struct KeepAliveTask {
    client: Client,
    generation: u64,
    rx: mpsc::UnboundedReceiver<Command>,
    rx_open: bool,
    leases: BTreeMap<i64, LeaseSlot>,
    session: Option<Session>,
    retry_at: Instant,
    first_deadline: Duration,
    answer_timeout: Option<Duration>,
}

impl KeepAliveTask {
    fn new(client: Client, generation: u64, rx: mpsc::UnboundedReceiver<Command>) -> KeepAliveTask {
        let config = client.config();
        let first_deadline = first_deadline(config.dial_timeout);
        let answer_timeout = config
            .keep_alive_time
            .map(|_| config.keep_alive_timeout.unwrap_or(DEFAULT_ANSWER_TIMEOUT));
        KeepAliveTask {
            client,
            generation,
            rx,
            rx_open: true,
            leases: BTreeMap::new(),
            session: None,
            retry_at: Instant::now(),
            first_deadline,
            answer_timeout,
        }
    }

    async fn run(mut self) {
        loop {
            if self.leases.is_empty() {
                self.session = None;
                let hub = &self.client.streams().lease;
                match hub.retire(self.generation, &mut self.rx) {
                    Some(cmd) => {
                        self.on_command(cmd);
                        continue;
                    }
                    None => return,
                }
            }
            let now = Instant::now();
            if self.session.is_none() && now >= self.retry_at {
                self.open(now);
            }
            self.send_due(now);
            self.expire_overdue(now);
            if self.leases.is_empty() {
                continue;
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
                Event::Closed => self.halt_all(|| Error::Closed),
                Event::Command(None) => self.rx_open = false,
                Event::Command(Some(cmd)) => self.on_command(cmd),
                Event::Opened(Ok(stream)) => {
                    if let Some(s) = self.session.as_mut() {
                        s.link = Link::Up(Box::new(stream));
                    }
                }
                Event::Opened(Err(status)) | Event::Message(Some(Err(status))) => {
                    self.session_failed(now, status)
                }
                Event::Message(None) => {
                    self.session_failed(now, Status::unavailable("the keepalive stream ended"))
                }
                Event::Message(Some(Ok(resp))) => self.on_answer(now, resp),
                Event::Tick => {
                    if let (Some(timeout), Some(s)) = (self.answer_timeout, &self.session) {
                        if s.unanswered > 0 && now >= s.last_progress + timeout {
                            // The wait was the timeout itself: open another at once.
                            self.session_failed(
                                now,
                                Status::unavailable("keepalive requests went unanswered"),
                            );
                            self.retry_at = now;
                        }
                    }
                }
            }
        }
    }

    fn wake(&self) -> Option<Instant> {
        let sending = self.session.is_some();
        let leases = self.leases.values().map(|l| l.schedule.next_wake(sending));
        let retry = self.session.is_none().then_some(self.retry_at);
        let dead = match (self.answer_timeout, &self.session) {
            (Some(t), Some(s)) if s.unanswered > 0 => Some(s.last_progress + t),
            _ => None,
        };
        leases.chain(retry).chain(dead).min()
    }

    fn open(&mut self, now: Instant) {
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let config = self.client.config();
        let target = self.client.stream_endpoint();
        let mut lc = LeaseClient::new(target.channel)
            .max_encoding_message_size(config.effective_max_call_send_msg_size())
            .max_decoding_message_size(config.effective_max_call_recv_msg_size());
        let mut request = self.client.request(receiver_stream(requests_rx), None);
        request
            .metadata_mut()
            .insert("hasleader", AsciiMetadataValue::from_static("true"));
        let open = Box::pin(async move {
            lc.lease_keep_alive(request)
                .await
                .map(tonic::Response::into_inner)
        });
        for lease in self.leases.values_mut() {
            lease.schedule.resend_now(now);
        }
        self.session = Some(Session {
            requests,
            link: Link::Opening(open),
            unanswered: 0,
            last_progress: now,
            report: target.report,
        });
    }

    /// Sends a request for every lease that is due (the server answers the
    /// call with its first answer, so a new stream needs one sent at once).
    fn send_due(&mut self, now: Instant) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        for (&id, lease) in self.leases.iter_mut() {
            if lease.schedule.due(now) {
                if s.unanswered == 0 {
                    s.last_progress = now;
                }
                s.unanswered += 1;
                let _ = s.requests.send(pb::LeaseKeepAliveRequest { id });
                lease.schedule.sent(now);
            }
        }
    }

    fn expire_overdue(&mut self, now: Instant) {
        let overdue: Vec<i64> = self
            .leases
            .iter()
            .filter(|(_, l)| l.schedule.overdue(now))
            .map(|(&id, _)| id)
            .collect();
        for id in overdue {
            if let Some(lease) = self.leases.remove(&id) {
                tracing::debug!(
                    lease = id,
                    "v3 lease: no keepalive answer before the deadline"
                );
                crate::metrics::keepalive_miss();
                lease.halt(|| Error::KeepAliveHalted {
                    id,
                    reason: Box::new(Error::Timeout),
                });
            }
        }
    }

    fn on_answer(&mut self, now: Instant, resp: pb::LeaseKeepAliveResponse) {
        if let Some(s) = self.session.as_mut() {
            s.unanswered = s.unanswered.saturating_sub(1);
            s.last_progress = now;
            if let Some(r) = s.report.as_mut() {
                r.healthy();
            }
        }
        let id = resp.id;
        let Some(lease) = self.leases.get_mut(&id) else {
            return;
        };
        match lease.schedule.answered(now, resp.ttl) {
            Renewal::Gone => {
                if let Some(lease) = self.leases.remove(&id) {
                    lease.halt(|| Error::KeepAliveHalted {
                        id,
                        reason: Box::new(Error::etcd_error(EtcdError::LeaseNotFound)),
                    });
                }
            }
            Renewal::Renewed => {
                let answer = LeaseKeepAliveResponse::from(resp);
                for sink in lease.callers.values() {
                    // A reader 16 answers behind misses this one (Go's rule).
                    let _ = sink.answers.try_send(answer.clone());
                }
            }
        }
    }

    fn session_failed(&mut self, now: Instant, status: Status) {
        tracing::debug!(error = %status, "v3 lease: the keepalive stream failed; opening another");
        if let Some(report) = self.session.take().and_then(|s| s.report) {
            report.failed(&status);
        }
        self.retry_at = now + RESEND_AFTER;
    }

    fn halt_all(&mut self, err: impl Fn() -> Error) {
        self.session = None;
        for (_, lease) in std::mem::take(&mut self.leases) {
            lease.halt(&err);
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Add { id, caller, sink } => {
                if self.client.is_closed() {
                    sink.halt(Error::Closed);
                    return;
                }
                let now = Instant::now();
                let first = self.first_deadline;
                self.leases
                    .entry(id)
                    .or_insert_with(|| LeaseSlot {
                        schedule: Schedule::new(now, first),
                        callers: BTreeMap::new(),
                    })
                    .callers
                    .insert(caller, sink);
            }
            Command::Remove { id, caller } => {
                if let Some(lease) = self.leases.get_mut(&id) {
                    lease.callers.remove(&caller);
                    if lease.callers.is_empty() {
                        self.leases.remove(&id);
                    }
                }
            }
            Command::CloseAll => self.halt_all(|| Error::Closed),
        }
    }
}
