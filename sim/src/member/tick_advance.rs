//! etcd's initial election tick advance: a booting member fast-forwards its
//! election clock so the first election does not wait a whole election timeout.
//!
//! As etcd's `adjustTicks`: a one-member cluster always advances by
//! `election - 1` ticks (it campaigns on the next tick). A bigger one, when
//! `--initial-election-tick-advance` is on, waits up to 5 s for more than one peer
//! to be connected, then advances by `election - 2` ticks, leaving two ticks for a
//! leader's heartbeat to arrive first; if the peers never show up, it does nothing.

use super::handle::Inner;
use super::state_machine::lock;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a member waits for its peers before giving up on advancing.
const PEER_WAIT: Duration = Duration::from_secs(5);
/// How often it looks.
const POLL: Duration = Duration::from_millis(50);

/// Runs once at boot (see the module docs).
pub(crate) async fn adjust_ticks(inner: Arc<Inner>) {
    let election = inner.cfg.election_ticks as u64;
    if election < 2 {
        return;
    }
    // One tick for the driver to apply the membership from the log.
    tokio::select! {
        biased;
        _ = inner.shutdown.wait() => return,
        _ = tokio::time::sleep(inner.cfg.tick) => {}
    }
    let members = match lock(&inner.cluster).members().len() {
        0 => inner.cfg.initial_members().map(|m| m.len()).unwrap_or(1),
        n => n,
    };
    if members == 1 {
        let _ = inner.raft.advance_ticks(election - 1);
        return;
    }
    if !inner.cfg.initial_election_tick_advance {
        return;
    }
    let deadline = Instant::now() + PEER_WAIT;
    while Instant::now() < deadline {
        tokio::select! {
            biased;
            _ = inner.shutdown.wait() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        if inner.raft.peer_activity().active_peers(Instant::now()) > 1 {
            tracing::debug!(
                member = %inner.cfg.name,
                ticks = election - 2,
                "member: peers connected; advancing the election clock"
            );
            let _ = inner.raft.advance_ticks(election - 2);
            return;
        }
    }
}
