//! The datagram peer transport, kept behind [`super::config::PeerTransportKind`]
//! while the stream transport ([`super::transport`]) fails the simulator's chaos
//! liveness phase: messages as UDP datagrams (TCP for large ones), pings by
//! datagram. See [`super::transport`] for the wire format it shares.

use super::frame::{FrameDecoder, header};
use super::membership::AddressBook;
use super::peer_activity::PeerActivity;
use super::transport;
use raft::eraftpb::{Message, MessageType};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::frame::MAX_FRAME;
use super::transport::{
    PeerReport, decode, decode_ping, encode, encode_ping, parse_removed_notice, removed_notice,
};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest encoded message sent as a datagram; larger ones use a TCP connection.
const MAX_DATAGRAM: usize = 60 * 1024;
/// Most peer connections read at once from one IP address.
const MAX_CONNS_PER_PEER: usize = 16;
/// Most peer connections read at once in all.
const MAX_CONNS: usize = 64;
/// A peer connection that brings no byte for this long is closed.
const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from a peer connection at a time.
const READ_CHUNK: usize = 64 * 1024;
/// How long a TCP send may take (connect + write) before it counts as failed.
const STREAM_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How often each peer is pinged.
const PING_INTERVAL: Duration = Duration::from_secs(1);

/// The sending half of the transport, plus the tasks that receive. Dropping it stops
/// every task it started.
#[derive(Debug)]
pub struct DatagramTransport {
    out: mpsc::UnboundedSender<Message>,
    tasks: Vec<JoinHandle<()>>,
}

impl DatagramTransport {
    /// Binds `listen` (UDP and TCP, same port) and starts the tasks: received messages
    /// addressed to `id` go to `inbound`, send failures and snapshot outcomes to
    /// `reports`, and every message or ping from a peer is noted in `activity`;
    /// destinations are looked up in `book` at send time.
    ///
    /// # Errors
    ///
    /// The socket error if `listen` cannot be bound.
    pub async fn start(
        id: u64,
        listen: SocketAddr,
        book: AddressBook,
        activity: PeerActivity,
        inbound: mpsc::UnboundedSender<Message>,
        reports: mpsc::UnboundedSender<PeerReport>,
    ) -> io::Result<Self> {
        let udp = Arc::new(UdpSocket::bind(listen).await?);
        let tcp = TcpListener::bind(listen).await?;
        let (out, out_rx) = mpsc::unbounded_channel();
        let receiver = Receiver {
            node: transport::Receiver {
                id,
                book: book.clone(),
                inbound,
                activity,
            },
            reports: reports.clone(),
        };
        let tasks = vec![
            tokio::spawn(send_loop(udp.clone(), out_rx, book.clone(), reports)),
            tokio::spawn(ping_loop(id, udp.clone(), book)),
            tokio::spawn(recv_datagrams(udp, receiver.clone())),
            tokio::spawn(accept_streams(tcp, receiver)),
        ];
        Ok(Self { out, tasks })
    }

    /// Queues a message for its destination (`msg.to`); never waits.
    pub fn send(&self, msg: Message) {
        // The send task lives as long as `self`.
        let _ = self.out.send(msg);
    }
}

impl Drop for DatagramTransport {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What receiving tasks need: who we are, who was removed, and where input goes.
#[derive(Clone)]
struct Receiver {
    /// Who we are, who was removed, and where messages go (shared with the
    /// stream transport).
    node: transport::Receiver,
    reports: mpsc::UnboundedSender<PeerReport>,
}

/// What became of one received input.
enum Received {
    /// Passed to the node, or dropped (a message for another node).
    Done,
    /// Not a message, a ping or a removal notice.
    Junk,
    /// From a removed node: it should be told.
    FromRemoved(u64),
    /// The node is gone; stop receiving.
    Closed,
}

impl Receiver {
    fn deliver(&self, bytes: &[u8]) -> Received {
        if let Some(removed) = parse_removed_notice(bytes) {
            if removed == self.node.id {
                tracing::warn!(
                    id = self.node.id,
                    "raft transport: a peer says this node was removed"
                );
                let _ = self.reports.send(PeerReport::Removed);
            }
            return Received::Done;
        }
        if let Some(from) = decode_ping(bytes) {
            if from != self.node.id {
                self.node
                    .activity
                    .heard_from(from, tokio::time::Instant::now());
            }
            return Received::Done;
        }
        let Some(msg) = decode(bytes) else {
            return Received::Junk;
        };
        match self.node.pass_on(msg) {
            transport::Received::Done | transport::Received::Ping => Received::Done,
            transport::Received::Junk => Received::Junk,
            transport::Received::FromRemoved(id) => Received::FromRemoved(id),
            transport::Received::Closed => Received::Closed,
        }
    }
}

/// Pings every peer in `book` every [`PING_INTERVAL`], the first time at once.
async fn ping_loop(id: u64, udp: Arc<UdpSocket>, book: AddressBook) {
    let ping = encode_ping(id);
    let mut ticker = tokio::time::interval(PING_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        for (peer, addr) in book.entries() {
            if peer == id {
                continue;
            }
            if let Err(e) = send_datagram(&udp, addr, &ping).await {
                tracing::trace!(peer, %addr, error = %e, "raft transport: ping not sent");
            }
        }
    }
}

async fn send_loop(
    udp: Arc<UdpSocket>,
    mut out: mpsc::UnboundedReceiver<Message>,
    book: AddressBook,
    reports: mpsc::UnboundedSender<PeerReport>,
) {
    while let Some(msg) = out.recv().await {
        let to = msg.to;
        let is_snapshot = msg.get_msg_type() == MessageType::MsgSnapshot;
        let report = |ok: bool| {
            if !ok {
                let _ = reports.send(PeerReport::Unreachable(to));
            }
            if is_snapshot {
                let _ = reports.send(PeerReport::Snapshot { to, ok });
            }
        };
        let Some(addr) = book.get(to) else {
            tracing::debug!(to, "raft transport: no address for peer");
            report(false);
            continue;
        };
        let bytes = match encode(&msg) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(to, error = %e, "raft transport: cannot encode message");
                report(false);
                continue;
            }
        };
        if bytes.len() <= MAX_DATAGRAM {
            let res = send_datagram(&udp, addr, &bytes).await;
            if let Err(e) = &res {
                tracing::debug!(to, %addr, error = %e, "raft transport: datagram not sent");
            }
            report(res.is_ok());
        } else {
            let reports = reports.clone();
            tokio::spawn(async move {
                let res = tokio::time::timeout(STREAM_SEND_TIMEOUT, send_frame(addr, &bytes)).await;
                let ok = matches!(res, Ok(Ok(())));
                if !ok {
                    tracing::debug!(to, %addr, "raft transport: stream send failed");
                    let _ = reports.send(PeerReport::Unreachable(to));
                }
                if is_snapshot {
                    let _ = reports.send(PeerReport::Snapshot { to, ok });
                }
            });
        }
    }
}

