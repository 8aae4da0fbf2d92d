//! The dialing side of the peer transport: one long-lived outbound stream per peer,
//! owned by a sender task fed through a bounded queue, and a connection of its own
//! for each snapshot. See [`super::transport`] for the protocol and the timeouts.

use super::frame::FrameDecoder;
use super::membership::AddressBook;
use super::peer_activity::PeerActivity;
use super::transport::{
    CONNECT_TIMEOUT, DEAD_AFTER, HELLO_MAX_FRAME, MAX_FRAME, PEER_QUEUE_LEN, PING_INTERVAL,
    PeerReport, RECONNECT_MAX, RECONNECT_MIN, STREAM_SEND_TIMEOUT, decode_ping, encode,
    encode_ping, parse_removed_notice, write_frames,
};
use raft::eraftpb::{Message, MessageType};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Most messages written in one batch (one flush).
const BATCH: usize = 64;

/// What every sender task needs.
#[derive(Clone)]
pub(crate) struct SenderCtx {
    pub(crate) id: u64,
    pub(crate) book: AddressBook,
    pub(crate) activity: PeerActivity,
    pub(crate) reports: mpsc::UnboundedSender<PeerReport>,
}

impl SenderCtx {
    fn unreachable(&self, to: u64) {
        let _ = self.reports.send(PeerReport::Unreachable(to));
    }
}

/// One peer's queue and the task that drains it into the peer's stream.
struct PeerQueue {
    tx: mpsc::Sender<Message>,
    task: JoinHandle<()>,
}

/// The per-peer queues, created on first use (or by [`PeerQueues::keep_streams`]).
/// Clones share the queues.
#[derive(Clone)]
pub(crate) struct PeerQueues {
    ctx: SenderCtx,
    queues: Arc<Mutex<BTreeMap<u64, PeerQueue>>>,
    snapshots: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for PeerQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerQueues")
            .field("id", &self.ctx.id)
            .finish_non_exhaustive()
    }
}

impl PeerQueues {
    pub(crate) fn new(ctx: SenderCtx) -> Self {
        Self {
            ctx,
            queues: Arc::default(),
            snapshots: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, PeerQueue>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queue to `to`, started if missing (or if its task ended).
    fn queue(
        queues: &mut BTreeMap<u64, PeerQueue>,
        ctx: &SenderCtx,
        to: u64,
    ) -> mpsc::Sender<Message> {
        if let Some(q) = queues.get(&to).filter(|q| !q.task.is_finished()) {
            return q.tx.clone();
        }
        let (tx, rx) = mpsc::channel(PEER_QUEUE_LEN);
        let task = tokio::spawn(peer_sender(ctx.clone(), to, rx));
        queues.insert(
            to,
            PeerQueue {
                tx: tx.clone(),
                task,
            },
        );
        tx
    }

    /// Queues `msg` for `msg.to` without waiting; a full queue drops it and reports
    /// the peer unreachable. A snapshot goes on a connection of its own.
    pub(crate) fn send(&self, msg: Message) {
        let to = msg.to;
        if msg.get_msg_type() == MessageType::MsgSnapshot {
            let task = tokio::spawn(send_snapshot(self.ctx.clone(), msg));
            let mut snaps = self
                .snapshots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            snaps.retain(|t| !t.is_finished());
            snaps.push(task);
            return;
        }
        let tx = Self::queue(&mut self.lock(), &self.ctx, to);
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::debug!(to, "raft transport: peer queue full; dropping a message");
                self.ctx.unreachable(to);
            }
            Err(TrySendError::Closed(_)) => self.ctx.unreachable(to),
        }
    }

    /// Keeps a stream to every peer in the address book (followers never message
    /// each other, yet each must know the others are up), checking every
    /// [`PING_INTERVAL`]; runs until aborted.
    pub(crate) async fn keep_streams(self) {
        let mut ticker = tokio::time::interval(PING_INTERVAL);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let peers = self.ctx.book.entries();
            let mut queues = self.lock();
            for &peer in peers.keys() {
                if peer != self.ctx.id {
                    Self::queue(&mut queues, &self.ctx, peer);
                }
            }
        }
    }

    /// Stops every sender task and snapshot send.
    pub(crate) fn stop_all(&self) {
        for q in self.lock().values() {
            q.task.abort();
        }
        for t in self
            .snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            t.abort();
        }
    }
}

/// Dials `addr` and says who we are; the stream is returned once written.
async fn dial(id: u64, addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(res) => res?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "peer connect timed out",
            ));
        }
    };
    write_frames(&mut stream, &[&encode_ping(id)]).await?;
    Ok(stream)
}

