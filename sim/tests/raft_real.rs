//! The Raft node in a real build: three nodes on loopback (real UDP/TCP sockets, real
//! time, a fast 10 ms tick) elect a leader, replicate, and serve a read barrier.

#![cfg(not(madsim))]

use etcd_test_support::ports;

use etcd_sim::raft::{MemDisk, RaftConfig, RaftNode, StateMachine};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{sleep, timeout};

#[derive(Default, Clone)]
struct Counter(Arc<Mutex<u64>>);

impl StateMachine for Counter {
    type Output = u64;

    fn apply(&mut self, _index: u64, _term: u64, data: &[u8]) -> u64 {
        let mut n = self.0.lock().unwrap();
        *n += data.len() as u64;
        *n
    }

    fn snapshot(&self) -> Vec<u8> {
        self.0.lock().unwrap().to_le_bytes().to_vec()
    }

    fn restore(&mut self, _index: u64, data: &[u8]) -> Result<(), String> {
        let bytes: [u8; 8] = data.try_into().map_err(|_| "bad counter snapshot")?;
        *self.0.lock().unwrap() = u64::from_le_bytes(bytes);
        Ok(())
    }
}

/// A loopback port free for both UDP and TCP (the peer transport uses both).
fn free_port() -> u16 {
    ports::free_ports(1)[0]
}

#[tokio::test]
async fn three_real_nodes_elect_replicate_and_read() {
    let peers: BTreeMap<u64, SocketAddr> = (1..=3)
        .map(|id| (id, SocketAddr::from(([127, 0, 0, 1], free_port()))))
        .collect();
    let mut nodes = Vec::new();
    let mut counters = Vec::new();
    for (&id, &addr) in &peers {
        let mut cfg = RaftConfig::new(id, addr, peers.clone());
        cfg.tick = Duration::from_millis(10);
        let counter = Counter::default();
        counters.push(counter.clone());
        nodes.push(RaftNode::start(cfg, MemDisk::new(), counter).await.unwrap());
    }
    let leader = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(n) = nodes.iter().find(|n| n.status().is_leader()) {
                return n.clone();
            }
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a leader within 10 s");
    for i in 1..=10u64 {
        let got = timeout(Duration::from_secs(5), leader.propose(vec![0; 3]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, 3 * i);
    }
    for (node, counter) in nodes.iter().zip(&counters) {
        timeout(Duration::from_secs(5), node.read_index())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*counter.0.lock().unwrap(), 30);
    }
    for n in &nodes {
        n.stop().await;
        assert!(n.status().stopped.is_some());
    }
}
