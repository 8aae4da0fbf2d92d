//! What a member tracks for `/v2/stats/self` and `/v2/stats/leader`, from the
//! statuses its Raft node publishes.
//!
//! Approximations (the Raft node does not expose its message counts or follower
//! round trips): `recvAppendRequestCnt` counts entries applied while following and
//! `sendAppendRequestCnt` entries applied while leading times the number of
//! followers; a follower's `counts.success` is the entries applied while this member
//! led it, `counts.fail` is 0, and latencies are 0.

use crate::api::v2::stats::{CountsStats, FollowerStats, LeaderInfo, SelfStats, go_duration};
use crate::raft::{NodeStatus, Role};
use etcd_sdk::wire::time::format_rfc3339_nano;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Go's zero `time.Time` as JSON.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Go's largest `time.Duration`, printed.
const GO_MAX_DURATION: &str = "2562047h47m16.854775807s";

/// Counters and leader history of one member.
#[derive(Debug)]
pub(crate) struct StatsTracker {
    start_time: SystemTime,
    leader: Option<u64>,
    /// When this member first saw the current leader (wall clock).
    leader_since: SystemTime,
    /// When this member last saw a new leader (for timeout causes).
    leader_seen_at: Option<Instant>,
    recv_appends: u64,
    send_appends: u64,
    follower_success: BTreeMap<u64, u64>,
}

impl StatsTracker {
    pub fn new(start_time: SystemTime) -> Self {
        Self {
            start_time,
            leader: None,
            leader_since: UNIX_EPOCH,
            leader_seen_at: None,
            recv_appends: 0,
            send_appends: 0,
            follower_success: BTreeMap::new(),
        }
    }

    /// Accounts for the step from `prev` to `next`, observed at `now`.
    pub fn observe(&mut self, prev: &NodeStatus, next: &NodeStatus, now: SystemTime, at: Instant) {
        // Like etcd, the last leader stays on record through an election.
        if next.leader_id.is_some() && next.leader_id != self.leader {
            self.leader = next.leader_id;
            self.leader_since = now;
            self.leader_seen_at = Some(at);
        }
        let applied = next.applied_index.saturating_sub(prev.applied_index);
        if next.is_leader() {
            for id in next.voters.iter().chain(&next.learners) {
                if *id != next.id {
                    self.send_appends += applied;
                    *self.follower_success.entry(*id).or_default() += applied;
                }
            }
        } else {
            self.recv_appends += applied;
        }
    }

    /// When this member last saw a new leader.
    pub fn leader_seen_at(&self) -> Option<Instant> {
        self.leader_seen_at
    }

    /// `/v2/stats/self`.
    pub fn self_stats(
        &self,
        name: &str,
        id: u64,
        status: &NodeStatus,
        now: SystemTime,
    ) -> SelfStats {
        let state = match status.role {
            Role::Leader => "StateLeader",
            Role::Follower => "StateFollower",
            Role::Candidate => "StateCandidate",
            Role::PreCandidate => "StatePreCandidate",
        };
        // Before any leader, etcd shows Go's zero time and the time since it,
        // which saturates at the largest duration.
        let (leader, uptime, since) = match self.leader {
            Some(l) => (
                format!("{l:x}"),
                go_duration(
                    now.duration_since(self.leader_since)
                        .unwrap_or(Duration::ZERO),
                ),
                format_rfc3339_nano(self.leader_since),
            ),
            None => (
                String::new(),
                GO_MAX_DURATION.to_string(),
                GO_ZERO_TIME.to_string(),
            ),
        };
        SelfStats {
            name: name.to_string(),
            id: format!("{id:x}"),
            state: state.into(),
            start_time: format_rfc3339_nano(self.start_time),
            leader_info: LeaderInfo {
                leader,
                uptime,
                start_time: since,
            },
            recv_append_request_cnt: self.recv_appends,
            send_append_request_cnt: self.send_appends,
        }
    }

    /// The followers part of `/v2/stats/leader`, for a leader with `status`.
    pub fn followers(&self, status: &NodeStatus) -> BTreeMap<String, FollowerStats> {
        status
            .voters
            .iter()
            .chain(&status.learners)
            .filter(|id| **id != status.id)
            .map(|id| {
                let stats = FollowerStats {
                    counts: CountsStats {
                        fail: 0,
                        success: self.follower_success.get(id).copied().unwrap_or(0),
                    },
                    ..FollowerStats::default()
                };
                (format!("{id:x}"), stats)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(role: Role, leader: Option<u64>, applied: u64) -> NodeStatus {
        NodeStatus {
            id: 1,
            role,
            leader_id: leader,
            term: 2,
            commit_index: applied,
            applied_index: applied,
            last_index: applied,
            snapshot_index: 0,
            voters: vec![1, 2, 3],
            learners: vec![],
            removed: false,
            stopped: None,
            leader_changes: 0,
        }
    }

    #[test]
    fn counts_follow_the_role() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut t = StatsTracker::new(t0);
        let at = Instant::now();
        let s0 = status(Role::Follower, None, 0);
        let s1 = status(Role::Follower, Some(2), 5);
        let s2 = status(Role::Leader, Some(1), 8);
        let before = t.self_stats("one", 1, &s0, t0);
        assert_eq!(before.leader_info.leader, "");
        assert_eq!(before.leader_info.start_time, GO_ZERO_TIME);
        assert_eq!(before.state, "StateFollower");
        t.observe(&s0, &s1, t0, at);
        t.observe(&s1, &s2, t0 + Duration::from_secs(1), at);
        let me = t.self_stats("one", 1, &s2, t0 + Duration::from_millis(1_500));
        assert_eq!(me.state, "StateLeader");
        assert_eq!(me.recv_append_request_cnt, 5);
        assert_eq!(me.send_append_request_cnt, 6);
        assert_eq!(me.leader_info.leader, "1");
        assert_eq!(me.leader_info.uptime, "500ms");
        // An election does not erase the last leader.
        let s3 = status(Role::Candidate, None, 8);
        t.observe(&s2, &s3, t0 + Duration::from_secs(2), at);
        let me = t.self_stats("one", 1, &s3, t0 + Duration::from_secs(2));
        assert_eq!(
            (me.state.as_str(), me.leader_info.leader.as_str()),
            ("StateCandidate", "1")
        );
        let f = t.followers(&s2);
        assert_eq!(f.keys().collect::<Vec<_>>(), ["2", "3"]);
        assert_eq!(f["3"].counts.success, 3);
    }
}
