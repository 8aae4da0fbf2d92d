//! Peer transport: raft-rs messages between members over long-lived TCP streams
//! (`tokio::net`: real sockets in real builds, madsim's simulated ones in sim builds).
//!
//! # Streams
//!
//! As etcd's rafthttp keeps a stream to every peer, each member dials each peer in the
//! address book once and keeps that connection open: one outbound stream per peer,
//! owned by a sender task ([`super::peer_stream`]) fed through a bounded queue of
//! [`PEER_QUEUE_LEN`] messages. The Raft loop never waits on the network: a message
//! that finds the queue full is dropped and the peer reported unreachable to raft-rs,
//! which probes it again (Raft tolerates loss). A stream that fails (connect refused,
//! write error or timeout, no answer to pings for [`DEAD_AFTER`]) is dropped, the
//! peer reported unreachable, and the task dials again after a backoff from
//! [`RECONNECT_MIN`] doubling to [`RECONNECT_MAX`]; messages queued meanwhile are
//! dropped. A snapshot goes on a connection of its own, opened for it, and its outcome
//! is reported ([`PeerReport::Snapshot`]).
//!
//! Messages flow one way on a stream: from the member that dialed it. Replies come
//! back on the other member's own outbound stream. The known gap: a peer reachable
//! one way only (A can dial B, B cannot dial A) gets A's messages but A never gets
//! B's answers, as with etcd when its streams are down one way. The connection is
//! still read both ways for pings, their answers and removal notices, so A sees B as
//! active.
//!
//! # Wire
//!
//! Every frame ([`super::frame`]: a 4-byte length, then the body) starts with a 4-byte
//! magic: `ERP1` + the sender's id (u64 LE) is a ping, `ERM1` + a protobuf-2
//! `eraftpb::Message` is a Raft message, `ERX1` + an id (u64 BE) a removal notice.
//! The first frame on a connection must be a ping: it says which member dialed, and
//! until it arrives frames over [`HELLO_MAX_FRAME`] bytes are refused. The accepting
//! side answers every ping with its own, which is how the dialer knows the stream is
//! alive; every [`PING_INTERVAL`] the dialer pings. Whatever arrives from a peer
//! (message, ping, answer) is recorded in the node's [`PeerActivity`]: that is how a
//! member knows it is connected to all its peers, followers included, which Raft never
//! makes talk. A message from a member removed from the cluster is answered, on the
//! connection it came on, with a removal notice, as etcd answers it with 410 Gone; the
//! removed member stops.
//!
//! # Acceptance
//!
//! Peer connections are not authenticated by a certificate, so the accepting side
//! ([`super::peer_accept`]) is bounded: a frame is buffered only as its bytes arrive
//! (never by its claimed length), at most [`MAX_CONNS_PER_PEER`] connections from one
//! IP address and [`MAX_CONNS`] in all are read at once (more are closed on accept), a
//! connection that says nothing for [`STREAM_IDLE_TIMEOUT`] is closed, and so is one
//! that sends garbage: a length over [`MAX_FRAME`] (or over [`HELLO_MAX_FRAME`] before
//! its ping), a first frame that is not a ping, a frame that is not a message or a
//! ping. A connection whose ping names a node that is neither in the address book nor
//! removed, or that carries a message whose sender is not the node its ping named, is
//! refused (closed, with a warning): members are known by id. Their addresses are not
//! checked (a member may dial from another address than the one it listens on).
//!
//! # Under the simulator's faults
//!
//! madsim's TCP carries a connection's bytes as packets through the same link model
//! as datagrams, so every fault still reaches Raft traffic, in the shape TCP gives it:
//! - clog, partition, one-way cut (`clog_link`): an open stream holds its bytes (they
//!   are retried with a backoff up to 10 s, in order) and a new connect over the cut
//!   link fails at once. The dialer stops hearing ping answers, declares the stream
//!   dead after [`DEAD_AFTER`], reports the peer unreachable and dials again until the
//!   link heals; with a one-way cut the stream in the open direction keeps delivering
//!   messages but its answers are held, so it too is redialed every [`DEAD_AFTER`].
//! - loss: a lost packet is sent again after a backoff (1 ms, doubling), as TCP
//!   retransmits, so loss shows up as latency and head-of-line blocking of the frames
//!   behind it, not as missing messages; at high rates pings go unanswered and the
//!   stream is redialed, and messages queued then are dropped.
//! - latency: every packet (so every flushed batch of frames) is delayed.
//! - pause (SIGSTOP): the paused member's connections stay open and bytes sent to it
//!   wait; its peers hear no answers, redial after [`DEAD_AFTER`], and on resume it
//!   reads the stale bytes first (harmless to Raft: old terms and indexes).
//! - kill/restart: connections close; the peers redial after a backoff.

