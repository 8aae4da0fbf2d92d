//! A leader that removes itself while proposals are in flight.
//!
//! raft-rs keeps a leader whose own removal it applied in the leader role, with a
//! progress tracker that no longer holds the leader; the next append ack that moved
//! the commit index unwrapped the missing entry and panicked the member
//! (`raft-0.7.0/src/raft.rs:943`, chaos seeds 173 and 178 with 5 members, 1484 with
//! 3). The driver now steps such a leader down as soon as the change is applied.
//! The chaos seeds themselves are in `scripts/chaos-regressions.txt`:
//! `scripts/chaos-regressions.sh` replays them in a release sim build (about 4 s of
//! runs); in a debug build they took about a minute, too long for this test.
//!
//! Run: `RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim --target-dir target/sim --test raft_leader_removal`

#![cfg(madsim)]

use etcd_sim::raft::{ChangeKind, MembershipChange, RaftError, Role};
use etcd_test_support::sim::raft::{Cluster, payload};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{sleep, timeout};

/// Concurrent proposers keeping entries in flight behind the removal.
const PROPOSERS: usize = 8;

#[madsim::test]
async fn a_leader_of_three_removing_itself_under_load_steps_down_and_stops() {
    removal_under_load(3).await;
}

#[madsim::test]
async fn a_leader_of_five_removing_itself_under_load_steps_down_and_stops() {
    removal_under_load(5).await;
}

async fn removal_under_load(members: u64) {
    let c = Cluster::start(members, |_| {}).await;
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let proposers: Vec<_> = (0..PROPOSERS)
        .map(|p| {
            let node = c.node(leader);
            let (stop, done) = (stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let data = payload(&format!("p{p}"), i);
                    match timeout(Duration::from_secs(2), node.propose(data)).await {
                        Ok(Ok(_)) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        // The leader stops: its proposals end with an error.
                        Ok(Err(_)) | Err(_) => break,
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Let the load build up, then remove the leader while it keeps appending.
    while done.load(Ordering::Relaxed) < 50 {
        sleep(Duration::from_millis(5)).await;
    }
    let node = c.node(leader);
    let remove = MembershipChange {
        kind: ChangeKind::Remove,
        node_id: leader,
        peer_addr: None,
        context: vec![],
    };
    let cs = timeout(Duration::from_secs(5), node.change_membership(remove))
        .await
        .expect("removal answered")
        .expect("removal applied");
    assert!(!cs.voters.contains(&leader), "{cs:?}");
    // Applying its removal made it give up leadership at once (raft-rs would have
    // kept it leader through the whole grace period, an election timeout).
    let s = timeout(
        Duration::from_millis(150),
        node.wait_for(|s| s.removed && s.role != Role::Leader),
    )
    .await
    .unwrap_or_else(|_| panic!("{members} members: still leader: {:?}", node.status()))
    .expect("running");
    assert_eq!(s.leader_id, None, "{s:?}");
    // It stops after the grace period, without a panic in between.
    let stopped = timeout(Duration::from_secs(5), node.wait_for(|_| false)).await;
    assert_eq!(
        stopped.expect("removed node stops"),
        Err(RaftError::Stopped)
    );
    assert_eq!(
        node.status().stopped.as_deref(),
        Some("removed from the cluster")
    );
    stop.store(true, Ordering::Relaxed);
    for p in proposers {
        p.await.expect("proposer task");
    }
    // The others go on: a new leader among them commits new entries everywhere.
    let rest: Vec<u64> = (1..=members).filter(|id| *id != leader).collect();
    let (new, _) = c.wait_leader_among(&rest, Duration::from_secs(5)).await;
    c.propose_via(new, b"after-removal".to_vec())
        .await
        .expect("a proposal after the removal commits");
    let len = c.list(new).len();
    let applied = c.wait_converged(&rest, len, Duration::from_secs(5)).await;
    assert_eq!(
        applied.last().map(Vec::as_slice),
        Some(&b"after-removal"[..])
    );
}
