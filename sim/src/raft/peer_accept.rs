//! The accepting side of the peer transport: bounded acceptance of peer connections,
//! the first ping that names the dialing member, then the frames it sends; pings are
//! answered and messages from removed members get a removal notice on the same
//! connection. See [`super::transport`] for the limits and why.

use super::frame::FrameDecoder;
use super::transport::{
    HELLO_MAX_FRAME, MAX_CONNS, MAX_CONNS_PER_PEER, MAX_FRAME, Received, Receiver,
    STREAM_IDLE_TIMEOUT, decode_ping, encode_ping, removed_notice, write_frames,
};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Bytes read from a peer connection at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Counts the peer connections being read, per IP address and in all.
#[derive(Debug, Default)]
pub(crate) struct ConnLimits {
    per_ip: Mutex<BTreeMap<IpAddr, usize>>,
}

/// A connection's place in [`ConnLimits`], given back on drop.
pub(crate) struct ConnSlot {
    limits: Arc<ConnLimits>,
    ip: IpAddr,
}

impl ConnLimits {
    /// A slot for a connection from `ip`, if neither limit is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
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

/// Tasks aborted when this is dropped (madsim has no `JoinSet`).
#[derive(Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Accepts peer connections until aborted; dropping this future stops every
/// connection it accepted.
pub(crate) async fn accept_streams(tcp: TcpListener, rx: Receiver) {
    let limits = Arc::new(ConnLimits::default());
    let mut conns = Tasks::default();
    loop {
        // Forget finished connections so the list stays small.
        conns.0.retain(|t| !t.is_finished());
        match tcp.accept().await {
            Ok((stream, from)) => match limits.admit(from.ip()) {
                Some(slot) => {
                    conns
                        .0
                        .push(tokio::spawn(serve_conn(stream, from, rx.clone(), slot)));
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

/// Serves one accepted connection until it ends, idles, or misbehaves; `_slot` holds
/// its place in the connection limits meanwhile.
pub(crate) async fn serve_conn<S>(stream: S, from: SocketAddr, rx: Receiver, _slot: ConnSlot)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut decoder = FrameDecoder::new(HELLO_MAX_FRAME);
    let mut chunk = vec![0u8; READ_CHUNK];
    // The member the first ping named.
    let mut peer: Option<u64> = None;
    loop {
        let n = match tokio::time::timeout(STREAM_IDLE_TIMEOUT, rd.read(&mut chunk)).await {
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
            let Some(p) = peer else {
                let Some(named) = decode_ping(&body) else {
                    tracing::warn!(
                        %from,
                        "raft transport: first frame is not a ping; closing"
                    );
                    return;
                };
                if !rx.admits(named) {
                    tracing::warn!(
                        %from,
                        peer = %format_args!("{named:x}"),
                        "raft transport: refusing a connection from a node that is not a member"
                    );
                    return;
                }
                rx.activity.heard_from(named, tokio::time::Instant::now());
                peer = Some(named);
                decoder.set_max(MAX_FRAME);
                if write_frames(&mut wr, &[&encode_ping(rx.id)]).await.is_err() {
                    return;
                }
                continue;
            };
            match rx.deliver(p, &body) {
                Received::Done => {}
                Received::Ping => {
                    if let Err(e) = write_frames(&mut wr, &[&encode_ping(rx.id)]).await {
                        tracing::debug!(%from, error = %e, "raft transport: ping answer not sent");
                        return;
                    }
                }
                Received::Closed => return,
                Received::Junk => {
                    tracing::warn!(%from, "raft transport: garbage frame; closing");
                    return;
                }
                Received::FromRemoved(id) => {
                    tracing::info!(id, %from, "raft transport: telling a removed member");
                    if let Err(e) = write_frames(&mut wr, &[&removed_notice(id)]).await {
                        tracing::debug!(id, error = %e, "raft transport: removal notice not sent");
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
