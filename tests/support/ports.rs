//! Free loopback ports for test clusters.
//!
//! A port is found by binding `127.0.0.1:0` (and checking UDP can bind it too: our
//! own server's peers use both on one port); the listeners of one cluster are held
//! until all its ports are chosen, so they differ from each other, and a
//! process-wide set keeps two clusters of one test binary apart. Another process
//! can still take a port between our check and etcd's bind: the cluster start-up
//! notices the clash ("address already in use") and retries with new ports.

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;

/// Ports a user may run etcd on: never used by the tests.
const RESERVED: [u16; 2] = [2379, 2380];

static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// `n` distinct loopback ports that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut attempts = 0;
    while ports.len() < n {
        attempts += 1;
        assert!(attempts < 10_000, "could not find {n} free loopback ports");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if RESERVED.contains(&port) || handed_out.contains(&port) {
            continue;
        }
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        handed_out.insert(port);
        ports.push(port);
        held.push(listener);
    }
    drop(held);
    ports
}

/// A loopback port with nothing listening on it (a dead endpoint).
pub fn closed_port() -> u16 {
    free_ports(1)[0]
}
