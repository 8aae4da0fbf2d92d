//! Raft cluster scenarios under madsim: election, replication, leader kill and restart,
//! pause, partition, membership changes, linearizable reads.
//!
//! Run: `RUSTFLAGS="--cfg madsim" cargo test -p etcd-sim --target-dir target/sim --test raft_cluster`
//! (add `MADSIM_TEST_NUM=20` for more seeds, `MADSIM_TEST_CHECK_DETERMINISM=1` to
//! replay each seed twice and compare).

#![cfg(madsim)]

use etcd_sim::raft::{ChangeKind, MembershipChange, RaftError, Role};
use etcd_test_support::sim::raft::{Cluster, addr, payload, payloads};
use std::time::Duration;
use tokio::time::{sleep, timeout};

/// Deadline for a new leader after the old one dies or freezes. Followers wait a
/// randomized election timeout of 1–2 s (etcd's 1 s, randomized to [1, 2) s) before
/// campaigning; a split vote costs another such round, so failover usually takes 1–2 s
/// and, over 200 seeds, at most about 3.5 s.
const FAILOVER: Duration = Duration::from_secs(5);

#[madsim::test]
async fn elects_a_leader_and_replicates_in_order() {
    let c = Cluster::start(3, |_| {}).await;
    let (leader, took) = c.wait_leader(Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(5));
    let want = payloads("e", 100);
    for (i, data) in want.iter().enumerate() {
        assert_eq!(c.propose(data.clone()).await, i as u64 + 1);
    }
    let got = c
        .wait_converged(&[1, 2, 3], 100, Duration::from_secs(5))
        .await;
    assert_eq!(got, want);
    // A follower forwards proposals to the leader.
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    assert_eq!(
        c.propose_via(follower, b"via-follower".to_vec()).await,
        Ok(101)
    );
    c.wait_converged(&[1, 2, 3], 101, Duration::from_secs(5))
        .await;
    for id in 1..=3 {
        let s = c.node(id).status();
        assert_eq!(s.voters, vec![1, 2, 3]);
        assert_eq!(s.applied_index, s.commit_index);
        assert!(s.applied_index >= 101);
    }
}

#[madsim::test]
async fn read_index_sees_every_acknowledged_write() {
    let c = Cluster::start(3, |_| {}).await;
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..20 {
        let n = c.propose(payload("w", i)).await;
        // Read on every node right after the write was acknowledged.
        for id in 1..=3 {
            let index = timeout(Duration::from_secs(5), c.node(id).read_index())
                .await
                .expect("read index answered")
                .expect("read index succeeds");
            assert!(
                index >= n,
                "read index {index} below write {n} on node {id}"
            );
            assert!(
                c.list(id).len() >= n as usize,
                "node {id} passed a read barrier without the acknowledged write {n} (leader {leader})"
            );
        }
    }
}

#[madsim::test]
async fn killed_leader_is_replaced_and_restarts_from_a_snapshot() {
    let c = Cluster::start(3, |cfg| {
        cfg.compaction.snapshot_count = 20;
        cfg.compaction.catch_up_entries = 5;
        cfg.fsync_delay = Duration::from_millis(2);
    })
    .await;
    let (old, _) = c.wait_leader(Duration::from_secs(5)).await;
    // Large payloads: the snapshot exceeds a datagram and travels over TCP.
    let big = |i: usize| {
        let mut p = payload("k", i);
        p.resize(2048, b'.');
        p
    };
    for i in 0..50 {
        c.propose(big(i)).await;
    }
    c.kill(old);
    let rest: Vec<u64> = (1..=3).filter(|id| *id != old).collect();
    let (new, took) = c.wait_leader_among(&rest, FAILOVER).await;
    tracing::info!(?took, "failover after kill");
    assert_ne!(new, old);
    for i in 50..100 {
        c.propose(big(i)).await;
    }
    let want: Vec<Vec<u8>> = (0..100).map(big).collect();
    assert_eq!(
        c.wait_converged(&rest, 100, Duration::from_secs(5)).await,
        want
    );
    assert!(c.node(new).status().snapshot_index > 50);
    c.restart(old).await;
    assert_eq!(
        c.wait_converged(&[1, 2, 3], 100, Duration::from_secs(10))
            .await,
        want
    );
    // The leader had compacted past the restarted node's log: it got a snapshot.
    let got_snapshot = timeout(
        Duration::from_secs(1),
        c.node(old).wait_for(|s| s.snapshot_index > 50),
    )
    .await;
    assert!(
        got_snapshot.is_ok(),
        "restarted node caught up without a snapshot: {:?}",
        c.node(old).status()
    );
    // The restarted node takes part again.
    c.propose(b"after-restart".to_vec()).await;
    c.wait_converged(&[1, 2, 3], 101, Duration::from_secs(5))
        .await;
}

