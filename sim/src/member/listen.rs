//! Binding a member's client listeners with a listen backlog of
//! [`LISTEN_BACKLOG`] connections, as etcd gets from Go (which listens with the
//! kernel's `net.core.somaxconn`, 4,096 on current Linux). Tokio's
//! `TcpListener::bind` listens with 128, as Rust's standard library does: a burst
//! of connections beyond it overflows the accept queue, and the kernel drops their
//! handshakes, which the clients retransmit a second or more later (measured with
//! `sim/examples/accept_burst.rs`: 2,000 connections at once).
//!
//! Sim builds bind madsim's simulated listener, which has no backlog to set.

use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Pending connections the kernel holds for a client listener (capped by
/// `net.core.somaxconn`).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a client listener on `addr` (`SO_REUSEADDR` set, as `TcpListener::bind`
/// sets it on Unix) with a backlog of [`LISTEN_BACKLOG`].
///
/// # Errors
///
/// The socket errors of creating, binding or listening.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    #[cfg(not(madsim))]
    {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    }
    #[cfg(madsim)]
    {
        TcpListener::bind(addr).await
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binds_and_accepts() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(server.local_addr().unwrap(), addr);
    }
}
