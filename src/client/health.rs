//! What an [`crate::HttpClient`] remembers about its endpoints between calls
//! (shared by every call of one client): which endpoints just failed to answer
//! in time, and whether the cluster may have lost its leader.
//!
//! The memory drives two policies of the client, both pure functions here:
//!
//! - [`attempt_order`]: endpoints that timed out recently are tried last, so a
//!   call does not wait a whole header timeout on a member that has just shown
//!   it is not answering (a SIGSTOPped or partitioned member).
//! - [`leader_verdict`]: after a timeout or a "no leader" answer, a request that
//!   needs the leader (a write, a quorum read) is held until a member that
//!   answers names itself leader (`GET /v2/members/leader`), and then goes to
//!   it. Nothing is re-sent to find it: the lookups are reads, and the request
//!   itself is sent once, after them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long an endpoint that timed out is tried last (unless it answers again).
pub(crate) const TIMED_OUT_COOLDOWN: Duration = Duration::from_secs(3);

/// The per-client endpoint memory.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// `false` while nothing is remembered: the hot path then takes no lock.
    dirty: AtomicBool,
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    /// Endpoint (as configured) to when it last failed to answer in time.
    timed_out: BTreeMap<String, Instant>,
    /// The leader may be gone: set by a timeout or a "no leader" answer,
    /// cleared once a member names itself leader or a leader-bound request
    /// succeeds.
    leader_doubt: bool,
}

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, HealthState> {
        // Plain data; no code panics while holding the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether anything is remembered (a cheap check for the hot path).
    pub(crate) fn is_clean(&self) -> bool {
        !self.dirty.load(Ordering::Acquire)
    }

    /// `endpoint` did not answer in time (header timeout, failed probe,
    /// refused connection): try it last for a while, and doubt the leader.
    pub(crate) fn timed_out(&self, endpoint: &str, now: Instant) {
        let mut st = self.state();
        st.timed_out.insert(endpoint.to_string(), now);
        st.leader_doubt = true;
        self.dirty.store(true, Ordering::Release);
    }

    /// A member answered that there is no leader (HTTP 500/503).
    pub(crate) fn no_leader(&self) {
        self.state().leader_doubt = true;
        self.dirty.store(true, Ordering::Release);
    }

    /// `endpoint` answered; `leader_proven` when the request needed the leader
    /// (so a leader exists).
    pub(crate) fn answered(&self, endpoint: &str, leader_proven: bool) {
        if self.is_clean() {
            return;
        }
        let mut st = self.state();
        st.timed_out.remove(endpoint);
        if leader_proven {
            st.leader_doubt = false;
        }
        self.tidy(&st);
    }

    /// A member named itself leader: stop doubting.
    pub(crate) fn leader_found(&self, endpoint: &str) {
        self.answered(endpoint, true);
    }

    /// Whether the leader is in doubt.
    pub(crate) fn leader_doubt(&self) -> bool {
        !self.is_clean() && self.state().leader_doubt
    }

    /// For each of `endpoints`, whether it timed out within the cooldown
    /// before `now`.
    /// Empty (no allocation) while nothing is remembered.
    pub(crate) fn recently_timed_out<'a>(
        &self,
        endpoints: impl Iterator<Item = &'a str>,
        now: Instant,
    ) -> Vec<bool> {
        if self.is_clean() {
            return Vec::new();
        }
        let mut st = self.state();
        st.timed_out
            .retain(|_, at| now.saturating_duration_since(*at) < TIMED_OUT_COOLDOWN);
        let flags = endpoints.map(|e| st.timed_out.contains_key(e)).collect();
        self.tidy(&st);
        flags
    }

    /// Marks the memory clean once it holds nothing.
    fn tidy(&self, st: &HealthState) {
        if st.timed_out.is_empty() && !st.leader_doubt {
            self.dirty.store(false, Ordering::Release);
        }
    }
}

/// The order a call tries `n` endpoints in: the pinned one, then the others
/// in turn (Go's rotation), except that endpoints flagged in `timed_out` go
/// last (in the same rotation order). Allocates nothing.
pub(crate) fn attempt_order(
    n: usize,
    pinned: usize,
    timed_out: &[bool],
) -> impl Iterator<Item = usize> + '_ {
    let flagged = move |k: &usize| timed_out.get(*k).copied().unwrap_or(false);
    let rotation = move || (pinned..pinned + n).map(move |i| i % n);
    rotation()
        .filter(move |k| !flagged(k))
        .chain(rotation().filter(flagged))
}