use super::frame::header;
use super::membership::AddressBook;
use super::peer_accept::accept_streams;
use super::peer_activity::PeerActivity;
use super::peer_stream::{PeerQueues, SenderCtx};
use protobuf::Message as _;
use raft::eraftpb::Message;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use super::frame::MAX_FRAME;

/// Most peer connections read at once from one IP address.
pub const MAX_CONNS_PER_PEER: usize = 16;
/// Most peer connections read at once in all.
pub const MAX_CONNS: usize = 64;
/// A peer connection that brings no byte for this long is closed.
pub const STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write (or a snapshot send: connect + write) may take before the
/// connection counts as failed.
pub const STREAM_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest frame accepted before the connection's first ping.
pub const HELLO_MAX_FRAME: usize = 64;
/// How often the dialer pings each peer on its stream.
pub const PING_INTERVAL: Duration = Duration::from_millis(200);
/// A stream whose peer has not answered for this long is dropped and dialed again.
///
/// Short on purpose: a stream whose bytes were held by a partition may stay stuck
/// after the link heals (madsim retries held packets with a backoff of up to 10 s, a
/// real TCP retransmits on its own timer), while a new connection works at once. The
/// chaos runner's liveness phase gives each request 2 s after the final heal; a 5 s
/// timeout here failed it.
pub const DEAD_AFTER: Duration = Duration::from_secs(1);
/// Messages queued for one peer at most; more are dropped (peer reported unreachable).
pub const PEER_QUEUE_LEN: usize = 4096;
/// First wait before dialing a peer again.
pub const RECONNECT_MIN: Duration = Duration::from_millis(50);
/// Longest wait before dialing a peer again (dialing a peer that is down costs a
/// refused connect, or [`CONNECT_TIMEOUT`] without a reply).
pub const RECONNECT_MAX: Duration = Duration::from_millis(200);

const MAGIC: &[u8; 4] = b"ERM1";
const PING_MAGIC: &[u8; 4] = b"ERP1";

/// A ping from node `from`.
pub(crate) fn encode_ping(from: u64) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(PING_MAGIC);
    out[4..].copy_from_slice(&from.to_le_bytes());
    out
}

/// The sender of a ping; `None` if `bytes` is not one.
pub(crate) fn decode_ping(bytes: &[u8]) -> Option<u64> {
    let id = bytes.strip_prefix(PING_MAGIC)?;
    Some(u64::from_le_bytes(id.try_into().ok()?))
}

/// A removal notice: this magic, then the removed node's id (u64, big-endian).
const REMOVED_MAGIC: &[u8; 4] = b"ERX1";

/// The notice sent to a removed node that still sends messages.
pub(crate) fn removed_notice(to: u64) -> Vec<u8> {
    let mut out = REMOVED_MAGIC.to_vec();
    out.extend_from_slice(&to.to_be_bytes());
    out
}

/// The id a removal notice names, if `bytes` is one.
pub(crate) fn parse_removed_notice(bytes: &[u8]) -> Option<u64> {
    let id = bytes.strip_prefix(REMOVED_MAGIC)?;
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// Writes `bodies` as frames and flushes once, within [`STREAM_SEND_TIMEOUT`].
pub(crate) async fn write_frames<W: AsyncWrite + Unpin>(
    w: &mut W,
    bodies: &[&[u8]],
) -> io::Result<()> {
    let write = async {
        for body in bodies {
            let head = header(body.len()).map_err(|e| {
                tracing::error!(len = body.len(), error = %e, "raft transport: frame not sent");
                io::Error::new(io::ErrorKind::InvalidInput, e)
            })?;
            w.write_all(&head).await?;
            w.write_all(body).await?;
        }
        w.flush().await
    };
    match tokio::time::timeout(STREAM_SEND_TIMEOUT, write).await {
        Ok(res) => res,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "peer stream write timed out",
        )),
    }
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
/// every task it started (the per-peer senders and every accepted connection).
#[derive(Debug)]
pub struct PeerTransport {
    queues: PeerQueues,
    tasks: Vec<JoinHandle<()>>,
}

impl PeerTransport {
    /// Binds `listen` (TCP) and starts the tasks: received messages addressed to `id`
    /// go to `inbound`, send failures and snapshot outcomes to `reports`, and every
    /// frame from a peer is noted in `activity`; destinations are looked up in `book`
    /// each time a stream is dialed.
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
        let tcp = TcpListener::bind(listen).await?;
        let receiver = Receiver {
            id,
            book: book.clone(),
            inbound,
            activity: activity.clone(),
        };
        let queues = PeerQueues::new(SenderCtx {
            id,
            book,
            activity,
            reports,
        });
        let tasks = vec![
            tokio::spawn(queues.clone().keep_streams()),
            tokio::spawn(accept_streams(tcp, receiver)),
        ];
        Ok(Self { queues, tasks })
    }

    /// Queues a message for its destination (`msg.to`); never waits.
    pub fn send(&self, msg: Message) {
        self.queues.send(msg);
    }
}