#[madsim::test]
async fn restarted_follower_recovers_its_log_from_disk() {
    let c = Cluster::start(3, |cfg| cfg.fsync_delay = Duration::from_millis(1)).await;
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..30 {
        c.propose(payload("a", i)).await;
    }
    c.wait_converged(&[1, 2, 3], 30, Duration::from_secs(5))
        .await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    c.kill(follower);
    c.restart(follower).await;
    // Everything it acknowledged was synced: it replays its own log, no snapshot needed.
    c.wait_converged(&[1, 2, 3], 30, Duration::from_secs(5))
        .await;
    let s = c.node(follower).status();
    assert_eq!(s.snapshot_index, 0);
    assert!(s.applied_index >= 30);
}

#[madsim::test]
async fn paused_leader_is_replaced_and_steps_down_on_resume() {
    let c = Cluster::start(3, |_| {}).await;
    let (old, _) = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..10 {
        c.propose(payload("p", i)).await;
    }
    let old_term = c.node(old).status().term;
    c.pause(old);
    let rest: Vec<u64> = (1..=3).filter(|id| *id != old).collect();
    let (new, took) = c.wait_leader_among(&rest, FAILOVER).await;
    tracing::info!(?took, "failover after pause");
    assert_ne!(new, old);
    for i in 10..20 {
        assert_eq!(c.propose_via(new, payload("p", i)).await, Ok(i as u64 + 1));
    }
    c.resume(old);
    let s = timeout(
        Duration::from_secs(2),
        c.node(old)
            .wait_for(|s| s.role == Role::Follower && s.leader_id == Some(new)),
    )
    .await
    .expect("old leader steps down after resume")
    .unwrap();
    assert!(s.term > old_term);
    c.wait_converged(&[1, 2, 3], 20, Duration::from_secs(5))
        .await;
    assert_eq!(c.list(old), payloads("p", 20));
}

#[madsim::test]
async fn partitioned_minority_leader_steps_down() {
    let c = Cluster::start(3, |_| {}).await;
    let (old, _) = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..5 {
        c.propose(payload("q", i)).await;
    }
    c.clog(old);
    // CheckQuorum: without hearing from a quorum for an election timeout it steps down.
    timeout(
        Duration::from_secs(3),
        c.node(old).wait_for(|s| s.role != Role::Leader),
    )
    .await
    .expect("minority leader steps down")
    .unwrap();
    let rest: Vec<u64> = (1..=3).filter(|id| *id != old).collect();
    let (new, _) = c.wait_leader_among(&rest, FAILOVER).await;
    for i in 5..10 {
        assert_eq!(c.propose_via(new, payload("q", i)).await, Ok(i as u64 + 1));
    }
    // The isolated node cannot commit anything.
    match timeout(
        Duration::from_secs(2),
        c.node(old).propose(b"isolated".to_vec()),
    )
    .await
    {
        Err(_) | Ok(Err(RaftError::NoLeader)) => {}
        Ok(other) => panic!("isolated node answered {other:?}"),
    }
    c.unclog(old);
    c.wait_converged(&[1, 2, 3], 10, Duration::from_secs(5))
        .await;
    assert_eq!(c.list(old), payloads("q", 10));
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    assert_eq!(
        leader, new,
        "pre-vote: the rejoining node must not depose the leader"
    );
}

