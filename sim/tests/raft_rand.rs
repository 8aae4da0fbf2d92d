//! raft-rs draws its randomized election timeouts from rand 0.8, which reads the kernel
//! through `syscall(SYS_getrandom)`; `etcd_sim::sim_rand` routes that through madsim.
//! These draws must replay from the seed (and differ between seeds).

#![cfg(madsim)]

use raft::storage::MemStorage;

fn election_timeouts(seed: u64) -> Vec<usize> {
    std::thread::spawn(move || {
        let rt = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        rt.block_on(async {
            etcd_sim::sim_rand::install();
            let storage = MemStorage::new_with_conf_state((vec![1], vec![]));
            let mut cfg = raft::Config::new(1);
            cfg.election_tick = 10;
            cfg.heartbeat_tick = 1;
            let logger = etcd_sim::raft::logger::raft_logger();
            let mut node = raft::RawNode::new(&cfg, storage, &logger).unwrap();
            (0..64)
                .map(|_| {
                    node.raft.reset_randomized_election_timeout();
                    node.raft.randomized_election_timeout()
                })
                .collect()
        })
    })
    .join()
    .unwrap()
}

#[test]
fn raft_election_timeouts_replay_from_the_seed() {
    let a = election_timeouts(7);
    assert!(a.iter().all(|t| (10..20).contains(t)));
    assert_eq!(a, election_timeouts(7));
    assert_ne!(a, election_timeouts(8));
}
