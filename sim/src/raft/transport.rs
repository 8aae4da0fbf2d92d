//! Peer transport: raft-rs messages between members, over `tokio::net` (real sockets in
//! real builds, madsim's simulated ones in sim builds).
//!
//! Messages are protobuf-2 `eraftpb::Message`s behind a 4-byte magic. One that fits in
//! [`MAX_DATAGRAM`] bytes goes as one UDP datagram: it is lost, as Raft expects of a
//! network, when the link is clogged, partitioned or lossy, or the peer is down. A larger
//! one (a snapshot, a big append) goes over a TCP connection opened for it, as one
//! length-prefixed frame ([`super::frame`]). Failures are reported back to the node
//! ([`PeerReport`]) so raft-rs can probe the peer again, and every snapshot send reports
//! its outcome. Undecodable input is dropped with a warning.
//!
//! Peer connections are not authenticated, so the receiving side is bounded: a frame is
//! buffered only as its bytes arrive (never by its claimed length), at most
//! [`MAX_CONNS_PER_PEER`] connections from one IP address and [`MAX_CONNS`] in all are
//! read at once (more are closed on accept), a connection idle for
//! [`STREAM_IDLE_TIMEOUT`] is closed, and so is one that sends garbage: a length over
//! [`MAX_FRAME`] or a frame that is not a message.
//!
//! Every [`PING_INTERVAL`] the transport also sends each peer in the address book a
//! small ping datagram (magic `ERP1`, then the sender's id), and whatever arrives from
//! a peer is recorded in the node's [`PeerActivity`]: that is how a member knows it is
//! connected to all its peers, followers included, which Raft never makes talk.
//! A message from a member removed from the cluster is answered with a removal
//! notice (magic `ERX1`), as etcd answers it with 410 Gone; the removed member stops.

use super::frame::{FrameDecoder, header};
use super::membership::AddressBook;
use super::peer_activity::PeerActivity;
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub use super::frame::MAX_FRAME;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest encoded message sent as a datagram; larger ones use a TCP connection.
pub const MAX_DATAGRAM: usize = 60 * 1024;
/// Most peer connections read at once from one IP address.
pub const MAX_CONNS_PER_PEER: usize = 16;
/// Most peer connections read at once in all.
pub const MAX_CONNS: usize = 64;
/// A peer connection that brings no byte for this long is closed.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from a peer connection at a time.
const READ_CHUNK: usize = 64 * 1024;
/// How long a TCP send may take (connect + write) before it counts as failed.
pub const STREAM_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// How often each peer is pinged.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

const MAGIC: &[u8; 4] = b"ERM1";
const PING_MAGIC: &[u8; 4] = b"ERP1";

/// A ping from node `from`.
fn encode_ping(from: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(PING_MAGIC);
    out[4..].copy_from_slice(&from.to_le_bytes());
    out
}

/// The sender of a ping; `None` if `bytes` is not one.
fn decode_ping(bytes: &[u8]) -> Option<u64> {
    let id = bytes.strip_prefix(PING_MAGIC)?;
    Some(u64::from_le_bytes(id.try_into().ok()?))
}

/// A removal notice: this magic, then the removed node's id (u64, big-endian).
const REMOVED_MAGIC: &[u8; 4] = b"ERX1";

/// The notice sent to a removed node that still sends messages.
fn removed_notice(to: u64) -> Vec<u8> {
    let mut out = REMOVED_MAGIC.to_vec();
    out.extend_from_slice(&to.to_be_bytes());
    out
}

/// The id a removal notice names, if `bytes` is one.
fn parse_removed_notice(bytes: &[u8]) -> Option<u64> {
    let id = bytes.strip_prefix(REMOVED_MAGIC)?;
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// What the transport tells the node about its sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerReport {
    /// A peer answered that this node was removed from the cluster (etcd's 410
    /// Gone): it must stop.
    Removed,
    /// A message to this peer could not be sent.
    Unreachable(u64),
    /// A snapshot to this peer was sent (`ok`) or failed.
    Snapshot {
        /// The peer.
        to: u64,
        /// Whether the send completed.
        ok: bool,
    },
}

/// Encodes a message for the wire.
///
/// # Errors
///
/// The protobuf encoder's error.
pub fn encode(msg: &Message) -> Result<Vec<u8>, protobuf::ProtobufError> {
    let body = msg.write_to_bytes()?;
    let mut out = Vec::with_capacity(MAGIC.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes a message from the wire; `None` (after a warning) if it is not one.
pub fn decode(bytes: &[u8]) -> Option<Message> {
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        tracing::warn!(
            len = bytes.len(),
            "raft transport: dropping input without magic"
        );
        return None;
    };
    match Message::parse_from_bytes(body) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "raft transport: dropping undecodable message");
            None
        }
    }
}

/// The sending half of the transport, plus the tasks that receive. Dropping it stops
/// every task it started.
#[derive(Debug)]
pub struct PeerTransport {
    out: mpsc::UnboundedSender<Message>,
    tasks: Vec<JoinHandle<()>>,
}