#[madsim::test]
async fn membership_add_then_remove_the_leader() {
    let mut c = Cluster::start(3, |_| {}).await;
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..10 {
        c.propose(payload("m", i)).await;
    }
    // Node 4 starts empty, joins, and catches up from the log.
    c.add_member(4, c.peers.clone(), false, |_| {});
    c.wait_started(4).await;
    let add = MembershipChange {
        kind: ChangeKind::AddVoter,
        node_id: 4,
        peer_addr: Some(addr(4)),
        context: b"member-4".to_vec(),
    };
    let cs = timeout(
        Duration::from_secs(5),
        c.node(leader).change_membership(add),
    )
    .await
    .expect("add answered")
    .expect("add applied");
    assert_eq!(cs.voters.len(), 4);
    c.propose(b"with-4".to_vec()).await;
    c.wait_converged(&[1, 2, 3, 4], 11, Duration::from_secs(5))
        .await;
    // Every member, the one that joined included, saw the same membership history:
    // the bootstrap entries, then the addition.
    let history = c.members[&1].events.lock().unwrap().clone();
    assert_eq!(history.len(), 4, "{history:?}");
    for (i, e) in history[..3].iter().enumerate() {
        let id = i as u64 + 1;
        assert_eq!(e.index, id);
        assert_eq!(e.changes, vec![(ChangeKind::AddVoter, id)]);
        assert_eq!(e.peer_addr, Some(addr(id)));
    }
    assert_eq!(history[3].changes, vec![(ChangeKind::AddVoter, 4)]);
    assert_eq!(history[3].context, b"member-4");
    assert_eq!(history[3].peer_addr, Some(addr(4)));
    assert_eq!(history[3].conf_state.voters, vec![1, 2, 3, 4]);
    let strip = |events: Vec<etcd_sim::raft::MembershipEvent>| {
        events
            .into_iter()
            .map(|e| (e.index, e.changes, e.peer_addr, e.context))
            .collect::<Vec<_>>()
    };
    for id in 2..=4 {
        let events = c.members[&id].events.lock().unwrap().clone();
        assert_eq!(events[3].conf_state, history[3].conf_state, "node {id}");
        assert_eq!(strip(events), strip(history.clone()), "node {id}");
    }
    // Remove the leader itself: it answers, then stops; the others elect a new leader.
    let remove = MembershipChange {
        kind: ChangeKind::Remove,
        node_id: leader,
        peer_addr: None,
        context: vec![],
    };
    let cs = timeout(
        Duration::from_secs(5),
        c.node(leader).change_membership(remove),
    )
    .await
    .expect("remove answered")
    .expect("remove applied");
    assert!(!cs.voters.contains(&leader));
    let stopped = timeout(Duration::from_secs(3), c.node(leader).wait_for(|_| false)).await;
    assert_eq!(
        stopped.expect("removed node stops"),
        Err(RaftError::Stopped)
    );
    assert!(c.node(leader).status().stopped.is_some());
    let rest: Vec<u64> = (1..=4).filter(|id| *id != leader).collect();
    let (new, _) = c.wait_leader_among(&rest, Duration::from_secs(5)).await;
    assert_eq!(c.propose_via(new, b"after-removal".to_vec()).await, Ok(12));
    c.wait_converged(&rest, 12, Duration::from_secs(5)).await;
}

#[madsim::test]
async fn stopped_node_fails_waiting_requests() {
    let c = Cluster::start(3, |_| {}).await;
    let (leader, _) = c.wait_leader(Duration::from_secs(5)).await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    // Isolate the follower so its forwarded proposal cannot complete, then stop it.
    c.clog(follower);
    let node = c.node(follower);
    let pending = tokio::spawn({
        let node = node.clone();
        async move { node.propose(b"never".to_vec()).await }
    });
    sleep(Duration::from_millis(50)).await;
    node.stop().await;
    assert_eq!(pending.await.unwrap(), Err(RaftError::Stopped));
    assert_eq!(
        node.propose(b"late".to_vec()).await,
        Err(RaftError::Stopped)
    );
    assert_eq!(node.read_index().await, Err(RaftError::Stopped));
}
