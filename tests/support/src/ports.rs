//! Free loopback ports for test clusters.
//!
//! Ports come from below the kernel's ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`, usually 32768–60999). Outgoing
//! connections draw their local ports from that range, so a port chosen inside it
//! can be taken by any client socket (ours, etcdctl's) between the check and the
//! server's bind; below it, only another listener can take it. A candidate must
//! bind for TCP and UDP (our own server's peers use both on one port), and a
//! process-wide set keeps the clusters of one test binary apart. Each process
//! starts its scan at a different place, and the process harness still retries a
//! start-up that meets "address already in use".

use std::collections::BTreeSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Ports a user may run etcd on: never used by the tests.
const RESERVED: [u16; 2] = [2379, 2380];

/// The lowest port handed out.
const FIRST: u16 = 10_000;

static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// The ports to choose from: `FIRST` up to the start of the ephemeral range.
fn candidates() -> std::ops::Range<u16> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    FIRST..ephemeral_start.max(FIRST + 1_000)
}

/// Where this process starts scanning, within `span` ports.
fn start_offset(span: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (u64::from(std::process::id()) * 7_919 + u64::from(nanos)) % span
}

/// Whether nothing is bound to `port` on loopback, for TCP or UDP.
fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

/// `n` distinct loopback ports that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let range = candidates();
    let span = u64::from(range.end - range.start);
    let start = start_offset(span);
    let mut ports = Vec::new();
    for step in 0..span {
        if ports.len() == n {
            break;
        }
        let port = range.start + u16::try_from((start + step) % span).unwrap_or(0);
        if RESERVED.contains(&port) || handed_out.contains(&port) || !is_free(port) {
            continue;
        }
        handed_out.insert(port);
        ports.push(port);
    }
    assert_eq!(ports.len(), n, "could not find {n} free loopback ports");
    ports
}

/// A loopback port with nothing listening on it (a dead endpoint).
pub fn closed_port() -> u16 {
    free_ports(1)[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let range = candidates();
        let a = free_ports(5);
        let b = free_ports(5);
        let all: BTreeSet<u16> = a.iter().chain(&b).copied().collect();
        assert_eq!(all.len(), 10, "{a:?} {b:?}");
        for p in all {
            assert!(range.contains(&p), "{p} outside {range:?}");
            assert!(is_free(p));
        }
    }
}