async fn send_datagram(udp: &UdpSocket, addr: SocketAddr, bytes: &[u8]) -> io::Result<()> {
    // madsim's UdpSocket takes (destination, bytes); tokio's takes (bytes, destination).
    #[cfg(madsim)]
    return udp.send_to(addr, bytes).await;
    #[cfg(not(madsim))]
    return udp.send_to(bytes, addr).await.map(|_| ());
}

async fn send_frame(addr: SocketAddr, bytes: &[u8]) -> io::Result<()> {
    let head = header(bytes.len()).map_err(|e| {
        tracing::error!(len = bytes.len(), error = %e, "raft transport: frame not sent");
        io::Error::new(io::ErrorKind::InvalidInput, e)
    })?;
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&head).await?;
    stream.write_all(bytes).await?;
    stream.flush().await
}

async fn recv_datagrams(udp: Arc<UdpSocket>, rx: Receiver) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match udp.recv_from(&mut buf).await {
            Ok((n, from)) => match rx.deliver(&buf[..n]) {
                Received::Done | Received::Junk => {}
                Received::Closed => return,
                Received::FromRemoved(id) => {
                    // Peers send from their listening socket, so `from` reaches it.
                    tracing::info!(id, %from, "raft transport: telling a removed member");
                    if let Err(e) = send_datagram(&udp, from, &removed_notice(id)).await {
                        tracing::debug!(id, error = %e, "raft transport: removal notice not sent");
                    }
                }
            },
            Err(e) => {
                // Real sockets report earlier sends' ICMP errors here; keep going.
                tracing::debug!(error = %e, "raft transport: datagram receive error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Counts the peer connections being read, per IP address and in all.
#[derive(Debug, Default)]
struct ConnLimits {
    per_ip: Mutex<BTreeMap<IpAddr, usize>>,
}

/// A connection's place in [`ConnLimits`], given back on drop.
struct ConnSlot {
    limits: Arc<ConnLimits>,
    ip: IpAddr,
}

impl ConnLimits {
    /// A slot for a connection from `ip`, if neither limit is reached.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = per_ip.values().sum();
        let from_ip = per_ip.entry(ip).or_insert(0);
        if total >= MAX_CONNS || *from_ip >= MAX_CONNS_PER_PEER {
            return None;
        }
        *from_ip += 1;
        Some(ConnSlot {
            limits: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut per_ip = self.limits.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

async fn accept_streams(tcp: TcpListener, rx: Receiver) {
    let limits = Arc::new(ConnLimits::default());
    loop {
        match tcp.accept().await {
            Ok((stream, from)) => match limits.admit(from.ip()) {
                Some(slot) => {
                    tokio::spawn(read_frames(stream, from, rx.clone(), slot));
                }
                None => {
                    tracing::debug!(%from, "raft transport: too many peer connections; closing");
                    drop(stream);
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "raft transport: accept error");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Reads frames from one connection until it ends, idles, or sends garbage; `_slot`
/// holds its place in the connection limits meanwhile.
async fn read_frames(mut stream: TcpStream, from: SocketAddr, rx: Receiver, _slot: ConnSlot) {
    let mut decoder = FrameDecoder::new(MAX_FRAME);
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match tokio::time::timeout(STREAM_IDLE_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                if !decoder.is_at_boundary() {
                    tracing::debug!(%from, "raft transport: connection closed mid-frame");
                }
                return;
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::debug!(%from, error = %e, "raft transport: stream read error");
                return;
            }
            Err(_) => {
                tracing::debug!(%from, "raft transport: idle peer connection; closing");
                return;
            }
        };
        let frames = match decoder.feed(&chunk[..n]) {
            Ok(frames) => frames,
            Err(e) => {
                tracing::warn!(%from, error = %e, "raft transport: bad frame; closing");
                return;
            }
        };
        for body in frames {
            // A removed member's big messages are dropped: its small ones (heartbeat
            // answers, votes) go by datagram and get the removal notice.
            match rx.deliver(&body) {
                Received::Done | Received::FromRemoved(_) => {}
                Received::Closed => return,
                Received::Junk => {
                    tracing::warn!(%from, "raft transport: garbage frame; closing");
                    return;
                }
            }
        }
    }
}