/// The sender task of peer `to`: dials, writes queued messages, pings, and dials
/// again after a failure; ends when its queue is dropped, or when `to` was removed
/// and its address forgotten.
async fn peer_sender(ctx: SenderCtx, to: u64, mut rx: mpsc::Receiver<Message>) {
    let mut backoff = RECONNECT_MIN;
    loop {
        let Some(addr) = ctx.book.get(to) else {
            if ctx.book.is_removed(to) {
                tracing::debug!(
                    to,
                    "raft transport: peer removed and forgotten; sender stops"
                );
                return;
            }
            tracing::debug!(to, "raft transport: no address for peer");
            if !drop_while_waiting(&ctx, to, &mut rx, backoff).await {
                return;
            }
            backoff = (backoff * 2).min(RECONNECT_MAX);
            continue;
        };
        match dial(ctx.id, addr).await {
            Ok(stream) => {
                tracing::debug!(to, %addr, "raft transport: stream to peer open");
                match run_stream(&ctx, to, stream, &mut rx).await {
                    StreamEnd::QueueClosed => return,
                    StreamEnd::Failed { answered } => {
                        if answered {
                            backoff = RECONNECT_MIN;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::debug!(to, %addr, error = %e, "raft transport: cannot dial peer");
            }
        }
        ctx.unreachable(to);
        if !drop_while_waiting(&ctx, to, &mut rx, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

/// Waits `wait`, dropping the messages queued meanwhile (the peer is reported
/// unreachable once for them); false if the queue was closed.
async fn drop_while_waiting(
    ctx: &SenderCtx,
    to: u64,
    rx: &mut mpsc::Receiver<Message>,
    wait: std::time::Duration,
) -> bool {
    let until = Instant::now() + wait;
    let mut dropped = 0usize;
    let open = loop {
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(until) => break true,
            m = rx.recv() => match m {
                None => break false,
                Some(_) => dropped += 1,
            },
        }
    };
    if dropped > 0 {
        tracing::trace!(
            to,
            dropped,
            "raft transport: messages dropped while the stream is down"
        );
        ctx.unreachable(to);
    }
    open
}

/// How a stream ended.
enum StreamEnd {
    /// The queue is gone: the transport stopped.
    QueueClosed,
    /// The stream failed; `answered` if the peer had answered on it.
    Failed { answered: bool },
}

/// Writes queued messages and pings to the peer, reads its answers, until something
/// fails or the peer stops answering for [`DEAD_AFTER`].
async fn run_stream<S>(
    ctx: &SenderCtx,
    to: u64,
    stream: S,
    rx: &mut mpsc::Receiver<Message>,
) -> StreamEnd
where
    S: AsyncRead + AsyncWrite,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut decoder = FrameDecoder::new(HELLO_MAX_FRAME);
    let mut chunk = vec![0u8; 4096];
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut answered = false;
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let fail = |answered| StreamEnd::Failed { answered };
    loop {
        tokio::select! {
            biased;
            read = rd.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => {
                        tracing::debug!(to, "raft transport: peer closed the stream");
                        return fail(answered);
                    }
                    Ok(n) => n,
                    Err(e) => {
                        tracing::debug!(to, error = %e, "raft transport: stream read error");
                        return fail(answered);
                    }
                };
                let frames = match decoder.feed(&chunk[..n]) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(to, error = %e, "raft transport: bad frame from peer; closing");
                        return fail(answered);
                    }
                };
                for body in frames {
                    if let Some(removed) = parse_removed_notice(&body) {
                        if removed == ctx.id {
                            tracing::warn!(
                                id = ctx.id,
                                "raft transport: a peer says this node was removed"
                            );
                            let _ = ctx.reports.send(PeerReport::Removed);
                        }
                    } else if decode_ping(&body) == Some(to) {
                        last_heard = Instant::now();
                        answered = true;
                        ctx.activity.heard_from(to, last_heard);
                    } else {
                        tracing::warn!(to, "raft transport: unexpected frame from peer; closing");
                        return fail(answered);
                    }
                }
            }
            m = rx.recv() => {
                let Some(first) = m else {
                    return StreamEnd::QueueClosed;
                };
                batch.clear();
                let mut next = Some(first);
                while let Some(msg) = next.take() {
                    match encode(&msg) {
                        Ok(b) if b.len() <= MAX_FRAME => batch.push(b),
                        Ok(b) => {
                            tracing::error!(to, len = b.len(), "raft transport: message over the frame maximum; dropped");
                            ctx.unreachable(to);
                        }
                        Err(e) => {
                            tracing::warn!(to, error = %e, "raft transport: cannot encode message");
                            ctx.unreachable(to);
                        }
                    }
                    if batch.len() < BATCH {
                        next = rx.try_recv().ok();
                    }
                }
                let bodies: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                if let Err(e) = write_frames(&mut wr, &bodies).await {
                    tracing::debug!(to, error = %e, "raft transport: stream write failed");
                    return fail(answered);
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER {
                    tracing::debug!(to, "raft transport: peer stopped answering; dialing again");
                    return fail(answered);
                }
                if let Err(e) = write_frames(&mut wr, &[&encode_ping(ctx.id)]).await {
                    tracing::debug!(to, error = %e, "raft transport: ping not sent");
                    return fail(answered);
                }
            }
        }
    }
}

/// Sends one snapshot message on a connection of its own and reports the outcome.
async fn send_snapshot(ctx: SenderCtx, msg: Message) {
    let to = msg.to;
    let res = async {
        let addr = ctx
            .book
            .get(to)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address for peer"))?;
        let bytes = encode(&msg).map_err(io::Error::other)?;
        let sent = async {
            let mut stream = dial(ctx.id, addr).await?;
            write_frames(&mut stream, &[&bytes]).await
        };
        match tokio::time::timeout(STREAM_SEND_TIMEOUT, sent).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "snapshot send timed out",
            )),
        }
    }
    .await;
    let ok = res.is_ok();
    if let Err(e) = res {
        tracing::debug!(to, error = %e, "raft transport: snapshot not sent");
        ctx.unreachable(to);
    }
    let _ = ctx.reports.send(PeerReport::Snapshot { to, ok });
}