impl Drop for PeerTransport {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        self.queues.stop_all();
    }
}

/// What receiving tasks need: who we are, who was removed, and where input goes.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) id: u64,
    pub(crate) book: AddressBook,
    pub(crate) inbound: mpsc::UnboundedSender<Message>,
    pub(crate) activity: PeerActivity,
}

/// What became of one received frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Received {
    /// Passed to the node, or dropped (a message for another node).
    Done,
    /// A ping: answer it.
    Ping,
    /// Not a message or a ping, or a message not from the connection's member.
    Junk,
    /// From a removed node: it should be told.
    FromRemoved(u64),
    /// The node is gone; stop receiving.
    Closed,
}

impl Receiver {
    /// Handles one frame from a connection whose first ping named `peer`.
    pub(crate) fn deliver(&self, peer: u64, bytes: &[u8]) -> Received {
        if let Some(from) = decode_ping(bytes) {
            if from != peer {
                tracing::warn!(
                    peer,
                    from,
                    "raft transport: ping names another member; closing"
                );
                return Received::Junk;
            }
            self.activity.heard_from(peer, tokio::time::Instant::now());
            return Received::Ping;
        }
        let Some(msg) = decode(bytes) else {
            return Received::Junk;
        };
        if msg.from != peer {
            tracing::warn!(
                peer,
                from = msg.from,
                "raft transport: message from another member than the connection's; closing"
            );
            return Received::Junk;
        }
        self.pass_on(msg)
    }

    /// Hands a decoded message to the node (both transports): dropped if it is
    /// for another node, refused if its sender was removed.
    pub(crate) fn pass_on(&self, msg: Message) -> Received {
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

    /// Whether node `peer` may open a connection: a member (in the address book) or a
    /// removed one (to be told), never this node itself.
    pub(crate) fn admits(&self, peer: u64) -> bool {
        peer != self.id && (self.book.get(peer).is_some() || self.book.is_removed(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::eraftpb::{Entry, MessageType};
    use std::collections::BTreeMap;

    fn receiver() -> (Receiver, mpsc::UnboundedReceiver<Message>) {
        let book = AddressBook::new(BTreeMap::from([
            (1, "10.0.0.1:2380".parse().unwrap()),
            (2, "10.0.0.2:2380".parse().unwrap()),
        ]));
        book.mark_removed(3);
        let (tx, rx) = mpsc::unbounded_channel();
        let r = Receiver {
            id: 1,
            book,
            inbound: tx,
            activity: PeerActivity::default(),
        };
        (r, rx)
    }

    fn message(from: u64, to: u64) -> Vec<u8> {
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        m.from = from;
        m.to = to;
        encode(&m).unwrap()
    }

    #[tokio::test]
    async fn only_members_and_removed_members_are_admitted() {
        let (r, _rx) = receiver();
        assert!(r.admits(2));
        assert!(r.admits(3), "a removed member is let in to be told");
        assert!(!r.admits(1), "not this node itself");
        assert!(!r.admits(4), "not a stranger");
    }

    #[tokio::test]
    async fn frames_are_checked_against_the_connections_member() {
        let (r, mut rx) = receiver();
        assert_eq!(r.deliver(2, &encode_ping(2)), Received::Ping);
        assert!(
            r.activity
                .active_since(2, tokio::time::Instant::now())
                .is_some()
        );
        assert_eq!(r.deliver(2, &encode_ping(4)), Received::Junk);
        assert_eq!(r.deliver(2, &message(2, 1)), Received::Done);
        assert_eq!(rx.try_recv().map(|m| m.from).ok(), Some(2));
        assert_eq!(
            r.deliver(2, &message(4, 1)),
            Received::Junk,
            "spoofed sender"
        );
        assert_eq!(
            r.deliver(2, &message(2, 5)),
            Received::Done,
            "for another node"
        );
        assert!(rx.try_recv().is_err());
        assert_eq!(r.deliver(3, &message(3, 1)), Received::FromRemoved(3));
        assert_eq!(r.deliver(2, b"garbage!"), Received::Junk);
        drop(rx);
        assert_eq!(r.deliver(2, &message(2, 1)), Received::Closed);
    }

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
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use raft::eraftpb::{Entry, MessageType};

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
