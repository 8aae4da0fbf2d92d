//! When a kept-alive lease is renewed and when it is given up: the pure
//! timing rules of Go's lessor (spec §4.3), on an injected clock.

use std::time::Duration;
use tokio::time::Instant;

/// How soon an unanswered keepalive request is sent again (Go's send loop
/// runs every 500 ms and re-sends whatever is due).
pub(crate) const RESEND_AFTER: Duration = Duration::from_millis(500);

/// How long a lease kept alive for the first time may wait for its first
/// answer (Go: the dial timeout + 1 s, or 5 s without a dial timeout).
pub(crate) fn first_deadline(dial_timeout: Option<Duration>) -> Duration {
    dial_timeout.map_or(Duration::from_secs(5), |d| d + Duration::from_secs(1))
}

/// What an answer did to a lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Renewal {
    /// Renewed for its TTL.
    Renewed,
    /// The server no longer has it (TTL ≤ 0: expired or revoked).
    Gone,
}

/// One lease's keepalive timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// When the next request is due.
    next_send: Instant,
    /// When the lease must be assumed expired if no answer came.
    deadline: Instant,
}

impl Schedule {
    /// A lease first kept alive at `now`: a request is due at once.
    pub(crate) fn new(now: Instant, first_deadline: Duration) -> Schedule {
        Schedule {
            next_send: now,
            deadline: now + first_deadline,
        }
    }

    /// Whether a request is due.
    pub(crate) fn due(&self, now: Instant) -> bool {
        now >= self.next_send
    }

    /// A request went out at `now`; without an answer it is sent again
    /// after [`RESEND_AFTER`].
    pub(crate) fn sent(&mut self, now: Instant) {
        self.next_send = now + RESEND_AFTER;
    }

    /// An answer with `ttl` seconds came at `now`: the next request is due
    /// after a third of the TTL, and the lease lives until `now + ttl`.
    pub(crate) fn answered(&mut self, now: Instant, ttl: i64) -> Renewal {
        if ttl <= 0 {
            return Renewal::Gone;
        }
        let ttl = Duration::from_secs(ttl.unsigned_abs());
        self.next_send = now + ttl / 3;
        self.deadline = now + ttl;
        Renewal::Renewed
    }

    /// A new stream: send at once rather than wait for the old cadence.
    pub(crate) fn resend_now(&mut self, now: Instant) {
        self.next_send = self.next_send.min(now);
    }

    /// Whether the deadline passed without an answer.
    pub(crate) fn overdue(&self, now: Instant) -> bool {
        now >= self.deadline
    }

    /// When something is next due: a request (`sending`: only while a
    /// stream exists to send it on) or the deadline.
    pub(crate) fn next_wake(&self, sending: bool) -> Instant {
        if sending {
            self.next_send.min(self.deadline)
        } else {
            self.deadline
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_every_third_of_the_ttl_from_the_last_answer() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, first_deadline(None));
        assert!(s.due(t0), "the first request goes at once");
        s.sent(t0);
        assert!(!s.due(t0 + Duration::from_millis(499)));
        let answer = t0 + Duration::from_millis(20);
        assert_eq!(s.answered(answer, 6), Renewal::Renewed);
        assert!(!s.due(answer + Duration::from_millis(1999)));
        assert!(s.due(answer + Duration::from_secs(2)));
        assert_eq!(s.next_wake(true), answer + Duration::from_secs(2));
        // A 2 s lease: every 666 ms.
        let mut two = Schedule::new(t0, first_deadline(None));
        two.answered(t0, 2);
        assert!(!two.due(t0 + Duration::from_millis(666)));
        assert!(two.due(t0 + Duration::from_millis(667)));
    }

    #[test]
    fn an_unanswered_request_is_resent_and_the_deadline_is_the_ttl() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, first_deadline(Some(Duration::from_secs(2))));
        assert!(!s.overdue(t0 + Duration::from_millis(2999)));
        assert!(s.overdue(t0 + Duration::from_secs(3)), "dial timeout + 1 s");
        s.answered(t0, 3);
        let t1 = t0 + Duration::from_secs(1);
        s.sent(t1);
        assert!(s.due(t1 + RESEND_AFTER));
        assert!(!s.overdue(t0 + Duration::from_millis(2999)));
        assert!(s.overdue(t0 + Duration::from_secs(3)));
        assert_eq!(s.next_wake(false), t0 + Duration::from_secs(3));
    }

    #[test]
    fn ttl_zero_or_less_means_gone_and_a_new_stream_sends_at_once() {
        let t0 = Instant::now();
        let mut s = Schedule::new(t0, first_deadline(None));
        assert_eq!(s.answered(t0, 0), Renewal::Gone);
        assert_eq!(s.answered(t0, -1), Renewal::Gone);
        s.answered(t0, 9);
        let t1 = t0 + Duration::from_secs(1);
        assert!(!s.due(t1));
        s.resend_now(t1);
        assert!(s.due(t1));
        assert_eq!(first_deadline(None), Duration::from_secs(5));
    }
}