impl PeerTransport {
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
            id,
            book: book.clone(),
            inbound,
            reports: reports.clone(),
            activity,
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

impl Drop for PeerTransport {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What receiving tasks need: who we are, who was removed, and where input goes.
#[derive(Clone)]
struct Receiver {
    id: u64,
    book: AddressBook,
    inbound: mpsc::UnboundedSender<Message>,
    reports: mpsc::UnboundedSender<PeerReport>,
    activity: PeerActivity,
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
            if removed == self.id {
                tracing::warn!(
                    id = self.id,
                    "raft transport: a peer says this node was removed"
                );
                let _ = self.reports.send(PeerReport::Removed);
            }
            return Received::Done;
        }
        if let Some(from) = decode_ping(bytes) {
            if from != self.id {
                self.activity.heard_from(from, tokio::time::Instant::now());
            }
            return Received::Done;
        }
        let Some(msg) = decode(bytes) else {
            return Received::Junk;
        };
        if msg.to != self.id {
            tracing::warn!(
                to = msg.to,
                me = self.id,
                "raft transport: dropping message for another node"
            );
            return Received::Done;
        }
        if self.book.is_removed(msg.from) {
            return Received::FromRemoved(msg.from);
        }
        self.activity
            .heard_from(msg.from, tokio::time::Instant::now());
        if self.inbound.send(msg).is_ok() {
            Received::Done
        } else {
            Received::Closed
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

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::Entry;

    #[test]
    fn encode_decode_round_trip() {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgAppend);
        m.to = 2;
        m.from = 1;
        m.term = 3;
        m.set_entries(
            vec![Entry {
                index: 4,
                term: 3,
                data: b"x".to_vec().into(),
                ..Default::default()
            }]
            .into(),
        );
        let bytes = encode(&m).unwrap();
        assert_eq!(decode(&bytes), Some(m));
        assert_eq!(decode(b"ERM1\xff\xff\xff"), None);
        assert_eq!(decode(b"junk"), None);
    }

    #[test]
    fn removal_notices_round_trip() {
        assert_eq!(parse_removed_notice(&removed_notice(0xabc)), Some(0xabc));
        assert_eq!(parse_removed_notice(b"ERX1\x01"), None);
        assert_eq!(parse_removed_notice(b"ERM1\0\0\0\0\0\0\0\x01"), None);
    }

    #[test]
    fn pings_round_trip_and_are_not_messages() {
        let ping = encode_ping(0x1234_5678_9abc);
        assert_eq!(decode_ping(&ping), Some(0x1234_5678_9abc));
        assert_eq!(decode_ping(&ping[..11]), None);
        assert_eq!(decode_ping(b"ERM1\x01\x02"), None);
    }

    #[test]
    fn connection_limits_per_ip_and_in_all() {
        let limits = Arc::new(ConnLimits::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let from_a: Vec<_> = (0..MAX_CONNS_PER_PEER)
            .map(|_| limits.admit(a).expect("under the per-peer limit"))
            .collect();
        assert!(limits.admit(a).is_none(), "per-peer limit reached");
        drop(from_a);
        assert!(limits.admit(a).is_some(), "slots come back on drop");
        let others: Vec<_> = (0..MAX_CONNS)
            .filter_map(|i| limits.admit(IpAddr::from([127, 1, (i / 256) as u8, i as u8])))
            .collect();
        assert_eq!(others.len(), MAX_CONNS);
        assert!(
            limits.admit(IpAddr::from([127, 2, 0, 0])).is_none(),
            "total limit"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use raft::eraftpb::Entry;

    use crate::proptest_config::proptest_config as config;

    fn message() -> impl Strategy<Value = Message> {
        (
            0i32..19,
            any::<[u64; 6]>(),
            any::<bool>(),
            prop::collection::vec(
                (
                    any::<u64>(),
                    any::<u64>(),
                    prop::collection::vec(any::<u8>(), 0..64),
                ),
                0..4,
            ),
        )
            .prop_map(
                |(ty, [to, from, term, log_term, index, commit], reject, entries)| {
                    let mut m = Message::default();
                    m.set_msg_type(
                        <MessageType as protobuf::ProtobufEnum>::from_i32(ty).unwrap_or_default(),
                    );
                    m.to = to;
                    m.from = from;
                    m.term = term;
                    m.log_term = log_term;
                    m.index = index;
                    m.commit = commit;
                    m.reject = reject;
                    m.set_entries(
                        entries
                            .into_iter()
                            .map(|(index, term, data)| Entry {
                                index,
                                term,
                                data: data.into(),
                                ..Default::default()
                            })
                            .collect::<Vec<_>>()
                            .into(),
                    );
                    m
                },
            )
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_decode_or_are_refused(
            body in prop::collection::vec(any::<u8>(), 0..512),
            with_magic in any::<bool>(),
        ) {
            let mut bytes = if with_magic { MAGIC.to_vec() } else { Vec::new() };
            bytes.extend_from_slice(&body);
            if let Some(m) = decode(&bytes) {
                // What decodes is on the order of its input (packed and unpacked
                // repeated fields differ by a byte or so per element).
                prop_assert!(encode(&m).unwrap().len() <= 2 * bytes.len() + 16);
            }
            let _ = decode_ping(&bytes);
            let _ = parse_removed_notice(&bytes);
        }

        #[test]
        fn messages_round_trip(m in message()) {
            let bytes = encode(&m).unwrap();
            prop_assert_eq!(decode(&bytes), Some(m));
        }

        #[test]
        fn truncated_messages_never_panic(m in message(), cut in any::<usize>()) {
            let bytes = encode(&m).unwrap();
            let cut = cut % (bytes.len() + 1);
            let _ = decode(&bytes[..cut]);
        }
    }
}
