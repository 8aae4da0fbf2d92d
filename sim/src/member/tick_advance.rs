//! etcd's initial election tick advance: a booting member fast-forwards its
//! election clock so the first election does not wait a whole election timeout.
//!
//! As etcd's `adjustTicks`: a one-member cluster always advances by
//! `election - 1` ticks (it campaigns on the next tick). A bigger one, when
//! `--initial-election-tick-advance` is on, waits up to 5 s for more than one peer
//! to be connected, then advances by `election - 2` ticks, leaving two ticks for a
//! leader's heartbeat to arrive first; if the peers never show up, it does nothing.

use super::entry::Applied;
use super::membership::Cluster;
use super::signal::Signal;
use super::state_machine::lock;
use crate::raft::RaftNode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long a member waits for its peers before giving up on advancing.
const PEER_WAIT: Duration = Duration::from_secs(5);
/// How often it looks. Peer activity is a record of when each peer was last
/// heard from (`crate::raft::PeerActivity`), which signals nothing, so this polls.
const POLL: Duration = Duration::from_millis(50);

/// The boot-time tick advance of one member.
pub(crate) struct TickAdvance {
    /// The member's name (for the log).
    pub name: String,
    pub raft: Arc<RaftNode<Applied>>,
    /// The membership as applied (how many members are there?).
    pub cluster: Arc<Mutex<Cluster>>,
    /// The number of initial members, until the membership is applied.
    pub initial_members: usize,
    pub tick: Duration,
    pub election_ticks: usize,
    /// `--initial-election-tick-advance`.
    pub enabled: bool,
    pub shutdown: Arc<Signal>,
}

/// Runs once at boot (see the module docs).
pub(crate) async fn adjust_ticks(t: TickAdvance) {
    let election = t.election_ticks as u64;
    if election < 2 {
        return;
    }
    // One tick for the driver to apply the membership from the log.
    tokio::select! {
        biased;
        _ = t.shutdown.wait() => return,
        _ = tokio::time::sleep(t.tick) => {}
    }
    let members = match lock(&t.cluster).members().len() {
        0 => t.initial_members,
        n => n,
    };
    if members == 1 {
        let _ = t.raft.advance_ticks(election - 1);
        return;
    }
    if !t.enabled {
        return;
    }
    let deadline = Instant::now() + PEER_WAIT;
    while Instant::now() < deadline {
        tokio::select! {
            biased;
            _ = t.shutdown.wait() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        if t.raft.peer_activity().active_peers(Instant::now()) > 1 {
            tracing::debug!(
                member = %t.name,
                ticks = election - 2,
                "member: peers connected; advancing the election clock"
            );
            let _ = t.raft.advance_ticks(election - 2);
            return;
        }
    }
}