/// One member's answer to `GET /v2/members/leader`, reduced to what the
/// verdict needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LeaderAnswer {
    /// The member (at this index) names the member at `leader` (an index into
    /// the client's endpoints, when its client URL is one of them).
    Names { from: usize, leader: Option<usize> },
    /// The member answered that there is no leader, or did not answer usefully.
    Unknown,
}

/// Decides, from the answers so far, which endpoint to send a leader-bound
/// request to: a member that answered and named itself (so it is alive and
/// leads). `None`: keep waiting (the members still name a leader that does
/// not answer, or there is none yet).
pub(crate) fn leader_verdict(answers: &[LeaderAnswer]) -> Option<usize> {
    answers.iter().find_map(|a| match *a {
        LeaderAnswer::Names {
            from,
            leader: Some(l),
        } if l == from => Some(l),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(n: usize, pinned: usize, timed_out: &[bool]) -> Vec<usize> {
        attempt_order(n, pinned, timed_out).collect()
    }

    #[test]
    fn order_is_the_rotation_when_nothing_timed_out() {
        assert_eq!(order(3, 0, &[false; 3]), vec![0, 1, 2]);
        assert_eq!(order(3, 2, &[false; 3]), vec![2, 0, 1]);
        assert_eq!(order(1, 0, &[]), vec![0]);
        assert_eq!(order(3, 1, &[]), vec![1, 2, 0]);
    }

    #[test]
    fn timed_out_endpoints_go_last_in_rotation_order() {
        assert_eq!(order(3, 0, &[true, false, false]), vec![1, 2, 0]);
        assert_eq!(order(4, 1, &[false, true, false, true]), vec![2, 0, 1, 3]);
        assert_eq!(order(2, 0, &[true, true]), vec![0, 1]);
    }

    #[test]
    fn the_verdict_needs_a_member_that_names_itself() {
        use LeaderAnswer::*;
        // Followers still name the stopped leader (0), which does not answer.
        let stale = [
            Names {
                from: 1,
                leader: Some(0),
            },
            Names {
                from: 2,
                leader: Some(0),
            },
        ];
        assert_eq!(leader_verdict(&stale), None);
        // A follower names the new leader, which has not answered yet: wait.
        let half = [
            Unknown,
            Names {
                from: 1,
                leader: Some(2),
            },
        ];
        assert_eq!(leader_verdict(&half), None);
        // The new leader answers and names itself.
        let done = [
            Names {
                from: 1,
                leader: Some(2),
            },
            Names {
                from: 2,
                leader: Some(2),
            },
        ];
        assert_eq!(leader_verdict(&done), Some(2));
        // A leader whose URL is not among the endpoints is no verdict.
        let foreign = [Names {
            from: 1,
            leader: None,
        }];
        assert_eq!(leader_verdict(&foreign), None);
    }

    #[tokio::test(start_paused = true)]
    async fn memory_of_a_timeout_expires_and_an_answer_clears_it() {
        let h = Health::default();
        assert!(h.is_clean() && !h.leader_doubt());
        let t0 = Instant::now();
        h.timed_out("a", t0);
        assert!(h.leader_doubt());
        let eps = ["a", "b"];
        assert_eq!(h.recently_timed_out(eps.into_iter(), t0), vec![true, false]);
        let later = t0 + TIMED_OUT_COOLDOWN;
        assert_eq!(
            h.recently_timed_out(eps.into_iter(), later),
            vec![false, false]
        );
        // Forgetting the timeout leaves the doubt about the leader.
        // The doubt stays until a leader shows up.
        assert!(h.leader_doubt() && !h.is_clean());
        h.answered("b", false);
        assert!(h.leader_doubt());
        h.leader_found("b");
        assert!(!h.leader_doubt() && h.is_clean());
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_from_a_timed_out_endpoint_forgives_it() {
        let h = Health::default();
        let t0 = Instant::now();
        h.timed_out("a", t0);
        h.answered("a", true);
        assert!(h.is_clean());
        assert!(h.recently_timed_out(["a"].into_iter(), t0).is_empty());
        h.no_leader();
        assert!(h.leader_doubt());
    }
}
